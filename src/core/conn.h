// A connection slot in the fixed slab, and the small interfaces between the
// reactor (src/core) and protocol drivers (src/proto). Protocol code sees no
// libevent and no TLS headers: it reads and writes through a Transport and
// tells the reactor what it waits for by returning a Next.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "otad/catalog.h"
#include "otad/config.h"
#include "otad/devices.h"
#include "otad/policy.h"
#include "otad/tcpboot.h"

namespace otad {

// Outcome of one transport call, with foreign error spaces (errno now, TLS
// later) folded into one enum in exactly one place per transport.
// Cleartext: a TLS transport found plain text where a ClientHello belongs
// (a device with http:// in its URL on the HTTPS port); nothing was consumed.
enum class Io : uint8_t { Ok, WantRead, WantWrite, Eof, Error, Cleartext };
struct IoResult {
  Io st;
  size_t n;  // bytes moved when Ok
  int err;   // errno when Error
};

struct Conn;

// What protocol drivers read and write through. The TLS implementation runs
// its handshake inside the first read or write, so drivers never see it.
// A read that returns Ok has n > 0: the peer closing is always Eof, so no
// driver can spin on an empty read.
struct Transport {
  virtual IoResult read(Conn& c, uint8_t* buf, size_t n) = 0;
  // more: further bytes follow at once (lets TCP coalesce header and body).
  // After WantWrite, call again with the same bytes (TLS requires it).
  virtual IoResult write(Conn& c, const uint8_t* buf, size_t n, bool more) = 0;
  // Sends up to n bytes of file_fd from off: by sendfile when plain, through
  // one shared scratch buffer when encrypted.
  virtual IoResult send_file(Conn& c, int file_fd, uint64_t off, size_t n) = 0;
  // Ends our direction (TLS: close_notify first).
  virtual void shutdown_write(Conn& c) = 0;
  // Text for an IoResult's err, for the one log line at the edge.
  virtual const char* error_text(int err) = 0;
  // False while a TLS handshake is still under way.
  virtual bool ready(const Conn&) { return true; }

 protected:
  ~Transport() = default;
};
Transport& plain_transport();

enum class ConnState : uint8_t {
  Free,         // on the free list
  ReadMac,      // tcpboot: waiting for the 12-character MAC
  SendHeader,   // tcpboot: size + SHA-1 reply partly sent
  SendBody,     // tcpboot: image streaming
  HttpRead,     // http: reading a request head (or idle between keep-alive requests)
  HttpRespond,  // http: writing a response head (and any short text body)
  HttpBody,     // http: streaming image bytes
  Linger,       // all sent, FIN sent: waiting for the device to close (http: only
                // when it sent more than its requests)
};

enum class Proto : uint8_t { Tcpboot, Http };
enum class Auth : uint8_t { None, Psk, Cert, Password, Any };

// Reset: close with RST, dropping what the kernel still queues for the peer
// (a stalled or cut transfer must free its buffers and fail at once).
enum class Want : uint8_t { Read, Write, Close, Reset };
struct Next {
  Want want;
  int64_t timeout_ms;  // how long to wait for it
};

struct Stats {
  uint64_t accepted = 0, served = 0, aborted = 0, refused = 0, bad_requests = 0;
  uint64_t bytes_sent = 0;
  uint32_t active = 0, peak_active = 0;
};

// What protocol drivers may read of the server's state.
struct Context {
  const Config* cfg;
  std::shared_ptr<const Catalog> catalog;
  const Registry* registry;
  PolicyConfig policy;
  Stats* stats;
  bool draining;
  // Set by a driver that found an image file different from what the catalog
  // verified (it shrank under a transfer): the reactor re-verifies the catalog.
  bool* image_trouble;
  size_t max_head;
};

constexpr size_t kRespHeadMax = 1024;

// Storage for libevent's struct event, embedded so that a slot needs no
// allocation; server.cc checks the size against the real struct.
constexpr size_t kEventStorage = 160;

struct Conn {
  alignas(16) unsigned char ev[kEventStorage];
  short armed = 0;  // event mask currently registered; 0 = none
  ConnState state = ConnState::Free;
  int fd = -1;
  uint32_t id = 0;
  uint32_t next_free = 0;
  Transport* io = nullptr;
  void* owner = nullptr;  // the Server, for the C callback trampoline
  char peer[56] = {};     // "addr:port"
  char mac[13] = {};      // canonical once known, else ""
  int64_t started_ms = 0;
  int64_t deadline_ms = 0;
  Proto proto = Proto::Tcpboot;
  Auth auth = Auth::None;  // what the listener demands
  bool tls = false;
  void* tls_ctx = nullptr;  // the pooled TLS context, when tls
  bool cleartext = false;   // tls listener, but the device spoke plain HTTP: it gets a 400 in clear
  // http
  uint8_t* buf = nullptr;  // fixed: max_head for requests + kRespHeadMax for responses
  uint16_t rx_len = 0, head_len = 0, tx_len = 0, tx_off = 0;
  bool keep_alive = false;
  bool device_talking = false;  // Linger: the device sent bytes after its last request
  uint32_t requests = 0;
  int64_t req_ms = 0;
  char auth_id[13] = {};    // MAC proven by TLS (PSK identity or client certificate)
  char basic_id[13] = {};   // MAC proven by HTTP Basic on this connection
  uint8_t basic_tag[16] = {};  // digest of the Authorization value verified for basic_id
  char line[176] = {};      // "GET /update -> 200 ..." for the request's log line
  // tcpboot
  MacReader rd;
  uint8_t hdr[kTcpbootHeaderLen];
  uint8_t hdr_sent = 0;
  std::shared_ptr<const Image> image;  // keeps the file open across reloads
  uint64_t off = 0, end = 0;
};

int64_t now_ms();

// Sends the next part of c.image's range [c.off, c.end) (src/core/body.cc).
struct BodyStep {
  enum Kind { Done, Yield, WaitWrite, WaitRead, Failed } kind;
  const char* why;  // when Failed
};
BodyStep stream_body(Conn& c, const Context& ctx);

// tcpboot driver (src/proto/tcpboot_conn.cc).
void tcpboot_start(Conn& c, const Context& ctx);
Next tcpboot_drive(Conn& c, const Context& ctx, bool timed_out);
// HTTP driver (src/proto/http_conn.cc).
void http_start(Conn& c, const Context& ctx);
Next http_drive(Conn& c, const Context& ctx, bool timed_out);

}  // namespace otad

#include "otad/log.h"
// Every connection log line names the connection, the peer and the device.
#define CONN_LOG(level, c, proto, fmt, ...)                                                  \
  OTAD_LOG(level, "conn#%u %s mac=%s %s: " fmt, (c).id, (c).peer, (c).mac[0] ? (c).mac : "-", \
           proto, ##__VA_ARGS__)
