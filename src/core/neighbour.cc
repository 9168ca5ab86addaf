// The pure half of the link-layer check: rtnetlink dump messages parsed
// with explicit bounds (the kernel's own struct layouts, host byte order).
#include "otad/neighbour.h"

#include <arpa/inet.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace otad {
namespace {

size_t addr_len(uint8_t family) { return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0; }

// Walks the attributes in [p, end) and calls f(type, data, len) for each
// well-formed one; false when one overruns.
template <typename F>
bool each_attr(const uint8_t* p, const uint8_t* end, F f) {
  while (end - p >= static_cast<ptrdiff_t>(sizeof(rtattr))) {
    rtattr a;
    memcpy(&a, p, sizeof a);
    if (a.rta_len < sizeof a || a.rta_len > end - p) return false;
    f(a.rta_type, p + RTA_LENGTH(0), static_cast<size_t>(a.rta_len - RTA_LENGTH(0)));
    const size_t step = RTA_ALIGN(a.rta_len);
    if (step >= static_cast<size_t>(end - p)) break;
    p += step;
  }
  return true;
}

bool parse_neigh(const uint8_t* p, const uint8_t* end, NeighEntry* e) {
  if (end - p < static_cast<ptrdiff_t>(sizeof(ndmsg))) return false;
  ndmsg nd;
  memcpy(&nd, p, sizeof nd);
  const size_t alen = addr_len(nd.ndm_family);
  bool have_dst = false, have_ll = false;
  e->family = nd.ndm_family;
  if (!each_attr(p + NLMSG_ALIGN(sizeof nd), end, [&](unsigned type, const uint8_t* d, size_t n) {
        if (type == NDA_DST && alen && n == alen) {
          memcpy(e->addr, d, n);
          have_dst = true;
        } else if (type == NDA_LLADDR && n == 6) {
          memcpy(e->lladdr, d, 6);
          have_ll = true;
        }
      })) {
    return false;
  }
  const bool usable = !(nd.ndm_state & (NUD_INCOMPLETE | NUD_FAILED | NUD_NOARP));
  if (!have_dst || !have_ll || !usable) e->family = 0;  // well-formed, but no proof in it
  return true;
}

bool parse_addr(const uint8_t* p, const uint8_t* end, AddrEntry* e) {
  if (end - p < static_cast<ptrdiff_t>(sizeof(ifaddrmsg))) return false;
  ifaddrmsg ifa;
  memcpy(&ifa, p, sizeof ifa);
  const size_t alen = addr_len(ifa.ifa_family);
  bool have_local = false, have_addr = false;
  uint8_t local[16] = {}, address[16] = {};
  if (!each_attr(p + NLMSG_ALIGN(sizeof ifa), end, [&](unsigned type, const uint8_t* d, size_t n) {
        if (!alen || n != alen) return;
        if (type == IFA_LOCAL) memcpy(local, d, n), have_local = true;
        else if (type == IFA_ADDRESS) memcpy(address, d, n), have_addr = true;
      })) {
    return false;
  }
  // IFA_LOCAL is the gateway's own address (IFA_ADDRESS is the far end on
  // a point-to-point link); the prefix around it is the attached network.
  e->family = (have_local || have_addr) && ifa.ifa_prefixlen <= alen * 8 ? ifa.ifa_family : 0;
  e->prefixlen = ifa.ifa_prefixlen;
  memcpy(e->addr, have_local ? local : address, 16);
  return true;
}

}  // namespace

void netlink_parse(const uint8_t* buf, size_t len, NeighEntry* neigh, size_t neigh_cap, AddrEntry* addrs,
                   size_t addr_cap, NlBatch* b) {
  const uint8_t* p = buf;
  const uint8_t* end = buf + len;
  while (end - p >= static_cast<ptrdiff_t>(sizeof(nlmsghdr))) {
    nlmsghdr h;
    memcpy(&h, p, sizeof h);
    if (h.nlmsg_len < sizeof h || h.nlmsg_len > static_cast<size_t>(end - p)) {
      b->error = EBADMSG;
      return;
    }
    const uint8_t* body = p + NLMSG_HDRLEN;
    const uint8_t* body_end = p + h.nlmsg_len;
    if (h.nlmsg_type == NLMSG_DONE) {
      b->done = true;
      return;
    }
    if (h.nlmsg_type == NLMSG_ERROR) {
      int err = EBADMSG;
      if (body_end - body >= static_cast<ptrdiff_t>(sizeof(int))) memcpy(&err, body, sizeof err);
      b->error = err < 0 ? -err : err ? err : EBADMSG;
      return;
    }
    bool ok = true;
    if (h.nlmsg_type == RTM_NEWNEIGH) {
      NeighEntry e;
      ok = parse_neigh(body, body_end, &e);
      if (ok && e.family) {
        if (b->neigh < neigh_cap) neigh[b->neigh++] = e;
        else b->dropped++;
      }
    } else if (h.nlmsg_type == RTM_NEWADDR) {
      AddrEntry e;
      ok = parse_addr(body, body_end, &e);
      if (ok && e.family) {
        if (b->addrs < addr_cap) addrs[b->addrs++] = e;
        else b->dropped++;
      }
    }
    if (!ok) {
      b->error = EBADMSG;
      return;
    }
    const size_t step = NLMSG_ALIGN(h.nlmsg_len);
    if (step >= static_cast<size_t>(end - p)) break;
    p += step;
  }
}

std::string parse_prefixes(std::string_view text, AddrEntry* out, size_t cap, size_t* n) {
  *n = 0;
  for (size_t i = 0; i < text.size();) {
    size_t j = text.find_first_of(" \t", i);
    if (j == std::string_view::npos) j = text.size();
    const std::string word(text.substr(i, j - i));
    i = j + 1;
    if (word.empty()) continue;
    if (*n == cap) return "more than " + std::to_string(cap) + " networks";
    const size_t slash = word.find('/');
    const std::string host = word.substr(0, slash);
    AddrEntry e;
    if (inet_pton(AF_INET, host.c_str(), e.addr) == 1) e.family = AF_INET;
    else if (inet_pton(AF_INET6, host.c_str(), e.addr) == 1) e.family = AF_INET6;
    else return "'" + word + "' is not an address or network (10.9.0.0/16, fd00::/8)";
    const unsigned max = e.family == AF_INET ? 32 : 128;
    unsigned bits = max;
    if (slash != std::string::npos) {
      const std::string len = word.substr(slash + 1);
      if (len.empty() || len.size() > 3 || len.find_first_not_of("0123456789") != std::string::npos ||
          static_cast<unsigned>(std::stoul(len)) > max) {
        return "'" + word + "': the prefix length must be 0.." + std::to_string(max);
      }
      bits = static_cast<unsigned>(std::stoul(len));
    }
    e.prefixlen = static_cast<uint8_t>(bits);
    out[(*n)++] = e;
  }
  return "";
}

bool on_prefix(const AddrEntry& own, uint8_t family, const uint8_t* addr) {
  if (own.family != family) return false;
  const size_t bits = own.prefixlen;
  const size_t whole = bits / 8;
  if (memcmp(own.addr, addr, whole) != 0) return false;
  if (bits % 8 == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - bits % 8));
  return (own.addr[whole] & mask) == (addr[whole] & mask);
}

}  // namespace otad
