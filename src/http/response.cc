#include "http/response.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace otad {

void HttpResponse::header(const char* name, const char* fmt, ...) {
  const size_t cap = sizeof headers;
  int w = snprintf(headers + headers_len, cap - headers_len, "%s: ", name);
  if (w >= 0 && static_cast<size_t>(w) < cap - headers_len) {
    size_t n = headers_len + static_cast<size_t>(w);
    va_list ap;
    va_start(ap, fmt);
    int v = vsnprintf(headers + n, cap - n, fmt, ap);
    va_end(ap);
    if (v >= 0 && static_cast<size_t>(v) + 2 < cap - n) {
      n += static_cast<size_t>(v);
      memcpy(headers + n, "\r\n", 3);
      headers_len = static_cast<uint16_t>(n + 2);
      return;
    }
  }
  headers[headers_len] = '\0';
  headers_overflow = true;
}

void HttpResponse::set_note(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(note, sizeof note, fmt, ap);
  va_end(ap);
}

void HttpResponse::fail(int s, const char* why) {
  status = s;
  entity = Entity::Text;
  text = http_reason(s);
  set_note("%s", why);
}

void add_validators(HttpResponse* r, const Image& img) {
  r->header("Accept-Ranges", "bytes");
  r->header("ETag", "\"%s\"", img.m.sha256.c_str());
}

void add_digests(HttpResponse* r, const Image& img) {
  r->header("x-MD5", "%s", img.m.md5.c_str());
  r->header("x-SHA256", "%s", img.m.sha256.c_str());
}

const char* http_reason(int s) {
  switch (s) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 422: return "Unprocessable Content";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
  }
  return "Error";
}

size_t http_format_head(const HttpResponse& r, bool keep_alive, bool head_only, char* out, size_t cap) {
  if (r.headers_overflow) return 0;
  size_t n = 0;
  bool ok = true;
  auto put = [&](const char* fmt, auto... args) {
    if (!ok) return;
    int w = snprintf(out + n, cap - n, fmt, args...);
    if (w < 0 || static_cast<size_t>(w) >= cap - n) ok = false;
    else n += static_cast<size_t>(w);
  };
  put("HTTP/1.1 %d %s\r\nServer: otad\r\n", r.status, http_reason(r.status));
  // Arduino clients insist on Content-Length (never chunked); 304 and 204
  // carry no body at all.
  const bool bodiless = r.status == 304 || r.status == 204;
  if (bodiless) {
    // no Content-Length, no Content-Type
  } else if (r.entity == Entity::Image) {
    put("Content-Type: %s\r\nContent-Length: %llu\r\n", r.content_type ? r.content_type : "application/octet-stream",
        static_cast<unsigned long long>(r.last - r.first + 1));
  } else {
    const size_t len = r.entity == Entity::Text ? r.text.size() + 1 : 0;
    put("Content-Type: %s\r\nContent-Length: %zu\r\n", r.content_type ? r.content_type : "text/plain", len);
  }
  put("%.*s", static_cast<int>(r.headers_len), r.headers);
  put("Connection: %s\r\n\r\n", keep_alive ? "keep-alive" : "close");
  if (!head_only && !bodiless && r.entity == Entity::Text) {
    put("%.*s\n", static_cast<int>(r.text.size()), r.text.data());
  }
  return ok ? n : 0;
}

}  // namespace otad
