// The admin API: the catalog's HTTP interface on the [admin] listener.
// Every request needs a bearer token (tokens.h); device credentials never
// open it. JSON in and out; every error is {"error": "<reason>"} with the
// same reason as the request's log line.
#pragma once
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "http/exchange.h"
#include "otad/config.h"
#include "otad/tokens.h"

namespace otad {

struct AdminApi {
  TokenStore tokens;
  RouteTable routes;  // app = this
};

// Loads the token file and makes the routes; again on reload (tokens only).
Status admin_init(AdminApi& api, const Config& cfg);
Status admin_reload(AdminApi& api, const Config& cfg);

// Handler helpers (json.cc).
// The token's name when the request carries a valid one; else fills a 401.
bool admin_authorized(const Exchange& x, HttpResponse* out);
// A JSON body (status, then the value). Bodies of any size: kept in an
// anonymous in-memory file and sent like an image range.
void json_reply(HttpResponse* out, int status, const std::string& json);
// {"error": why}, and why as the log line's note.
void json_error(HttpResponse* out, int status, const std::string& why);
// A small JSON request body (PUT): its length checked (at most max; what and
// example name it in the refusals), then received like an upload; the
// route's body handler reads it with json_body_read, which fills the error
// and returns false when it did not arrive whole or is not JSON.
void json_body_begin(const Exchange& x, HttpResponse* out, int64_t max, const char* what, const char* example);
bool json_body_read(Upload* u, int64_t max, nlohmann::json* j, HttpResponse* out);

// Routes (images.cc, platforms_api.cc, status.cc, rollouts_api.cc, devices_api.cc).
void api_images_list(const Exchange& x, HttpResponse* out);
void api_image_get(const Exchange& x, HttpResponse* out);
void api_image_delete(const Exchange& x, HttpResponse* out);
void api_image_upload(const Exchange& x, HttpResponse* out);
void api_image_uploaded(const Exchange& x, Upload* u, HttpResponse* out);
void api_platforms_list(const Exchange& x, HttpResponse* out);
void api_platform_put(const Exchange& x, HttpResponse* out);
void api_platform_received(const Exchange& x, Upload* u, HttpResponse* out);
void api_platform_delete(const Exchange& x, HttpResponse* out);
void api_status(const Exchange& x, HttpResponse* out);
void api_rollouts_list(const Exchange& x, HttpResponse* out);
void api_rollout_get(const Exchange& x, HttpResponse* out);
void api_rollout_put(const Exchange& x, HttpResponse* out);
void api_rollout_received(const Exchange& x, Upload* u, HttpResponse* out);
void api_rollout_pause(const Exchange& x, HttpResponse* out);
void api_rollout_delete(const Exchange& x, HttpResponse* out);
void api_devices_list(const Exchange& x, HttpResponse* out);
void api_device_get(const Exchange& x, HttpResponse* out);
void api_events(const Exchange& x, HttpResponse* out);

}  // namespace otad
