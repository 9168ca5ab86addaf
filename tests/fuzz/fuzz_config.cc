// The strict ini front end and the config table over arbitrary text.
#include <string>
#include <vector>

#include "otad/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> errors;
  auto r = otad::config_load_text("fuzz.ini", std::string(reinterpret_cast<const char*>(data), size), &errors);
  if (r.ok() != errors.empty()) __builtin_trap();
  if (r.ok()) {
    // What loads must dump to something that loads to the same thing.
    std::vector<std::string> e2;
    auto again = otad::config_load_text("dump.ini", otad::config_dump(*r), &e2);
    if (!again.ok() || otad::config_dump(*again) != otad::config_dump(*r)) __builtin_trap();
  }
  return 0;
}
