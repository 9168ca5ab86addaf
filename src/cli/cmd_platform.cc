// otactl platform add|list|remove and otactl status: through the admin API
// when otad runs, else on the store (status then says otad is not running).
#include <cstdio>

#include "cli/api_client.h"
#include "cli/cli.h"
#include "otad/catalog_store.h"
#include "otad/strict_num.h"

namespace otad::cli {
namespace {

nlohmann::json platform_json(const Platform& p) {
  return {{"name", p.name}, {"chip", p.chip}, {"match", p.match}, {"max_size", p.max_size}};
}

int fail(const std::string& why) {
  fprintf(stderr, "otactl: %s\n", why.c_str());
  return kExitFail;
}

}  // namespace

int cmd_platform(const std::string& verb, const Args& a) {
  const bool add = verb == "add", remove = verb == "remove", list = verb == "list";
  if ((!add && !remove && !list) || a.pos.size() != (list ? 0u : 1u) ||
      !only_flags(a, {"--chip", "--match", "--max-size", "--json", "--token-file"})) {
    fprintf(stderr, "usage: otactl platform add NAME [--chip C] [--match PROJECT] [--max-size BYTES]\n"
                    "       otactl platform list [--json] | platform remove NAME\n");
    return kExitUsage;
  }
  Config cfg;
  if (!load_config(a, &cfg)) return kExitFail;
  auto base = api_base(cfg);
  std::optional<std::string> token;
  if (base && !(token = api_token(a))) return fail("otad is running: give its admin token in $OTAD_TOKEN or --token-file");
  if (list) {
    nlohmann::json arr = nlohmann::json::array();
    if (base) {
      ApiReply r = api_call(cfg, *base + "/api/platforms", "GET", *token);
      if (!r.error.empty()) return fail(r.error);
      arr = r.body;
    } else {
      auto all = catalog_platforms(cfg.catalog_dir);
      if (!all) return fail(all.error());
      for (const Platform& p : *all) arr.push_back(platform_json(p));
    }
    if (a.has("--json")) {
      printf("%s\n", arr.dump(1).c_str());
      return kExitOk;
    }
    printf("%-16s %-10s %-20s %s\n", "PLATFORM", "CHIP", "MATCH", "MAX_SIZE");
    for (const auto& p : arr) {
      printf("%-16s %-10s %-20s %llu\n", p.value("name", "").c_str(), p.value("chip", "").c_str(),
             p.value("match", "").c_str(), p.value("max_size", 0ULL));
    }
    return kExitOk;
  }
  const std::string& name = a.pos[0];
  if (remove) {
    if (base) {
      ApiReply r = api_call(cfg, *base + "/api/platforms/" + url_escape(name), "DELETE", *token);
      if (!r.error.empty()) return fail(r.error);
    } else if (Status s = catalog_remove_platform(cfg.catalog_dir, name); !s) {
      return fail(s.error());
    }
    printf("removed platform %s\n", name.c_str());
    return kExitOk;
  }
  Platform p;
  p.name = name;
  p.chip = a.get("--chip", "");
  p.match = a.get("--match", "");
  if (a.has("--max-size")) {
    auto n = parse_int_strict(a.get("--max-size"), 0, int64_t{1} << 32);
    if (!n) return fail("--max-size: " + n.error());
    p.max_size = static_cast<uint64_t>(*n);
  }
  if (base) {
    nlohmann::json j = platform_json(p);
    j.erase("name");
    const std::string body = j.dump();
    ApiReply r = api_call(cfg, *base + "/api/platforms/" + url_escape(name), "PUT", *token, nullptr, &body);
    if (!r.error.empty()) return fail(r.error);
  } else if (Status s = catalog_put_platform(cfg.catalog_dir, p); !s) {
    return fail(s.error());
  }
  printf("platform %s: chip %s, match %s, max_size %llu\n", name.c_str(), p.chip.empty() ? "any" : p.chip.c_str(),
         p.match.empty() ? "-" : p.match.c_str(), static_cast<unsigned long long>(p.max_size));
  return kExitOk;
}

int cmd_status(const Args& a) {
  if (!a.pos.empty() || !only_flags(a, {"--json", "--token-file"})) {
    fprintf(stderr, "usage: otactl status [--json]\n");
    return kExitUsage;
  }
  Config cfg;
  if (!load_config(a, &cfg)) return kExitFail;
  nlohmann::json j;
  if (auto base = api_base(cfg)) {
    auto token = api_token(a);
    if (!token) return fail("otad is running: give its admin token in $OTAD_TOKEN or --token-file");
    ApiReply r = api_call(cfg, *base + "/api/status", "GET", *token);
    if (!r.error.empty()) return fail(r.error);
    j = r.body;
    j["running"] = true;
    j["rollouts"] = status_rollouts(cfg, &*base, &*token);
  } else {
    auto listed = catalog_list(cfg.catalog_dir);
    j = {{"running", false}, {"images", listed ? listed->size() : 0}};
    j["rollouts"] = status_rollouts(cfg, nullptr, nullptr);
  }
  if (a.has("--json")) {
    printf("%s\n", j.dump(1).c_str());
    return kExitOk;
  }
  if (!j["running"].get<bool>()) {
    printf("otad is not running (or serves no admin API); the catalog holds %zu image(s)\n",
           j["images"].get<size_t>());
    print_status_rollouts(j["rollouts"]);
    return kExitOk;
  }
  printf("otad %s up %lld s: %zu image(s), %zu device(s), %u connection(s), %u download(s) in flight\n",
         j.value("version", "").c_str(), j.value("uptime_s", 0LL), j.value("images", size_t{0}),
         j.value("devices", size_t{0}), j.value("connections", 0u), j.value("downloads_in_flight", 0u));
  print_status_rollouts(j["rollouts"]);
  return kExitOk;
}

}  // namespace otad::cli
