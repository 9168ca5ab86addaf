// The rtnetlink dump parser over any bytes: never reads past them, never
// stores past the caller's capacity.
#include <cstddef>
#include <cstdint>

#include "otad/neighbour.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  otad::NeighEntry n[4];
  otad::AddrEntry a[4];
  otad::NlBatch b;
  otad::netlink_parse(data, size, n, 4, a, 4, &b);
  if (b.neigh > 4 || b.addrs > 4) __builtin_trap();
  for (size_t i = 0; i < b.addrs; ++i) otad::on_prefix(a[i], a[i].family, n[0].addr);
  return 0;
}
