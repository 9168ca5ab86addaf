// The one way a protocol asks what a device gets: the pure decision over the
// fleet as it is now, and the fleet told what was decided.
#include <string_view>

#include "core/context.h"
#include "otad/log.h"

namespace otad {

void log_fleet_note(const Conn& c, const std::string& note) {
  std::string_view rest = note;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    CONN_LOG(LogLevel::Warn, c, "%.*s", static_cast<int>(line.size()), line.data());
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
}

Decision decide_for(Conn& c, const Context& ctx, const DeviceReport& r) {
  FleetView view{*ctx.catalog, *ctx.registry, ctx.policy};
  const int64_t now = wall_s();
  Fleet* fleet = ctx.fleet;
  Admission& adm = ctx.transfers->admission();
  if (fleet) {
    view.rollouts = &fleet->rollouts();
    view.state = r.mac ? fleet->find(*r.mac) : nullptr;
    view.load = &adm;
    view.rules = fleet->rules(now, adm.retry_after_s());
  }
  Decision d = decide(r, view);
  if (!fleet) return d;
  Caller who;
  who.peer = c.peer;
  who.proto = c.tag;
  who.registered = r.mac && ctx.registry->find(*r.mac);
  std::string note = fleet->check_in(r, d, who, now);
  if (!note.empty()) log_fleet_note(c, note);
  return d;
}

}  // namespace otad
