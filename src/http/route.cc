// Routes: the Arduino update endpoint (ESP8266httpUpdate, ESP32 HTTPUpdate,
// esp-update-server query form) and image downloads for esp_https_ota
// (/firmware/<platform>.bin, /images/<sha256>.bin) with HEAD, Range,
// If-None-Match and If-Range. Exact client expectations: protocols.md §2, §3, §6.
#include "http/route.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "otad/credentials.h"
#include "otad/digest.h"
#include "otad/strict_num.h"

namespace otad {
namespace {

__attribute__((format(printf, 2, 3))) void note(HttpResponse* r, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->note, sizeof r->note, fmt, ap);
  va_end(ap);
}

void fail(HttpResponse* r, int status, const char* why) {
  r->status = status;
  r->text = http_reason(status);
  note(r, "%s", why);
}

// The MAC the Arduino clients' headers claim (any spelling, canonicalised);
// none when absent. *malformed: a MAC header is there but unreadable.
std::optional<Mac> claimed_mac(const Request& req, const uint8_t* buf, bool* malformed) {
  *malformed = false;
  for (const char* h : {"x-ESP8266-STA-MAC", "x-ESP32-STA-MAC", "x-ESP32-BASE-MAC"}) {
    bool found;
    std::string_view v = http_header(req, buf, h, &found);
    if (!found) continue;
    std::optional<Mac> m = parse_mac(v);
    *malformed = !m;
    return m;
  }
  return std::nullopt;
}

// The device identity a request carries: proven (TLS or Basic) and claimed
// (the MAC header). Returns false after filling an error response.
bool identify(const Request& req, const uint8_t* buf, Conn& c, const Context& ctx, HttpResponse* out,
              Mac* mac, bool* have_mac) {
  *have_mac = false;
  bool malformed;
  std::optional<Mac> claimed = claimed_mac(req, buf, &malformed);
  if (malformed) {
    fail(out, 400, "malformed MAC header");
    return false;
  }
  // Proven: TLS identity first, then Basic.
  const char* proven = c.auth_id[0] ? c.auth_id : nullptr;
  bool found_auth;
  std::string_view authz = http_header(req, buf, "authorization", &found_auth);
  const bool basic_allowed = c.auth == Auth::Password || c.auth == Auth::Any;
  if (!proven && basic_allowed && found_auth) {
    uint8_t tag[32];
    sha256_bytes({reinterpret_cast<const uint8_t*>(authz.data()), authz.size()}, tag);
    if (c.basic_id[0] && ct_equal(tag, c.basic_tag, sizeof c.basic_tag)) {
      proven = c.basic_id;  // verified earlier on this connection
    } else {
      std::string user, pass;
      std::optional<Mac> um;
      const Device* d = nullptr;
      if (basic_credentials(authz, &user, &pass) && (um = parse_mac(user)) &&
          (d = ctx.registry->find(*um)) && !d->password_hash.empty() &&
          password_verify(d->password_hash, pass)) {
        memcpy(c.basic_id, um->str().c_str(), sizeof c.basic_id);
        memcpy(c.basic_tag, tag, sizeof c.basic_tag);
        proven = c.basic_id;
      } else {
        if (um) memcpy(c.mac, um->str().c_str(), sizeof c.mac);
        fail(out, 401, "wrong or unknown credentials");
        out->www_authenticate = true;
        return false;
      }
    }
  }
  if (c.auth != Auth::None && !proven) {
    if (claimed) memcpy(c.mac, claimed->str().c_str(), sizeof c.mac);
    fail(out, 401, "credentials required");
    out->www_authenticate = basic_allowed;
    return false;
  }
  if (proven) {
    Mac pm = *parse_mac(proven);
    memcpy(c.mac, proven, sizeof c.mac);
    if (claimed && *claimed != pm) {
      char claim[13];
      memcpy(claim, claimed->str().c_str(), sizeof claim);
      fail(out, 403, "");
      note(out, "MAC header %s differs from the authenticated identity %s", claim, proven);
      return false;
    }
    // The registry may have changed since the handshake: revoked is revoked.
    const Device* d = ctx.registry->find(pm);
    if (!d || !d->enabled) {
      fail(out, 403, d ? "device disabled" : "device no longer registered");
      return false;
    }
    *mac = pm;
    *have_mac = true;
    return true;
  }
  if (claimed) {
    *mac = *claimed;
    *have_mac = true;
    memcpy(c.mac, claimed->str().c_str(), sizeof c.mac);
  }
  return true;
}

bool decision_ok(const Decision& d, HttpResponse* out) {
  if (d.verdict == Verdict::Refuse) {
    fail(out, 403, d.why);
    return false;
  }
  if (d.verdict == Verdict::NoImage) {
    fail(out, 404, d.why);
    return false;
  }
  return true;
}

// GET|HEAD <update_path>: the Arduino clients and esp-update-server.
void update_endpoint(const Request& req, const uint8_t* buf, Conn& c, const Context& ctx,
                     HttpResponse* out) {
  Mac mac;
  bool have_mac;
  if (!identify(req, buf, c, ctx, out, &mac, &have_mac)) return;
  if (!have_mac) return fail(out, 400, "no device MAC (x-ESP8266-STA-MAC or x-ESP32-STA-MAC)");
  std::string_view query = req.query.in(buf);
  bool found;
  std::string_view mode = http_header(req, buf, "x-ESP8266-mode", &found);
  if (!found) mode = http_header(req, buf, "x-ESP32-mode");
  const bool want_version = mode == "version";
  const bool fs = mode == "spiffs" || mode == "littlefs" || mode == "fatfs" || mode == "flashfs";
  if (!mode.empty() && !want_version && !fs && mode != "sketch") return fail(out, 400, "unknown mode");
  // Platform: the registry decides for registered devices; ?dev= names it
  // for the others (esp-update-server lowercases platform names).
  std::string_view platform = http_query_param(query, "dev", &found);
  char lower[65];
  if (!platform.empty() && !ctx.catalog->current(platform, fs) && platform.size() < sizeof lower) {
    for (size_t i = 0; i < platform.size(); ++i) lower[i] = static_cast<char>(tolower(platform[i]));
    platform = std::string_view(lower, platform.size());
  }
  Decision d = decide(*ctx.catalog, *ctx.registry, ctx.policy, &mac, fs, platform);
  if (!decision_ok(d, out)) return;
  const Image& img = *d.image;
  out->image = d.image;
  if (want_version) {
    out->x_version = true;
    out->digests = true;
    note(out, "version query: %s %s", img.m.platform.c_str(), img.m.version.c_str());
    return;
  }
  // Current version: ?ver= (esp-update-server), else the version header.
  std::string_view ver = http_query_param(query, "ver", &found);
  if (!found) ver = http_header(req, buf, "x-ESP8266-version", &found);
  if (!found) ver = http_header(req, buf, "x-ESP32-version", &found);
  std::string_view md5 = http_header(req, buf, "x-ESP8266-sketch-md5", &found);
  if (!found) md5 = http_header(req, buf, "x-ESP32-sketch-md5");
  bool newer;
  auto have = parse_semver(ver);
  if (!fs && !md5.empty() && iequals(md5, img.m.md5)) {
    newer = false;  // the device runs exactly these bytes
  } else if (have && img.semver) {
    newer = semver_compare(*img.semver, *have) > 0;
  } else {
    newer = ver.empty() || ver != img.m.version;
  }
  if (!newer) {
    out->status = static_cast<int>(ctx.cfg->no_update_status);
    if (ver.empty()) ver = "these bytes";
    note(out, "no update: device has %.*s, catalog %s", static_cast<int>(ver.size()), ver.data(),
         img.m.version.c_str());
    out->image.reset();
    return;
  }
  std::string_view free_space = http_header(req, buf, "x-ESP8266-free-space", &found);
  if (!found) free_space = http_header(req, buf, "x-ESP32-free-space", &found);
  if (found && !fs) {
    auto n = parse_int_strict(free_space, 0, int64_t{1} << 40);
    if (n && static_cast<uint64_t>(*n) < img.m.size) {
      out->image.reset();
      return fail(out, 413, "image larger than the device's free sketch space");
    }
  }
  out->has_body = req.method != Method::Head;
  out->first = 0;
  out->last = img.m.size - 1;
  out->digests = true;
  out->image_headers = true;
  note(out, "serving %s %s", img.m.platform.c_str(), img.m.version.c_str());
}

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

// GET|HEAD /firmware/<platform>.bin and /images/<sha256>.bin
void download(const Request& req, const uint8_t* buf, Conn& c, const Context& ctx, std::string_view name,
              bool by_hash, HttpResponse* out) {
  Mac mac;
  bool have_mac;
  if (!identify(req, buf, c, ctx, out, &mac, &have_mac)) return;
  std::shared_ptr<const Image> img;
  if (by_hash) {
    img = ctx.catalog->by_sha256(name);
    if (!img) return fail(out, 404, "no such image");
  } else {
    Decision d = decide(*ctx.catalog, *ctx.registry, ctx.policy, have_mac ? &mac : nullptr, false, name);
    if (!decision_ok(d, out)) return;
    if (d.image->m.platform != name) return fail(out, 403, "the device belongs to another platform");
    img = d.image;
  }
  out->image = img;
  out->image_headers = true;
  out->digests = true;
  const uint64_t size = img->m.size;
  bool found;
  std::string_view inm = http_header(req, buf, "if-none-match", &found);
  if (found && etag_matches(inm, img->m.sha256)) {
    out->status = 304;
    note(out, "not modified: %s %s", img->m.platform.c_str(), img->m.version.c_str());
    return;
  }
  out->first = 0;
  out->last = size - 1;
  std::string_view range = http_header(req, buf, "range", &found);
  std::string_view if_range = http_header(req, buf, "if-range", &found);
  const bool range_applies = !found || etag_matches(if_range, img->m.sha256);
  if (!range.empty() && range_applies) {
    RangeResult rr = http_parse_range(range, size);
    if (rr.kind == RangeResult::Unsatisfiable) {
      out->status = 416;
      out->unsatisfiable = true;
      out->image_headers = false;
      out->text = http_reason(416);
      note(out, "range not satisfiable");
      return;
    }
    if (rr.kind == RangeResult::Ok) {
      out->status = 206;
      out->partial = true;
      out->first = rr.first;
      out->last = rr.last;
    }
  }
  out->has_body = req.method != Method::Head;
  note(out, "%s %s", img->m.platform.c_str(), img->m.version.c_str());
}

bool take_suffix(std::string_view* s, std::string_view prefix, std::string_view suffix) {
  if (s->size() <= prefix.size() + suffix.size() || s->substr(0, prefix.size()) != prefix ||
      s->substr(s->size() - suffix.size()) != suffix) {
    return false;
  }
  *s = s->substr(prefix.size(), s->size() - prefix.size() - suffix.size());
  return true;
}

}  // namespace

