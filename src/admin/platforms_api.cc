// /api/platforms: list, put (JSON body), delete.
#include <nlohmann/json.hpp>

#include "admin/api.h"
#include "otad/catalog_store.h"
#include "otad/fsutil.h"
#include "otad/inspect.h"

namespace otad {
namespace {

using nlohmann::json;

constexpr int64_t kMaxPlatformJson = 4096;

json platform_json(const Platform& p, const Catalog& cat) {
  json j = {{"name", p.name}, {"chip", p.chip}, {"match", p.match}, {"max_size", p.max_size}};
  auto cur = cat.current(p.name);
  j["current"] = cur ? json(cur->m.version) : json(nullptr);
  size_t n = 0;
  for (const auto& img : cat.images()) n += img->m.platform == p.name;
  j["images"] = n;
  return j;
}

}  // namespace

void api_platforms_list(const Exchange& x, HttpResponse* out) {
  if (!admin_authorized(x, out)) return;
  auto all = catalog_platforms(x.ctx.cfg->catalog_dir);
  if (!all) return json_error(out, 500, all.error());
  json arr = json::array();
  for (const Platform& p : *all) arr.push_back(platform_json(p, *x.ctx.catalog));
  json_reply(out, 200, arr.dump(1) + "\n");
  out->set_note("%zu platform(s)", all->size());
}

void api_platform_put(const Exchange& x, HttpResponse* out) {
  if (!admin_authorized(x, out)) return;
  if (!catalog_name_ok(x.arg)) return json_error(out, 400, "platform names hold letters, digits and . _ - + only");
  json_body_begin(x, out, kMaxPlatformJson, "a platform", "{\"chip\": ..., \"max_size\": ..., \"match\": ...}");
}

void api_platform_received(const Exchange& x, Upload* u, HttpResponse* out) {
  json j;
  if (!json_body_read(u, kMaxPlatformJson, &j, out)) return;
  if (!j.is_object()) return json_error(out, 400, "the body is not a JSON object");
  Platform p;
  p.name = std::string(x.arg);
  for (auto& [k, v] : j.items()) {
    if (k == "chip" && v.is_string()) {
      p.chip = v.get<std::string>();
    } else if (k == "match" && v.is_string() && v.get<std::string>().size() <= 64) {
      p.match = v.get<std::string>();
    } else if (k == "max_size" && v.is_number_unsigned()) {
      p.max_size = v.get<uint64_t>();
    } else if (k == "name" && v.is_string() && v.get<std::string>() == p.name) {
      // the same name again: fine
    } else {
      return json_error(out, 400, "unknown or malformed field '" + k + "' (chip, match: strings; max_size: bytes)");
    }
  }
  if (!p.chip.empty() && !is_esp_chip(p.chip)) {
    return json_error(out, 400, "chip '" + p.chip + "' is not an ESP chip (esp8266, esp32, esp32c3, ...)");
  }
  if (Status s = catalog_put_platform(x.ctx.cfg->catalog_dir, p); !s) return json_error(out, 500, s.error());
  if (Status r = x.ctx.ops->reload_catalog(); !r) return json_error(out, 500, r.error());
  json_reply(out, 200, platform_json(p, *x.ctx.catalog).dump(1) + "\n");
  out->set_note("platform %s: chip %s", p.name.c_str(), p.chip.empty() ? "any" : p.chip.c_str());
}

void api_platform_delete(const Exchange& x, HttpResponse* out) {
  if (!admin_authorized(x, out)) return;
  for (const Device& d : x.ctx.registry->sorted()) {
    if (d.platform == x.arg) return json_error(out, 409, "device " + d.mac.str() + " belongs to this platform");
  }
  Status s = catalog_remove_platform(x.ctx.cfg->catalog_dir, std::string(x.arg));
  if (!s) return json_error(out, s.error().rfind("no platform", 0) == 0 ? 404 : 409, s.error());
  json_reply(out, 200, json{{"removed", std::string(x.arg)}}.dump() + "\n");
  out->set_note("removed platform %.*s", static_cast<int>(x.arg.size()), x.arg.data());
}

}  // namespace otad
