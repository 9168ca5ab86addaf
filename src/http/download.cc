// GET|HEAD /firmware/<platform>.bin and /images/<sha256>.bin, as
// esp_https_ota downloads them (protocols.md §3): ETag, If-None-Match,
// single ranges (206, 416) with If-Range.
#include <cstring>

#include "http/exchange.h"

namespace otad {
namespace {

bool etag_matches(std::string_view header, const std::string& sha) {
  if (header == "*") return true;
  // A list of entity tags, weak or strong; ours is "<sha256>".
  size_t pos = 0;
  while ((pos = header.find(sha, pos)) != std::string_view::npos) {
    if (pos > 0 && header[pos - 1] == '"' && pos + sha.size() < header.size() &&
        header[pos + sha.size()] == '"') {
      return true;
    }
    pos += sha.size();
  }
  return false;
}

}  // namespace

bool admit_body(const Exchange& x, const DeviceReport& rep, const Image& img, HttpResponse* out) {
  if (x.req.method == Method::Head) return true;  // no body, nothing to admit
  char who[48];
  if (rep.mac) {
    snprintf(who, sizeof who, "%s", rep.mac->str().c_str());
  } else {
    // The address without the port: one device, one admission.
    const char* colon = strrchr(x.c.peer, ':');
    snprintf(who, sizeof who, "%.*s", static_cast<int>(colon ? colon - x.c.peer : strlen(x.c.peer)), x.c.peer);
  }
  Admission& adm = x.ctx.transfers->admission();
  const Admission::Verdict v = x.ctx.transfers->admit(x.c, who, rep.mac.has_value(), img.m.sha256);
  if (v == Admission::Verdict::Admitted) return true;
  out->fail(503, v == Admission::Verdict::Busy ? "busy: max_downloads image bodies in flight"
                                               : "this device is already downloading (per_device)");
  out->header("Retry-After", "%u", adm.retry_after_s());
  out->set_note("%s (%u in flight, max %u)", v == Admission::Verdict::Busy ? "busy" : "device busy",
                adm.in_use(now_ms()), adm.max());
  return false;
}

void busy(HttpResponse* out, const Decision& d) {
  out->fail(503, d.why);
  out->header("Retry-After", "%u", d.retry_after_s);
  out->set_note("%s (%s %s, max_concurrent %u)", d.why, d.image->m.platform.c_str(), d.image->m.version.c_str(),
                d.rollout ? d.rollout->max_concurrent : 0);
}

namespace {

void download(const Exchange& x, Ask ask, HttpResponse* out) {
  DeviceReport rep;
  if (!identify(x, out, &rep)) return;
  rep.ask = ask;
  (ask == Ask::ByHash ? rep.sha256 : rep.platform) = x.arg;
  const Decision d = decide_for(x.c, x.ctx, rep);
  if (d.kind == Decision::Busy && x.req.method != Method::Head) return busy(out, d);
  if (d.kind == Decision::Deny) return out->fail(d.status, d.why);
  const Image& img = *d.image;
  out->image = d.image;
  bool found;
  std::string_view inm = x.header("if-none-match", &found);
  if (found && etag_matches(inm, img.m.sha256)) {
    out->status = 304;
    add_validators(out, img);
    add_digests(out, img);
    out->set_note("not modified: %s %s", img.m.platform.c_str(), img.m.version.c_str());
    return;
  }
  out->entity = Entity::Image;
  out->download = true;
  out->first = 0;
  out->last = img.m.size - 1;
  std::string_view range = x.header("range", &found);
  std::string_view if_range = x.header("if-range", &found);
  const bool range_applies = !found || etag_matches(if_range, img.m.sha256);
  RangeResult rr{RangeResult::None, 0, 0};
  if (!range.empty() && range_applies) rr = http_parse_range(range, img.m.size);
  if (rr.kind == RangeResult::Unsatisfiable) {
    out->fail(416, "range not satisfiable");
    out->header("Content-Range", "bytes */%llu", static_cast<unsigned long long>(img.m.size));
    add_digests(out, img);
    return;
  }
  if (!admit_body(x, rep, img, out)) return;
  add_validators(out, img);
  if (rr.kind == RangeResult::Ok) {
    out->status = 206;
    out->first = rr.first;
    out->last = rr.last;
    out->header("Content-Range", "bytes %llu-%llu/%llu", static_cast<unsigned long long>(rr.first),
                static_cast<unsigned long long>(rr.last), static_cast<unsigned long long>(img.m.size));
  }
  add_digests(out, img);
  out->set_note("%s %s", img.m.platform.c_str(), img.m.version.c_str());
}

}  // namespace

void download_by_platform(const Exchange& x, HttpResponse* out) { download(x, Ask::Download, out); }
void download_by_hash(const Exchange& x, HttpResponse* out) { download(x, Ask::ByHash, out); }

}  // namespace otad
