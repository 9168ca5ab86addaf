// One request being answered: what a route handler reads (the parsed head,
// the connection, the server's state, the path's variable part) and the
// per-connection memory of HTTP Basic it may update.
#pragma once
#include <cstdint>
#include <string_view>

#include "core/context.h"
#include "http/response.h"
#include "otad/decision.h"
#include "otad/http.h"

namespace otad {

// HTTP Basic verified on this connection: the PBKDF2 check runs once per
// connection, not once per keep-alive request.
struct BasicMemo {
  char mac[13];
  uint8_t tag[16];  // digest of the Authorization value verified for mac
};

struct Exchange {
  const Request& req;
  const uint8_t* buf;  // the request head's bytes (tokens are offsets into it)
  Conn& c;
  const Context& ctx;
  BasicMemo& basic;
  std::string_view arg;  // the path's variable part, per the route
  void* app = nullptr;   // the route table's own state (the admin API's tokens)

  std::string_view header(std::string_view name, bool* found = nullptr) const {
    return http_header(req, buf, name, found);
  }
};

using Handler = void (*)(const Exchange&, HttpResponse*);
// Called once the body a handler asked for (HttpResponse::receive) is in,
// with the same request; makes the response. It owns the upload from then on
// and must end it.
using BodyHandler = void (*)(const Exchange&, Upload*, HttpResponse*);

constexpr uint8_t method_bit(Method m) { return static_cast<uint8_t>(1u << static_cast<unsigned>(m)); }

struct Route {
  uint8_t methods;     // method_bit() set
  const char* prefix;  // nullptr: the configured update_path, exactly
  const char* suffix;  // nullptr: the path is prefix, exactly
  size_t arg_len;      // required length of the variable part; 0: any, not empty
  Handler handler;
  BodyHandler on_body = nullptr;  // routes that take a request body
};

// A listener's routes, in order; the first whose path matches answers.
struct RouteTable {
  const Route* routes;
  size_t count;
  void* app = nullptr;  // handed to handlers as Exchange::app
};
extern const RouteTable kDeviceRoutes;  // the device-facing endpoints (route.cc)

// Identity (identity.cc): the device a request speaks for, proven by the
// transport (TLS-PSK, client certificate) or by HTTP Basic, and claimed by
// its MAC header. Fills report->mac and report->proven, names the device in
// c.mac for the log; false after filling an error response (400, 401, 403).
bool identify(const Exchange& x, HttpResponse* out, DeviceReport* report);
// The MAC headers' device, if any. *problem (else empty) when one is
// unreadable, or two of them (x-ESP8266-STA-MAC, x-ESP32-STA-MAC,
// x-ESP32-BASE-MAC, the same one twice included) name different MACs: a
// request speaks for one device.
std::optional<Mac> claimed_mac(const Exchange& x, std::string* problem);

// Admission for a body of img to the device of rep (download.cc): true when
// admitted; else a 503 with a jittered Retry-After is in *out.
bool admit_body(const Exchange& x, const DeviceReport& rep, const Image& img, HttpResponse* out);
// 503 with Retry-After: the decision said Busy (a rollout's max_concurrent).
void busy(HttpResponse* out, const Decision& d);

// Handlers (update.cc, download.cc).
void update_endpoint(const Exchange& x, HttpResponse* out);
void download_by_platform(const Exchange& x, HttpResponse* out);
void download_by_hash(const Exchange& x, HttpResponse* out);

// True when path is r's; *arg: its variable part.
bool route_match(const Route& r, std::string_view path, std::string_view update_path, std::string_view* arg);
// Which route of the table a request gets, and its answer; or the answer
// when none fits (404, 405, 413, the misdirected 400) and *matched = null.
void http_route(const Exchange& x, const RouteTable& table, HttpResponse* out, const Route** matched);

}  // namespace otad
