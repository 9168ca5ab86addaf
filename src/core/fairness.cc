// Fair slots: one address cannot hold the slab or the handshake pool, and a
// full slab makes room by evicting the connection that has made no progress
// the longest, so devices that make progress keep being served.
//
// The rules, documented in SECURITY.md:
// - at accept, an address over [server] max_per_address connections (or
//   [https] max_handshakes_per_address handshakes), or in its authentication
//   back-off, is closed at once (RST);
// - a full slab evicts the connection silent longest among those that
//   await the peer (no complete request head, no MAC) for kAwaitGraceMs,
//   handshakes without a ClientHello for kHelloGraceMs, handshakes past the
//   ClientHello silent for kHandshakeGraceMs, and bodies that have not moved for kStalledMs; a full
//   handshake pool does the same among its handshakes; with nothing to
//   evict the listeners pause until the first candidate becomes evictable;
// - under pressure (3/4 of the slab in use) a connection awaiting the
//   peer's request head or MAC gets at most kPressureWaitMs from when it
//   began waiting, and a handshake without its ClientHello as long from the
//   accept, whatever the timeout; bytes that arrived but were not read yet
//   when that expires are read first (the reactor was behind, not the
//   device).
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <event2/event.h>

#include "core/server.h"
#include "otad/log.h"

