// Request routing: which response a parsed request gets. No socket I/O;
// reads the loaded catalog and registry through the Context.
#pragma once
#include <memory>

#include "core/conn.h"
#include "otad/http.h"

namespace otad {

struct HttpResponse {
  int status = 200;
  std::shared_ptr<const Image> image;  // with has_body: the bytes to send
  bool has_body = false;
  uint64_t first = 0, last = 0;  // inclusive range of the image
  bool partial = false;          // 206 with Content-Range
  bool unsatisfiable = false;    // 416 with Content-Range: bytes */size
  bool image_headers = false;    // Content-Length of the image, ETag, Accept-Ranges
  bool digests = false;          // x-MD5, x-SHA256
  bool x_version = false;
  bool www_authenticate = false;
  bool allow = false;
  bool close = false;
  const char* text = nullptr;  // short text/plain body
  char note[96] = {};          // why, for the log line
};

void http_route(const Request& req, const uint8_t* buf, Conn& c, const Context& ctx, HttpResponse* out);

// Writes the status line and headers; returns the length, 0 if it did not fit.
size_t http_format_head(const HttpResponse& r, bool keep_alive, bool head_only, char* out, size_t cap);
const char* http_reason(int status);

}  // namespace otad
