#include <string_view>

#include "otad/semver.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  auto v = otad::parse_semver(s);
  if (v && otad::semver_compare(*v, *v) != 0) __builtin_trap();
  return 0;
}
