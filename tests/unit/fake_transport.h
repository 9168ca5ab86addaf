// A transport without sockets: the device's bytes come from a string (in
// chunks of a chosen size), what the driver sends goes to a string, image
// bodies are read from the image's file as sendfile would send them. With a
// Context over a real catalog and a registry built in code, protocol drivers
// run here byte for byte as they do on the wire.
#pragma once
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/context.h"
#include "proto/protocols.h"
#include "testutil.h"

namespace otad::test {

struct FakeTransport final : Transport {
  std::string in;          // what the device sends
  size_t pos = 0;
  size_t chunk = 1 << 20;  // bytes per read, at most
  bool eof = false;        // after `in`, the device closes
  std::string out;         // what the driver sent
  bool shut = false;

  IoResult read(Conn&, uint8_t* buf, size_t n) override {
    if (pos == in.size()) return {eof ? Io::Eof : Io::WantRead, 0, 0};
    const size_t m = std::min({n, chunk, in.size() - pos});
    memcpy(buf, in.data() + pos, m);
    pos += m;
    return {Io::Ok, m, 0};
  }
  IoResult write(Conn&, const uint8_t* buf, size_t n, bool) override {
    out.append(reinterpret_cast<const char*>(buf), n);
    return {Io::Ok, n, 0};
  }
  IoResult send_file(Conn&, int fd, uint64_t off, size_t n) override {
    std::string b(std::min<size_t>(n, 65536), '\0');
    ssize_t got = pread(fd, b.data(), b.size(), static_cast<off_t>(off));
    if (got <= 0) return {Io::Eof, 0, 0};
    out.append(b.data(), static_cast<size_t>(got));
    return {Io::Ok, static_cast<size_t>(got), 0};
  }
  void shutdown_write(Conn&) override { shut = true; }
  const char* error_text(int) override { return "fake error"; }
};

// One connection of a protocol over a FakeTransport, with the server state
// a driver reads.
struct Harness {
  Config cfg = config_defaults();
  TempDir dir;
  std::shared_ptr<const Catalog> catalog;
  std::vector<ManifestEntry> images;
  Registry registry;
  TransferLog transfers;
  Context ctx;
  Harness() { transfers.init(64); }
  FakeTransport io;
  std::vector<uint8_t> buf;
  Conn c;
  Next last{Want::Read, 0};

  // Images stored as the catalog would keep them, then loaded.
  void add_image(const std::string& platform, const std::string& version, uint64_t size = 8192) {
    images.push_back(store_generated(dir.path, platform, version, images.size() + 1, size));
  }
  void load() {
    EXPECT_TRUE(manifest_write(manifest_path(dir.path), images).ok());
    std::vector<std::string> errors, warnings;
    catalog = *Catalog::load(dir.path, 64 << 20, nullptr, &errors, &warnings);
    ctx.cfg = &cfg;
    ctx.catalog = catalog;
    ctx.registry = &registry;
    ctx.policy = {cfg.default_platform, cfg.unknown_devices == "serve"};
    ctx.max_head = static_cast<size_t>(cfg.max_head);
    ctx.transfers = &transfers;
  }
  void open(const Protocol& p, Auth auth = Auth::None, const char* tag = "test") {
    buf.assign(p.buffer_size(ctx), 0);
    c.buf = buf.empty() ? nullptr : buf.data();
    c.io = &io;
    c.proto = &p;
    c.tag = tag;
    c.auth = auth;
    c.state = ConnState::Protocol;
    snprintf(c.peer, sizeof c.peer, "fake:1");
    p.start(c, ctx);
  }
  // Drives until the connection waits for bytes the device has not sent,
  // or ends.
  Next run() {
    for (int i = 0; i < 10000; ++i) {
      last = c.proto->drive(c, ctx, false);
      if (last.want == Want::Close || last.want == Want::Reset) return last;
      if (last.want == Want::Read && io.pos == io.in.size() && !io.eof) return last;
    }
    ADD_FAILURE() << "driver did not settle";
    return last;
  }
  const Stats& stats() const { return transfers.stats(); }
};

}  // namespace otad::test
