// Whether a device may be served at all: registered and enabled. The one
// revocation check, asked by every credential path (TLS-PSK, client
// certificates, resumed sessions, HTTP Basic) and by the update decision,
// each time against the registry loaded now, so a reload revokes at once.
#pragma once
#include "otad/devices.h"

namespace otad {

enum class Access : uint8_t { Granted, Unknown, Disabled };

struct Grant {
  Access access;
  const Device* device;  // when Granted (and when Disabled, for the record)
  const char* why;       // when not Granted: "device disabled", "unknown device"
  explicit operator bool() const { return access == Access::Granted; }
};

Grant authorize(const Registry& reg, const Mac& mac);

}  // namespace otad
