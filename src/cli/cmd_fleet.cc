// otactl rollout set|pause|resume|show|clear, device list|show, and the
// rollouts in otactl status: through the admin API when otad runs, else on
// the files otad keeps (rollouts.ini, then SIGHUP; the state snapshot, as
// of its last write).
#include <ctime>

#include "cli/api_client.h"
#include "cli/cli.h"
#include "otad/catalog_store.h"
#include "otad/fleet.h"
#include "otad/fleet_json.h"
#include "otad/strict_num.h"

namespace otad::cli {
namespace {

using nlohmann::json;

int fail(const std::string& why) {
  fprintf(stderr, "otactl: %s\n", why.c_str());
  return kExitFail;
}

// The fleet as otad left it on disk: registry, catalog (its manifest),
// rollouts and the state snapshot.
struct OnDisk {
  Registry reg;
  std::shared_ptr<const Catalog> cat;
  Fleet fleet;
};

Status load_on_disk(const Config& cfg, OnDisk* d) {
  std::vector<std::string> errors;
  auto reg = Registry::load(cfg.devices_file, &errors);
  if (!reg) return Err(reg.error());
  d->reg = std::move(*reg);
  auto listed = catalog_list(cfg.catalog_dir);
  if (!listed) return Err(listed.error());
  std::vector<ManifestEntry> entries;
  for (const Listed& l : *listed) entries.push_back(l.entry);
  d->cat = Catalog::in_memory(entries);
  FleetConfig fc;
  fc.catalog_dir = cfg.catalog_dir;
  fc.state_file = cfg.state_file;
  fc.max_devices = static_cast<size_t>(cfg.max_devices);
  d->fleet.configure(fc);
  d->fleet.load(static_cast<int64_t>(time(nullptr)));
  d->fleet.set_catalog(d->cat);
  return d->fleet.load_rollouts();
}

// The admin API's base and token when otad serves it; *down when it does not.
bool api_or_disk(const Config& cfg, const Args& a, std::string* base, std::string* token, bool* down) {
  auto b = api_base(cfg);
  *down = !b;
  if (!b) return true;
  auto t = api_token(a);
  if (!t) {
    fail("otad is running: give its admin token in $OTAD_TOKEN or --token-file");
    return false;
  }
  *base = *b;
  *token = *t;
  return true;
}

std::string ago(int64_t t) {
  if (!t) return "-";
  const int64_t s = static_cast<int64_t>(time(nullptr)) - t;
  char buf[32];
  if (s < 120) snprintf(buf, sizeof buf, "%llds ago", static_cast<long long>(s));
  else if (s < 7200) snprintf(buf, sizeof buf, "%lldm ago", static_cast<long long>(s / 60));
  else if (s < 172800) snprintf(buf, sizeof buf, "%lldh ago", static_cast<long long>(s / 3600));
  else snprintf(buf, sizeof buf, "%lldd ago", static_cast<long long>(s / 86400));
  return buf;
}

void print_rollouts(const json& arr) {
  printf("%-14s %-12s %7s %-9s %7s %11s %7s %6s  %s\n", "PLATFORM", "VERSION", "PERCENT", "STATE", "OFFERED",
         "DOWNLOADING", "UPDATED", "FAILED", "WHY");
  for (const json& r : arr) {
    std::string why = r.value("why", "");
    if (why.empty() && r.value("paused", false)) why = "paused by an operator";
    printf("%-14s %-12s %6u%% %-9s %7u %11u %7u %6u  %s\n", r.value("platform", "").c_str(),
           r.value("version", "").c_str(), r.value("percent", 0u), r.value("state", "").c_str(),
           r.value("offered", 0u), r.value("downloading", 0u), r.value("updated", 0u), r.value("failed", 0u),
           why.c_str());
  }
}

int rollout_usage() {
  fprintf(stderr,
          "usage: otactl rollout set PLATFORM --version V --percent P [--groups a,b] [--max-concurrent N]\n"
          "                          [--halt-after N|P%%] [--allow-downgrade] [--paused]\n"
          "       otactl rollout pause|resume|show [PLATFORM] [--json]\n"
          "       otactl rollout clear PLATFORM\n");
  return kExitUsage;
}

// rollout set: the flags as the API's JSON.
Result<json> set_body(const Args& a) {
  json j;
  if (!a.has("--version")) return Err("--version: the release to roll out");
  j["version"] = a.get("--version");
  auto pct = parse_int_strict(a.get("--percent", "100"), 0, 100);
  if (!pct) return Err("--percent: " + pct.error() + " (0 to 100)");
  j["percent"] = *pct;
  if (a.has("--groups")) j["groups"] = split_words(a.get("--groups"));
  if (a.has("--max-concurrent")) {
    auto n = parse_int_strict(a.get("--max-concurrent"), 0, 65536);
    if (!n) return Err("--max-concurrent: " + n.error());
    j["max_concurrent"] = *n;
  }
  if (a.has("--halt-after")) j["halt_after"] = a.get("--halt-after");
  if (a.has("--allow-downgrade")) j["allow_downgrade"] = true;
  if (a.has("--paused")) j["paused"] = true;
  return j;
}

// rollout set|pause|resume|clear on the files, when otad does not run.
int rollout_on_disk(const Config& cfg, const std::string& verb, const std::string& platform, const json* body) {
  OnDisk d;
  if (Status st = load_on_disk(cfg, &d); !st) return fail(st.error());
  std::vector<Rollout> next = d.fleet.rollouts();
  Rollout* have = nullptr;
  for (Rollout& r : next) have = r.platform == platform ? &r : have;
  if (verb == "set") {
    Rollout r;
    r.platform = platform;
    if (Status st = rollout_from_json(*body, &r); !st) return fail(st.error());
    if (Status st = rollout_check(r, *d.cat, d.reg); !st) return fail(st.error());
    r.since = static_cast<int64_t>(time(nullptr));
    if (have) *have = r;
    else next.push_back(r);
  } else if (!have) {
    return fail("no rollout for platform " + platform);
  } else if (verb == "clear") {
    next.erase(next.begin() + (have - next.data()));
  } else {
    have->paused = verb == "pause";
    if (verb == "resume") {
      have->halted.clear();
      have->since = static_cast<int64_t>(time(nullptr));
    }
  }
  if (Status st = d.fleet.save_rollouts(next); !st) return fail(st.error());
  printf("rollout %s: %s\n", platform.c_str(), verb == "set" ? "set" : verb == "clear" ? "cleared" : verb == "pause" ? "paused" : "resumed");
  return notify_daemon(cfg) ? kExitOk : kExitFail;
}

}  // namespace

int cmd_rollout(const std::string& verb, const Args& a) {
  const bool show = verb == "show", set = verb == "set";
  if (verb != "set" && verb != "pause" && verb != "resume" && verb != "show" && verb != "clear") return rollout_usage();
  if (a.pos.size() > 1 || (!show && a.pos.size() != 1) ||
      !only_flags(a, {"--version", "--percent", "--groups", "--max-concurrent", "--halt-after", "--allow-downgrade",
                      "--paused", "--json", "--token-file"})) {
    return rollout_usage();
  }
  const std::string platform = a.pos.empty() ? "" : a.pos[0];
  json body;
  if (set) {
    auto b = set_body(a);
    if (!b) return fail(b.error());
    body = *b;
  }
  Config cfg;
  if (!load_config(a, &cfg)) return kExitFail;
  std::string base, token;
  bool down;
  if (!api_or_disk(cfg, a, &base, &token, &down)) return kExitFail;
  if (!show) {
    if (down) return rollout_on_disk(cfg, verb, platform, set ? &body : nullptr);
    const std::string url = base + "/api/rollouts/" + url_escape(platform);
    const std::string text = body.dump();
    ApiReply r = set ? api_call(cfg, url, "PUT", token, nullptr, &text)
                 : verb == "clear" ? api_call(cfg, url, "DELETE", token)
                                   : api_call(cfg, url + "/" + verb, "POST", token);
    if (!r.error.empty()) return fail(r.error);
    if (a.has("--json")) printf("%s\n", r.body.dump(1).c_str());
    else if (verb != "clear") print_rollouts(json::array({r.body}));
    else printf("rollout %s: cleared\n", platform.c_str());
    return kExitOk;
  }
  json arr = json::array();
  if (down) {
    OnDisk d;
    if (Status st = load_on_disk(cfg, &d); !st) return fail(st.error());
    for (const Rollout& r : d.fleet.rollouts()) arr.push_back(rollout_json(r, d.fleet.stats(r)));
  } else {
    ApiReply r = api_call(cfg, base + "/api/rollouts", "GET", token);
    if (!r.error.empty()) return fail(r.error);
    arr = r.body;
  }
  if (!platform.empty()) {
    json one = json::array();
    for (const json& r : arr) {
      if (r.value("platform", "") == platform) one.push_back(r);
    }
    if (one.empty()) return fail("no rollout for platform " + platform);
    arr = one;
  }
  if (a.has("--json")) printf("%s\n", arr.dump(1).c_str());
  else print_rollouts(arr);
  return kExitOk;
}

// Every registered device and every device seen, with what it did.
Result<json> fleet_devices(const Config& cfg, const Args& a, const std::string& mac) {
  std::string base, token;
  bool down;
  if (!api_or_disk(cfg, a, &base, &token, &down)) return Err("");
  if (!down) {
    ApiReply r = api_call(cfg, base + (mac.empty() ? "/api/devices" : "/api/devices/" + mac), "GET", token);
    if (!r.error.empty()) return Err(r.error);
    return r.body;
  }
  OnDisk d;
  if (Status st = load_on_disk(cfg, &d); !st) return Err(st.error());
  if (!mac.empty()) {
    auto m = parse_mac(mac);
    const Device* reg = d.reg.find(*m);
    const DeviceState* st = d.fleet.find(*m);
    if (!reg && !st) return Err("device " + mac + " is neither registered nor seen");
    json j = device_json(reg, st, *m);
    j["events"] = json::array();  // in the event log file, or otad's RAM when it runs
    return j;
  }
  json arr = json::array();
  for (const Device& dev : d.reg.sorted()) arr.push_back(device_json(&dev, d.fleet.find(dev.mac), dev.mac));
  for (const DeviceState* s : d.fleet.state().sorted()) {
    if (!d.reg.find(s->mac)) arr.push_back(device_json(nullptr, s, s->mac));
  }
  return arr;
}

int device_list(const Args& a) {
  if (!a.pos.empty() || !only_flags(a, {"--json", "--token-file"})) {
    fprintf(stderr, "usage: otactl device list [--json]\n");
    return kExitUsage;
  }
  Config cfg;
  if (!load_config(a, &cfg)) return kExitFail;
  auto arr = fleet_devices(cfg, a, "");
  if (!arr) return arr.error().empty() ? kExitFail : fail(arr.error());
  if (a.has("--json")) {
    printf("%s\n", arr->dump(1).c_str());
    return kExitOk;
  }
  printf("%-12s %-8s %-14s %-12s %-12s %-10s %-11s %s\n", "MAC", "ENABLED", "PLATFORM", "VERSION", "LAST SEEN",
         "OUTCOME", "CREDENTIALS", "NAME");
  for (const json& d : *arr) {
    const json& st = d["state"];
    std::string creds;
    if (d.contains("credentials")) {
      for (const char* k : {"psk", "password", "cert"}) {
        if (d["credentials"].value(k, false)) creds += std::string(creds.empty() ? "" : ",") + k;
      }
    }
    const bool reg = d.value("registered", false);
    printf("%-12s %-8s %-14s %-12s %-12s %-10s %-11s %s\n", d.value("mac", "").c_str(),
           !reg ? "unknown" : d.value("enabled", true) ? "yes" : "no",
           reg && !d.value("platform", "").empty() ? d.value("platform", "").c_str() : "-",
           st.is_object() && !st.value("version", "").empty() ? st.value("version", "").c_str() : "-",
           st.is_object() ? ago(st.value("last_seen", int64_t{0})).c_str() : "never",
           st.is_object() ? st.value("outcome", "").c_str() : "-", creds.empty() ? "-" : creds.c_str(),
           d.value("name", "").c_str());
  }
  return kExitOk;
}

int device_show(const Args& a) {
  if (a.pos.size() != 1 || !only_flags(a, {"--json", "--token-file"})) {
    fprintf(stderr, "usage: otactl device show MAC [--json]\n");
    return kExitUsage;
  }
  auto mac = parse_mac(a.pos[0]);
  if (!mac) return fail("'" + a.pos[0] + "' is not a MAC");
  Config cfg;
  if (!load_config(a, &cfg)) return kExitFail;
  auto d = fleet_devices(cfg, a, mac->str());
  if (!d) return d.error().empty() ? kExitFail : fail(d.error());
  if (a.has("--json")) {
    printf("%s\n", d->dump(1).c_str());
    return kExitOk;
  }
  const json& j = *d;
  printf("device %s (%s)\n", mac->str().c_str(),
         !j.value("registered", false) ? "not registered" : j.value("enabled", true) ? "enabled" : "disabled");
  if (j.value("registered", false)) {
    printf("  name %s, platform %s, chip %s, groups %s\n", j.value("name", "-").c_str(),
           j.value("platform", "").empty() ? "(default)" : j.value("platform", "").c_str(),
           j.value("chip", "").empty() ? "(from its requests)" : j.value("chip", "").c_str(),
           j["groups"].empty() ? "-" : j["groups"].dump().c_str());
  }
  const json& st = j["state"];
  if (!st.is_object()) {
    printf("  never seen\n");
  } else {
    printf("  seen first %s, last %s from %s over %s\n", ago(st.value("first_seen", int64_t{0})).c_str(),
           ago(st.value("last_seen", int64_t{0})).c_str(), st.value("peer", "").c_str(), st.value("proto", "").c_str());
    printf("  runs %s (sketch md5 %s), chip %s\n", st.value("version", "").empty() ? "?" : st.value("version", "").c_str(),
           st.value("sketch_md5", "").empty() ? "-" : st.value("sketch_md5", "").c_str(),
           st.value("chip", "").empty() ? "?" : st.value("chip", "").c_str());
    printf("  offered %s (%.16s), last download %s (%llu bytes)%s%s\n",
           st.value("offered_version", "").empty() ? "nothing" : st.value("offered_version", "").c_str(),
           st.value("offered", "").c_str(), st.value("result", "").c_str(),
           static_cast<unsigned long long>(st.value("result_bytes", uint64_t{0})),
           st.value("result_why", "").empty() ? "" : ": ", st.value("result_why", "").c_str());
    printf("  outcome %s\n", st.value("outcome", "").c_str());
  }
  if (j.contains("events") && !j["events"].empty()) {
    printf("  last events:\n");
    for (const json& e : j["events"]) {
      printf("    #%llu %s %s %s\n", static_cast<unsigned long long>(e.value("seq", uint64_t{0})),
             ago(e.value("t", int64_t{0})).c_str(), e.value("ev", "").c_str(),
             e.value("what", e.value("why", "")).c_str());
    }
  }
  return kExitOk;
}

// For otactl status: the rollouts, from the API or the files.
json status_rollouts(const Config& cfg, const std::string* base, const std::string* token) {
  if (base) {
    ApiReply r = api_call(cfg, *base + "/api/rollouts", "GET", *token);
    return r.error.empty() ? r.body : json::array();
  }
  OnDisk d;
  json arr = json::array();
  if (!load_on_disk(cfg, &d)) return arr;
  for (const Rollout& r : d.fleet.rollouts()) arr.push_back(rollout_json(r, d.fleet.stats(r)));
  return arr;
}

void print_status_rollouts(const json& arr) {
  if (arr.empty()) {
    printf("no rollouts\n");
    return;
  }
  print_rollouts(arr);
}

}  // namespace otad::cli
