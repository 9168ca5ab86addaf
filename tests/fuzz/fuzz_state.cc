// The state snapshot is read back at start: whatever the file holds, restore
// either loads devices that snapshot to the same text again, or refuses and
// keeps what it held.
#include <string_view>

#include "otad/fleet_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  otad::FleetState st(64);
  uint64_t seq = 0;
  if (!st.restore(s, &seq)) {
    if (st.size() != 0) __builtin_trap();
    return 0;
  }
  const std::string again = st.snapshot(seq);
  otad::FleetState back(64);
  uint64_t seq2 = 0;
  if (!back.restore(again, &seq2) || back.snapshot(seq2) != again) __builtin_trap();
  return 0;
}
