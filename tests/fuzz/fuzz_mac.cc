#include <string_view>

#include "otad/mac.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto m = otad::parse_mac(std::string_view(reinterpret_cast<const char*>(data), size));
  if (m) {
    auto again = otad::parse_mac(m->str());
    if (!again || *again != *m) __builtin_trap();
  }
  return 0;
}
