// Admin responses and the token check shared by every admin route.
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "admin/api.h"

namespace otad {

bool admin_authorized(const Exchange& x, HttpResponse* out) {
  auto* api = static_cast<AdminApi*>(x.app);
  bool found;
  std::string_view authz = x.header("authorization", &found);
  // Every token is checked whatever the header holds, so a missing header, a
  // wrong token and a right one take the same time.
  const std::string name = api->tokens.verify(found ? bearer_token(authz) : std::string_view{});
  if (name.empty()) {
    json_error(out, 401, found ? "wrong or revoked token" : "a bearer token is required");
    out->header("WWW-Authenticate", "Bearer realm=\"otad-admin\"");
    return false;
  }
  return true;
}

void json_reply(HttpResponse* out, int status, const std::string& json) {
  auto body = std::make_shared<Image>();
  body->fd = memfd_create("otad-json", MFD_CLOEXEC);
  size_t put = 0;
  while (body->fd >= 0 && put < json.size()) {
    ssize_t w = write(body->fd, json.data() + put, json.size() - put);
    if (w <= 0) break;
    put += static_cast<size_t>(w);
  }
  out->status = status;
  out->content_type = "application/json";
  if (body->fd < 0 || put != json.size() || json.empty()) {
    out->status = 500;
    out->entity = Entity::Text;
    out->text = "cannot build the response";
    return;
  }
  body->m.size = json.size();
  out->image = std::move(body);
  out->entity = Entity::Image;
  out->first = 0;
  out->last = json.size() - 1;
}

void json_error(HttpResponse* out, int status, const std::string& why) {
  json_reply(out, status, nlohmann::json{{"error", why}}.dump() + "\n");
  out->set_note("%s", why.c_str());
}

}  // namespace otad
