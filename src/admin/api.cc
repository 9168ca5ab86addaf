// The admin API's route table and its start-up: which handler each path
// and method gets; the token store loaded (and reloaded on SIGHUP).
#include "admin/api.h"
#include "otad/fsutil.h"

namespace otad {

namespace {

constexpr uint8_t kGet = method_bit(Method::Get) | method_bit(Method::Head);
constexpr uint8_t kPost = method_bit(Method::Post), kPut = method_bit(Method::Put), kDelete = method_bit(Method::Delete);

void images_root(const Exchange& x, HttpResponse* out) {
  (x.req.method == Method::Post ? api_image_upload : api_images_list)(x, out);
}
void image_one(const Exchange& x, HttpResponse* out) {
  (x.req.method == Method::Delete ? api_image_delete : api_image_get)(x, out);
}
void not_found(const Exchange& x, HttpResponse* out) {
  json_error(out, 404, "no such path: " + std::string(x.req.path.in(x.buf)));
}
void platform_one(const Exchange& x, HttpResponse* out) {
  (x.req.method == Method::Put ? api_platform_put : api_platform_delete)(x, out);
}

void rollout_one(const Exchange& x, HttpResponse* out) {
  switch (x.req.method) {
    case Method::Put: return api_rollout_put(x, out);
    case Method::Delete: return api_rollout_delete(x, out);
    default: return api_rollout_get(x, out);
  }
}

const Route kRoutes[] = {
    {static_cast<uint8_t>(kGet | kPost), "/api/images", nullptr, 0, images_root, api_image_uploaded},
    {static_cast<uint8_t>(kGet | kDelete), "/api/images/", "", 64, image_one},
    {kGet, "/api/platforms", nullptr, 0, api_platforms_list},
    {static_cast<uint8_t>(kPut | kDelete), "/api/platforms/", "", 0, platform_one, api_platform_received},
    {kGet, "/api/status", nullptr, 0, api_status},
    {kGet, "/api/rollouts", nullptr, 0, api_rollouts_list},
    {kPost, "/api/rollouts/", "/pause", 0, api_rollout_pause},
    {kPost, "/api/rollouts/", "/resume", 0, api_rollout_pause},
    {static_cast<uint8_t>(kGet | kPut | kDelete), "/api/rollouts/", "", 0, rollout_one, api_rollout_received},
    {kGet, "/api/devices", nullptr, 0, api_devices_list},
    {kGet, "/api/devices/", "", 0, api_device_get},
    {kGet, "/api/events", nullptr, 0, api_events},
    {0xFF, "/", "", 0, not_found},  // anything else: a JSON 404
};

}  // namespace

Status admin_init(AdminApi& api, const Config& cfg) {
  api.routes = {kRoutes, sizeof kRoutes / sizeof kRoutes[0], &api};
  // Uploads land in the catalog directory: it must exist before the first.
  if (Status s = make_dirs(cfg.catalog_dir); !s) return s;
  return admin_reload(api, cfg);
}

Status admin_reload(AdminApi& api, const Config& cfg) {
  std::vector<std::string> errors;
  auto t = TokenStore::load(cfg.admin_token_file, &errors);
  if (!t) return Err(t.error());
  api.tokens = std::move(*t);
  return Ok();
}

}  // namespace otad
