// An HTTP response as a value: a status, the entity (nothing, a short text,
// or a range of an image), extra headers in the order they are added, and
// the note for the request's log line. Formatting writes it into the slot's
// fixed response buffer; nothing grows.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "otad/catalog.h"

namespace otad {

struct Upload;

enum class Entity : uint8_t {
  None,   // Content-Length: 0 (or no length at all for 304 and 204)
  Text,   // text/plain: text plus a newline
  Image,  // application/octet-stream: bytes [first, last] of image
};

struct HttpResponse {
  int status = 200;
  Entity entity = Entity::None;
  std::shared_ptr<const Image> image;  // Image: the bytes; else what headers describe
  uint64_t first = 0, last = 0;        // Image: inclusive range
  std::string_view text;               // Text: must outlive formatting (static, or in the slot)
  bool close = false;                  // close after this response
  bool download = false;               // a device download: counted as served, and in flight
  const char* content_type = nullptr;  // instead of text/plain or application/octet-stream
  // Set by a handler that takes the request body: the driver streams the
  // body into it, then asks the route's body handler for the response.
  Upload* receive = nullptr;
  char note[192] = {};                 // why, for the log line
  char headers[448] = {};              // extra header lines, in order
  uint16_t headers_len = 0;
  bool headers_overflow = false;

  // Appends "name: value\r\n"; a response that outgrows its room is a 500.
  __attribute__((format(printf, 3, 4))) void header(const char* name, const char* fmt, ...);
  __attribute__((format(printf, 2, 3))) void set_note(const char* fmt, ...);
  // Status with its reason phrase as the text body, and why for the log.
  void fail(int status, const char* why);
};

// The image's validators (Accept-Ranges, ETag) and digests (x-MD5, x-SHA256),
// as the Arduino clients and esp_https_ota read them.
void add_validators(HttpResponse* r, const Image& img);
void add_digests(HttpResponse* r, const Image& img);

// Writes the status line, headers and any text body; returns the length, 0 if
// it did not fit. head_only: the answer to HEAD (headers as for GET, no body).
size_t http_format_head(const HttpResponse& r, bool keep_alive, bool head_only, char* out, size_t cap);
const char* http_reason(int status);

}  // namespace otad
