// HTTP/1.x request heads, parsed in place over the connection's fixed
// buffer. Pure: no I/O, no allocation. Tokens are offsets into the buffer,
// so the buffer may be compacted between requests (keep-alive, pipelining)
// without dangling pointers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace otad {

enum class Method : uint8_t { Get, Head, Post, Put, Delete, Options, Patch, Trace, Connect };

struct Tok {
  uint16_t off = 0, len = 0;
  std::string_view in(const uint8_t* buf) const {
    return {reinterpret_cast<const char*>(buf) + off, len};
  }
};

struct HttpHeader {
  Tok name, value;
};

constexpr int kMaxHeaders = 40;

struct Request {
  Method method;
  Tok target;  // as sent: path plus optional ?query
  Tok path;
  Tok query;   // without the '?'
  uint8_t minor;  // HTTP/1.<minor>: 0 or 1
  int header_count;
  HttpHeader headers[kMaxHeaders];
  int64_t content_length;  // -1 when absent
  bool keep_alive;
  size_t head_len;  // bytes of the head, final blank line included
};

enum class Parse : uint8_t { NeedMore, Done, Error };

struct ParseResult {
  Parse st;
  int status;       // on Error: 400, 414, 431, 501 or 505
  const char* why;  // on Error: what was wrong, for the log line (static text)
};

struct HttpLimits {
  size_t max_head;  // the whole head must fit (else 431; 414 if the request line does not)
  size_t max_uri;   // longest request target (else 414)
};

// Parses the head at the start of buf[0..len). Call again with more bytes
// after NeedMore; the buffer holds at most limits.max_head bytes.
ParseResult http_parse_head(const uint8_t* buf, size_t len, const HttpLimits& limits, Request* out);

// Case-insensitive header lookup; the first match, or "" (found = false).
std::string_view http_header(const Request& r, const uint8_t* buf, std::string_view name,
                             bool* found = nullptr);
// Query parameter value (raw, not percent-decoded); "" when absent.
std::string_view http_query_param(std::string_view query, std::string_view key, bool* found = nullptr);
bool iequals(std::string_view a, std::string_view b);

// Byte ranges (RFC 9110 §14). Only a single range is honoured; anything
// else is served whole, as the RFC allows.
struct RangeResult {
  enum Kind : uint8_t { None, Ok, Unsatisfiable } kind;
  uint64_t first, last;  // inclusive, when Ok
};
RangeResult http_parse_range(std::string_view value, uint64_t size);

}  // namespace otad
