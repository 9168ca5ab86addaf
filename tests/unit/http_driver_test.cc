// The HTTP driver and router through a fake transport: the update
// endpoint's status table as the Arduino clients see it, downloads with
// ranges and validators, keep-alive and pipelining, identity.
#include <gtest/gtest.h>

#include "fake_transport.h"
#include "otad/credentials.h"

using namespace otad;

namespace {

constexpr const char* kMac = "5ccf7fb242ca";

struct Http : test::Harness {
  Http() {
    cfg.default_platform = "demo";
    add_image("demo", "1.0.0", 4096);
    add_image("demo", "1.2.0", 8192);
    // The requests below are the ESP8266 client's: an ESP8266 platform.
    for (ManifestEntry& e : images) e.chip = "esp8266";
    Device d;
    d.mac = *parse_mac("aabbcc000003");
    d.enabled = false;
    registry.put(d);
    Device p;
    p.mac = *parse_mac(kMac);
    p.password_hash = *password_hash_make("secret");
    registry.put(p);
  }
  // One request, answered; returns the response head.
  std::string ask(const std::string& request, Auth auth = Auth::None) {
    load();
    io.in = request;
    open(kHttpProtocol, auth);
    run();
    return head();
  }
  std::string head() const { return io.out.substr(0, io.out.find("\r\n\r\n") + 4); }
  std::string body() const { return io.out.substr(io.out.find("\r\n\r\n") + 4); }
};

std::string update(const std::string& headers, const std::string& query = "") {
  return "GET /update" + query + " HTTP/1.1\r\nHost: gw\r\nUser-Agent: ESP8266-http-Update\r\n" + headers + "\r\n";
}

}  // namespace

