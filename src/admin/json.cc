// Admin responses and the token check shared by every admin route.
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "admin/api.h"
#include "http/upload.h"
#include "otad/fsutil.h"

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

void json_body_begin(const Exchange& x, HttpResponse* out, int64_t max, const char* what, const char* example) {
  const int64_t len = x.req.content_length;
  if (len < 0) return json_error(out, 411, "Content-Length required");
  if (len > max) {
    return json_error(out, 413, std::string(what) + " is described in at most " + std::to_string(max) + " bytes of JSON");
  }
  if (len == 0) return json_error(out, 400, std::string("empty body: send ") + example);
  UploadErr err;
  std::string why;
  Upload* u = upload_begin(x.ctx.cfg->catalog_dir, static_cast<uint64_t>(len), &err, &why);
  if (!u) return json_error(out, err == UploadErr::Busy ? 503 : err == UploadErr::NoSpace ? 507 : 500, why);
  out->receive = u;
}

bool json_body_read(Upload* u, int64_t max, nlohmann::json* j, HttpResponse* out) {
  std::string why;
  const bool ok = upload_failed(u, &why) == UploadErr::None && upload_finish(u).ok();
  auto text = ok ? read_file(upload_path(u), static_cast<size_t>(max)) : Result<std::string>(Err(why));
  upload_end(u);
  if (!text) {
    json_error(out, 500, text.error());
    return false;
  }
  *j = nlohmann::json::parse(*text, nullptr, false);
  if (j->is_discarded()) {
    json_error(out, 400, "the body is not JSON");
    return false;
  }
  return true;
}

}  // namespace otad
