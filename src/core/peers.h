// What otad remembers per peer address: connections and handshakes it holds
// now (the per-address caps), failed authentications (the back-off), and the
// aggregation of repeated log lines. One fixed table, sized at start-up for
// the slab; an address that holds nothing and owes nothing is forgotten when
// room is needed. Pure data: no I/O, no clock of its own (tests drive it).
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/peer_addr.h"

namespace otad {

// Kinds of repeated event whose log lines are aggregated per address.
enum class PeerEvent : uint8_t { OverCap, Evicted, Blocked, AuthFailed, Failed, kCount };
const char* peer_event_name(PeerEvent e);

struct PeerKey {
  uint8_t b[16];  // IPv6, or IPv4 mapped (::ffff:a.b.c.d)
  bool operator==(const PeerKey& o) const;
};
PeerKey peer_key(const PeerAddr& a);
// "10.0.0.7" or "fe80::1" (no port), for aggregated lines.
void peer_key_text(const PeerKey& k, char* out, size_t n);

struct PeerRecord {
  PeerKey key{};
  bool used = false;
  uint16_t conns = 0;        // connections held now
  uint16_t handshakes = 0;   // of those, handshakes in progress
  uint16_t failures = 0;     // failed authentications since fail_since_ms
  int64_t fail_since_ms = 0;
  int64_t blocked_until_ms = 0;  // refused until then (after too many failures)
  struct Agg {
    int64_t since_ms = 0;    // the window's start
    uint32_t logged = 0;     // lines written in this window
    uint32_t suppressed = 0; // lines held back in this window
  } agg[static_cast<size_t>(PeerEvent::kCount)];
};

struct PeerRules {
  uint32_t max_failures = 10;        // failed authentications within the window ...
  int64_t failure_window_ms = 60000;
  int64_t backoff_ms = 60000;        // ... refuse the address for this long
  uint32_t burst = 3;                // failed requests' lines written per address per window (other kinds: 1)
  int64_t agg_window_ms = 10000;
};

class Peers {
 public:
  // Room for `slots` connections' addresses and as many again for addresses
  // that only owe a back-off or a summary line.
  explicit Peers(size_t slots);
  ~Peers();
  Peers(const Peers&) = delete;
  Peers& operator=(const Peers&) = delete;
  void set_rules(const PeerRules& r) { rules_ = r; }
  const PeerRules& rules() const { return rules_; }

  // The record of k, made if absent (nullptr only when every record is held
  // by an address with connections, which the sizing rules out).
  PeerRecord* get(const PeerKey& k, int64_t now);
  PeerRecord* find(const PeerKey& k);

  // A failed authentication: true when it puts the address over the limit
  // (it is then blocked for backoff_ms).
  bool fail(PeerRecord& r, int64_t now);
  bool blocked(const PeerRecord& r, int64_t now) const { return r.blocked_until_ms > now; }

  // Whether to write this event's line now; else it is counted for the
  // summary that flush() hands over when the window closes.
  bool should_log(PeerRecord& r, PeerEvent e, int64_t now);
  // Calls emit(key, event, suppressed, window_ms) for every window that has
  // closed with lines held back, and resets it.
  template <class F>
  void flush(int64_t now, F&& emit) {
    for (size_t i = 0; i < cap_; ++i) {
      PeerRecord& r = tab_[i];
      if (!r.used) continue;
      for (size_t k = 0; k < static_cast<size_t>(PeerEvent::kCount); ++k) {
        PeerRecord::Agg& a = r.agg[k];
        if (a.suppressed && now - a.since_ms >= rules_.agg_window_ms) {
          emit(r.key, static_cast<PeerEvent>(k), a.suppressed, now - a.since_ms);
          a = PeerRecord::Agg{};
        }
      }
    }
  }
  size_t size() const { return used_; }
  size_t capacity() const { return cap_; }

 private:
  bool idle(const PeerRecord& r, int64_t now) const;
  size_t home(const PeerKey& k) const;
  void erase(size_t i);
  void sweep(int64_t now);

  PeerRecord* tab_ = nullptr;  // anonymous pages: untouched records cost no RAM
  size_t cap_ = 0, mask_ = 0, used_ = 0, bytes_ = 0;
  PeerRules rules_;
};

}  // namespace otad
