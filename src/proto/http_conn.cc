// HTTP connection driver: read a request head into the slot's fixed buffer,
// route it, write the response head, stream the image range, then either
// wait for the next request on the same connection (keep-alive; pipelined
// requests already buffered are served in order) or close. Each request ends
// in one record (finish).
#include <algorithm>
#include <cstring>

#include "http/exchange.h"
#include "http/upload.h"
#include "proto/protocols.h"

namespace otad {
namespace {

constexpr int64_t kLingerMs = 5000;
constexpr size_t kRespHeadMax = 1024;  // response head (and short text body)

struct Http {
  enum class St : uint8_t {
    Read,      // reading a request head (or idle between keep-alive requests)
    Continue,  // writing "100 Continue" before a request body
    RecvBody,  // streaming a request body into the route's upload
    Respond,   // writing a response head (and any short text body)
    Body,     // streaming image bytes
    Linger,   // all sent, FIN sent: waiting for the device to close (only
              // when it sent more than its requests)
  } st;
  Outcome outcome;  // of the request in flight, for its record
  uint16_t status;  // its status, for the record
  bool keep_alive;
  bool device_talking;  // Linger: the device sent bytes after its last request
  uint16_t rx_len, head_len, tx_len, tx_off;
  uint32_t requests;
  int64_t req_ms;
  const Route* route;  // RecvBody: whose body handler answers
  Upload* upload;      // RecvBody: where the body goes
  BasicMemo basic;
  char line[160];  // "GET /update -> 200 ..." for the request's log line
};

Http& hs(Conn& c) { return proto_state<Http>(c); }
const RouteTable& routes(const Conn& c) { return *static_cast<const RouteTable*>(c.proto->table); }
uint8_t* tx(Conn& c, const Context& ctx) { return c.buf + ctx.max_head; }

const char* method_name(Method m) {
  switch (m) {
    case Method::Get: return "GET";
    case Method::Head: return "HEAD";
    case Method::Post: return "POST";
    case Method::Put: return "PUT";
    case Method::Delete: return "DELETE";
    case Method::Options: return "OPTIONS";
    case Method::Patch: return "PATCH";
    case Method::Trace: return "TRACE";
    case Method::Connect: return "CONNECT";
  }
  return "?";
}

Outcome outcome_of(const HttpResponse& r, bool misdirected) {
  if ((r.status == 200 || r.status == 206) && r.download) return Outcome::Served;
  if (r.status == 503) return Outcome::Busy;
  if (r.status == 401 || r.status == 403) return Outcome::Refused;
  if (misdirected) return Outcome::BadRequest;
  return Outcome::Answered;
}

// Answers a request the parser rejected (or a timeout) and closes.
Next error_and_close(Conn& c, const Context& ctx, int status, const char* why) {
  Http& h = hs(c);
  HttpResponse r;
  r.fail(status, why);
  h.tx_len = static_cast<uint16_t>(http_format_head(r, false, false, reinterpret_cast<char*>(tx(c, ctx)), kRespHeadMax));
  h.tx_off = 0;
  h.keep_alive = false;
  ctx.transfers->download_gone(c);
  c.body = Body{};
  h.req_ms = now_ms();
  // Recorded once, with the outcome, when the answer has gone out.
  snprintf(h.line, sizeof h.line, "bad request -> %d: %s", status, why);
  h.outcome = Outcome::BadRequest;
  h.status = static_cast<uint16_t>(status);
  h.st = Http::St::Respond;
  return {Want::Write, ctx.cfg->http_send_timeout * 1000};
}

// One request is complete (or abandoned): its record, then keep the
// connection for the next request or wind it down.
void finish(Conn& c, const Context& ctx, Outcome o, const char* tail, bool image_fault = false) {
  Http& h = hs(c);
  if (h.line[0]) {
    ctx.transfers->end(c, {.outcome = o, .status = h.status, .image = c.body.image.get(), .bytes = c.body.sent,
                           .started_ms = h.req_ms, .what = h.line, .tail = tail, .image_fault = image_fault});
  }
  h.line[0] = '\0';
  ctx.transfers->download_gone(c);
  c.body = Body{};
  h.requests++;
  if (h.keep_alive && !ctx.draining && h.requests < static_cast<uint32_t>(ctx.cfg->max_requests)) {
    // Keep pipelined bytes that followed this head.
    const size_t rest = h.rx_len - h.head_len;
    memmove(c.buf, c.buf + h.head_len, rest);
    h.rx_len = static_cast<uint16_t>(rest);
    h.head_len = 0;
    h.st = Http::St::Read;
    conn_awaits(c, true, now_ms());
    c.deadline_ms = c.progress_ms + (rest ? ctx.cfg->http_read_timeout : ctx.cfg->http_idle_timeout) * 1000;
    return;
  }
  h.st = Http::St::Linger;
  c.deadline_ms = now_ms() + kLingerMs;
  h.device_talking = h.rx_len > h.head_len;
  // The FIN goes out now where a linger is sure to follow, and always where
  // the transport closes with a record of its own (TLS: close_notify). A
  // plain device that sent nothing more is closed at once below, and close()
  // sends the FIN itself: one system call fewer per download.
  if (c.io->closes_with_record() || h.device_talking) c.io->shutdown_write(c);
}

// A response cut short: recorded with the request, reset.
Next abort_request(Conn& c, const Context& ctx, const char* why, bool image_fault = false) {
  finish(c, ctx, Outcome::Aborted, why, image_fault);
  return {Want::Reset, 0};
}

// Formats r as the answer to req and starts sending it.
Next respond(Conn& c, const Context& ctx, const Request& req, HttpResponse& r) {
  Http& h = hs(c);
  // The last request a connection may carry says so (Connection: close),
  // or the client would send another into a closing socket.
  h.keep_alive = !r.close && r.status < 400 && req.keep_alive && !ctx.draining &&
                 h.requests + 1 < static_cast<uint32_t>(ctx.cfg->max_requests);
  const bool head_only = req.method == Method::Head;
  size_t n = http_format_head(r, h.keep_alive, head_only, reinterpret_cast<char*>(tx(c, ctx)), kRespHeadMax);
  if (n == 0) {
    r = HttpResponse{};
    r.status = 500;
    h.keep_alive = false;
    n = http_format_head(r, false, true, reinterpret_cast<char*>(tx(c, ctx)), kRespHeadMax);
  }
  h.tx_len = static_cast<uint16_t>(n);
  h.tx_off = 0;
  const bool body = r.entity == Entity::Image && !head_only && r.status != 304;
  const uint32_t ticket = c.body.ticket;  // the admission the handler took, if any
  c.body = body ? Body{r.image, r.first, r.last + 1, 0} : Body{};
  c.body.ticket = ticket;
  c.body.more_to_come = body && r.status == 206 && r.last + 1 < r.image->m.size;
  if (body && r.download) ctx.transfers->download_started(c);
  if (!body) ctx.transfers->download_gone(c);  // a formatting failure gives any admission back
  std::string_view target = req.target.in(c.buf);
  // The record's line is cut at its slot's size: a long note loses its
  // tail, never the status.
  if (snprintf(h.line, sizeof h.line, "%s %.*s -> %d%s%s", method_name(req.method),
               static_cast<int>(std::min<size_t>(target.size(), 40)), target.data(), r.status,
               r.note[0] ? ": " : "", r.note) < 0) {
    h.line[0] = '\0';
  }
  h.outcome = outcome_of(r, c.misdirected);
  h.status = static_cast<uint16_t>(r.status);
  h.st = Http::St::Respond;
  return {Want::Write, ctx.cfg->http_send_timeout * 1000};
}

Next handle(Conn& c, const Context& ctx, const Request& req) {
  Http& h = hs(c);
  h.req_ms = now_ms();
  HttpResponse r;
  const Route* route;
  http_route({req, c.buf, c, ctx, h.basic, {}}, routes(c), &r, &route);
  if (r.receive && route && route->on_body) {
    // The body streams into the upload; the route's body handler answers
    // once it is in. A device that asked to be told first gets its 100.
    h.route = route;
    h.upload = r.receive;
    bool expect;
    std::string_view e = http_header(req, c.buf, "expect", &expect);
    if (expect && iequals(e, "100-continue")) {
      static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      memcpy(tx(c, ctx), kContinue, sizeof kContinue - 1);
      h.tx_len = sizeof kContinue - 1;
      h.tx_off = 0;
      h.st = Http::St::Continue;
    } else {
      h.st = Http::St::RecvBody;
    }
    c.deadline_ms = now_ms() + ctx.cfg->http_read_timeout * 1000;
    return {Want::Read, 0};
  }
  return respond(c, ctx, req, r);
}

// Feeds the body bytes already buffered behind the head, then reads more
// into the free part of the slot buffer, until the upload has them all. The
// head stays where it is: the body handler reads it again.
Next receive_body(Conn& c, const Context& ctx, bool timed_out) {
  Http& h = hs(c);
  Upload* u = h.upload;
  auto fail_with = [&](int status, const char* why) {
    upload_end(u);
    h.upload = nullptr;
    return error_and_close(c, ctx, status, why);
  };
  for (;;) {
    const uint64_t left = upload_expected(u) - upload_received(u);
    const size_t buffered = h.rx_len - h.head_len;
    if (buffered > 0 && left > 0) {
      const size_t take = static_cast<size_t>(std::min<uint64_t>(buffered, left));
      std::string why;
      upload_write(u, {c.buf + h.head_len, take}, &why);  // a failure is the body handler's to answer
      memmove(c.buf + h.head_len, c.buf + h.head_len + take, buffered - take);
      h.rx_len = static_cast<uint16_t>(h.rx_len - take);
      continue;
    }
    if (left == 0) break;
    if (timed_out || now_ms() >= c.deadline_ms) return fail_with(408, "request body not received in time");
    // The body passes through one shared scratch buffer on its way to the
    // file: the reactor is single-threaded, and each chunk is written out
    // before the next read.
    static uint8_t scratch[64 * 1024];
    IoResult r = c.io->read(c, scratch, static_cast<size_t>(std::min<uint64_t>(left, sizeof scratch)));
    if (r.st == Io::WantRead || r.st == Io::WantWrite) {
      return {r.st == Io::WantRead ? Want::Read : Want::Write, c.deadline_ms - now_ms()};
    }
    if (r.st != Io::Ok) {
      char what[96];
      snprintf(what, sizeof what, "closed in the middle of a request body (%llu of %llu bytes)",
               static_cast<unsigned long long>(upload_received(u)), static_cast<unsigned long long>(upload_expected(u)));
      upload_end(u);
      h.upload = nullptr;
      ctx.transfers->end(c, {.outcome = Outcome::Aborted, .started_ms = h.req_ms, .what = what});
      return {Want::Reset, 0};
    }
    std::string why;
    upload_write(u, {scratch, r.n}, &why);
    c.deadline_ms = now_ms() + ctx.cfg->http_read_timeout * 1000;
  }
  // All in: the head is still at the front of the buffer.
  Request req;
  const HttpLimits lim{ctx.max_head, ctx.max_head / 2};
  http_parse_head(c.buf, h.head_len, lim, &req);
  HttpResponse r;
  h.upload = nullptr;
  std::string_view arg;
  route_match(*h.route, req.path.in(c.buf), ctx.cfg->update_path, &arg);
  h.route->on_body({req, c.buf, c, ctx, h.basic, arg, routes(c).app}, u, &r);
  return respond(c, ctx, req, r);
}

size_t buffer_size(const Context& ctx) { return ctx.max_head + kRespHeadMax; }

void start(Conn& c, const Context& ctx) {
  Http& h = proto_state_make<Http>(c);
  h.st = Http::St::Read;
  h.req_ms = now_ms();
  conn_awaits(c, true, h.req_ms);
  c.deadline_ms = h.req_ms + ctx.cfg->http_read_timeout * 1000;
  CONN_LOG(LogLevel::Debug, c, "connected (%u active)", ctx.stats().active);
}

Next drive(Conn& c, const Context& ctx, bool timed_out) {
  Http& h = hs(c);
  const int64_t send_ms = ctx.cfg->http_send_timeout * 1000;
  const HttpLimits lim{ctx.max_head, ctx.max_head / 2};
  for (;;) {
    switch (h.st) {
      case Http::St::Read: {
        if (h.rx_len > 0) {
          Request req;
          ParseResult p = http_parse_head(c.buf, h.rx_len, lim, &req);
          if (p.st == Parse::Done) {
            conn_awaits(c, false, now_ms());
            h.head_len = static_cast<uint16_t>(req.head_len);
            handle(c, ctx, req);
            break;
          }
          if (p.st == Parse::Error) return error_and_close(c, ctx, p.status, p.why);
        }
        if (timed_out || now_ms() >= c.deadline_ms) {
          if (h.rx_len == 0) return {Want::Close, 0};  // idle keep-alive: quietly
          return error_and_close(c, ctx, 408, "head not received in time");
        }
        IoResult r = c.io->read(c, c.buf + h.rx_len, ctx.max_head - h.rx_len);
        if (r.st == Io::WantRead || r.st == Io::WantWrite) {
          return {r.st == Io::WantRead ? Want::Read : Want::Write, c.deadline_ms - now_ms()};
        }
        if (r.st != Io::Ok) {
          if (r.st == Io::Error && h.requests == 0 && h.rx_len == 0 && c.io->closes_with_record()) {
            CONN_LOG(LogLevel::Info, c, "%s error: %s", c.io->name(), c.io->error_text(r.err));
          }
          if (h.rx_len > 0) {
            char what[80];
            snprintf(what, sizeof what, "closed in the middle of a request head (%u bytes)", h.rx_len);
            ctx.transfers->end(c, {.outcome = Outcome::Closed, .started_ms = h.req_ms, .what = what});
          }
          return {Want::Close, 0};
        }
        if (h.rx_len == 0 && r.n > 0) {
          h.req_ms = now_ms();
          c.deadline_ms = h.req_ms + ctx.cfg->http_read_timeout * 1000;
        }
        h.rx_len = static_cast<uint16_t>(h.rx_len + r.n);
        break;
      }
      case Http::St::Continue: {
        if (timed_out) return receive_body(c, ctx, true);
        IoResult r = c.io->write(c, tx(c, ctx) + h.tx_off, h.tx_len - h.tx_off, false);
        if (r.st == Io::WantWrite || r.st == Io::WantRead) {
          return {r.st == Io::WantWrite ? Want::Write : Want::Read, send_ms};
        }
        if (r.st != Io::Ok) return receive_body(c, ctx, true);
        h.tx_off = static_cast<uint16_t>(h.tx_off + r.n);
        if (h.tx_off == h.tx_len) h.st = Http::St::RecvBody;
        break;
      }
      case Http::St::RecvBody:
        return receive_body(c, ctx, timed_out);
      case Http::St::Respond: {
        if (timed_out) return abort_request(c, ctx, " (aborted: send timeout)");
        IoResult r = c.io->write(c, tx(c, ctx) + h.tx_off, h.tx_len - h.tx_off, c.body.image != nullptr);
        if (r.st == Io::WantWrite || r.st == Io::WantRead) {
          return {r.st == Io::WantWrite ? Want::Write : Want::Read, send_ms};
        }
        if (r.st != Io::Ok) return abort_request(c, ctx, " (aborted: device went away)");
        h.tx_off = static_cast<uint16_t>(h.tx_off + r.n);
        if (h.tx_off < h.tx_len) break;
        if (c.body.off < c.body.end) h.st = Http::St::Body;
        else finish(c, ctx, h.outcome, "");
        break;
      }
      case Http::St::Body: {
        // A wake-up for the rate check is a timeout too; only real silence aborts.
        if (timed_out && now_ms() - c.progress_ms >= send_ms) {
          return abort_request(c, ctx, " (aborted: no progress within send_timeout)");
        }
        BodyStep b = stream_body(c, ctx);
        if (b.kind == BodyStep::Failed) {
          char why[224];
          snprintf(why, sizeof why, " (aborted after %llu bytes: %s)", static_cast<unsigned long long>(c.body.off),
                   b.why);
          return abort_request(c, ctx, why, b.image_fault);
        }
        if (b.kind == BodyStep::WaitRead) return {Want::Read, body_wait(b, send_ms)};
        if (b.kind == BodyStep::Pace) return {Want::Timer, b.wait_ms};
        if (b.kind != BodyStep::Done) return {Want::Write, body_wait(b, send_ms)};
        finish(c, ctx, h.outcome, "");
        break;
      }
      case Http::St::Linger: {
        // Closing a socket with unread input makes the kernel reset the
        // connection, and a reset can destroy response bytes the device has
        // not read yet. So a device that sent more than it was answered is
        // drained until it closes (or for 5 s); one that sent nothing more is
        // closed at once, and its slot is free for the next device.
        if (timed_out || ctx.draining) return {Want::Close, 0};
        uint8_t sink[256];
        IoResult r = c.io->read(c, sink, sizeof sink);
        if (r.st == Io::WantRead) {
          return h.device_talking ? Next{Want::Read, c.deadline_ms - now_ms()} : Next{Want::Close, 0};
        }
        if (r.st == Io::Ok) {
          if (!h.device_talking && !c.io->closes_with_record()) c.io->shutdown_write(c);
          h.device_talking = true;
          return {Want::Read, c.deadline_ms - now_ms()};
        }
        return {Want::Close, 0};
      }
    }
  }
}

void release(Conn& c, const Context&) {
  Http& h = hs(c);
  if (h.upload) upload_end(h.upload);
  h.upload = nullptr;
}

bool idle(const Conn& c) {
  const Http& h = proto_state<Http>(c);
  return h.st == Http::St::Read && h.rx_len == 0;
}

}  // namespace

const Protocol kHttpProtocol = {"http", buffer_size, start, drive, idle, release, &kDeviceRoutes};

}  // namespace otad
