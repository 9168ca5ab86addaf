#include "otad/fleet_state.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

namespace otad {

using nlohmann::json;

namespace {

const char* const kResults[] = {"none", "complete", "aborted", "refused", "busy"};
const char* const kInferred[] = {"none", "pending", "updated", "failed", "rolled back"};

template <class E, size_t N>
bool enum_from(const json& j, const char* const (&names)[N], E* out) {
  if (!j.is_string()) return false;
  for (size_t i = 0; i < N; ++i) {
    if (j.get_ref<const std::string&>() == names[i]) {
      *out = static_cast<E>(i);
      return true;
    }
  }
  return false;
}

}  // namespace

const char* last_result_name(LastResult r) { return kResults[static_cast<int>(r)]; }
const char* inferred_name(Inferred i) { return kInferred[static_cast<int>(i)]; }

template <size_t N>
void Text<N>::set(std::string_view v) {
  // Printable ASCII only: this text reaches logs, JSON and terminals.
  size_t n = 0;
  for (char ch : v) {
    if (n + 1 >= N) break;
    s[n++] = (ch >= 0x20 && ch < 0x7f) ? ch : '?';
  }
  s[n] = 0;
}

template struct Text<8>;
template struct Text<12>;
template struct Text<32>;
template struct Text<33>;
template struct Text<56>;
template struct Text<65>;
template struct Text<72>;

const DeviceState* FleetState::find(const Mac& mac) const {
  auto it = devices_.find(mac);
  return it == devices_.end() ? nullptr : &it->second;
}

DeviceState* FleetState::find(const Mac& mac) {
  auto it = devices_.find(mac);
  return it == devices_.end() ? nullptr : &it->second;
}

DeviceState* FleetState::touch(const Mac& mac, bool known, int64_t now) {
  auto it = devices_.find(mac);
  if (it != devices_.end()) {
    it->second.known = known;
    return &it->second;
  }
  if (devices_.size() >= max_) {
    // Room is made by the unknown device seen longest ago; registered
    // devices are never dropped for strangers.
    auto oldest = devices_.end();
    for (auto i = devices_.begin(); i != devices_.end(); ++i) {
      if (!i->second.known && (oldest == devices_.end() || i->second.last_seen < oldest->second.last_seen)) oldest = i;
    }
    if (oldest == devices_.end() && !known) return nullptr;
    if (oldest != devices_.end()) devices_.erase(oldest);
  }
  DeviceState& d = devices_[mac];
  d.mac = mac;
  d.known = known;
  d.first_seen = d.last_seen = now;
  return &d;
}

std::vector<const DeviceState*> FleetState::sorted() const {
  std::vector<const DeviceState*> v;
  v.reserve(devices_.size());
  for (const auto& [m, d] : devices_) v.push_back(&d);
  std::sort(v.begin(), v.end(), [](const DeviceState* a, const DeviceState* b) { return a->mac < b->mac; });
  return v;
}

nlohmann::json device_state_json(const DeviceState& d) {
  return {{"mac", d.mac.str()},
          {"known", d.known},
          {"first_seen", d.first_seen},
          {"last_seen", d.last_seen},
          {"peer", d.peer.view()},
          {"proto", d.proto.view()},
          {"version", d.version.view()},
          {"sketch_md5", d.sketch_md5.view()},
          {"chip", d.chip.view()},
          {"chip_exact", d.chip_exact},
          {"offered", d.offered.view()},
          {"offered_version", d.offered_version.view()},
          {"version_before", d.version_before.view()},
          {"result", last_result_name(d.result)},
          {"result_bytes", d.result_bytes},
          {"result_why", d.result_why.view()},
          {"outcome", inferred_name(d.outcome)},
          {"completes", d.completes},
          {"first_complete", d.first_complete},
          {"aborts", d.aborts}};
}

std::string FleetState::snapshot(uint64_t event_seq) const {
  json devs = json::array();
  for (const DeviceState* d : sorted()) devs.push_back(device_state_json(*d));
  json j = {{"otad_state", 1}, {"event_seq", event_seq}, {"devices", std::move(devs)}};
  return j.dump() + "\n";
}

Status FleetState::restore(std::string_view text, uint64_t* event_seq) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Err("not JSON");
  if (!j.contains("otad_state") || j["otad_state"] != 1) return Err("not an otad state snapshot (otad_state: 1)");
  if (!j.contains("devices") || !j["devices"].is_array()) return Err("no devices array");
  std::unordered_map<Mac, DeviceState, MacHash> out;
  size_t n = 0;
  for (const json& e : j["devices"]) {
    ++n;
    const std::string where = "device " + std::to_string(n) + ": ";
    if (!e.is_object()) return Err(where + "not an object");
    DeviceState d;
    auto text = [&](const char* k, auto* to) -> bool {
      if (!e.contains(k)) return true;
      if (!e[k].is_string()) return false;
      to->set(e[k].get_ref<const std::string&>());
      return true;
    };
    // Whole numbers within the field's type, never negative.
    auto num = [&](const char* k, auto* to) -> bool {
      using T = std::remove_pointer_t<decltype(to)>;
      if (!e.contains(k)) return true;
      if (!e[k].is_number_unsigned()) return false;
      const uint64_t v = e[k].get<uint64_t>();
      if (v > static_cast<uint64_t>(std::numeric_limits<T>::max())) return false;
      *to = static_cast<T>(v);
      return true;
    };
    auto flag = [&](const char* k, bool* to) -> bool {
      if (!e.contains(k)) return true;
      if (!e[k].is_boolean()) return false;
      *to = e[k].get<bool>();
      return true;
    };
    if (!e.contains("mac") || !e["mac"].is_string()) return Err(where + "no mac");
    auto mac = parse_mac(e["mac"].get_ref<const std::string&>());
    if (!mac) return Err(where + "bad mac");
    d.mac = *mac;
    const bool ok = flag("known", &d.known) && num("first_seen", &d.first_seen) && num("last_seen", &d.last_seen) &&
                    text("peer", &d.peer) && text("proto", &d.proto) && text("version", &d.version) &&
                    text("sketch_md5", &d.sketch_md5) && text("chip", &d.chip) && flag("chip_exact", &d.chip_exact) &&
                    text("offered", &d.offered) && text("offered_version", &d.offered_version) &&
                    text("version_before", &d.version_before) && num("result_bytes", &d.result_bytes) &&
                    text("result_why", &d.result_why) && num("completes", &d.completes) &&
                    num("first_complete", &d.first_complete) && num("aborts", &d.aborts) &&
                    (!e.contains("result") || enum_from(e["result"], kResults, &d.result)) &&
                    (!e.contains("outcome") || enum_from(e["outcome"], kInferred, &d.outcome));
    if (!ok) return Err(where + d.mac.str() + ": a field of the wrong type");
    if (out.size() < max_ || d.known) out[d.mac] = d;
  }
  devices_ = std::move(out);
  *event_seq = j.contains("event_seq") && j["event_seq"].is_number_unsigned() ? j["event_seq"].get<uint64_t>() : 0;
  return Ok();
}

}  // namespace otad
