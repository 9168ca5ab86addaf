// The RADIUS user-file merge and the NT hash file parser over any bytes:
// a merge that succeeds keeps every operator line, holds one managed block
// and is a fixed point (merging again changes nothing).
#include <string>
#include <string_view>

#include "otad/wpa2.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  auto h = otad::parse_nt_hashes(s);
  if (h) {
    auto again = otad::parse_nt_hashes(otad::format_nt_hashes(*h));
    if (!again || *again != *h) __builtin_trap();
  }
  const std::string block = "\"30aea4041d8c\" TLS\n";
  auto m = otad::merge_managed_block(s, block);
  if (m) {
    if (m->find(block) == std::string::npos) __builtin_trap();
    auto m2 = otad::merge_managed_block(*m, block);
    if (!m2 || *m2 != *m) __builtin_trap();
  }
  return 0;
}
