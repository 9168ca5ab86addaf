#include "otad/fleet_json.h"

#include "otad/platforms.h"
#include "otad/strict_num.h"

namespace otad {

using nlohmann::json;
using nlohmann::ordered_json;

Status rollout_from_json(const json& j, Rollout* r) {
  if (!j.is_object()) return Err("the body is not a JSON object");
  for (auto& [k, v] : j.items()) {
    const std::string& key = k;  // clang 14 cannot capture a structured binding
    auto bad = [&](const char* want) { return Err("field '" + key + "': " + want); };
    if (k == "version") {
      if (!v.is_string() || !catalog_name_ok(v.get<std::string>())) return bad("a catalog version (string)");
      r->version = v.get<std::string>();
    } else if (k == "percent") {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 100) {
        return bad("a whole percentage, 0 to 100");
      }
      r->percent = v.get<uint32_t>();
    } else if (k == "groups") {
      r->groups.clear();
      if (v.is_string()) {
        r->groups = split_words(v.get<std::string>());
      } else if (v.is_array()) {
        for (const json& g : v) {
          if (!g.is_string()) return bad("group names (strings)");
          r->groups.push_back(g.get<std::string>());
        }
      } else {
        return bad("an array of group names");
      }
      for (const std::string& g : r->groups) {
        if (!catalog_name_ok(g)) return bad("group names hold letters, digits and . _ - + only");
      }
    } else if (k == "max_concurrent") {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 65536) return bad("0 to 65536");
      r->max_concurrent = v.get<uint32_t>();
    } else if (k == "halt_after") {
      std::string s = v.is_number_unsigned() ? std::to_string(v.get<uint64_t>()) : v.is_string() ? v.get<std::string>() : "?";
      if (Status st = parse_halt_after(s, r); !st) return bad("a count of failed devices, or a percentage like \"20%\"");
    } else if (k == "allow_downgrade" || k == "paused") {
      if (!v.is_boolean()) return bad("true or false");
      (k == "paused" ? r->paused : r->allow_downgrade) = v.get<bool>();
    } else if (k == "platform") {
      if (!v.is_string() || v.get<std::string>() != r->platform) return bad("the platform of the path");
    } else {
      return Err("unknown field '" + k +
                 "' (version, percent, groups, max_concurrent, halt_after, allow_downgrade, paused)");
    }
  }
  if (r->version.empty()) return Err("no version: the release to roll out");
  return Ok();
}

json rollout_json(const Rollout& r, const RolloutStats& s) {
  const char* state = !r.halted.empty()                      ? "halted"
                      : r.paused                             ? "paused"
                      : s.target_sha256.empty()              ? "no such release"
                      : r.percent == 100 && r.groups.empty() ? "full"
                                                             : "running";
  json j = {{"platform", r.platform},
                    {"version", r.version},
                    {"percent", r.percent},
                    {"groups", r.groups},
                    {"max_concurrent", r.max_concurrent},
                    {"halt_after", halt_after_text(r)},
                    {"allow_downgrade", r.allow_downgrade},
                    {"paused", r.paused},
                    {"state", state},
                    {"why", r.halted},
                    {"since", r.since},
                    {"sha256", s.target_sha256},
                    {"offered", s.offered},
                    {"downloading", s.downloading},
                    {"updated", s.updated},
                    {"failed", s.failed},
                    {"pending", s.pending}};
  return j;
}

Status rollout_check(const Rollout& r, const Catalog& cat, const Registry& reg) {
  if (r.percent > 100) return Err("percent " + std::to_string(r.percent) + " is not within 0..100");
  if (!cat.release(r.platform, r.version)) {
    std::string have;
    for (const auto& img : cat.images()) {
      if (img->m.platform == r.platform && !is_filesystem(img->m)) have += (have.empty() ? "" : ", ") + img->m.version;
    }
    return Err("platform " + r.platform + " has no release " + r.version +
               (have.empty() ? " (it has no images)" : " (it has " + have + ")"));
  }
  for (const std::string& g : r.groups) {
    bool held = false;
    for (const Device& d : reg.sorted()) {
      for (const std::string& mine : d.groups) held = held || mine == g;
      if (held) break;
    }
    if (!held) return Err("no device is in group '" + g + "' (devices.ini: groups = ...)");
  }
  return Ok();
}

json device_json(const Device* reg, const DeviceState* st, const Mac& mac) {
  json j = {{"mac", mac.str()}, {"registered", reg != nullptr}};
  if (reg) {
    j["name"] = reg->name;
    j["platform"] = reg->platform;
    j["chip"] = reg->chip;
    j["groups"] = reg->groups;
    j["enabled"] = reg->enabled;
    j["pinned"] = reg->image;
    j["credentials"] = {{"psk", !reg->psk.empty()}, {"password", !reg->password_hash.empty()},
                        {"cert", !reg->cert.empty()}};
  }
  j["state"] = st ? device_state_json(*st) : json(nullptr);
  return j;
}

}  // namespace otad
