// /api/images: upload (the raw image as the body), list, one, delete.
#include <sys/mman.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "admin/api.h"
#include "http/upload.h"
#include "otad/catalog_store.h"
#include "otad/fsutil.h"

namespace otad {
namespace {

using nlohmann::json;

json entry_json(const ManifestEntry& e, bool current, bool served) {
  json j = {{"sha256", e.sha256}, {"platform", e.platform}, {"version", e.version}, {"chip", e.chip},
            {"kind", e.kind},     {"size", e.size},         {"md5", e.md5},         {"sha1", e.sha1},
            {"added", e.added},   {"current", current},     {"served", served}};
  if (!e.project.empty()) j["project"] = e.project;
  if (!e.md5_modes.empty()) j["md5_flash_modes"] = e.md5_modes;
  return j;
}

std::string query(const Exchange& x, const char* key) {
  return std::string(http_query_param(x.req.query.in(x.buf), key));
}

// HTTP status for a store outcome.
int status_of(StoreErr e) {
  switch (e) {
    case StoreErr::None: return 201;
    case StoreErr::Refused:
    case StoreErr::Undetected:
    case StoreErr::BadName: return 422;
    case StoreErr::Conflict: return 409;
    case StoreErr::NoSpace: return 507;
    case StoreErr::Broken:
    case StoreErr::Io: return 500;
  }
  return 500;
}

}  // namespace

void api_images_list(const Exchange& x, HttpResponse* out) {
  if (!admin_authorized(x, out)) return;
  auto listed = catalog_list(x.ctx.cfg->catalog_dir);
  if (!listed) return json_error(out, 500, listed.error());
  json arr = json::array();
  for (const Listed& l : *listed) arr.push_back(entry_json(l.entry, l.current, x.ctx.catalog->by_sha256(l.entry.sha256) != nullptr));
  json_reply(out, 200, arr.dump(1) + "\n");
  out->set_note("%zu image(s)", listed->size());
}

void api_image_get(const Exchange& x, HttpResponse* out) {
  if (!admin_authorized(x, out)) return;
  auto listed = catalog_list(x.ctx.cfg->catalog_dir);
  if (!listed) return json_error(out, 500, listed.error());
  for (const Listed& l : *listed) {
    if (l.entry.sha256 == x.arg) {
      json_reply(out, 200, entry_json(l.entry, l.current, x.ctx.catalog->by_sha256(x.arg) != nullptr).dump(1) + "\n");
      out->set_note("%s %s", l.entry.platform.c_str(), l.entry.version.c_str());
      return;
    }
  }
  json_error(out, 404, "no image " + std::string(x.arg));
}

void api_image_delete(const Exchange& x, HttpResponse* out) {
  if (!admin_authorized(x, out)) return;
  // A device pinned to it would be left with nothing to get.
  for (const Device& d : x.ctx.registry->sorted()) {
    if (d.image == x.arg) return json_error(out, 409, "device " + d.mac.str() + " is pinned to this image");
  }
  auto gone = catalog_remove(x.ctx.cfg->catalog_dir, std::string(x.arg));
  if (!gone) return json_error(out, gone.error().find("matches 0") != std::string::npos ? 404 : 500, gone.error());
  if (Status r = x.ctx.ops->reload_catalog(); !r) return json_error(out, 500, "removed, but reloading: " + r.error());
  json_reply(out, 200, json{{"removed", entry_json(*gone, false, false)}}.dump(1) + "\n");
  out->set_note("removed %s %s", gone->platform.c_str(), gone->version.c_str());
}

// POST /api/images: check what can be checked from the head (token, length,
// query), then take the body into an upload.
void api_image_upload(const Exchange& x, HttpResponse* out) {
  if (!admin_authorized(x, out)) return;
  const int64_t len = x.req.content_length;
  if (len < 0) return json_error(out, 411, "Content-Length required (the raw image as the body)");
  if (len == 0) return json_error(out, 400, "empty body: send the image");
  if (static_cast<uint64_t>(len) > static_cast<uint64_t>(x.ctx.cfg->max_image_size)) {
    return json_error(out, 413, "the image is " + std::to_string(len) + " bytes; catalog.max_image_size is " +
                                    std::to_string(x.ctx.cfg->max_image_size));
  }
  const std::string kind = query(x, "kind");
  if (!kind.empty() && kind != "app" && kind != "filesystem") return json_error(out, 400, "kind is app or filesystem");
  UploadErr err;
  std::string why;
  Upload* u = upload_begin(x.ctx.cfg->catalog_dir, static_cast<uint64_t>(len), &err, &why);
  if (!u) {
    if (err == UploadErr::Busy) {
      json_error(out, 503, why);
      out->header("Retry-After", "5");
      return;
    }
    return json_error(out, err == UploadErr::NoSpace ? 507 : 500, why);
  }
  out->receive = u;
}

// The body is in: inspect, detect and commit it, then serve it.
void api_image_uploaded(const Exchange& x, Upload* u, HttpResponse* out) {
  std::string why;
  if (UploadErr e = upload_failed(u, &why); e != UploadErr::None) {
    upload_end(u);
    return json_error(out, e == UploadErr::NoSpace ? 507 : 500, "cannot store the upload: " + why);
  }
  auto digests = upload_finish(u);
  if (!digests) {
    upload_end(u);
    return json_error(out, 500, digests.error());
  }
  const size_t size = upload_received(u);
  // The file is read through the page cache, never copied into the heap.
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, upload_fd(u), 0);
  if (map == MAP_FAILED) {
    upload_end(u);
    return json_error(out, 500, "cannot map the upload");
  }
  DetectRequest req;
  req.platform = query(x, "platform");
  req.version = query(x, "version");
  req.filename = query(x, "filename");
  req.filesystem = query(x, "kind") == "filesystem";
  const std::string staged = upload_path(u);
  AddOutcome o = catalog_add(x.ctx.cfg->catalog_dir, {static_cast<const uint8_t*>(map), size}, req,
                             static_cast<uint64_t>(x.ctx.cfg->max_image_size), &staged, &*digests);
  munmap(map, size);
  upload_end(u);  // the temporary file is gone, or renamed into the catalog
  if (o.err != StoreErr::None) return json_error(out, status_of(o.err), o.message);
  if (o.already) {
    json_reply(out, 200, json{{"already", true}, {"image", entry_json(o.entry, false, true)}}.dump(1) + "\n");
    out->set_note("already in the catalog as %s %s", o.entry.platform.c_str(), o.entry.version.c_str());
    return;
  }
  if (Status r = x.ctx.ops->reload_catalog(o.entry.sha256); !r) {
    return json_error(out, 500, "stored, but reloading: " + r.error());
  }
  const bool current = x.ctx.catalog->current(o.entry.platform, o.entry.kind == kKindFilesystem) ==
                       x.ctx.catalog->by_sha256(o.entry.sha256);
  json j = entry_json(o.entry, current, x.ctx.catalog->by_sha256(o.entry.sha256) != nullptr);
  j["platform_from"] = o.detected.platform_from;
  j["version_from"] = o.detected.version_from;
  j["new_platform"] = o.detected.new_platform;
  if (o.info.note) j["note"] = o.info.note;
  json_reply(out, 201, j.dump(1) + "\n");
  out->set_note("stored %s %s (platform from %s, version from %s)", o.entry.platform.c_str(), o.entry.version.c_str(),
                o.detected.platform_from.c_str(), o.detected.version_from.c_str());
}

}  // namespace otad
