// The update decision: what a device gets. One pure function over what the
// device reported and the fleet as loaded now (catalog, registry, policy);
// every protocol asks here and renders the answer in its own terms.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "otad/catalog.h"
#include "otad/devices.h"
#include "otad/fleet_state.h"
#include "otad/rollout.h"

namespace otad {

struct PolicyConfig {
  std::string default_platform;
  bool serve_unknown = true;
};

// From the request's header prefix: x-ESP8266-* or x-ESP32-*.
enum class ChipFamily : uint8_t { Unknown, Esp8266, Esp32 };

// What the device asks for.
enum class Ask : uint8_t {
  Boot,        // tcpboot: the image its platform serves, no questions
  Update,      // Arduino update endpoint: the sketch, if newer than what it runs
  Filesystem,  // Arduino update endpoint, mode spiffs/littlefs/fatfs
  Version,     // Arduino update endpoint, mode version: only what it would get
  Download,    // /firmware/<platform>.bin: the image that platform serves it
  ByHash,      // /images/<sha256>.bin: exactly those bytes
};

struct DeviceReport {
  std::optional<Mac> mac;       // proven when `proven`, else as claimed (may be absent)
  bool proven = false;
  Ask ask = Ask::Boot;
  std::string_view platform;    // named by the request (?dev=, /firmware/<p>.bin)
  std::string_view version;     // what it runs, as reported
  std::string_view sketch_md5;  // MD5 of the running sketch, as reported
  std::optional<uint64_t> free_space;  // free sketch space, as reported
  ChipFamily family = ChipFamily::Unknown;
  std::string_view sha256;      // ByHash
};

// The fleet's rules that are numbers, and the time, for the loop guard.
struct FleetRules {
  uint32_t loop_guard = 3;      // complete downloads of one image never reported installed; 0 = off
  int64_t loop_window_s = 3600;  // ... within this many seconds
  uint32_t retry_after_s = 30;  // Busy: come back after about this long
  int64_t now_s = 0;
};

// Downloads in flight, by image: what a rollout's max_concurrent counts.
struct FleetLoad {
  virtual uint32_t downloading(std::string_view sha256) const = 0;
  // The device holds an admission for the image (a Range walk between its
  // requests): it is never turned away half way.
  virtual bool holds(const Mac& mac, std::string_view sha256) const = 0;

 protected:
  ~FleetLoad() = default;
};

struct FleetView {
  const Catalog& catalog;
  const Registry& registry;
  const PolicyConfig& policy;
  const std::vector<Rollout>* rollouts = nullptr;
  const DeviceState* state = nullptr;  // what otad recorded of this device
  const FleetLoad* load = nullptr;
  FleetRules rules{};
};

struct Decision {
  enum Kind : uint8_t {
    Serve,     // send image
    NoUpdate,  // the device is current; image is what it would get
    Deny,      // status (HTTP terms: 400, 403, 404, 413) and why
    Busy,      // come back after retry_after_s (the rollout's max_concurrent)
  } kind;
  std::shared_ptr<const Image> image;
  int status = 0;
  const char* why = "";  // short reason for the log and the device
  bool registered = false;
  uint32_t retry_after_s = 0;
  const Rollout* rollout = nullptr;  // image is this rollout's target, offered to this device
  bool loop_guard = false;           // NoUpdate because the loop guard tripped
};

// True when the device's report says it runs img: the same bytes (the
// sketch MD5, or for ESP8266 that MD5 with the flash-mode byte the Updater
// rewrote), else the same version. or_newer: a newer version counts too
// (no downgrade).
bool reports_installed(const DeviceReport& r, const Image& img, bool or_newer = true);

Decision decide(const DeviceReport& r, const FleetView& fleet);

}  // namespace otad
