// What otad knows of each device from what it did: when it was seen, what it
// runs, what it was offered, how its last download ended and what that led
// to. Held in RAM (a fixed number of devices), snapshotted to one file now
// and then, never per request: the router's flash is spared.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "otad/mac.h"
#include "otad/result.h"

namespace otad {

// How the last download (or attempt) ended.
enum class LastResult : uint8_t { None, Complete, Aborted, Refused, Busy };
// What the device did after its last complete download.
enum class Inferred : uint8_t {
  None,
  Pending,     // downloaded; not seen since
  Updated,     // reported the image installed
  Failed,      // reported the old version after a complete download, aborted it again and again, or looped
  RolledBack,  // reported the image installed, later an older version again
};

const char* last_result_name(LastResult r);
const char* inferred_name(Inferred i);

// Fixed-size text: a device costs the same whatever it sends.
template <size_t N>
struct Text {
  char s[N] = {};
  void set(std::string_view v);
  std::string_view view() const { return s; }
  bool empty() const { return !s[0]; }
};

struct DeviceState {
  Mac mac;
  bool known = false;  // in the registry when last seen
  int64_t first_seen = 0, last_seen = 0;
  Text<56> peer;
  Text<8> proto;
  Text<32> version;        // as reported last
  Text<33> sketch_md5;     // as reported last
  Text<12> chip;           // the client's family, or the exact chip a past update recorded
  bool chip_exact = false;  // chip came from an installed image (esp32c3, not just "esp32")
  Text<65> offered;        // SHA-256 of the last image offered with a body
  Text<32> offered_version;
  Text<32> version_before;  // what it reported when it was offered that image
  LastResult result = LastResult::None;
  uint64_t result_bytes = 0;  // bytes received of it (complete: all)
  Text<72> result_why;
  Inferred outcome = Inferred::None;
  uint16_t completes = 0;   // complete downloads of `offered` not reported installed, within the loop window
  int64_t first_complete = 0;
  uint16_t aborts = 0;      // aborted downloads of `offered`
};

// One device's state as JSON: the snapshot's entries and the admin API's.
nlohmann::json device_state_json(const DeviceState& d);

class FleetState {
 public:
  explicit FleetState(size_t max_devices = 10000) : max_(max_devices) {}
  void set_max(size_t n) { max_ = n; }
  const DeviceState* find(const Mac& mac) const;
  DeviceState* find(const Mac& mac);
  // The device's record, made if new. Unknown devices past max_devices evict
  // the one seen longest ago; a registered device is always tracked.
  // Null when full of registered devices.
  DeviceState* touch(const Mac& mac, bool known, int64_t now);
  size_t size() const { return devices_.size(); }
  std::vector<const DeviceState*> sorted() const;
  template <class F>
  void each(F f) const {
    for (const auto& [m, d] : devices_) f(d);
  }

  // The whole state as JSON, and back. A snapshot that does not parse
  // loads nothing and says why.
  std::string snapshot(uint64_t event_seq) const;
  Status restore(std::string_view json, uint64_t* event_seq);

 private:
  std::unordered_map<Mac, DeviceState, MacHash> devices_;
  size_t max_;
};

}  // namespace otad
