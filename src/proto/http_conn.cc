// HTTP connection driver: read a request head into the slot's fixed buffer,
// route it, write the response head, stream the image range, then either
// wait for the next request on the same connection (keep-alive; pipelined
// requests already buffered are served in order) or close.
#include <cstring>

#include "core/conn.h"
#include "http/route.h"

namespace otad {
namespace {

// The log tag: which listener the connection came in on.
const char* proto(const Conn& c) { return c.tls ? "https" : "http"; }
constexpr int64_t kLingerMs = 5000;

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

// Answers a request the parser rejected (or a timeout) and closes.
Next error_and_close(Conn& c, const Context& ctx, int status, const char* why) {
  HttpResponse r;
  r.status = status;
  r.text = http_reason(status);
  c.tx_len = static_cast<uint16_t>(http_format_head(r, false, false, reinterpret_cast<char*>(tx(c, ctx)), kRespHeadMax));
  c.tx_off = 0;
  c.keep_alive = false;
  c.image.reset();
  c.off = c.end = 0;
  // Logged once, with the outcome, when the answer has gone out.
  snprintf(c.line, sizeof c.line, "bad request -> %d: %s", status, why);
  ctx.stats->bad_requests++;
  c.state = ConnState::HttpRespond;
  return {Want::Write, ctx.cfg->http_send_timeout * 1000};
}

// One request is complete (or abandoned): log it, then keep the connection
// for the next request or wind it down.
void finish_request(Conn& c, const Context& ctx, const char* outcome) {
  if (c.line[0]) {
    CONN_LOG(LogLevel::Info, c, proto(c), "%s%s in %.3f s", c.line, outcome,
             (now_ms() - c.req_ms) / 1000.0);
  }
  c.line[0] = '\0';
  c.image.reset();
  c.requests++;
  if (c.keep_alive && !ctx.draining && c.requests < static_cast<uint32_t>(ctx.cfg->max_requests)) {
    // Keep pipelined bytes that followed this head.
    const size_t rest = c.rx_len - c.head_len;
    memmove(c.buf, c.buf + c.head_len, rest);
    c.rx_len = static_cast<uint16_t>(rest);
    c.head_len = 0;
    c.state = ConnState::HttpRead;
    c.deadline_ms = now_ms() + (rest ? ctx.cfg->http_read_timeout : ctx.cfg->http_idle_timeout) * 1000;
    return;
  }
  c.state = ConnState::Linger;
  c.deadline_ms = now_ms() + kLingerMs;
  c.device_talking = c.rx_len > c.head_len;
  // The FIN goes out now where a linger is sure to follow, and always over
  // TLS (close_notify first). A plain device that sent nothing more is
  // closed at once below, and close() sends the FIN itself: one system call
  // fewer per download.
  if (c.tls || c.device_talking) c.io->shutdown_write(c);
}

// A response cut short: logged with the request, counted, reset.
Next abort_request(Conn& c, const Context& ctx, const char* why) {
  finish_request(c, ctx, why);
  ctx.stats->aborted++;
  return {Want::Reset, 0};
}

Next handle(Conn& c, const Context& ctx, const Request& req) {
  c.req_ms = now_ms();
  HttpResponse r;
  http_route(req, c.buf, c, ctx, &r);
  if (r.close || r.status >= 400) c.keep_alive = false;
  else c.keep_alive = req.keep_alive;
  const bool head_only = req.method == Method::Head;
  size_t n = http_format_head(r, c.keep_alive, head_only, reinterpret_cast<char*>(tx(c, ctx)), kRespHeadMax);
  if (n == 0) {
    r = HttpResponse{};
    r.status = 500;
    c.keep_alive = false;
    n = http_format_head(r, false, true, reinterpret_cast<char*>(tx(c, ctx)), kRespHeadMax);
  }
  c.tx_len = static_cast<uint16_t>(n);
  c.tx_off = 0;
  c.image = r.has_body ? r.image : nullptr;
  c.off = r.has_body ? r.first : 0;
  c.end = r.has_body ? r.last + 1 : 0;
  std::string_view target = req.target.in(c.buf);
  snprintf(c.line, sizeof c.line, "%s %.*s -> %d%s%s", method_name(req.method),
           static_cast<int>(std::min<size_t>(target.size(), 40)), target.data(), r.status,
           r.note[0] ? ": " : "", r.note);
  if (r.status == 200 || r.status == 206) ctx.stats->served++;
  else if (r.status == 401 || r.status == 403) ctx.stats->refused++;
  else if (c.cleartext) ctx.stats->bad_requests++;  // a head that did not parse counts in error_and_close
  c.state = ConnState::HttpRespond;
  return {Want::Write, ctx.cfg->http_send_timeout * 1000};
}

}  // namespace

void http_start(Conn& c, const Context& ctx) {
  c.state = ConnState::HttpRead;
  c.rx_len = c.head_len = c.tx_len = c.tx_off = 0;
  c.keep_alive = c.cleartext = false;
  c.requests = 0;
  c.mac[0] = c.auth_id[0] = c.basic_id[0] = c.line[0] = '\0';
  c.image.reset();
  c.off = c.end = 0;
  c.started_ms = c.req_ms = now_ms();
  c.deadline_ms = c.started_ms + (c.tls ? ctx.cfg->handshake_timeout : ctx.cfg->http_read_timeout) * 1000;
  CONN_LOG(LogLevel::Debug, c, proto(c), "connected (%u active)", ctx.stats->active);
}

Next http_drive(Conn& c, const Context& ctx, bool timed_out) {
  const int64_t send_ms = ctx.cfg->http_send_timeout * 1000;
  const HttpLimits lim{ctx.max_head, ctx.max_head / 2};
  for (;;) {
    switch (c.state) {
      case ConnState::HttpRead: {
        if (c.rx_len > 0) {
          Request req;
          ParseResult p = http_parse_head(c.buf, c.rx_len, lim, &req);
          if (p.st == Parse::Done) {
            c.head_len = static_cast<uint16_t>(req.head_len);
            handle(c, ctx, req);
            break;
          }
          if (p.st == Parse::Error) return error_and_close(c, ctx, p.status, p.why);
        }
        if (timed_out || now_ms() >= c.deadline_ms) {
          if (!c.io->ready(c)) {
            CONN_LOG(LogLevel::Info, c, "https", "TLS handshake not completed within %lld s",
                     static_cast<long long>(ctx.cfg->handshake_timeout));
            ctx.stats->bad_requests++;
            return {Want::Reset, 0};
          }
          if (c.rx_len == 0) return {Want::Close, 0};  // idle keep-alive: quietly
          return error_and_close(c, ctx, 408, "head not received in time");
        }
        IoResult r = c.io->read(c, c.buf + c.rx_len, ctx.max_head - c.rx_len);
        if (r.st == Io::WantRead || r.st == Io::WantWrite) {
          return {r.st == Io::WantRead ? Want::Read : Want::Write, c.deadline_ms - now_ms()};
        }
        if (r.st == Io::Cleartext) {
          // http:// to the HTTPS port: read the request in clear to answer
          // it in clear (a 400, never content), so the device's own log and
          // ours both say what is wrong. The TLS context is freed with the slot.
          c.io = &plain_transport();
          c.cleartext = true;
          break;
        }
        if (r.st != Io::Ok) {
          if (!c.io->ready(c)) {
            // One line per failed handshake: peer, claimed identity, reason.
            CONN_LOG(LogLevel::Info, c, "https", "TLS handshake failed: %s",
                     r.st == Io::Eof ? "the client closed the connection" : c.io->error_text(r.err));
            ctx.stats->bad_requests++;
            return {Want::Reset, 0};
          }
          if (r.st == Io::Error && c.requests == 0 && c.rx_len == 0 && c.tls) {
            CONN_LOG(LogLevel::Info, c, "https", "TLS error: %s", c.io->error_text(r.err));
          }
          if (c.rx_len > 0) {
            CONN_LOG(LogLevel::Info, c, proto(c), "closed in the middle of a request head (%u bytes)", c.rx_len);
          }
          return {Want::Close, 0};
        }
        if (c.rx_len == 0 && r.n > 0) c.deadline_ms = now_ms() + ctx.cfg->http_read_timeout * 1000;
        c.rx_len = static_cast<uint16_t>(c.rx_len + r.n);
        break;
      }
      case ConnState::HttpRespond: {
        if (timed_out) {
          return abort_request(c, ctx, " (aborted: send timeout)");
        }
        IoResult r = c.io->write(c, tx(c, ctx) + c.tx_off, c.tx_len - c.tx_off, c.image != nullptr);
        if (r.st == Io::WantWrite || r.st == Io::WantRead) {
          return {r.st == Io::WantWrite ? Want::Write : Want::Read, send_ms};
        }
        if (r.st != Io::Ok) {
          return abort_request(c, ctx, " (aborted: device went away)");
        }
        c.tx_off = static_cast<uint16_t>(c.tx_off + r.n);
        if (c.tx_off < c.tx_len) break;
        if (c.image && c.off < c.end) {
          c.state = ConnState::HttpBody;
        } else {
          finish_request(c, ctx, "");
        }
        break;
      }
      case ConnState::HttpBody: {
        if (timed_out) {
          return abort_request(c, ctx, " (aborted: no progress within send_timeout)");
        }
        BodyStep b = stream_body(c, ctx);
        if (b.kind == BodyStep::Failed) {
          char why[96];
          snprintf(why, sizeof why, " (aborted after %llu bytes: %s)", static_cast<unsigned long long>(c.off),
                   b.why);
          return abort_request(c, ctx, why);
        }
        if (b.kind == BodyStep::WaitRead) return {Want::Read, send_ms};
        if (b.kind != BodyStep::Done) return {Want::Write, send_ms};
        finish_request(c, ctx, "");
        break;
      }
      case ConnState::Linger: {
        // Closing a socket with unread input makes the kernel reset the
        // connection, and a reset can destroy response bytes the device has
        // not read yet. So a device that sent more than it was answered is
        // drained until it closes (or for 5 s); one that sent nothing more is
        // closed at once, and its slot is free for the next device.
        if (timed_out || ctx.draining) return {Want::Close, 0};
        uint8_t sink[256];
        IoResult r = c.io->read(c, sink, sizeof sink);
        if (r.st == Io::WantRead) {
          return c.device_talking ? Next{Want::Read, c.deadline_ms - now_ms()} : Next{Want::Close, 0};
        }
        if (r.st == Io::Ok) {
          if (!c.device_talking && !c.tls) c.io->shutdown_write(c);
          c.device_talking = true;
          return {Want::Read, c.deadline_ms - now_ms()};
        }
        return {Want::Close, 0};
      }
      default:
        return {Want::Close, 0};
    }
  }
}

}  // namespace otad