TEST(HttpDriver, UpdateEndpointStatusTable) {
  const std::string mac = "x-ESP8266-STA-MAC: 5C:CF:7F:B2:42:CA\r\n";
  struct Case {
    const char* name;
    std::string request;
    int status;
    const char* must;  // a header line (or body text) the answer must hold
    Auth auth = Auth::None;
    int64_t no_update = 304;
  };
  const Case cases[] = {
      {"older version: the image", update(mac + "x-ESP8266-version: 1.0.0\r\n"), 200, "x-MD5: "},
      {"no version: the image", update(mac), 200, "Content-Length: 8192\r\n"},
      {"current: 304", update(mac + "x-ESP8266-version: 1.2.0\r\n"), 304, "Connection: keep-alive"},
      {"current: 204 when configured", update(mac + "x-ESP8266-version: 1.2.0\r\n"), 204, "Server: otad", Auth::None, 204},
      {"?ver= form", update(mac, "?dev=demo&ver=1.2.0"), 304, "Server: otad"},
      {"a version past 2^64 is newer, not a downgrade", update(mac, "?dev=demo&ver=99999999999999999999999.0.0"), 304,
       "Server: otad"},
      {"no MAC: 400", update("x-ESP8266-version: 1.0.0\r\n"), 400, "Bad Request"},
      {"malformed MAC: 400", update("x-ESP8266-STA-MAC: 5C:CF:7F\r\n"), 400, "Connection: close"},
      {"two MAC headers that disagree: 400 with why", update(mac + "x-ESP32-STA-MAC: 30:AE:A4:04:1D:8C\r\n"), 400,
       "MAC headers disagree: x-ESP8266-STA-MAC 5ccf7fb242ca, x-ESP32-STA-MAC 30aea4041d8c"},
      {"the same header twice, disagreeing: 400", update(mac + "X-esp8266-sta-mac: 5CCF7FB242CB\r\n"), 400,
       "MAC headers disagree: x-ESP8266-STA-MAC 5ccf7fb242ca, X-esp8266-sta-mac 5ccf7fb242cb"},
      {"two headers, one MAC in two spellings: served", update(mac + "x-ESP32-BASE-MAC: 5ccf7fb242ca\r\n"), 200,
       "x-MD5: "},
      {"a malformed second header: 400", update(mac + "x-ESP32-BASE-MAC: nope\r\n"), 400,
       "malformed MAC header x-ESP32-BASE-MAC"},
      {"unknown mode: 400", update(mac + "x-ESP8266-mode: eeprom\r\n"), 400, "Bad Request"},
      {"password required: 401", update(mac), 401, "WWW-Authenticate: Basic realm=\"otad\"", Auth::Password},
      {"wrong password: 401", update(mac + "Authorization: Basic NWNjZjdmYjI0MmNhOndyb25n\r\n"), 401,
       "WWW-Authenticate", Auth::Password},
      {"right password: 200", update(mac + "Authorization: Basic NWNjZjdmYjI0MmNhOnNlY3JldA==\r\n"), 200,
       "x-SHA256: ", Auth::Password},
      {"disabled: 403", update("x-ESP8266-STA-MAC: aabbcc000003\r\n"), 403, "Forbidden"},
      {"unknown platform: 404", update("x-ESP32-STA-MAC: 30aea4041d8c\r\n", "?dev=nope"), 404, "Not Found"},
      {"too little free space: 413", update(mac + "x-ESP8266-free-space: 8191\r\n"), 413, "Content Too Large"},
      {"enough free space: 200", update(mac + "x-ESP8266-free-space: 8192\r\n"), 200, "Accept-Ranges: bytes"},
      {"mode version: x-version", update(mac + "x-ESP8266-mode: version\r\n"), 200, "x-version: 1.2.0\r\n"},
      {"ESP32 client, ESP8266 image: 409", update("x-ESP32-STA-MAC: 24:0A:C4:00:01:10\r\n"), 409, "Conflict"},
      {"wrong method: 405", "POST /update HTTP/1.1\r\nHost: gw\r\n\r\n", 405, "Allow: GET, HEAD\r\n"},
      {"no such path: 404", "GET /nope HTTP/1.1\r\nHost: gw\r\n\r\n", 404, "Not Found"},
  };
  for (const Case& c : cases) {
    Http h;
    h.cfg.no_update_status = c.no_update;
    const std::string head = h.ask(c.request, c.auth);
    const std::string want = "HTTP/1.1 " + std::to_string(c.status) + " ";
    EXPECT_EQ(head.substr(0, want.size()), want) << c.name << "\n" << head;
    EXPECT_NE(h.io.out.find(c.must), std::string::npos) << c.name << "\n" << h.io.out;
    if (c.status == 200 && std::string(c.name).find("version") == std::string::npos) {
      EXPECT_EQ(h.body().size(), 8192u) << c.name;  // the image follows its head, whole
    }
    if (c.status == 304 || c.status == 204) {
      EXPECT_EQ(head.find("Content-Length"), std::string::npos) << c.name;
      EXPECT_EQ(h.body(), "") << c.name;
    }
  }
}

TEST(HttpDriver, MacMismatchWithProvenIdentityIs403) {
  Http h;
  h.c.proven = {Proof::Psk, "5ccf7fb242cb"};
  h.ask(update("x-ESP8266-STA-MAC: 5ccf7fb242ca\r\n"), Auth::Psk);
  EXPECT_EQ(h.io.out.substr(0, 13), "HTTP/1.1 403 ");
  EXPECT_EQ(h.stats().refused, 1u);
}

