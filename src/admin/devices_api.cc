// /api/devices, /api/devices/<mac>, /api/events?since=N: what each device
// is (the registry) and did (its recorded state), and the event log's
// newest lines.
#include <nlohmann/json.hpp>

#include "admin/api.h"
#include "otad/fleet_json.h"
#include "otad/strict_num.h"

namespace otad {

using nlohmann::json;

void api_devices_list(const Exchange& x, HttpResponse* out) {
  if (!admin_authorized(x, out)) return;
  const Fleet& fleet = *x.ctx.fleet;
  json arr = json::array();
  size_t n = 0;
  for (const Device& d : x.ctx.registry->sorted()) {
    arr.push_back(device_json(&d, fleet.find(d.mac), d.mac));
    n++;
  }
  // Devices seen but not registered.
  for (const DeviceState* s : fleet.state().sorted()) {
    if (!x.ctx.registry->find(s->mac)) arr.push_back(device_json(nullptr, s, s->mac));
  }
  json_reply(out, 200, arr.dump(1) + "\n");
  out->set_note("%zu registered, %zu tracked", n, fleet.state().size());
}

void api_device_get(const Exchange& x, HttpResponse* out) {
  if (!admin_authorized(x, out)) return;
  auto mac = parse_mac(x.arg);
  if (!mac) return json_error(out, 400, "not a MAC address: " + std::string(x.arg));
  const Device* reg = x.ctx.registry->find(*mac);
  const DeviceState* st = x.ctx.fleet->find(*mac);
  if (!reg && !st) return json_error(out, 404, "device " + mac->str() + " is neither registered nor seen");
  json j = device_json(reg, st, *mac);
  // Its newest events, from those still in RAM.
  json events = json::array();
  const std::string needle = "\"mac\":\"" + mac->str() + "\"";
  for (const std::string& line : x.ctx.fleet->events().since(0, 100000)) {
    if (line.find(needle) != std::string::npos) events.push_back(json::parse(line, nullptr, false));
  }
  if (events.size() > 20) events.erase(events.begin(), events.end() - 20);
  j["events"] = std::move(events);
  json_reply(out, 200, j.dump(1) + "\n");
}

void api_events(const Exchange& x, HttpResponse* out) {
  if (!admin_authorized(x, out)) return;
  bool found;
  std::string_view since_text = http_query_param(x.req.query.in(x.buf), "since", &found);
  uint64_t since = 0;
  if (found) {
    auto n = parse_int_strict(since_text, 0, INT64_MAX);
    if (!n) return json_error(out, 400, "since: " + n.error());
    since = static_cast<uint64_t>(*n);
  }
  EventLog& log = x.ctx.fleet->events();
  json arr = json::array();
  for (const std::string& line : log.since(since, 1000)) arr.push_back(json::parse(line, nullptr, false));
  json j = {{"last", log.seq()}, {"events", std::move(arr)}};
  json_reply(out, 200, j.dump() + "\n");
  out->set_note("events after %llu", static_cast<unsigned long long>(since));
}

}  // namespace otad
