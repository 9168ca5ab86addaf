// devices.ini as the registry loader reads it (through a file, as otad
// does): whatever the bytes, it loads devices with canonical MACs or refuses
// with errors that name file:line, never both and never neither.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "otad/devices.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/otad-fuzz-devices-" + std::to_string(getpid()) + ".ini";
  FILE* f = fopen(path.c_str(), "wb");
  if (!f) return 0;
  fwrite(data, 1, size, f);
  fclose(f);
  std::vector<std::string> errors;
  auto r = otad::Registry::load(path, &errors);
  if (r.ok() != errors.empty()) __builtin_trap();
  for (const std::string& e : errors) {
    if (e.find(path) == std::string::npos) __builtin_trap();  // every error names the file
  }
  return 0;
}
