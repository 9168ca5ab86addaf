// The link-layer check of a claimed MAC (verify_mac = neighbour): the
// kernel's neighbour table over rtnetlink, on a socket of its own, cached
// for a short time. A dump is answered by the kernel inside the receive
// call, from its own tables, so reading it never waits on the network;
// the socket is non-blocking all the same, and an incomplete dump is an
// error, never a guess. Costs nothing until the first check.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/peer_addr.h"
#include "otad/mac.h"
#include "otad/neighbour.h"

namespace otad {

enum class LinkProof { Match, Exempt, Mismatch, NoEntry, Routed, Loopback, Error };

class Neighbours {
 public:
  ~Neighbours();
  // Is the peer's link-layer address the MAC it claims? why: the reason,
  // naming both addresses, for anything but Match.
  LinkProof check(const PeerAddr& peer, const Mac& claimed, int64_t now_ms, char* why, size_t n);
  // Networks whose peers are believed on their claim ([tcpboot]
  // verify_mac_exempt, checked when the config was read).
  void set_exempt(std::string_view prefixes);

  static constexpr size_t kMaxNeighbours = 4096, kMaxAddrs = 256;
  static constexpr int64_t kTtlMs = 500;

 private:
  bool refresh(int64_t now_ms, char* why, size_t n);
  bool dump(uint16_t type, NlBatch* b, char* why, size_t n);

  int fd_ = -1;
  uint32_t seq_ = 0;
  int64_t fresh_ms_ = -1;
  size_t n_neigh_ = 0, n_addrs_ = 0;
  std::unique_ptr<NeighEntry[]> neigh_;
  std::unique_ptr<AddrEntry[]> addrs_;
  AddrEntry exempt_[16];
  size_t n_exempt_ = 0;
};

}  // namespace otad
