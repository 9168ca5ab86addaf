// The tcpboot driver through a fake transport: the MAC in pieces, the
// 24-byte header, the body, bytes after the MAC, refusals that send nothing.
#include <gtest/gtest.h>

#include "fake_transport.h"
#include "otad/tcpboot.h"

using namespace otad;

namespace {
std::string image_bytes(const test::Harness& h, size_t i) {
  std::string b(h.images[i].size, '\0');
  auto img = h.catalog->by_sha256(h.images[i].sha256);
  EXPECT_EQ(pread(img->fd, b.data(), b.size(), 0), static_cast<ssize_t>(b.size()));
  return b;
}
}  // namespace

TEST(TcpbootDriver, MacInPiecesThenHeaderAndBody) {
  for (size_t chunk : {size_t{1}, size_t{5}, size_t{12}}) {
    test::Harness h;
    h.cfg.default_platform = "demo";
    h.add_image("demo", "1.0.0", 20000);
    h.load();
    h.io.chunk = chunk;
    h.io.in = "30aea4041d8c";
    h.open(kTcpbootProtocol);
    Next n = h.run();
    ASSERT_EQ(n.want, Want::Read) << chunk;  // all sent; lingering for the device to close
    const auto img = h.catalog->by_sha256(h.images[0].sha256);
    uint8_t hdr[kTcpbootHeaderLen];
    tcpboot_header(20000, img->sha1, hdr);
    ASSERT_EQ(h.io.out.size(), kTcpbootHeaderLen + 20000) << chunk;
    EXPECT_EQ(h.io.out.substr(0, kTcpbootHeaderLen), std::string(reinterpret_cast<char*>(hdr), sizeof hdr));
    EXPECT_EQ(h.io.out.substr(kTcpbootHeaderLen), image_bytes(h, 0));
    EXPECT_EQ(h.io.out.substr(0, 4), std::string("\x20\x4e\x00\x00", 4));  // 20000, little-endian
    EXPECT_TRUE(h.io.shut);
    EXPECT_STREQ(h.c.mac, "30aea4041d8c");
    EXPECT_EQ(h.stats().served, 0u);  // complete only once the device closes
    h.io.eof = true;
    EXPECT_EQ(h.run().want, Want::Close);
    EXPECT_EQ(h.stats().served, 1u);
    EXPECT_EQ(h.stats().bytes_sent, 20000u);
  }
}

TEST(TcpbootDriver, BytesAfterTheMacAreDrained) {
  test::Harness h;
  h.cfg.default_platform = "demo";
  h.add_image("demo", "1.0.0", 4096);
  h.load();
  h.io.in = "30aea4041d8cEXTRA BYTES";
  h.open(kTcpbootProtocol);
  ASSERT_EQ(h.run().want, Want::Read);
  EXPECT_EQ(h.io.out.size(), kTcpbootHeaderLen + 4096);  // extra bytes never answered
  EXPECT_EQ(h.io.pos, h.io.in.size());                    // but read and dropped
  h.io.eof = true;
  EXPECT_EQ(h.run().want, Want::Close);
  EXPECT_EQ(h.stats().served, 1u);
}

TEST(TcpbootDriver, RefusedAndMalformedSendNothing) {
  struct Case {
    const char* in;
    bool eof;
    const char* unknown_devices;
    Want want;
    uint64_t refused, bad;
  };
  const Case cases[] = {
      {"aabbcc0000ff", false, "refuse", Want::Close, 1, 0},  // unknown device refused
      {"aabbcc000003", false, "serve", Want::Close, 1, 0},   // disabled
      {"30aea4041d8", true, "serve", Want::Close, 0, 1},     // 11 bytes, then gone
      {"GET / HTTP/1.1\r\n", false, "serve", Want::Close, 0, 1},
      {"30:ae:a4:04:1d:8c", false, "serve", Want::Close, 0, 1},
  };
  for (const Case& c : cases) {
    test::Harness h;
    h.cfg.default_platform = "demo";
    h.cfg.unknown_devices = c.unknown_devices;
    h.cfg.tcpboot_hold_refused = 0;  // closed at once (holding: RefusedIsHeldOpen)
    h.add_image("demo", "1.0.0", 4096);
    Device d;
    d.mac = *parse_mac("aabbcc000003");
    d.enabled = false;
    h.registry.put(d);
    h.load();
    h.io.in = c.in;
    h.io.eof = c.eof;
    h.open(kTcpbootProtocol);
    EXPECT_EQ(h.run().want, c.want) << c.in;
    EXPECT_EQ(h.io.out, "") << c.in;
    EXPECT_EQ(h.stats().refused, c.refused) << c.in;
    EXPECT_EQ(h.stats().bad_requests, c.bad) << c.in;
  }
}

namespace {
// A refused device (unknown, unknown_devices = refuse) with holding on.
struct Refused : test::Harness {
  explicit Refused(const char* mac) {
    cfg.default_platform = "demo";
    cfg.unknown_devices = "refuse";
    cfg.tcpboot_hold_refused = 600;
    cfg.tcpboot_hold_max = 1;
    add_image("demo", "1.0.0", 4096);
    load();
    io.in = mac;
    open(kTcpbootProtocol);
  }
};
}  // namespace

TEST(TcpbootDriver, RefusedIsHeldOpen) {
  Refused h("aabbcc0000ff");
  Next n = h.run();
  EXPECT_EQ(n.want, Want::Read);  // held: waiting, silent
  EXPECT_EQ(n.timeout_ms, 600 * 1000);
  EXPECT_EQ(h.io.out, "");
  EXPECT_EQ(h.stats().refused, 1u);
  EXPECT_TRUE(kTcpbootProtocol.idle(h.c));  // shutdown may close it at once
  // A second refused device while the first is held (hold_max 1): closed at once.
  Refused h2("aabbcc0000fe");
  EXPECT_EQ(h2.run().want, Want::Close);
  // The first one's hold ends (timeout): closed, and its place is free again.
  EXPECT_EQ(kTcpbootProtocol.drive(h.c, h.ctx, true).want, Want::Close);
  kTcpbootProtocol.end(h.c, h.ctx);
  Refused h3("aabbcc0000fd");
  EXPECT_EQ(h3.run().want, Want::Read);
  kTcpbootProtocol.end(h3.c, h3.ctx);
}