void http_route(const Request& req, const uint8_t* buf, Conn& c, const Context& ctx, HttpResponse* out) {
  std::string_view path = req.path.in(buf);
  const bool get_or_head = req.method == Method::Get || req.method == Method::Head;
  if (c.cleartext) {
    // Plain HTTP on the HTTPS port: nothing is served in clear there. The
    // answer says why, and the claimed MAC names the device in the log.
    bool malformed;
    if (std::optional<Mac> m = claimed_mac(req, buf, &malformed)) memcpy(c.mac, m->str().c_str(), sizeof c.mac);
    out->close = true;
    fail(out, 400, "plain HTTP on the HTTPS port (the device's URL needs https://)");
    out->text = "This port speaks HTTPS: the URL must begin with https://";
    return;
  }
  if (req.content_length > 0) {
    out->close = true;
    return fail(out, 413, "request bodies are not accepted here");
  }
  const bool update = path == ctx.cfg->update_path;
  std::string_view platform = path, hash = path;
  const bool firmware = !update && take_suffix(&platform, "/firmware/", ".bin");
  const bool by_hash = !update && !firmware && take_suffix(&hash, "/images/", ".bin") && hash.size() == 64;
  if (!update && !firmware && !by_hash) return fail(out, 404, "no such path");
  if (!get_or_head) {
    out->allow = true;
    return fail(out, 405, "method not allowed");
  }
  if (update) return update_endpoint(req, buf, c, ctx, out);
  if (firmware) return download(req, buf, c, ctx, platform, false, out);
  download(req, buf, c, ctx, hash, true, out);
}