TEST(HttpDriver, DownloadRangesAndValidators) {
  Http h;
  h.load();
  const std::string etag = "\"" + h.images[1].sha256 + "\"";
  struct Case {
    std::string extra;
    int status;
    const char* must;
    size_t body;
  };
  const Case cases[] = {
      {"", 200, "ETag: ", 8192},
      {"Range: bytes=0-1023\r\n", 206, "Content-Range: bytes 0-1023/8192\r\n", 1024},
      {"Range: bytes=8000-\r\n", 206, "Content-Range: bytes 8000-8191/8192\r\n", 192},
      {"Range: bytes=9000-\r\n", 416, "Content-Range: bytes */8192\r\n", 0},
      {"If-None-Match: " + etag + "\r\n", 304, "ETag: ", 0},
      {"Range: bytes=0-9\r\nIf-Range: \"other\"\r\n", 200, "Content-Length: 8192", 8192},
      {"Range: bytes=0-9\r\nIf-Range: " + etag + "\r\n", 206, "Content-Length: 10", 10},
  };
  for (const Case& c : cases) {
    Http x;
    x.ask("GET /firmware/demo.bin HTTP/1.1\r\nHost: gw\r\n" + c.extra + "\r\n");
    const std::string want = "HTTP/1.1 " + std::to_string(c.status) + " ";
    EXPECT_EQ(x.head().substr(0, want.size()), want) << c.extra << x.head();
    EXPECT_NE(x.head().find(c.must), std::string::npos) << c.extra << x.head();
    if (c.status != 416) {
      EXPECT_EQ(x.body().size(), c.body) << c.extra;
    }
  }
  Http byhash;
  byhash.ask("HEAD /images/" + byhash.images[0].sha256 + ".bin HTTP/1.1\r\nHost: gw\r\n\r\n");
  EXPECT_NE(byhash.head().find("Content-Length: 4096\r\n"), std::string::npos);
  EXPECT_EQ(byhash.body(), "");  // HEAD: the head only
}

TEST(HttpDriver, KeepAliveAndPipelining) {
  // All three requests in one read (pipelined: the later ones wait in the
  // buffer), and in small pieces.
  for (size_t chunk : {size_t{4096}, size_t{7}}) {
    Http h;
    const std::string get = "GET /firmware/demo.bin HTTP/1.1\r\nHost: gw\r\nRange: bytes=0-9\r\n\r\n";
    h.io.chunk = chunk;
    h.ask(get + get + get);
    size_t answers = 0;
    for (size_t p = 0; (p = h.io.out.find("HTTP/1.1 206 ", p)) != std::string::npos; ++p) ++answers;
    EXPECT_EQ(answers, 3u);
    EXPECT_EQ(h.last.want, Want::Read);  // idle on a keep-alive connection
    EXPECT_TRUE(kHttpProtocol.idle(h.c));
    EXPECT_EQ(h.stats().served, 3u);
    EXPECT_EQ(h.stats().bytes_sent, 30u);
  }
}

TEST(HttpDriver, MalformedHeadGetsItsStatusAndCloses) {
  struct Case {
    const char* request;
    int status;
  };
  const Case cases[] = {
      {"GET /update HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
      {"GET /update HTTP/2.0\r\nHost: gw\r\n\r\n", 505},
      {"GET /update HTTP/1.1\r\n\r\n", 400},
      {"BREW /update HTTP/1.1\r\nHost: gw\r\n\r\n", 501},
  };
  for (const Case& c : cases) {
    Http h;
    h.ask(c.request);
    const std::string want = "HTTP/1.1 " + std::to_string(c.status) + " ";
    EXPECT_EQ(h.io.out.substr(0, want.size()), want) << c.request;
    EXPECT_NE(h.io.out.find("Connection: close"), std::string::npos);
    EXPECT_EQ(h.stats().bad_requests, 1u) << c.request;
  }
}

TEST(HttpDriver, PlainTextOnTheTlsPortIsAnsweredInClear) {
  Http h;
  h.c.misdirected = true;
  h.ask(update("x-ESP32-STA-MAC: 30:AE:A4:04:1D:8C\r\n"));
  EXPECT_EQ(h.io.out.substr(0, 13), "HTTP/1.1 400 ");
  EXPECT_NE(h.io.out.find("This port speaks HTTPS: the URL must begin with https://\n"), std::string::npos);
  EXPECT_EQ(h.io.out.find("x-MD5"), std::string::npos);  // never content
  EXPECT_STREQ(h.c.mac, "30aea4041d8c");
  EXPECT_EQ(h.stats().bad_requests, 1u);
}
