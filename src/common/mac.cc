#include "otad/mac.h"

#include "otad/strict_num.h"

namespace otad {

std::string Mac::str() const { return to_hex(b.data(), b.size()); }

uint64_t Mac::as_u64() const {
  uint64_t v = 0;
  for (uint8_t x : b) v = v << 8 | x;
  return v;
}

std::optional<Mac> parse_mac(std::string_view s) {
  Mac m;
  if (s.size() == 12) {
    if (!from_hex(s, m.b.data(), 6)) return std::nullopt;
    return m;
  }
  if (s.size() != 17) return std::nullopt;
  const char sep = s[2];
  if (sep != ':' && sep != '-') return std::nullopt;
  for (size_t i = 0; i < 6; ++i) {
    if (i > 0 && s[i * 3 - 1] != sep) return std::nullopt;
    if (!from_hex(s.substr(i * 3, 2), &m.b[i], 1)) return std::nullopt;
  }
  return m;
}

}  // namespace otad
