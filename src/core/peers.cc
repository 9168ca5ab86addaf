#include "core/peers.h"

#include <arpa/inet.h>
#include <sys/mman.h>

#include <cstdio>
#include <cstring>
#include <new>

namespace otad {

const char* peer_event_name(PeerEvent e) {
  switch (e) {
    case PeerEvent::OverCap: return "refused over the per-address cap";
    case PeerEvent::Evicted: return "evicted without progress";
    case PeerEvent::Blocked: return "refused during an authentication back-off";
    case PeerEvent::AuthFailed: return "failed authentication";
    case PeerEvent::Failed: return "failed request";
    case PeerEvent::kCount: break;
  }
  return "?";
}

bool PeerKey::operator==(const PeerKey& o) const { return memcmp(b, o.b, sizeof b) == 0; }

PeerKey peer_key(const PeerAddr& a) {
  PeerKey k{};
  if (a.sa.sa_family == AF_INET6) {
    memcpy(k.b, &a.v6.sin6_addr, 16);
  } else if (a.sa.sa_family == AF_INET) {
    k.b[10] = k.b[11] = 0xff;
    memcpy(k.b + 12, &a.v4.sin_addr, 4);
  }
  return k;
}

void peer_key_text(const PeerKey& k, char* out, size_t n) {
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char s[INET6_ADDRSTRLEN] = "?";
  if (memcmp(k.b, kMapped, 12) == 0) inet_ntop(AF_INET, k.b + 12, s, sizeof s);
  else inet_ntop(AF_INET6, k.b, s, sizeof s);
  snprintf(out, n, "%s", s);
}

Peers::Peers(size_t slots) {
  size_t want = 2 * slots + 64;
  cap_ = 64;
  while (cap_ < want) cap_ <<= 1;
  mask_ = cap_ - 1;
  bytes_ = cap_ * sizeof(PeerRecord);
  void* mem = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) throw std::bad_alloc();
  tab_ = static_cast<PeerRecord*>(mem);  // zero pages: every record unused
}

Peers::~Peers() { munmap(tab_, bytes_); }

size_t Peers::home(const PeerKey& k) const {
  // FNV-1a over the address: cheap, and an attacker choosing addresses on a
  // LAN cannot do much with collisions in a table this size anyway.
  uint32_t h = 2166136261u;
  for (uint8_t c : k.b) h = (h ^ c) * 16777619u;
  return h & mask_;
}

PeerRecord* Peers::find(const PeerKey& k) {
  for (size_t i = home(k);; i = (i + 1) & mask_) {
    if (!tab_[i].used) return nullptr;
    if (tab_[i].key == k) return &tab_[i];
  }
}

bool Peers::idle(const PeerRecord& r, int64_t now) const {
  if (r.conns || r.handshakes || r.blocked_until_ms > now) return false;
  if (r.failures && now - r.fail_since_ms < rules_.failure_window_ms) return false;
  for (const PeerRecord::Agg& a : r.agg) {
    if (a.suppressed) return false;
  }
  return true;
}

// Linear probing with backward-shift deletion: no tombstones, so lookups
// stay short however many addresses come and go.
void Peers::erase(size_t i) {
  size_t j = i;
  for (;;) {
    tab_[i].used = false;
    for (;;) {
      j = (j + 1) & mask_;
      if (!tab_[j].used) {
        used_--;
        return;
      }
      const size_t k = home(tab_[j].key);
      const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
      if (!stays) break;
    }
    tab_[i] = tab_[j];
    i = j;
  }
}

void Peers::sweep(int64_t now) {
  for (size_t i = 0; i < cap_;) {
    if (tab_[i].used && idle(tab_[i], now)) {
      erase(i);  // another record may have moved into i: look again
      continue;
    }
    ++i;
  }
  if (used_ * 4 < cap_ * 3) return;
  // Still crowded: forget the addresses that only owe a back-off or a summary,
  // oldest failure first, until a quarter is free. Connections are never lost.
  while (used_ * 4 >= cap_ * 3) {
    size_t victim = cap_;
    for (size_t i = 0; i < cap_; ++i) {
      const PeerRecord& r = tab_[i];
      if (!r.used || r.conns || r.handshakes) continue;
      if (victim == cap_ || r.fail_since_ms < tab_[victim].fail_since_ms) victim = i;
    }
    if (victim == cap_) return;
    erase(victim);
  }
}

PeerRecord* Peers::get(const PeerKey& k, int64_t now) {
  if (PeerRecord* r = find(k)) return r;
  if ((used_ + 1) * 4 > cap_ * 3) sweep(now);
  if (used_ + 1 >= cap_) return nullptr;
  size_t i = home(k);
  while (tab_[i].used) i = (i + 1) & mask_;
  tab_[i] = PeerRecord{};
  tab_[i].key = k;
  tab_[i].used = true;
  used_++;
  return &tab_[i];
}

bool Peers::fail(PeerRecord& r, int64_t now) {
  if (!r.failures || now - r.fail_since_ms >= rules_.failure_window_ms) {
    r.failures = 0;
    r.fail_since_ms = now;
  }
  if (r.failures < UINT16_MAX) r.failures++;
  if (rules_.max_failures == 0 || r.failures < rules_.max_failures) return false;
  const bool fresh = r.blocked_until_ms <= now;
  r.blocked_until_ms = now + rules_.backoff_ms;
  r.failures = 0;
  return fresh;
}

bool Peers::should_log(PeerRecord& r, PeerEvent e, int64_t now) {
  PeerRecord::Agg& a = r.agg[static_cast<size_t>(e)];
  if (now - a.since_ms >= rules_.agg_window_ms && !a.suppressed) a = PeerRecord::Agg{now, 0, 0};
  // Refusals at accept and evictions: one line per address per window;
  // failed requests: a few, for their detail.
  const uint32_t burst = e == PeerEvent::Failed || e == PeerEvent::AuthFailed ? rules_.burst : 1;
  if (a.logged < burst) {
    a.logged++;
    return true;
  }
  a.suppressed++;
  return false;
}

}  // namespace otad
