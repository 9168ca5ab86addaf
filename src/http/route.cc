// The route table: method set, path pattern, handler. A request no route
// fits gets 404; a route's path with another method gets 405 and the
// methods it takes. Before the table: plain HTTP on a TLS port gets its 400
// in clear, and request bodies (no route takes one yet) get 413.
#include <cstring>

#include "http/exchange.h"

namespace otad {
namespace {

constexpr uint8_t kGetHead = method_bit(Method::Get) | method_bit(Method::Head);

constexpr Route kRoutes[] = {
    {kGetHead, nullptr, nullptr, 0, update_endpoint},
    {kGetHead, "/firmware/", ".bin", 0, download_by_platform},
    {kGetHead, "/images/", ".bin", 64, download_by_hash},
};

}  // namespace

// The variable part between prefix and suffix, when path has that shape.
bool route_match(const Route& r, std::string_view path, std::string_view update_path, std::string_view* arg) {
  if (!r.prefix) {
    *arg = {};
    return path == update_path;
  }
  if (!r.suffix) {
    *arg = {};
    return path == r.prefix;
  }
  const std::string_view pre = r.prefix, suf = r.suffix;
  if (path.size() <= pre.size() + suf.size() || path.substr(0, pre.size()) != pre ||
      path.substr(path.size() - suf.size()) != suf) {
    return false;
  }
  *arg = path.substr(pre.size(), path.size() - pre.size() - suf.size());
  return r.arg_len == 0 || arg->size() == r.arg_len;
}

namespace {

void allow_header(HttpResponse* out, uint8_t methods) {
  char list[64] = "";
  size_t n = 0;
  for (auto [m, name] : {std::pair{Method::Get, "GET"}, {Method::Head, "HEAD"}, {Method::Post, "POST"},
                         {Method::Put, "PUT"}, {Method::Delete, "DELETE"}}) {
    if (!(methods & method_bit(m))) continue;
    n += static_cast<size_t>(snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "", name));
  }
  out->header("Allow", "%s", list);
}

}  // namespace

const RouteTable kDeviceRoutes = {kRoutes, sizeof kRoutes / sizeof kRoutes[0]};

void http_route(const Exchange& x, const RouteTable& table, HttpResponse* out, const Route** matched) {
  *matched = nullptr;
  if (x.c.misdirected) {
    // Plain HTTP on the HTTPS port: nothing is served in clear there. The
    // answer says why, and the claimed MAC names the device in the log.
    std::string problem;
    if (std::optional<Mac> m = claimed_mac(x, &problem)) memcpy(x.c.mac, m->str().c_str(), sizeof x.c.mac);
    out->close = true;
    out->fail(400, "plain HTTP on the HTTPS port (the device's URL needs https://)");
    out->text = "This port speaks HTTPS: the URL must begin with https://";
    return;
  }
  const std::string_view path = x.req.path.in(x.buf);
  for (size_t i = 0; i < table.count; ++i) {
    const Route& r = table.routes[i];
    std::string_view arg;
    if (!route_match(r, path, x.ctx.cfg->update_path, &arg)) continue;
    if (x.req.content_length > 0 && !r.on_body) break;
    if (!(r.methods & method_bit(x.req.method))) {
      out->fail(405, "method not allowed");
      allow_header(out, r.methods);
      return;
    }
    *matched = &r;
    Exchange with_arg{x.req, x.buf, x.c, x.ctx, x.basic, arg, table.app};
    return r.handler(with_arg, out);
  }
  if (x.req.content_length > 0) {
    // Unread body bytes would be taken for the next request: close after.
    out->close = true;
    return out->fail(413, "request bodies are not accepted here");
  }
  out->fail(404, "no such path");
}

}  // namespace otad
