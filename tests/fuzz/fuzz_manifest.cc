// manifest.ini as the catalog reads it: what loads writes back and loads to
// the same entries; what does not load says why.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "otad/catalog.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/otad-fuzz-manifest-" + std::to_string(getpid()) + ".ini";
  static const std::string again = path + ".again";
  FILE* f = fopen(path.c_str(), "wb");
  if (!f) return 0;
  fwrite(data, 1, size, f);
  fclose(f);
  std::vector<std::string> errors;
  auto r = otad::manifest_read(path, &errors);
  if (!r.ok()) {
    if (errors.empty() && r.error().empty()) __builtin_trap();
    return 0;
  }
  if (!otad::manifest_write(again, *r).ok()) return 0;
  std::vector<std::string> e2;
  auto back = otad::manifest_read(again, &e2);
  if (!back.ok() || *back != *r) __builtin_trap();
  return 0;
}
