// The MAC reader, fed in chunks whose sizes come from the input, and the
// reason given for input that is no MAC.
#include <algorithm>

#include "otad/tcpboot.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t step = data[0] % 13 + 1;
  otad::MacReader r;
  for (size_t i = 1; i < size;) {
    size_t n = std::min({step, size - i, otad::kTcpbootMacLen - static_cast<size_t>(r.len)});
    otad::MacFeed f = otad::mac_feed(r, data + i, n);
    if (r.len > otad::kTcpbootMacLen) __builtin_trap();
    if (f == otad::MacFeed::Done) {
      if (otad::mac_reader_mac(r).str().size() != 12) __builtin_trap();
      break;
    }
    if (f == otad::MacFeed::Invalid) {
      const char* why = otad::tcpboot_misfit(data + 1, size - 1);
      if (!why || !*why) __builtin_trap();
      break;
    }
    i += n;
  }
  return 0;
}
