// A connection slot in the fixed slab: the fields every connection has, and
// fixed storage for the one protocol's own state (a tcpboot MAC reader, an
// HTTP request buffer's offsets). The slab is one allocation at start-up;
// nothing per connection is allocated later. Protocol drivers tell the
// reactor what they wait for by returning a Next.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string_view>
#include <type_traits>

#include "core/peer_addr.h"
#include "core/transport.h"
#include "otad/catalog.h"

namespace otad {

struct Context;
struct Protocol;
struct TransportPool;

// The reactor's view of a slot; each protocol keeps its own state machine
// inside its state struct.
enum class ConnState : uint8_t {
  Free,       // on the free list
  Handshake,  // the transport's handshake is under way
  Protocol,   // the protocol driver has the connection
};

// What a listener demands of devices before they are served.
enum class Auth : uint8_t { None, Psk, Cert, Password, Any };
// An auth key's word (the config table has checked it).
inline Auth auth_from_name(std::string_view a) {
  return a == "psk" ? Auth::Psk : a == "cert" ? Auth::Cert : a == "password" ? Auth::Password
       : a == "any" ? Auth::Any : Auth::None;
}

// Reset: close with RST, dropping what the kernel still queues for the peer
// (a stalled or cut transfer must free its buffers and fail at once).
// Timer: nothing to wait for on the socket, only the timeout (pacing).
enum class Want : uint8_t { Read, Write, Timer, Close, Reset };
struct Next {
  Want want;
  int64_t timeout_ms;  // how long to wait for it
};

// An image range on its way to the device (body.cc streams it).
struct Body {
  std::shared_ptr<const Image> image;  // keeps the file open across reloads
  uint64_t off = 0, end = 0;           // next byte, one past the last
  uint64_t sent = 0;                   // bytes of this transfer sent so far
  bool counted = false;                // counted as a download in flight
  uint32_t ticket = 0;                 // its admission, if admission control gave one
  bool more_to_come = false;           // a Range that leaves more of the image: the admission is held
  // Delivery (body.cc): the min_send_rate window and the acknowledgement
  // wait before the last byte and after it.
  int64_t rate_since_ms = 0;           // the window's start; 0 = not started
  uint64_t rate_base = 0;              // bytes acknowledged at its start
  int64_t unacked = 0;                 // what the kernel still held for the device when last asked
};

// Storage for libevent's struct event, embedded so that a slot needs no
// allocation; server.cc checks the size against the real struct.
constexpr size_t kEventStorage = 160;
// Room for the largest protocol state; each protocol checks its own fits.
constexpr size_t kProtoStateSize = 240;

struct Conn {
  alignas(16) unsigned char ev[kEventStorage];
  short armed = 0;  // event mask currently registered; 0 = none
  ConnState state = ConnState::Free;
  Auth auth = Auth::None;  // what the listener demands
  bool misdirected = false;  // plain text on a TLS listener: answered in clear, never served
  int fd = -1;
  uint32_t id = 0;
  uint32_t next_free = 0;
  Transport* io = nullptr;
  TransportPool* pool = nullptr;  // where io's context came from, if pooled
  void* io_ctx = nullptr;         // the pooled transport's per-connection state
  const Protocol* proto = nullptr;
  const char* tag = "";           // the listener's name, for log lines
  bool devices = true;            // a device listener's: its records reach device state and the event log
  void* owner = nullptr;          // the Server, for the C callback trampoline
  char peer[56] = {};             // "addr:port"
  PeerAddr peer_addr{};           // the same, as accept() gave it
  bool verify_link = false;       // a claimed MAC must match the peer's link-layer address
  bool verify_station = false;    // ... and hostapd's 802.1X identity of that station
  char mac[13] = {};              // the device as known so far (claimed or proven), else ""
  Identity proven;                // what the transport proved
  int64_t started_ms = 0;
  int64_t deadline_ms = 0;
  // Fairness (the reactor evicts and tightens timeouts by these): awaiting =
  // the connection waits for the peer to say something (a handshake, a request
  // head, a MAC) with nothing of ours in progress; progress_ms = when it last
  // moved (began awaiting, sent a head, took body bytes).
  bool awaiting = false;
  bool hs_counted = false;  // counted in its address's handshakes in progress
  bool hs_hello = false;    // its handshake has the device's first flight (then a silence may be the device's own ECDHE)
  int64_t progress_ms = 0;
  uint8_t* buf = nullptr;         // the slot's fixed buffer, if the protocol has one
  Body body;
  alignas(16) unsigned char ps[kProtoStateSize];  // the protocol's state
};

// The protocol state S inside c: made by start, destroyed by end.
template <class S>
S& proto_state(Conn& c) {
  static_assert(sizeof(S) <= kProtoStateSize && alignof(S) <= 16, "protocol state does not fit the slot");
  return *std::launder(reinterpret_cast<S*>(c.ps));
}
template <class S>
const S& proto_state(const Conn& c) {
  return proto_state<S>(const_cast<Conn&>(c));
}
template <class S>
S& proto_state_make(Conn& c) {
  static_assert(sizeof(S) <= kProtoStateSize && alignof(S) <= 16, "protocol state does not fit the slot");
  static_assert(std::is_trivially_destructible_v<S>, "protocol state is dropped without a destructor");
  return *new (c.ps) S{};
}

// A protocol, as the reactor drives it; the program's main wires listeners
// to protocols (src/daemon).
struct Protocol {
  const char* name;
  // Bytes of the slot buffer the protocol needs (0: none).
  size_t (*buffer_size)(const Context&);
  void (*start)(Conn&, const Context&);
  // Runs until it would block; timed_out: the last Next's timeout expired.
  Next (*drive)(Conn&, const Context&, bool timed_out);
  // True when nothing is in flight (an idle keep-alive connection), so
  // shutdown may close it at once.
  bool (*idle)(const Conn&);
  // The slot is freed, however the connection ended: give back what the
  // protocol holds outside the slot (an upload's file and pool slot).
  void (*end)(Conn&, const Context&);
  // The protocol's own table (HTTP: its routes); the reactor never reads it.
  const void* table = nullptr;
};

int64_t now_ms();

// A protocol driver marks where a connection waits for the peer's next
// request (evictable, and its timeout tightens under pressure) and where it
// has one to serve.
inline void conn_awaits(Conn& c, bool awaiting, int64_t now) {
  c.awaiting = awaiting;
  c.progress_ms = now;
}
// Unix seconds: device state and events are read by people and survive restarts.
int64_t wall_s();

// Sends the next part of c.body (src/core/body.cc). Done only once the
// device has acknowledged the last byte; the last byte goes out only after
// the device has acknowledged the rest and the file is still the one
// verified, so a body cut for a changed file is always short.
struct BodyStep {
  enum Kind { Done, Yield, WaitWrite, WaitRead, Pace, Failed } kind;
  const char* why;     // when Failed
  bool image_fault;    // when Failed: the file is not what the catalog verified
  // when Pace: the bandwidth cap's bucket refills, or acknowledgements are
  // due, in this long; when WaitWrite/WaitRead: wake up within this long
  // (min_send_rate's check) even if the socket stays blocked (0: no need)
  int64_t wait_ms;
};
struct Context;
BodyStep stream_body(Conn& c, const Context& ctx);
// How long a blocked body waits for its socket: the protocol's send timeout,
// or less when the rate floor must be checked sooner.
inline int64_t body_wait(const BodyStep& b, int64_t send_timeout_ms) {
  return b.wait_ms > 0 && b.wait_ms < send_timeout_ms ? b.wait_ms : send_timeout_ms;
}

}  // namespace otad

#include "otad/log.h"
// Every connection log line names the connection, the peer, the device and
// the listener.
#define CONN_LOG(level, c, fmt, ...)                                                           \
  OTAD_LOG(level, "conn#%u %s mac=%s %s: " fmt, (c).id, (c).peer, (c).mac[0] ? (c).mac : "-", \
           (c).tag, ##__VA_ARGS__)
