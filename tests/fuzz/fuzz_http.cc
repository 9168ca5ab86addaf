// The request-head parser, and what reads the parsed head (Range, query
// parameters, Basic credentials), over arbitrary bytes.
#include <string>
#include <string_view>

#include "otad/credentials.h"
#include "otad/http.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const otad::HttpLimits lim{2048, 1024};
  if (size > lim.max_head) size = lim.max_head;
  otad::Request r;
  otad::ParseResult p = otad::http_parse_head(data, size, lim, &r);
  if (p.st == otad::Parse::Done) {
    if (r.head_len > size || r.header_count > otad::kMaxHeaders) __builtin_trap();
    for (int i = 0; i < r.header_count; ++i) {
      if (r.headers[i].value.off + r.headers[i].value.len > size) __builtin_trap();
    }
    std::string_view range = otad::http_header(r, data, "range");
    otad::RangeResult rr = otad::http_parse_range(range, 1000000);
    if (rr.kind == otad::RangeResult::Ok && (rr.first > rr.last || rr.last >= 1000000)) __builtin_trap();
    std::string_view query = r.query.in(data);
    for (std::string_view key : {"dev", "ver", "mode"}) {
      bool found = false;
      std::string_view v = otad::http_query_param(query, key, &found);
      if (!found && !v.empty()) __builtin_trap();
      if (found && !v.empty() && (v.data() < query.data() || v.data() + v.size() > query.data() + query.size()))
        __builtin_trap();
    }
    std::string user, password;
    if (otad::basic_credentials(otad::http_header(r, data, "authorization"), &user, &password) &&
        user.size() + password.size() + 1 > 191) {
      __builtin_trap();  // decoded into a 192-byte buffer
    }
  }
  if (p.st == otad::Parse::Error && (p.status < 400 || p.status > 505 || !p.why || !*p.why)) __builtin_trap();
  // A full buffer is always a verdict: asking for more would have the driver
  // read into zero bytes of room.
  if (p.st == otad::Parse::NeedMore && size >= lim.max_head) __builtin_trap();
  return 0;
}