namespace otad {
namespace {
// A body the device has not taken for this long. Not less: a device may
// stop reading for seconds to erase flash (esp_ota_begin with
// OTA_SIZE_UNKNOWN erases the whole partition first), acknowledging only
// what its receive window holds meanwhile.
constexpr int64_t kStalledMs = 5000;
constexpr int64_t kAwaitGraceMs = 250;  // a LAN device sends its request or MAC within milliseconds
// A TLS 1.3 ClientHello carries a key share the device computes first (tens
// to hundreds of milliseconds on an ESP32): more grace before it.
constexpr int64_t kHelloGraceMs = 1000;
// A device's own ECDHE can take seconds (an ESP8266 at 80 MHz): only a
// handshake silent for longer is taken for stalled.
constexpr int64_t kHandshakeGraceMs = 5000;
constexpr int64_t kPressureWaitMs = 2000;
}  // namespace

void Server::refuse_at_accept(int fd) {
  close_with_reset(fd);
  stats_.over_cap++;
}

// Counts c's connection against its address, or refuses it (closing fd).
bool Server::admit_peer(Listener& l, int fd, const PeerAddr& a, const char* peer) {
  const int64_t now = now_ms();
  const PeerKey key = peer_key(a);
  PeerRecord* r = peers_->get(key, now);
  const char* why = nullptr;
  char detail[96];
  if (!r) {
    why = "no room to track the address";
  } else if (peers_->blocked(*r, now)) {
    snprintf(detail, sizeof detail, "is in its authentication back-off for %lld s more",
             static_cast<long long>((r->blocked_until_ms - now + 999) / 1000));
    why = detail;
  } else if (r->conns >= cfg_.max_per_address) {
    snprintf(detail, sizeof detail, "holds %u connections already ([server] max_per_address)", r->conns);
    why = detail;
  } else if (l.spec.pool && r->handshakes >= cfg_.max_handshakes_per_address) {
    snprintf(detail, sizeof detail, "has %u handshakes in progress already ([https] max_handshakes_per_address)",
             r->handshakes);
    why = detail;
  }
  if (!why) {
    r->conns++;
    if (l.spec.pool) r->handshakes++;
    return true;
  }
  refuse_at_accept(fd);
  const PeerEvent kind = r && peers_->blocked(*r, now) ? PeerEvent::Blocked : PeerEvent::OverCap;
  if (!r || peers_->should_log(*r, kind, now)) LOG_WARN("%s: closed %s at accept: the address %s", l.spec.name.c_str(), peer, why);
  return false;
}

void Server::handshake_over(Conn& c) {
  if (!c.hs_counted) return;
  c.hs_counted = false;
  if (PeerRecord* r = peers_->find(peer_key(c.peer_addr)); r && r->handshakes) r->handshakes--;
}

void Server::peer_gone(Conn& c) {
  handshake_over(c);
  if (PeerRecord* r = peers_->find(peer_key(c.peer_addr)); r && r->conns) r->conns--;
}

void Server::auth_failed(const Conn& c) {
  stats_.auth_failures++;
  const int64_t now = now_ms();
  PeerRecord* r = peers_->get(peer_key(c.peer_addr), now);
  if (!r || !peers_->fail(*r, now)) return;
  char addr[64];
  peer_key_text(r->key, addr, sizeof addr);
  LOG_WARN("%s: %lld failed authentications within %lld s: refusing the address for %lld s", addr,
           static_cast<long long>(cfg_.max_auth_failures), static_cast<long long>(cfg_.auth_failure_window),
           static_cast<long long>(cfg_.auth_backoff));
}

bool Server::under_pressure(const Conn&) const {
  return static_cast<int64_t>(stats_.active) * 4 >= cfg_.max_connections * 3;
}

// Whether c waits for the peer to speak first: a request head or MAC, or a
// handshake's ClientHello (a device sends it on connecting; what comes
// later, its key exchange, may take a slow chip seconds).
namespace {
bool waits_for_peer(const Conn& c) {
  return (c.awaiting && c.state == ConnState::Protocol) || (c.state == ConnState::Handshake && !c.hs_hello);
}
}  // namespace

// A timeout on a connection that waits for the peer, with the peer's bytes
// waiting unread: the reactor was behind, so they are read first (the
// deadline moves just past now, and the driver then judges what it got).
bool Server::spoke_in_time(Conn& c) {
  if (!waits_for_peer(c)) return false;
  int unread = 0;
  if (ioctl(c.fd, FIONREAD, &unread) != 0 || unread == 0) return false;
  c.deadline_ms = std::max(c.deadline_ms, now_ms() + 1);
  return true;
}

// Under pressure a connection that waits for the peer gets a short deadline,
// whatever its protocol's timeout: from when it began waiting for a request
// head or MAC, from the accept for a ClientHello (a dribbled one gains
// nothing). A handshake past its ClientHello keeps handshake_timeout: a slow
// chip computes its key exchange for seconds; a stalled one is evicted
// instead when the slab or the pool is full.
void Server::tighten(Conn& c, Next& n) const {
  if (!waits_for_peer(c) || n.want == Want::Timer || !under_pressure(c)) return;
  if (c.state == ConnState::Handshake) {
    // Only this wait is shortened: once the ClientHello is in, the
    // handshake's own deadline holds again.
    n.timeout_ms = std::min(n.timeout_ms, std::max<int64_t>(c.started_ms + kPressureWaitMs - now_ms(), 0));
    return;
  }
  const int64_t tight = c.progress_ms + kPressureWaitMs;
  if (c.deadline_ms > tight) c.deadline_ms = tight;
  n.timeout_ms = std::min(n.timeout_ms, std::max<int64_t>(c.deadline_ms - now_ms(), 0));
}

// The slot silent longest among those evictable now (the rules above), or
// null, with the time the first becomes evictable noted for resume_later.
Conn* Server::pick_victim(TransportPool* pool, int64_t now) {
  Conn* victim = nullptr;
  int64_t next = 0;  // when the first connection not yet evictable becomes so
  for (uint32_t i = 0; i < slots_used_; ++i) {
    Conn& c = slab_[i];
    if (c.state == ConnState::Free) continue;
    int64_t grace;
    if (pool && (c.state != ConnState::Handshake || c.pool != pool)) continue;
    if (c.state == ConnState::Handshake) {
      grace = c.hs_hello ? kHandshakeGraceMs : kHelloGraceMs;
    } else if (c.awaiting) {
      grace = kAwaitGraceMs;
    } else if (c.body.image && c.body.off < c.body.end) {
      grace = kStalledMs;
    } else {
      continue;
    }
    if (now - c.progress_ms < grace) {
      if (!next || c.progress_ms + grace < next) next = c.progress_ms + grace;
      continue;
    }
    if (!victim || c.progress_ms < victim->progress_ms) victim = &c;
  }
  if (!victim) {
    next_evictable_ms_ = next;
    resume_later();
  }
  return victim;
}

// Frees the slot that has made no progress the longest: any such slot, or
// (pool given) a handshake of that pool. False when none qualifies.
bool Server::evict(TransportPool* pool) {
  const int64_t now = now_ms();
  Conn* victim;
  for (;;) {
    if (!(victim = pick_victim(pool, now))) return false;
    // Bytes waiting unread: the peer has spoken and otad is the one behind
    // (a slow CPU, a busy reactor). Not silent; look again without it.
    int unread = 0;
    if (ioctl(victim->fd, FIONREAD, &unread) != 0 || unread == 0) break;
    victim->progress_ms = now;
  }
  stats_.evicted++;
  char what[160];
  snprintf(what, sizeof what, "evicted to make room (%s full): no progress for %.1f s",
           pool ? "handshake pool" : "connection slab", (now - victim->progress_ms) / 1000.0);
  Transfer t{.outcome = victim->body.image ? Outcome::Aborted : Outcome::Closed, .started_ms = victim->started_ms,
             .what = what, .kind = PeerEvent::Evicted};
  if (victim->body.image) {
    t.image = victim->body.image.get();
    t.bytes = victim->body.sent;
  }
  transfers_.end(*victim, t);
  slot_free(*victim, true);
  return true;
}

// Paused with nothing to evict yet: try again when the first candidate
// becomes evictable (the one-second tick looks again in any case).
void Server::resume_later() {
  if (!next_evictable_ms_ || !resume_timer_) return;
  const int64_t ms = std::max<int64_t>(next_evictable_ms_ - now_ms(), 1);
  timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>(ms % 1000 * 1000)};
  event_add(resume_timer_, &tv);
}

// One summary line per address and kind for the lines held back.
void Server::flush_peer_lines() {
  peers_->flush(now_ms(), [](const PeerKey& k, PeerEvent e, uint32_t n, int64_t ms) {
    char addr[64];
    peer_key_text(k, addr, sizeof addr);
    LOG_WARN("... and %u more like this (%s) from %s in the last %lld s", n, peer_event_name(e), addr,
             static_cast<long long>(ms / 1000));
  });
}

}  // namespace otad
