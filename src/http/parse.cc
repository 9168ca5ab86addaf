#include <cstring>

#include "otad/http.h"

namespace otad {
namespace {

// RFC 9110 §5.6.2 token characters.
bool tchar(uint8_t c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

struct Method_ {
  const char* name;
  Method m;
};
constexpr Method_ kMethods[] = {{"GET", Method::Get},         {"HEAD", Method::Head},
                                {"POST", Method::Post},       {"PUT", Method::Put},
                                {"DELETE", Method::Delete},   {"OPTIONS", Method::Options},
                                {"PATCH", Method::Patch},     {"TRACE", Method::Trace},
                                {"CONNECT", Method::Connect}};

// Finds the end of the line starting at p: index of '\n', or len.
size_t line_end(const uint8_t* buf, size_t p, size_t len) {
  const void* nl = memchr(buf + p, '\n', len - p);
  return nl ? static_cast<size_t>(static_cast<const uint8_t*>(nl) - buf) : len;
}

bool has_token(std::string_view list, std::string_view tok) {
  size_t i = 0;
  while (i <= list.size()) {
    size_t j = list.find(',', i);
    if (j == std::string_view::npos) j = list.size();
    std::string_view t = list.substr(i, j - i);
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
    if (iequals(t, tok)) return true;
    i = j + 1;
  }
  return false;
}

ParseResult error(int status, const char* why) { return {Parse::Error, status, why}; }

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

ParseResult http_parse_head(const uint8_t* buf, size_t len, const HttpLimits& lim, Request* r) {
  size_t p = 0;
  // RFC 9112 §2.2: ignore empty lines before the request line.
  while (p < len && (buf[p] == '\r' || buf[p] == '\n')) ++p;
  const size_t rl_end = line_end(buf, p, len);
  if (rl_end == len) {
    if (len >= lim.max_head) return error(414, "request line longer than http.max_head");
    if (len - p > lim.max_uri + 32) return error(414, "request target too long");
    return {Parse::NeedMore, 0, nullptr};
  }
  // Request line: METHOD SP target SP HTTP/1.x
  size_t q = p;
  while (q < rl_end && tchar(buf[q])) ++q;
  // A TLS ClientHello starts with record type 22: a device with https:// in
  // its URL pointed at a plain port. Saying so saves the operator a capture.
  if (q == p && buf[p] == 0x16) return error(400, "TLS handshake on the plain HTTP port");
  if (q == p || q >= rl_end || buf[q] != ' ') return error(400, "malformed request line");
  std::string_view method(reinterpret_cast<const char*>(buf) + p, q - p);
  const size_t tstart = q + 1;
  size_t t = tstart;
  while (t < rl_end && buf[t] > ' ' && buf[t] != 0x7F) ++t;
  if (t == tstart || t >= rl_end || buf[t] != ' ') return error(400, "malformed request line");
  if (t - tstart > lim.max_uri) return error(414, "request target too long");
  size_t v = t + 1, vend = rl_end;
  if (vend > v && buf[vend - 1] == '\r') --vend;
  std::string_view ver(reinterpret_cast<const char*>(buf) + v, vend - v);
  if (ver.size() != 8 || ver.substr(0, 5) != "HTTP/" || ver[6] != '.' || ver[5] < '0' ||
      ver[5] > '9' || ver[7] < '0' || ver[7] > '9') {
    return error(400, "malformed HTTP version");
  }
  if (ver[5] != '1' || (ver[7] != '0' && ver[7] != '1')) return error(505, "HTTP version other than 1.0 and 1.1");
  bool known = false;
  for (const Method_& m : kMethods) {
    if (method == m.name) {
      r->method = m.m;
      known = true;
    }
  }
  if (!known) return error(501, "unknown method");
  r->minor = static_cast<uint8_t>(ver[7] - '0');
  r->target = {static_cast<uint16_t>(tstart), static_cast<uint16_t>(t - tstart)};
  std::string_view target = r->target.in(buf);
  if (target[0] != '/') return error(400, "request target not a path (origin form)");
  size_t qm = target.find('?');
  r->path = {r->target.off, static_cast<uint16_t>(qm == std::string_view::npos ? t - tstart : qm)};
  r->query = qm == std::string_view::npos
                 ? Tok{static_cast<uint16_t>(t), 0}
                 : Tok{static_cast<uint16_t>(tstart + qm + 1), static_cast<uint16_t>(t - tstart - qm - 1)};
  // Header fields.
  r->header_count = 0;
  r->content_length = -1;
  bool have_host = false, te = false;
  std::string_view conn;
  size_t at = rl_end + 1;
  for (;;) {
    const size_t le = line_end(buf, at, len);
    if (le == len) {
      if (len >= lim.max_head) return error(431, "head larger than http.max_head");
      return {Parse::NeedMore, 0, nullptr};
    }
    size_t ce = le;
    if (ce > at && buf[ce - 1] == '\r') --ce;
    if (ce == at) {  // blank line: end of head
      r->head_len = le + 1;
      break;
    }
    if (buf[at] == ' ' || buf[at] == '\t') return error(400, "folded header line");
    size_t n = at;
    while (n < ce && tchar(buf[n])) ++n;
    if (n == at || n >= ce || buf[n] != ':') return error(400, "malformed header name");
    size_t vs = n + 1;
    while (vs < ce && (buf[vs] == ' ' || buf[vs] == '\t')) ++vs;
    size_t ve = ce;
    while (ve > vs && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t')) --ve;
    for (size_t k = vs; k < ve; ++k) {
      if ((buf[k] < 0x20 && buf[k] != '\t') || buf[k] == 0x7F) return error(400, "control character in a header value");
    }
    if (r->header_count == kMaxHeaders) return error(431, "too many header fields");
    HttpHeader& h = r->headers[r->header_count++];
    h.name = {static_cast<uint16_t>(at), static_cast<uint16_t>(n - at)};
    h.value = {static_cast<uint16_t>(vs), static_cast<uint16_t>(ve - vs)};
    std::string_view name = h.name.in(buf), value = h.value.in(buf);
    if (iequals(name, "content-length")) {
      if (value.empty() || value.size() > 15) return error(400, "malformed Content-Length");
      int64_t cl = 0;
      for (char c : value) {
        if (c < '0' || c > '9') return error(400, "malformed Content-Length");
        cl = cl * 10 + (c - '0');
      }
      if (r->content_length >= 0 && r->content_length != cl) return error(400, "conflicting Content-Length fields");
      r->content_length = cl;
    } else if (iequals(name, "host")) {
      if (have_host) return error(400, "more than one Host field");
      have_host = true;
    } else if (iequals(name, "transfer-encoding")) {
      te = true;
    } else if (iequals(name, "connection")) {
      conn = value;
    }
    at = le + 1;
  }
  if (te) return error(501, "Transfer-Encoding in a request (no request bodies here)");
  if (r->minor == 1 && !have_host) return error(400, "HTTP/1.1 request without Host");  // RFC 9112 §3.2
  r->keep_alive = r->minor == 1 ? !has_token(conn, "close") : has_token(conn, "keep-alive");
  return {Parse::Done, 0, nullptr};
}

std::string_view http_header(const Request& r, const uint8_t* buf, std::string_view name, bool* found) {
  for (int i = 0; i < r.header_count; ++i) {
    if (iequals(r.headers[i].name.in(buf), name)) {
      if (found) *found = true;
      return r.headers[i].value.in(buf);
    }
  }
  if (found) *found = false;
  return {};
}

std::string_view http_query_param(std::string_view q, std::string_view key, bool* found) {
  size_t i = 0;
  while (i <= q.size()) {
    size_t j = q.find('&', i);
    if (j == std::string_view::npos) j = q.size();
    std::string_view kv = q.substr(i, j - i);
    size_t eq = kv.find('=');
    std::string_view k = kv.substr(0, eq);
    if (k == key) {
      if (found) *found = true;
      return eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1);
    }
    i = j + 1;
  }
  if (found) *found = false;
  return {};
}

RangeResult http_parse_range(std::string_view v, uint64_t size) {
  const RangeResult none{RangeResult::None, 0, 0};
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v.size() < 7 || !iequals(v.substr(0, 6), "bytes=")) return none;
  v.remove_prefix(6);
  if (v.find(',') != std::string_view::npos) return none;  // multiple ranges: serve whole
  size_t dash = v.find('-');
  if (dash == std::string_view::npos) return none;
  auto num = [](std::string_view s, uint64_t* out) {
    if (s.empty() || s.size() > 19) return false;
    uint64_t n = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    *out = n;
    return true;
  };
  std::string_view a = v.substr(0, dash), b = v.substr(dash + 1);
  uint64_t first, last;
  if (a.empty()) {  // suffix: the last n bytes
    uint64_t n;
    if (!num(b, &n)) return none;
    if (n == 0 || size == 0) return {RangeResult::Unsatisfiable, 0, 0};
    first = n >= size ? 0 : size - n;
    return {RangeResult::Ok, first, size - 1};
  }
  if (!num(a, &first)) return none;
  if (b.empty()) {
    last = size ? size - 1 : 0;
  } else {
    if (!num(b, &last)) return none;
    if (last < first) return none;  // invalid: ignore the header (RFC 9110 §14.1.1)
    if (last >= size) last = size - 1;
  }
  if (first >= size) return {RangeResult::Unsatisfiable, 0, 0};
  return {RangeResult::Ok, first, last};
}

}  // namespace otad
