#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "otad/tcpboot.h"

using namespace otad;

namespace {
MacFeed feed_all(MacReader& r, const std::string& s, size_t step) {
  MacFeed f = MacFeed::NeedMore;
  for (size_t i = 0; i < s.size(); i += step) {
    size_t n = std::min(step, s.size() - i);
    n = std::min(n, kTcpbootMacLen - r.len);
    f = mac_feed(r, reinterpret_cast<const uint8_t*>(s.data()) + i, n);
    if (f != MacFeed::NeedMore) return f;
  }
  return f;
}
}  // namespace

TEST(Tcpboot, MacFeedTable) {
  struct Case {
    std::string in;
    size_t step;
    MacFeed want;
    const char* mac;
  };
  const Case cases[] = {
      {"30aea4041d8c", 12, MacFeed::Done, "30aea4041d8c"},
      {"30aea4041d8c", 1, MacFeed::Done, "30aea4041d8c"},  // a byte at a time
      {"30AEA4041D8C", 5, MacFeed::Done, "30aea4041d8c"},
      {"30aea4041d8", 1, MacFeed::NeedMore, nullptr},       // 11 bytes: still waiting
      {"30aea4041d8g", 12, MacFeed::Invalid, nullptr},
      {"30:ae:a4:04", 1, MacFeed::Invalid, nullptr},        // separators are not sent
      {"\n", 1, MacFeed::Invalid, nullptr},
      {std::string("30ae\0a4041d8c", 13), 13, MacFeed::Invalid, nullptr},
      {"GET / HTTP/1.1", 14, MacFeed::Invalid, nullptr},
  };
  for (const Case& c : cases) {
    MacReader r;
    EXPECT_EQ(feed_all(r, c.in, c.step), c.want) << c.in;
    if (c.mac) {
      EXPECT_EQ(mac_reader_mac(r).str(), c.mac);
    }
  }
}

TEST(Tcpboot, InvalidAtFirstBadByte) {
  MacReader r;
  const uint8_t b[] = {'3', 'x'};
  EXPECT_EQ(mac_feed(r, b, 1), MacFeed::NeedMore);
  EXPECT_EQ(mac_feed(r, b + 1, 1), MacFeed::Invalid);
}

// A connection that is not a bootloader is named for what it most likely is.
TEST(Tcpboot, Misfit) {
  const struct {
    std::string head;
    const char* starts;
  } cases[] = {
      {"GET /firmware/demo.bin HTTP/1.1\r\n", "an HTTP request"},
      {"HEAD / HTTP/1.1", "an HTTP request"},
      {"DE" "LETE /x HTTP/1.1", "an HTTP request"},  // hex letters first: kept, then the rest
      {std::string("\x16\x03\x01\x00\xa5\x01", 6), "a TLS handshake"},
      {"30aea4041d8x", "not a MAC"},
      {"GET", "not a MAC"},  // too little to tell
      {"G", "not a MAC"},
      {"", "not a MAC"},
  };
  for (const auto& c : cases) {
    const char* why = tcpboot_misfit(reinterpret_cast<const uint8_t*>(c.head.data()), c.head.size());
    EXPECT_EQ(std::string(why).rfind(c.starts, 0), 0u) << c.head << " -> " << why;
  }
}

TEST(Tcpboot, Header) {
  uint8_t sha1[20];
  for (int i = 0; i < 20; ++i) sha1[i] = static_cast<uint8_t>(i + 1);
  uint8_t out[kTcpbootHeaderLen];
  tcpboot_header(0x00102030, sha1, out);
  const uint8_t want_size[4] = {0x30, 0x20, 0x10, 0x00};  // little-endian
  EXPECT_EQ(memcmp(out, want_size, 4), 0);
  EXPECT_EQ(memcmp(out + 4, sha1, 20), 0);
}
