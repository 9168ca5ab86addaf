#include <gtest/gtest.h>

#include <string>

#include "otad/http.h"

using namespace otad;

namespace {
const HttpLimits kLim{2048, 1024};
ParseResult parse(const std::string& s, Request* r) {
  return http_parse_head(reinterpret_cast<const uint8_t*>(s.data()), s.size(), kLim, r);
}
const uint8_t* B(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }
}  // namespace

// The exact request ESP8266httpUpdate sends (protocols.md §2.1).
const std::string kEsp8266 =
    "GET /update?dev=demo HTTP/1.0\r\n"
    "Host: 192.168.1.2:8080\r\n"
    "User-Agent: ESP8266-http-Update\r\n"
    "Connection: close\r\n"
    "x-ESP8266-Chip-ID: 1234567\r\n"
    "x-ESP8266-STA-MAC: 5C:CF:7F:B2:42:CA\r\n"
    "x-ESP8266-AP-MAC: 5E:CF:7F:B2:42:CA\r\n"
    "x-ESP8266-free-space: 700000\r\n"
    "x-ESP8266-sketch-size: 300000\r\n"
    "x-ESP8266-sketch-md5: 0123456789abcdef0123456789abcdef\r\n"
    "x-ESP8266-chip-size: 4194304\r\n"
    "x-ESP8266-sdk-version: 2.2.2-dev(38a443e)\r\n"
    "x-ESP8266-mode: sketch\r\n"
    "x-ESP8266-version: 1.0.0\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

TEST(HttpParse, Esp8266Request) {
  Request r;
  ParseResult p = parse(kEsp8266, &r);
  ASSERT_EQ(p.st, Parse::Done);
  EXPECT_EQ(r.method, Method::Get);
  EXPECT_EQ(r.minor, 0);
  EXPECT_FALSE(r.keep_alive);
  EXPECT_EQ(r.content_length, 0);
  EXPECT_EQ(r.path.in(B(kEsp8266)), "/update");
  EXPECT_EQ(r.query.in(B(kEsp8266)), "dev=demo");
  EXPECT_EQ(http_header(r, B(kEsp8266), "X-esp8266-sta-mac"), "5C:CF:7F:B2:42:CA");
  EXPECT_EQ(r.head_len, kEsp8266.size());
}

