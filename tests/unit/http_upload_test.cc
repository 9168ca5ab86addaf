// A request body streamed into an upload through the HTTP driver, with a
// route of the test's own: 100-continue, bodies arriving with the head and
// in pieces, a request pipelined behind the body, a device leaving mid-body,
// every upload slot busy.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>

#include "fake_transport.h"
#include "http/exchange.h"
#include "http/upload.h"

using namespace otad;

namespace {

std::string g_dir;  // where the test route stores what it receives

void begin_upload(const Exchange& x, HttpResponse* out) {
  UploadErr err;
  std::string why;
  Upload* u = upload_begin(g_dir, static_cast<uint64_t>(x.req.content_length), &err, &why);
  if (!u) return out->fail(err == UploadErr::Busy ? 503 : 507, "no upload");
  out->receive = u;
}

void finish_upload(const Exchange&, Upload* u, HttpResponse* out) {
  auto d = upload_finish(u);
  if (d) rename(upload_path(u).c_str(), (g_dir + "/stored.bin").c_str());
  upload_end(u);
  if (!d) return out->fail(500, "incomplete");
  static char sha[65];
  snprintf(sha, sizeof sha, "%s", d->sha256_hex().c_str());
  out->status = 201;
  out->entity = Entity::Text;
  out->text = sha;
}

void get_ok(const Exchange&, HttpResponse* out) { out->set_note("ok"); }

constexpr uint8_t kPost = method_bit(Method::Post), kGet = method_bit(Method::Get);
const Route kTestRoutes[] = {
    {kPost, "/upload/", ".bin", 0, begin_upload, finish_upload},
    {kGet, "/ping/", ".txt", 0, get_ok},
};
const RouteTable kTable = {kTestRoutes, 2};

struct Uploading : test::Harness {
  Protocol proto = kHttpProtocol;
  Uploading() {
    g_dir = dir.path;
    proto.table = &kTable;
    load();
  }
  void send(const std::string& bytes, size_t chunk = 1 << 20) {
    io.in = bytes;
    io.chunk = chunk;
    open(proto);
    run();
  }
  std::string stored() {
    auto d = read_file(g_dir + "/stored.bin", 1 << 20);
    return d ? *d : "";
  }
  size_t leftovers() {  // temporary files still in the directory
    std::string cmd = "ls -a " + g_dir + " | grep -c '^.upload-' > " + g_dir + "/count";
    (void)!system(cmd.c_str());
    return static_cast<size_t>(atoi(read_file(g_dir + "/count", 64)->c_str()));
  }
};

std::string post(const std::string& body, const std::string& extra = "") {
  return "POST /upload/app.bin HTTP/1.1\r\nHost: gw\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra +
         "\r\n" + body;
}

}  // namespace

TEST(HttpUpload, BodyInPiecesWithAndWithout100Continue) {
  std::string body(50000, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 7 + 3);
  const std::string sha = digest_bytes({reinterpret_cast<const uint8_t*>(body.data()), body.size()}).sha256_hex();
  for (size_t chunk : {size_t{1 << 20}, size_t{333}}) {
    for (bool expect : {false, true}) {
      Uploading u;
      u.send(post(body, expect ? "Expect: 100-continue\r\n" : "") + "GET /ping/x.txt HTTP/1.1\r\nHost: gw\r\n\r\n", chunk);
      const std::string& out = u.io.out;
      EXPECT_EQ(out.rfind("HTTP/1.1 100 Continue\r\n\r\n", 0) == 0, expect) << out.substr(0, 40);
      EXPECT_NE(out.find("HTTP/1.1 201 Created\r\n"), std::string::npos) << chunk << expect;
      EXPECT_NE(out.find(sha + "\n"), std::string::npos);
      EXPECT_NE(out.find("HTTP/1.1 200 OK\r\n"), std::string::npos);  // the request behind the body
      EXPECT_TRUE(u.stored() == body) << u.stored().size();
      EXPECT_EQ(u.leftovers(), 0u);
      EXPECT_EQ(upload_slots_free(), 2u);
    }
  }
}

TEST(HttpUpload, DeviceLeavingMidBodyLeavesNothing) {
  Uploading u;
  u.io.eof = true;
  u.send(post(std::string(10000, 'x')).substr(0, 3000));
  EXPECT_EQ(u.last.want, Want::Reset);
  EXPECT_EQ(u.stats().aborted, 1u);
  EXPECT_EQ(u.leftovers(), 0u);
  EXPECT_EQ(upload_slots_free(), 2u);
  EXPECT_TRUE(u.stored().empty());
}

TEST(HttpUpload, SlotFreedMidBodyGivesTheUploadBack) {
  Uploading u;
  u.send(post(std::string(10000, 'x')).substr(0, 3000));  // waits for the rest
  EXPECT_EQ(u.last.want, Want::Read);
  EXPECT_EQ(upload_slots_free(), 1u);
  u.proto.end(u.c, u.ctx);  // the reactor frees the slot (shutdown, timeout)
  EXPECT_EQ(upload_slots_free(), 2u);
  EXPECT_EQ(u.leftovers(), 0u);
}

TEST(HttpUpload, EveryUploadSlotBusyIsRefused) {
  Uploading a, b, c;
  a.send(post(std::string(10000, 'a')).substr(0, 200));
  b.send(post(std::string(10000, 'b')).substr(0, 200));
  EXPECT_EQ(upload_slots_free(), 0u);
  c.send(post(std::string(10000, 'c')));
  EXPECT_EQ(c.io.out.substr(0, 13), "HTTP/1.1 503 ");
  a.proto.end(a.c, a.ctx);
  b.proto.end(b.c, b.ctx);
  EXPECT_EQ(upload_slots_free(), 2u);
}

TEST(HttpUpload, BodiesElsewhereStill413) {
  test::Harness h;
  h.load();
  h.io.in = post("abc");
  h.open(kHttpProtocol);
  h.run();
  EXPECT_EQ(h.io.out.substr(0, 13), "HTTP/1.1 413 ");
  EXPECT_NE(h.io.out.find("Connection: close"), std::string::npos);
}
