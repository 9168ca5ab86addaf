// What protocol drivers may read of the server's state, and the one place
// they report to.
#pragma once
#include <memory>

#include "core/ops.h"
#include "core/transfer.h"
#include "otad/catalog.h"
#include "otad/config.h"
#include "otad/decision.h"
#include "otad/devices.h"
#include "otad/fleet.h"

namespace otad {

struct Context {
  const Config* cfg = nullptr;
  std::shared_ptr<const Catalog> catalog;
  const Registry* registry = nullptr;
  PolicyConfig policy;
  bool draining = false;
  size_t max_head = 0;
  TransferLog* transfers = nullptr;
  Fleet* fleet = nullptr;  // rollouts, device state, events
  ServerOps* ops = nullptr;
  const Stats& stats() const { return transfers->stats(); }
};

// The decision for what c's device reported, over the fleet as it is now
// (catalog, registry, rollouts, the device's recorded state, downloads in
// flight), told to the fleet before it is returned.
Decision decide_for(Conn& c, const Context& ctx, const DeviceReport& r);
// Lines the fleet returned (a halt, an event log it cannot write), logged
// once each, naming the connection.
void log_fleet_note(const Conn& c, const std::string& note);

}  // namespace otad
