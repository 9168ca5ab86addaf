#include "core/neighbours.h"

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace otad {
namespace {

// The peer as (family, 4 or 16 bytes); an IPv4-mapped IPv6 peer is IPv4.
uint8_t peer_addr(const PeerAddr& ss, uint8_t out[16]) {
  if (ss.sa.sa_family == AF_INET) {
    memcpy(out, &ss.v4.sin_addr, 4);
    return AF_INET;
  }
  if (ss.sa.sa_family == AF_INET6) {
    const auto* a = &ss.v6.sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a)) {
      memcpy(out, a->s6_addr + 12, 4);
      return AF_INET;
    }
    memcpy(out, a->s6_addr, 16);
    return AF_INET6;
  }
  return 0;
}

std::string ll_text(const uint8_t* ll) {
  char s[18];
  snprintf(s, sizeof s, "%02x:%02x:%02x:%02x:%02x:%02x", ll[0], ll[1], ll[2], ll[3], ll[4], ll[5]);
  return s;
}

}  // namespace

void Neighbours::set_exempt(std::string_view prefixes) {
  if (!parse_prefixes(prefixes, exempt_, sizeof exempt_ / sizeof exempt_[0], &n_exempt_).empty()) n_exempt_ = 0;
}

Neighbours::~Neighbours() {
  if (fd_ >= 0) close(fd_);
}

bool Neighbours::dump(uint16_t type, NlBatch* b, char* why, size_t n) {
  struct {
    nlmsghdr h;
    rtgenmsg g;
  } req{};
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = type;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = ++seq_;
  req.g.rtgen_family = AF_UNSPEC;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd_, &req, sizeof req, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
    snprintf(why, n, "cannot ask the kernel's neighbour table: %s", strerror(errno));
    return false;
  }
  alignas(nlmsghdr) static uint8_t buf[32768];
  while (!b->done && !b->error) {
    const ssize_t r = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      snprintf(why, n, "the kernel's %s dump stopped short: %s", type == RTM_GETNEIGH ? "neighbour" : "address",
               r < 0 ? strerror(errno) : "end of stream");
      return false;
    }
    const bool neigh = type == RTM_GETNEIGH;
    netlink_parse(buf, static_cast<size_t>(r), neigh_.get(), neigh ? kMaxNeighbours : 0, addrs_.get(),
                  neigh ? 0 : kMaxAddrs, b);
  }
  if (b->error) {
    snprintf(why, n, "the kernel's %s dump failed: %s", type == RTM_GETNEIGH ? "neighbour" : "address",
             strerror(b->error));
    return false;
  }
  return true;
}

bool Neighbours::refresh(int64_t now_ms, char* why, size_t n) {
  if (fd_ < 0) {
    fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    if (fd_ < 0) {
      snprintf(why, n, "cannot open a netlink socket: %s", strerror(errno));
      return false;
    }
    neigh_.reset(new NeighEntry[kMaxNeighbours]);
    addrs_.reset(new AddrEntry[kMaxAddrs]);
  }
  // Whatever an earlier, failed dump left queued goes first.
  uint8_t junk[4096];
  while (recv(fd_, junk, sizeof junk, MSG_DONTWAIT) > 0) {
  }
  NlBatch nb, ab;
  if (!dump(RTM_GETNEIGH, &nb, why, n)) return false;
  if (!dump(RTM_GETADDR, &ab, why, n)) return false;
  n_neigh_ = nb.neigh;
  n_addrs_ = ab.addrs;
  fresh_ms_ = now_ms;
  return true;
}

LinkProof Neighbours::check(const PeerAddr& peer, const Mac& claimed, int64_t now_ms, char* why, size_t n) {
  uint8_t a[16] = {};
  const uint8_t family = peer_addr(peer, a);
  char text[INET6_ADDRSTRLEN] = "?";
  if (family) inet_ntop(family, a, text, sizeof text);
  if (!family) {
    snprintf(why, n, "the peer has no IP address to look up");
    return LinkProof::Error;
  }
  for (size_t i = 0; i < n_exempt_; ++i) {
    if (on_prefix(exempt_[i], family, a)) return LinkProof::Exempt;
  }
  if ((family == AF_INET && a[0] == 127) || (family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(reinterpret_cast<in6_addr*>(a)))) {
    snprintf(why, n, "%s is this host (loopback): no link layer proves the MAC %s", text, claimed.str().c_str());
    return LinkProof::Loopback;
  }
  if (fresh_ms_ < 0 || now_ms - fresh_ms_ >= kTtlMs) {
    if (!refresh(now_ms, why, n)) return LinkProof::Error;
  }
  const size_t alen = family == AF_INET ? 4 : 16;
  for (size_t i = 0; i < n_neigh_; ++i) {
    const NeighEntry& e = neigh_[i];
    if (e.family != family || memcmp(e.addr, a, alen) != 0) continue;
    if (memcmp(e.lladdr, claimed.b.data(), 6) == 0) return LinkProof::Match;
    snprintf(why, n, "%s has link-layer address %s but claims MAC %s", text, ll_text(e.lladdr).c_str(),
             ll_text(claimed.b.data()).c_str());
    return LinkProof::Mismatch;
  }
  for (size_t i = 0; i < n_addrs_; ++i) {
    if (on_prefix(addrs_[i], family, a)) {
      snprintf(why, n, "%s (claiming MAC %s) is on a directly attached network but not in the neighbour table",
               text, ll_text(claimed.b.data()).c_str());
      return LinkProof::NoEntry;
    }
  }
  snprintf(why, n, "%s (claiming MAC %s) is not on a directly attached network (behind a router): its MAC cannot be "
           "checked", text, ll_text(claimed.b.data()).c_str());
  return LinkProof::Routed;
}

}  // namespace otad
