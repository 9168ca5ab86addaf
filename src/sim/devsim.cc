// otad-sim: a fleet of simulated devices. Runs N concurrent downloads over
// one epoll loop, the way a fleet hits a gateway after a power cut, and
// verifies every image (size and SHA-1). Used by the integration tests and
// the benchmarks.
//
//   otad-sim tcpboot --port P --devices N [--mac-base HEX12]
//   otad-sim http|https --port P --path /f --devices N
//            [--ranges BYTES]        esp_https_ota: HEAD, then ranges of BYTES on one connection
//            [--head-only]           one HEAD per device (handshake rate)
//            [--ca FILE] [--cert FILE --key FILE] [--psk-identity ID --psk HEX]
//            [--suite MBEDTLS-NAME]  https: client side of TLS (mbedTLS)
//            [--server-name NAME]    https: the name checked against the certificate (default localhost)
//            [--session-out FILE]    https: no tickets; the first device's session is saved
//            [--session-in FILE]     https: no tickets; every device offers that session (by ID),
//                                    as a BearSSL device resumes; prints resumed=K
//   common:  [--host H] [--expect-sha1 HEX] [--expect-size N] [--rate BYTES_PER_S]
//            [--esp-tcp]             an ESP's TCP: lwIP's 1436-byte MSS and 5.7 KB window
//            [--timeout S] [--verify sha1|none|discard]
//
// --verify discard keeps the client out of the way of a server benchmark:
// plain bodies are dropped in the kernel (MSG_TRUNC); over TLS, once the
// response head is read, the body's records are counted and dropped without
// being decrypted (an AEAD suite, one GET per connection). Sizes are checked
// either way, content is not.
//
// Prints one summary line (key=value) and a line per failed device; exits 0
// only when every device got a verified image.
#include <arpa/inet.h>
#include <fcntl.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/error.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "otad/crypto_init.h"
#include "otad/strict_num.h"

namespace {

enum class Mode { Tcpboot, Http };
enum class St { Connecting, Handshake, SendReq, ReadHead, ReadBody, Done, Failed };

struct Opts {
  Mode mode = Mode::Tcpboot;
  bool tls = false, head_only = false, verify = true;
  bool discard = false;  // --verify discard: bodies dropped unread (see the top of the file)
  bool tls13 = false;    // --tls13: offer TLS 1.3 as well (default 1.2 only, as ESP8266 and ESP-IDF 4.x devices)
  std::string host = "127.0.0.1", path = "/", expect_sha1, ca, cert, key, psk_id, psk_hex, suite;
  int port = 8123;
  int devices = 1;
  uint64_t mac_base = 0x30aea4000000ULL;
  int64_t expect_size = -1;
  int64_t rate = 0;    // bytes/s per device, 0 = unlimited
  bool esp_tcp = false;  // lwIP's MSS and receive window
  uint64_t ranges = 0;  // esp_https_ota step; 0 = one GET
  std::string session_out, session_in;  // resumption by session ID
  std::string server_name = "localhost";
  int timeout_s = 120;
};

struct Tls {
  Tls() {
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_ssl_config_init(&conf);
    mbedtls_x509_crt_init(&ca);
    mbedtls_x509_crt_init(&cert);
    mbedtls_pk_init(&key);
    mbedtls_ssl_session_init(&session);
  }
  ~Tls() {
    mbedtls_ssl_session_free(&session);
    mbedtls_pk_free(&key);
    mbedtls_x509_crt_free(&cert);
    mbedtls_x509_crt_free(&ca);
    mbedtls_ssl_config_free(&conf);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
  }
  Tls(const Tls&) = delete;
  Tls& operator=(const Tls&) = delete;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_ssl_config conf;
  mbedtls_x509_crt ca, cert;
  mbedtls_pk_context key;
  mbedtls_ssl_session session;  // --session-in
  bool have_session = false, saved_session = false;
  int suites[2] = {0, 0};
  uint8_t psk[64];
  size_t psk_len = 0;
};

struct Dev {
  int fd = -1;
  St st = St::Connecting;
  mbedtls_ssl_context* ssl = nullptr;
  std::string req;
  size_t req_off = 0;
  char head[4096];
  size_t head_len = 0;
  uint64_t body_len = 0, got = 0;  // current response body
  uint64_t total = 0, next = 0;    // ranges: image size and next offset
  bool head_done = false;          // ranges: HEAD answered
  bool last = false;               // this response is the last
  uint8_t sha1_hdr[20];
  mbedtls_md_context_t md;
  int64_t t0 = 0, t1 = 0;
  int64_t budget = 0;
  bool paused = false;
  uint32_t want = EPOLLOUT;
  bool resumed = false;  // --session-in: the server took the offered session
  std::string why;
  // --verify discard over TLS: the body's records, read raw.
  bool raw = false;
  uint8_t rec_hdr[5];
  size_t rec_hdr_len = 0, rec_left = 0, expansion = 0;
};

int64_t now_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

void fail(Dev& d, const std::string& why) {
  d.st = St::Failed;
  d.why = why;
  d.t1 = now_us();
  if (d.fd >= 0) close(d.fd);
  d.fd = -1;
}

// I/O on the device's socket, plain or TLS: >0 bytes, 0 EOF, -1 would block
// (d.want says on what), -2 error (d failed).
ssize_t io(Dev& d, uint8_t* buf, size_t n, bool write, int rflags = 0) {
  if (!d.ssl) {
    ssize_t r = write ? send(d.fd, buf, n, MSG_NOSIGNAL) : recv(d.fd, buf, n, rflags);
    if (r >= 0) return r;
    if (errno == EAGAIN || errno == EINTR) {
      d.want = write ? EPOLLOUT : EPOLLIN;
      return -1;
    }
    fail(d, std::string(write ? "send: " : "recv: ") + strerror(errno));
    return -2;
  }
  int r = write ? mbedtls_ssl_write(d.ssl, buf, n) : mbedtls_ssl_read(d.ssl, buf, n);
  if (r >= 0) return r;
  if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) {
    d.want = r == MBEDTLS_ERR_SSL_WANT_READ ? EPOLLIN : EPOLLOUT;
    return -1;
  }
  if (r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) return 0;
  char e[100];
  mbedtls_strerror(r, e, sizeof e);
  fail(d, std::string("tls: ") + e);
  return -2;
}

