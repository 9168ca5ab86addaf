#include "otad/tcpboot.h"

#include <cstring>
#include <string_view>

namespace otad {

static bool hex_digit(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

MacFeed mac_feed(MacReader& r, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n && r.len < kTcpbootMacLen; ++i) {
    if (!hex_digit(p[i])) return MacFeed::Invalid;
    r.buf[r.len++] = p[i];
  }
  return r.len == kTcpbootMacLen ? MacFeed::Done : MacFeed::NeedMore;
}

Mac mac_reader_mac(const MacReader& r) {
  // All 12 bytes are hex digits, so this cannot fail.
  return *parse_mac(std::string_view(reinterpret_cast<const char*>(r.buf), kTcpbootMacLen));
}

const char* tcpboot_misfit(const uint8_t* p, size_t n) {
  if (n > 0 && p[0] == 0x16) return "a TLS handshake (https:// to the tcpboot port?), not a MAC";
  size_t i = 0;
  while (i < n && p[i] >= 'A' && p[i] <= 'Z') ++i;
  if (i > 0 && i < n && p[i] == ' ') return "an HTTP request (http:// to the tcpboot port?), not a MAC";
  return "not a MAC (expected 12 hex characters, got a non-hex byte)";
}

void tcpboot_header(uint32_t size, const uint8_t sha1[20], uint8_t out[kTcpbootHeaderLen]) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(size >> (8 * i));
  memcpy(out + 4, sha1, 20);
}

}  // namespace otad