const char* http_reason(int s) {
  switch (s) {
    case 200: return "OK";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
  }
  return "Error";
}

size_t http_format_head(const HttpResponse& r, bool keep_alive, bool head_only, char* out, size_t cap) {
  size_t n = 0;
  bool ok = true;
  auto put = [&](const char* fmt, auto... args) {
    if (!ok) return;
    int w = snprintf(out + n, cap - n, fmt, args...);
    if (w < 0 || static_cast<size_t>(w) >= cap - n) ok = false;
    else n += static_cast<size_t>(w);
  };
  put("HTTP/1.1 %d %s\r\nServer: otad\r\n", r.status, http_reason(r.status));
  const Image* img = r.image.get();
  // Arduino clients insist on Content-Length (never chunked); 304 and 204
  // carry no body at all.
  if (r.status == 304 || r.status == 204) {
    // no Content-Length, no Content-Type
  } else if (img && r.image_headers) {
    put("Content-Type: application/octet-stream\r\nContent-Length: %llu\r\n",
        static_cast<unsigned long long>(r.last - r.first + 1));
  } else {
    const size_t len = r.text ? strlen(r.text) + 1 : 0;
    put("Content-Type: text/plain\r\nContent-Length: %zu\r\n", len);
  }
  if (img && (r.image_headers || r.status == 304)) {
    put("Accept-Ranges: bytes\r\nETag: \"%s\"\r\n", img->m.sha256.c_str());
  }
  if (r.partial) {
    put("Content-Range: bytes %llu-%llu/%llu\r\n", static_cast<unsigned long long>(r.first),
        static_cast<unsigned long long>(r.last), static_cast<unsigned long long>(img->m.size));
  }
  if (r.unsatisfiable && img) {
    put("Content-Range: bytes */%llu\r\n", static_cast<unsigned long long>(img->m.size));
  }
  if (img && r.digests) put("x-MD5: %s\r\nx-SHA256: %s\r\n", img->m.md5.c_str(), img->m.sha256.c_str());
  if (img && r.x_version) put("x-version: %s\r\n", img->m.version.c_str());
  if (r.www_authenticate) put("WWW-Authenticate: Basic realm=\"otad\", charset=\"UTF-8\"\r\n");
  if (r.allow) put("Allow: GET, HEAD\r\n");
  put("Connection: %s\r\n\r\n", keep_alive ? "keep-alive" : "close");
  if (!head_only && r.text && r.status != 304 && r.status != 204 && !(img && r.image_headers)) {
    put("%s\n", r.text);
  }
  return ok ? n : 0;
}

}  // namespace otad