int bio_send(void* ctx, const unsigned char* b, size_t n) {
  ssize_t r = send(*static_cast<int*>(ctx), b, n, MSG_NOSIGNAL);
  if (r >= 0) return static_cast<int>(r);
  return errno == EAGAIN ? MBEDTLS_ERR_SSL_WANT_WRITE : -1;
}
int bio_recv(void* ctx, unsigned char* b, size_t n) {
  ssize_t r = recv(*static_cast<int*>(ctx), b, n, 0);
  if (r >= 0) return static_cast<int>(r);
  return errno == EAGAIN ? MBEDTLS_ERR_SSL_WANT_READ : -1;
}

void next_request(Dev& d, const Opts& o) {
  d.req_off = 0;
  d.head_len = 0;
  d.got = 0;
  d.last = true;
  if (o.mode == Mode::Tcpboot) return;
  const std::string host = "Host: " + o.host + "\r\n";
  if (o.head_only || (o.ranges && !d.head_done)) {
    d.req = "HEAD " + o.path + " HTTP/1.1\r\n" + host + (o.head_only ? "Connection: close\r\n" : "") + "\r\n";
    d.last = o.head_only;
    return;
  }
  if (o.ranges) {
    const uint64_t end = d.next + o.ranges;
    d.last = end >= d.total;
    char r[96];
    if (d.last) snprintf(r, sizeof r, "Range: bytes=%llu-\r\n", static_cast<unsigned long long>(d.next));
    else snprintf(r, sizeof r, "Range: bytes=%llu-%llu\r\n", static_cast<unsigned long long>(d.next),
                  static_cast<unsigned long long>(end - 1));
    d.req = "GET " + o.path + " HTTP/1.1\r\n" + host + r + (d.last ? "Connection: close\r\n" : "") + "\r\n";
    return;
  }
  d.req = "GET " + o.path + " HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n";
  d.last = true;
}

void finish_image(Dev& d, const Opts& o) {
  uint8_t h[20];
  mbedtls_md_finish(&d.md, h);
  std::string hex = otad::to_hex(h, 20);
  if (o.verify) {
    if (o.mode == Mode::Tcpboot && memcmp(h, d.sha1_hdr, 20) != 0) {
      return fail(d, "SHA-1 of body " + hex + " differs from header " + otad::to_hex(d.sha1_hdr, 20));
    }
    if (!o.expect_sha1.empty() && hex != o.expect_sha1 && !o.head_only) return fail(d, "SHA-1 " + hex + " unexpected");
  }
  const uint64_t size = o.ranges ? d.total : d.body_len;
  if (o.expect_size >= 0 && static_cast<int64_t>(size) != o.expect_size) {
    return fail(d, "size " + std::to_string(size) + " unexpected");
  }
  d.st = St::Done;
  d.t1 = now_us();
  close(d.fd);
  d.fd = -1;
}

