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

struct FleetView {
  const Catalog& catalog;
  const Registry& registry;
  const PolicyConfig& policy;
};

struct Decision {
  enum Kind : uint8_t {
    Serve,     // send image
    NoUpdate,  // the device is current; image is what it would get
    Deny,      // status (HTTP terms: 400, 403, 404, 413) and why
    Busy,      // come back after retry_after_s (admission control, next)
  } kind;
  std::shared_ptr<const Image> image;
  int status = 0;
  const char* why = "";  // short reason for the log and the device
  bool registered = false;
  uint32_t retry_after_s = 0;
};

Decision decide(const DeviceReport& r, const FleetView& fleet);

}  // namespace otad
