// What the kernel knows of the link layer: the neighbour table (IP ->
// link-layer address of a peer on a directly attached network) and the
// gateway's own addresses with their prefixes (which networks are directly
// attached). Read over rtnetlink; this header holds the pure part, the
// parser of the kernel's dump messages.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace otad {

struct NeighEntry {
  uint8_t family = 0;  // AF_INET or AF_INET6
  uint8_t addr[16] = {};
  uint8_t lladdr[6] = {};
};

struct AddrEntry {
  uint8_t family = 0;
  uint8_t prefixlen = 0;
  uint8_t addr[16] = {};
};

struct NlBatch {
  size_t neigh = 0, addrs = 0;  // entries stored so far
  size_t dropped = 0;           // entries past the caller's capacity
  bool done = false;            // NLMSG_DONE seen
  int error = 0;                // NLMSG_ERROR's errno, or EBADMSG for a malformed message
};

// Parses one datagram of an RTM_GETNEIGH or RTM_GETADDR dump (host byte
// order, as the kernel sends it) into the caller's arrays; no allocation.
// Neighbours without a 6-byte link-layer address, or whose resolution is
// incomplete or failed, are skipped: they prove nothing.
void netlink_parse(const uint8_t* buf, size_t len, NeighEntry* neigh, size_t neigh_cap, AddrEntry* addrs,
                   size_t addr_cap, NlBatch* b);

// True when addr lies inside the prefix of own (same family).
bool on_prefix(const AddrEntry& own, uint8_t family, const uint8_t* addr);

// Pure: "10.9.0.0/16 fd00::/8 192.0.2.7" (a bare address is /32 or /128)
// into at most cap prefixes; "" or why the text is not such a list.
std::string parse_prefixes(std::string_view text, AddrEntry* out, size_t cap, size_t* n);

}  // namespace otad
