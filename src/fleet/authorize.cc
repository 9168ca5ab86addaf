#include "otad/authorize.h"

namespace otad {

Grant authorize(const Registry& reg, const Mac& mac) {
  const Device* d = reg.find(mac);
  if (!d) return {Access::Unknown, nullptr, "unknown device"};
  if (!d->enabled) return {Access::Disabled, d, "device disabled"};
  return {Access::Granted, d, nullptr};
}

}  // namespace otad