// A response's body is complete: verify or move to the next range.
void response_done(Dev& d, const Opts& o) {
  if (o.ranges && !o.head_only) {
    if (!d.head_done) {
      d.head_done = true;
    } else {
      d.next += d.body_len;
    }
    if (!d.last) {
      next_request(d, o);
      d.st = St::SendReq;
      d.want = EPOLLOUT;
      return;
    }
  }
  finish_image(d, o);
}

bool parse_http_head(Dev& d, size_t head_end, const Opts& o) {
  std::string h(d.head, head_end);
  if (h.compare(0, 9, "HTTP/1.1 ") != 0 && h.compare(0, 9, "HTTP/1.0 ") != 0) {
    fail(d, "not an HTTP response");
    return false;
  }
  const std::string want = o.ranges && d.head_done ? "206" : "200";
  if (h.compare(9, 3, want) != 0) {
    fail(d, "status " + h.substr(9, 3) + ", wanted " + want);
    return false;
  }
  std::string lower = h;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  size_t cl = lower.find("\r\ncontent-length:");
  if (cl == std::string::npos) {
    fail(d, "no Content-Length");
    return false;
  }
  d.body_len = strtoull(h.c_str() + cl + 17, nullptr, 10);
  if (o.ranges && !d.head_done) d.total = d.body_len;
  const bool head_request = o.head_only || (o.ranges && !d.head_done);
  if (head_request) d.body_len = 0;  // HEAD: the length describes the image, no body follows
  return true;
}

// Reads the rest of a TLS body as raw records: each header is read, each
// record dropped in the kernel, and its plaintext size (record length minus
// the suite's fixed AEAD expansion) counted against Content-Length.
void read_raw_records(Dev& d, const Opts& o) {
  for (;;) {
    ssize_t r;
    if (d.rec_left == 0) {
      r = recv(d.fd, d.rec_hdr + d.rec_hdr_len, sizeof d.rec_hdr - d.rec_hdr_len, 0);
    } else {
      r = recv(d.fd, nullptr, d.rec_left, MSG_TRUNC);
    }
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
      d.want = EPOLLIN;
      return;
    }
    if (r < 0) return fail(d, std::string("recv: ") + strerror(errno));
    if (r == 0) return fail(d, "closed after " + std::to_string(d.got) + " of " + std::to_string(d.body_len) + " bytes");
    if (d.rec_left) {
      d.rec_left -= static_cast<size_t>(r);
    } else if ((d.rec_hdr_len += static_cast<size_t>(r)) == sizeof d.rec_hdr) {
      d.rec_hdr_len = 0;
      const size_t len = static_cast<size_t>(d.rec_hdr[3]) << 8 | d.rec_hdr[4];
      if (d.rec_hdr[0] != 23 || len <= d.expansion) return fail(d, "unexpected TLS record in the body");
      d.rec_left = len;
      d.got += len - d.expansion;
      if (d.got > d.body_len) return fail(d, "more bytes than announced");
    }
    if (d.rec_left == 0 && d.got == d.body_len) return response_done(d, o);
  }
}

// Switches a TLS body to raw records once mbedTLS holds none of it: mbedTLS
// reads a stream exactly one record at a time, so the socket is then at a
// record boundary.
bool start_raw_records(Dev& d) {
  const char* suite = mbedtls_ssl_get_ciphersuite(d.ssl);
  if (!strstr(suite, "GCM") && !strstr(suite, "CHACHA20") && !strstr(suite, "CCM")) {
    fail(d, std::string("--verify discard needs an AEAD suite, not ") + suite);
    return false;
  }
  // The expansion mbedTLS reports includes the 5-byte record header.
  const int e = mbedtls_ssl_get_record_expansion(d.ssl);
  if (e <= 5) {
    fail(d, "unknown record expansion");
    return false;
  }
  d.expansion = static_cast<size_t>(e) - 5;
  d.raw = true;
  return true;
}

