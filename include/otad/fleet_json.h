// The fleet as the admin API and otactl speak it: rollouts as JSON in (PUT
// /api/rollouts/<platform>) and out with their figures, the checks a
// rollout must pass before it is written, and a device as JSON (what the
// registry says of it and what it did).
#pragma once
#include <nlohmann/json.hpp>

#include "otad/catalog.h"
#include "otad/devices.h"
#include "otad/fleet.h"
#include "otad/rollout.h"

namespace otad {

// Fields: version (required), percent, groups (array or "a,b"), max_concurrent,
// halt_after (a count, or "20%"), allow_downgrade, paused. Unknown fields are errors.
Status rollout_from_json(const nlohmann::json& j, Rollout* r);
// The rollout with its figures (stats) and state: running, paused, halted, complete.
nlohmann::json rollout_json(const Rollout& r, const RolloutStats& s);
// A release of the platform with that version exists, the percentage is
// 0..100, every group is held by some registered device.
Status rollout_check(const Rollout& r, const Catalog& cat, const Registry& reg);

// {"mac", "registered", the registry's fields if registered, "state": the
// recorded state or null}. Never a credential: only which kinds it has.
nlohmann::json device_json(const Device* reg, const DeviceState* st, const Mac& mac);

}  // namespace otad