TEST(HttpParse, Table) {
  struct Case {
    std::string in;
    Parse st;
    int status;
    bool keep_alive;
  };
  const std::string big_uri(1100, 'a');
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", Parse::Done, 0, true},
      {"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", Parse::Done, 0, false},
      {"GET / HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive, Upgrade\r\n\r\n", Parse::Done, 0, true},
      {"GET / HTTP/1.0\r\n\r\n", Parse::Done, 0, false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", Parse::Done, 0, true},
      {"HEAD /x HTTP/1.1\nHost: x\n\n", Parse::Done, 0, true},  // bare LF tolerated
      {"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", Parse::Done, 0, true},
      {"GET / HTTP/1.1\r\nHost: x\r\n", Parse::NeedMore, 0, false},
      {"GET / HT", Parse::NeedMore, 0, false},
      {"GET / HTTP/1.1\r\n\r\n", Parse::Error, 400, false},           // 1.1 needs Host
      {"GET / HTTP/2.0\r\n\r\n", Parse::Error, 505, false},
      {"GET / HTTP/1.2\r\nHost: x\r\n\r\n", Parse::Error, 505, false},
      {"GET / HTTQ/1.1\r\n\r\n", Parse::Error, 400, false},
      {"BREW / HTTP/1.1\r\nHost: x\r\n\r\n", Parse::Error, 501, false},
      {"get / HTTP/1.1\r\nHost: x\r\n\r\n", Parse::Error, 501, false},  // methods are case-sensitive
      {"GET  / HTTP/1.1\r\n\r\n", Parse::Error, 400, false},
      {"GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", Parse::Error, 400, false},
      {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", Parse::Error, 400, false},
      {"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", Parse::Error, 400, false},
      {"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", Parse::Error, 400, false},
      {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", Parse::Error, 400, false},
      {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", Parse::Error, 400, false},
      {"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", Parse::Error, 501, false},
      {"GET / HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n", Parse::Error, 400, false},
      {"GET /" + big_uri + " HTTP/1.1\r\nHost: x\r\n\r\n", Parse::Error, 414, false},
      {"GET /" + big_uri, Parse::Error, 414, false},
  };
  for (const Case& c : cases) {
    Request r;
    ParseResult p = parse(c.in, &r);
    EXPECT_EQ(p.st, c.st) << c.in;
    if (c.st == Parse::Error) {
      EXPECT_EQ(p.status, c.status) << c.in;
      EXPECT_TRUE(p.why && *p.why) << c.in;  // every refusal says why in the log
    }
    if (c.st == Parse::Done) {
      EXPECT_EQ(r.keep_alive, c.keep_alive) << c.in;
    }
  }
}

// The log line's reason for a refusal names the actual fault.
TEST(HttpParse, ErrorReasons) {
  const struct {
    std::string in;
    std::string why;
  } cases[] = {
      {"GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 request without Host"},
      {"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding in a request"},
      {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15), "TLS handshake on the plain HTTP port"},
      {"BREW / HTTP/1.1\r\nHost: x\r\n\r\n", "unknown method"},
      {"GET / HTTP/2.0\r\n\r\n", "HTTP version other than 1.0 and 1.1"},
      {"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", "folded header line"},
      {"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", "more than one Host field"},
      {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
       "conflicting Content-Length fields"},
      {"GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", "request target not a path (origin form)"},
  };
  for (const auto& c : cases) {
    Request r;
    ParseResult p = parse(c.in, &r);
    ASSERT_EQ(p.st, Parse::Error) << c.in;
    EXPECT_EQ(std::string(p.why).substr(0, c.why.size()), c.why) << c.in;
  }
}

TEST(HttpParse, HeadTooLargeIs431) {
  std::string s = "GET / HTTP/1.1\r\nHost: x\r\n";
  while (s.size() < kLim.max_head) s += "X-Pad: 0123456789012345678901234567890123456789\r\n";
  s.resize(kLim.max_head);
  Request r;
  ParseResult p = parse(s, &r);
  EXPECT_EQ(p.st, Parse::Error);
  EXPECT_EQ(p.status, 431);
  std::string many = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < kMaxHeaders + 1; ++i) many += "A: b\r\n";
  many += "\r\n";
  EXPECT_EQ(parse(many, &r).status, 431);
}

TEST(HttpParse, PipelinedRequestsParseOneAtATime) {
  std::string two = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
  Request r;
  ASSERT_EQ(parse(two, &r).st, Parse::Done);
  EXPECT_EQ(r.path.in(B(two)), "/a");
  std::string rest = two.substr(r.head_len);
  ASSERT_EQ(parse(rest, &r).st, Parse::Done);
  EXPECT_EQ(r.path.in(B(rest)), "/b");
}

TEST(HttpParse, QueryParams) {
  bool f;
  EXPECT_EQ(http_query_param("ver=v1.0.2&dev=Chase", "dev", &f), "Chase");
  EXPECT_TRUE(f);
  EXPECT_EQ(http_query_param("ver=v1.0.2&dev=Chase", "ver"), "v1.0.2");
  EXPECT_EQ(http_query_param("ver=v1.0.2", "dev", &f), "");
  EXPECT_FALSE(f);
  EXPECT_EQ(http_query_param("flag&x=1", "flag", &f), "");
  EXPECT_TRUE(f);
}

TEST(HttpRange, Table) {
  struct Case {
    const char* v;
    uint64_t size;
    RangeResult::Kind kind;
    uint64_t first, last;
  };
  const Case cases[] = {
      {"bytes=0-65535", 1000000, RangeResult::Ok, 0, 65535},
      {"bytes=65536-131071", 1000000, RangeResult::Ok, 65536, 131071},
      {"bytes=983040-", 1000000, RangeResult::Ok, 983040, 999999},
      {"bytes=0-0", 1000000, RangeResult::Ok, 0, 0},
      {"bytes=-500", 1000000, RangeResult::Ok, 999500, 999999},
      {"bytes=-5000000", 1000000, RangeResult::Ok, 0, 999999},
      {"bytes=999000-2000000", 1000000, RangeResult::Ok, 999000, 999999},  // clamped
      {"bytes=1000000-", 1000000, RangeResult::Unsatisfiable, 0, 0},
      {"bytes=2000000-3000000", 1000000, RangeResult::Unsatisfiable, 0, 0},
      {"bytes=-0", 1000000, RangeResult::Unsatisfiable, 0, 0},
      {"bytes=5-1", 1000000, RangeResult::None, 0, 0},
      {"bytes=0-1,5-6", 1000000, RangeResult::None, 0, 0},
      {"items=0-1", 1000000, RangeResult::None, 0, 0},
      {"bytes=a-b", 1000000, RangeResult::None, 0, 0},
      {"bytes=99999999999999999999-", 1000000, RangeResult::None, 0, 0},
      {"bytes=", 1000000, RangeResult::None, 0, 0},
  };
  for (const Case& c : cases) {
    RangeResult r = http_parse_range(c.v, c.size);
    EXPECT_EQ(r.kind, c.kind) << c.v;
    if (c.kind == RangeResult::Ok) {
      EXPECT_EQ(r.first, c.first) << c.v;
      EXPECT_EQ(r.last, c.last) << c.v;
    }
  }
}