void on_readable(Dev& d, const Opts& o) {
  static uint8_t buf[256 * 1024];
  for (;;) {
    if (d.raw) return read_raw_records(d, o);
    if (o.discard && d.ssl && d.st == St::ReadBody && mbedtls_ssl_get_bytes_avail(d.ssl) == 0) {
      if (!start_raw_records(d)) return;
      continue;
    }
    size_t want = sizeof buf;
    if (o.rate > 0) {
      if (d.budget <= 0) {
        d.paused = true;
        return;
      }
      want = std::min<size_t>(want, static_cast<size_t>(d.budget));
    }
    uint8_t* dst = buf;
    if (d.st == St::ReadHead) {
      want = std::min(want, sizeof d.head - d.head_len);
      if (o.mode == Mode::Tcpboot) want = std::min<size_t>(want, 24 - d.head_len);
      dst = reinterpret_cast<uint8_t*>(d.head) + d.head_len;
    } else {
      want = static_cast<size_t>(std::min<uint64_t>(want, d.body_len - d.got + (d.last ? 1 : 0)));
      if (want == 0) want = 1;
    }
    // Discarding costs the client almost nothing, so the server's side is
    // what a plain-HTTP benchmark then measures (sizes are still checked).
    ssize_t r = io(d, dst, want, false, o.discard && d.st == St::ReadBody ? MSG_TRUNC : 0);
    if (r == -1 || r == -2) return;
    if (r == 0) {
      if (d.st == St::ReadBody && d.got == d.body_len && d.last) return response_done(d, o);
      return fail(d, d.st == St::ReadHead ? "closed before a reply (" + std::to_string(d.head_len) + " bytes)"
                                          : "closed after " + std::to_string(d.got) + " of " +
                                                std::to_string(d.body_len) + " bytes");
    }
    d.budget -= r;
    if (d.st == St::ReadHead) {
      d.head_len += static_cast<size_t>(r);
      size_t extra_off = 0, extra = 0;
      if (o.mode == Mode::Tcpboot) {
        if (d.head_len < 24) continue;
        uint32_t n;
        memcpy(&n, d.head, 4);
        d.body_len = le32toh(n);
        memcpy(d.sha1_hdr, d.head + 4, 20);
      } else {
        std::string_view hv(d.head, d.head_len);
        size_t e = hv.find("\r\n\r\n");
        if (e == std::string_view::npos) {
          if (d.head_len == sizeof d.head) return fail(d, "response head too large");
          continue;
        }
        if (!parse_http_head(d, e, o)) return;
        extra_off = e + 4;
        extra = d.head_len - extra_off;
      }
      d.st = St::ReadBody;
      if (extra > d.body_len) return fail(d, "more bytes than announced");
      if (extra) {
        if (o.verify) mbedtls_md_update(&d.md, reinterpret_cast<uint8_t*>(d.head) + extra_off, extra);
        d.got += extra;
      }
    } else {
      if (d.got + static_cast<uint64_t>(r) > d.body_len) return fail(d, "more bytes than announced");
      if (o.verify) mbedtls_md_update(&d.md, buf, static_cast<size_t>(r));
      d.got += static_cast<uint64_t>(r);
    }
    if (d.st == St::ReadBody && d.got == d.body_len && (o.mode == Mode::Http)) {
      response_done(d, o);
      if (d.st != St::ReadHead && d.st != St::ReadBody) return;
    }
  }
}

bool setup_tls(Tls& t, const Opts& o) {
  if (mbedtls_ctr_drbg_seed(&t.drbg, mbedtls_entropy_func, &t.entropy, nullptr, 0) ||
      mbedtls_ssl_config_defaults(&t.conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                  MBEDTLS_SSL_PRESET_DEFAULT)) {
    return false;
  }
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
  mbedtls_ssl_conf_max_tls_version(&t.conf, o.tls13 ? MBEDTLS_SSL_VERSION_TLS1_3 : MBEDTLS_SSL_VERSION_TLS1_2);
#else
  if (o.tls13) return false;  // no TLS 1.3 in this mbedTLS
#endif
  mbedtls_ssl_conf_rng(&t.conf, mbedtls_ctr_drbg_random, &t.drbg);
  if (!o.ca.empty()) {
    if (mbedtls_x509_crt_parse_file(&t.ca, o.ca.c_str())) return false;
    mbedtls_ssl_conf_ca_chain(&t.conf, &t.ca, nullptr);
    mbedtls_ssl_conf_authmode(&t.conf, MBEDTLS_SSL_VERIFY_REQUIRED);
  } else {
    mbedtls_ssl_conf_authmode(&t.conf, MBEDTLS_SSL_VERIFY_NONE);
  }
  if (!o.cert.empty()) {
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    int r = mbedtls_pk_parse_keyfile(&t.key, o.key.c_str(), nullptr, mbedtls_ctr_drbg_random, &t.drbg);
#else
    int r = mbedtls_pk_parse_keyfile(&t.key, o.key.c_str(), nullptr);
#endif
    if (r || mbedtls_x509_crt_parse_file(&t.cert, o.cert.c_str()) ||
        mbedtls_ssl_conf_own_cert(&t.conf, &t.cert, &t.key)) {
      return false;
    }
  }
  if (!o.psk_id.empty()) {
    t.psk_len = o.psk_hex.size() / 2;
    if (!otad::from_hex(o.psk_hex, t.psk, t.psk_len) ||
        mbedtls_ssl_conf_psk(&t.conf, t.psk, t.psk_len, reinterpret_cast<const unsigned char*>(o.psk_id.data()),
                             o.psk_id.size())) {
      return false;
    }
  }
  if (!o.session_in.empty() || !o.session_out.empty()) {
    mbedtls_ssl_conf_session_tickets(&t.conf, MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
  }
  if (!o.session_in.empty()) {
    FILE* f = fopen(o.session_in.c_str(), "rb");
    unsigned char buf[4096];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    if (n == 0 || mbedtls_ssl_session_load(&t.session, buf, n) != 0) return false;
    t.have_session = true;
  }
  if (!o.suite.empty()) {
    t.suites[0] = mbedtls_ssl_get_ciphersuite_id(o.suite.c_str());
    if (!t.suites[0]) return false;
    mbedtls_ssl_conf_ciphersuites(&t.conf, t.suites);
  }
  return true;
}

// After a handshake: with --session-in, whether the server resumed the
// offered session (it answers with the same ID); with --session-out, the
// first device's session, saved.
void session_done(Dev& d, Tls& t, const Opts& o) {
  mbedtls_ssl_session got;
  mbedtls_ssl_session_init(&got);
  if (mbedtls_ssl_get_session(d.ssl, &got) == 0) {
#if MBEDTLS_VERSION_NUMBER >= 0x03040000
    const unsigned char* id = *mbedtls_ssl_session_get_id(&got);  // a pointer to the 32-byte array
    const unsigned char* want = *mbedtls_ssl_session_get_id(&t.session);
    const size_t len = mbedtls_ssl_session_get_id_len(&got);
    d.resumed = t.have_session && len && len == mbedtls_ssl_session_get_id_len(&t.session) && !memcmp(id, want, len);
#else
    d.resumed = t.have_session && got.id_len && got.id_len == t.session.id_len &&
                !memcmp(got.id, t.session.id, got.id_len);
#endif
    unsigned char buf[4096];
    size_t n = 0;
    if (!o.session_out.empty() && mbedtls_ssl_session_save(&got, buf, sizeof buf, &n) == 0) {
      if (FILE* f = fopen(o.session_out.c_str(), "wb")) {
        t.saved_session = fwrite(buf, 1, n, f) == n;
        fclose(f);
      }
    }
  }
  mbedtls_ssl_session_free(&got);
}

void usage() {
  fprintf(stderr, "usage: otad-sim tcpboot|http|https --port P [--devices N] [--path /f] [--ranges B]\n"
                  "       [--head-only] [--ca F] [--cert F --key F] [--psk-identity ID --psk HEX]\n"
                  "       [--suite NAME] [--host H] [--mac-base HEX12] [--expect-sha1 HEX]\n"
                  "       [--expect-size N] [--rate B/s] [--esp-tcp] [--timeout S]\n"
                  "       [--verify sha1|none|discard] [--session-out F | --session-in F]\n"
                  "       [--server-name NAME] [--tls13]\n");
  exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (!otad::crypto_init()) {
    fprintf(stderr, "otad-sim: cannot initialise the crypto library\n");
    return 1;
  }
  if (argc < 2) usage();
  Opts o;
  std::string m = argv[1];
  if (m == "http" || m == "https") {
    o.mode = Mode::Http;
    o.tls = m == "https";
  } else if (m != "tcpboot") {
    usage();
  }
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--head-only") {
      o.head_only = true;
      continue;
    }
    if (a == "--esp-tcp") {
      o.esp_tcp = true;
      continue;
    }
    if (a == "--tls13") {
      o.tls13 = true;
      continue;
    }
    if (i + 1 >= argc) usage();
    std::string v = argv[++i];
    if (a == "--host") o.host = v;
    else if (a == "--port") o.port = atoi(v.c_str());
    else if (a == "--path") o.path = v;
    else if (a == "--devices") o.devices = atoi(v.c_str());
    else if (a == "--mac-base") o.mac_base = strtoull(v.c_str(), nullptr, 16);
    else if (a == "--expect-sha1") o.expect_sha1 = v;
    else if (a == "--expect-size") o.expect_size = atoll(v.c_str());
    else if (a == "--rate") o.rate = atoll(v.c_str());

    else if (a == "--timeout") o.timeout_s = atoi(v.c_str());
    else if (a == "--ranges") o.ranges = strtoull(v.c_str(), nullptr, 10);
    else if (a == "--ca") o.ca = v;
    else if (a == "--cert") o.cert = v;
    else if (a == "--key") o.key = v;
    else if (a == "--psk-identity") o.psk_id = v;
    else if (a == "--psk") o.psk_hex = v;
    else if (a == "--suite") o.suite = v;
    else if (a == "--session-out") o.session_out = v;
    else if (a == "--server-name") o.server_name = v;
    else if (a == "--session-in") o.session_in = v;
    else if (a == "--verify") {
      o.verify = v == "sha1";
      o.discard = v == "discard";
      if (!o.verify && !o.discard && v != "none") usage();
    }
    else usage();
  }
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(o.port));
  if (inet_pton(AF_INET, o.host.c_str(), &sa.sin_addr) != 1) usage();
  Tls tls;
  if (o.tls && o.discard && (o.ranges || o.rate)) {
    fprintf(stderr, "otad-sim: over TLS, --verify discard takes one GET per connection (no --ranges, no --rate)\n");
    return 2;
  }
  if (o.tls && !setup_tls(tls, o)) {
    fprintf(stderr, "otad-sim: TLS setup failed (CA, certificate, key, PSK or suite)\n");
    return 2;
  }

  int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Dev> devs(static_cast<size_t>(o.devices));
  const int64_t start = now_us();
  for (size_t i = 0; i < devs.size(); ++i) {
    Dev& d = devs[i];
    mbedtls_md_init(&d.md);
    mbedtls_md_setup(&d.md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA1), 0);
    mbedtls_md_starts(&d.md);
    if (o.mode == Mode::Tcpboot) {
      char mac[13];
      snprintf(mac, sizeof mac, "%012llx", static_cast<unsigned long long>(o.mac_base + i));
      d.req = mac;
      d.last = true;  // one reply, ended by the gateway's FIN
    } else {
      next_request(d, o);
    }
    d.t0 = now_us();
    d.budget = o.rate > 0 ? o.rate / 100 : 0;
    d.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (d.fd < 0) {
      fail(d, std::string("socket: ") + strerror(errno));
      continue;
    }
    // Before connect, so that the SYN carries them. On loopback the default
    // 64 KiB MSS lets the server's kernel take a whole image into its send
    // buffer at once; a device's small segments and window keep the server
    // streaming, as on a real network.
    if (o.esp_tcp) {
      const int mss = 1436, window = 5744;
      setsockopt(d.fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss);
      setsockopt(d.fd, SOL_SOCKET, SO_RCVBUF, &window, sizeof window);
    }
    if (connect(d.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS) {
      fail(d, std::string("connect: ") + strerror(errno));
      continue;
    }
    if (o.tls) {
      d.ssl = new mbedtls_ssl_context;
      mbedtls_ssl_init(d.ssl);
      mbedtls_ssl_setup(d.ssl, &tls.conf);
      mbedtls_ssl_set_hostname(d.ssl, o.server_name.c_str());
      mbedtls_ssl_set_bio(d.ssl, &d.fd, bio_send, bio_recv, nullptr);
      if (tls.have_session) mbedtls_ssl_set_session(d.ssl, &tls.session);
    }
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, d.fd, &ev);
  }
  auto rearm = [&](Dev& d, size_t i) {
    if (d.fd < 0) return;
    epoll_event ev{};
    ev.events = d.paused ? 0 : d.want;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_MOD, d.fd, &ev);
  };
  size_t open_count = 0;
  for (const Dev& d : devs) open_count += d.fd >= 0;
  const int64_t deadline = start + static_cast<int64_t>(o.timeout_s) * 1000000;
  int64_t next_tick = now_us() + 10000;
  std::vector<epoll_event> evs(1024);
  while (open_count > 0 && now_us() < deadline) {
    int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), o.rate > 0 ? 10 : 100);
    for (int k = 0; k < n; ++k) {
      const size_t i = evs[k].data.u64;
      Dev& d = devs[i];
      if (d.fd < 0) continue;
      if (d.st == St::Connecting) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(d.fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) {
          fail(d, std::string("connect: ") + strerror(err));
          continue;
        }
        d.st = o.tls ? St::Handshake : St::SendReq;
      }
      if (d.st == St::Handshake) {
        int r = mbedtls_ssl_handshake(d.ssl);
        if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) {
          d.want = r == MBEDTLS_ERR_SSL_WANT_READ ? EPOLLIN : EPOLLOUT;
          rearm(d, i);
          continue;
        }
        if (r != 0) {
          char e[100];
          mbedtls_strerror(r, e, sizeof e);
          fail(d, std::string("handshake: ") + e);
          continue;
        }
        if (tls.have_session || (!o.session_out.empty() && !tls.saved_session)) session_done(d, tls, o);
        d.st = St::SendReq;
      }
      if (d.st == St::SendReq) {
        while (d.req_off < d.req.size()) {
          ssize_t w = io(d, reinterpret_cast<uint8_t*>(d.req.data()) + d.req_off, d.req.size() - d.req_off, true);
          if (w < 0) break;
          d.req_off += static_cast<size_t>(w);
        }
        if (d.fd < 0) continue;
        if (d.req_off < d.req.size()) {
          rearm(d, i);
          continue;
        }
        d.st = St::ReadHead;
        d.want = EPOLLIN;
      }
      on_readable(d, o);
      rearm(d, i);
    }
    if (o.rate > 0 && now_us() >= next_tick) {
      next_tick += 10000;
      for (size_t i = 0; i < devs.size(); ++i) {
        Dev& d = devs[i];
        d.budget = o.rate / 100;
        if (d.paused && d.fd >= 0) {
          d.paused = false;
          rearm(d, i);
        }
      }
    }
    open_count = 0;
    for (const Dev& d : devs) open_count += d.fd >= 0;
  }
  for (Dev& d : devs) {
    if (d.fd >= 0) fail(d, "timed out after " + std::to_string(d.got) + " bytes");
  }
  const double wall = (now_us() - start) / 1e6;
  std::vector<double> times;
  uint64_t bytes = 0;
  int ok = 0;
  for (const Dev& d : devs) {
    if (d.st == St::Done) {
      ++ok;
      times.push_back((d.t1 - d.t0) / 1000.0);
      bytes += o.ranges ? d.total : d.body_len;
    }
  }
  std::sort(times.begin(), times.end());
  auto pct = [&](double p) {
    return times.empty() ? 0.0 : times[std::min(times.size() - 1, static_cast<size_t>(p * times.size()))];
  };
  for (size_t i = 0; i < devs.size(); ++i) {
    if (devs[i].st != St::Done) fprintf(stderr, "device %zu: %s\n", i, devs[i].why.c_str());
  }
  printf("devices=%d ok=%d failed=%d bytes=%llu wall_s=%.3f throughput_MBps=%.1f conn_per_s=%.1f "
         "p50_ms=%.1f p99_ms=%.1f max_ms=%.1f",
         o.devices, ok, o.devices - ok, static_cast<unsigned long long>(bytes), wall,
         bytes / 1e6 / (wall > 0 ? wall : 1), ok / (wall > 0 ? wall : 1), pct(0.50), pct(0.99),
         times.empty() ? 0.0 : times.back());
  if (tls.have_session) {
    int resumed = 0;
    for (const Dev& d : devs) resumed += d.st == St::Done && d.resumed;
    printf(" resumed=%d", resumed);
  }
  if (!o.session_out.empty() && !tls.saved_session) {
    fprintf(stderr, "otad-sim: no session saved to %s\n", o.session_out.c_str());
    ok = 0;
  }
  printf("\n");
  for (Dev& d : devs) {
    if (d.ssl) mbedtls_ssl_free(d.ssl);
    delete d.ssl;
    mbedtls_md_free(&d.md);
  }
  return ok == o.devices ? 0 : 1;
}
