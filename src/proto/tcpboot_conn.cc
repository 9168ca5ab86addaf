// tcpboot connection driver: read the 12-character MAC, decide, reply
// u32le size | SHA-1 | image by sendfile, then linger until the device
// closes (closing first with unread bytes would reset the connection and
// could destroy the image's tail in flight).
#include <algorithm>
#include <cstring>

#include "core/conn.h"

namespace otad {
namespace {

constexpr const char* kProto = "tcpboot";
constexpr int64_t kLingerMs = 5000;

Next close_now() { return {Want::Close, 0}; }

Next abort_transfer(Conn& c, const Context& ctx, const char* why) {
  CONN_LOG(LogLevel::Info, c, kProto, "aborted after %llu of %llu bytes: %s",
           static_cast<unsigned long long>(c.off), static_cast<unsigned long long>(c.end), why);
  ctx.stats->aborted++;
  return {Want::Reset, 0};
}

// Logged when the device closes after the image (or cannot be waited for):
// the time then is the device's download time, not the kernel's queueing.
Next log_complete(Conn& c, const Context& ctx, const char* how) {
  ctx.stats->served++;
  CONN_LOG(LogLevel::Info, c, kProto, "complete: %llu bytes in %.3f s; %s",
           static_cast<unsigned long long>(c.end), (now_ms() - c.started_ms) / 1000.0, how);
  return close_now();
}

const char* io_reason(const Conn& c, const IoResult& r) {
  if (r.st == Io::Eof) return "device closed the connection";
  return c.io->error_text(r.err);
}

Next on_mac(Conn& c, const Context& ctx) {
  const Mac mac = mac_reader_mac(c.rd);
  std::string s = mac.str();
  memcpy(c.mac, s.c_str(), sizeof c.mac);
  Decision d = decide(*ctx.catalog, *ctx.registry, ctx.policy, mac);
  if (d.verdict != Verdict::Serve) {
    CONN_LOG(LogLevel::Info, c, kProto, "%s: %s; closing without a reply",
             d.verdict == Verdict::Refuse ? "refused" : "no image", d.why);
    ctx.stats->refused++;
    return close_now();
  }
  c.image = d.image;
  c.off = 0;
  c.end = d.image->m.size;
  c.hdr_sent = 0;
  tcpboot_header(static_cast<uint32_t>(c.end), d.image->sha1, c.hdr);
  c.state = ConnState::SendHeader;
  CONN_LOG(LogLevel::Info, c, kProto, "serving %s %s (%llu bytes, sha1 %.12s) [%s]",
           d.image->m.platform.c_str(), d.image->m.version.c_str(),
           static_cast<unsigned long long>(c.end), d.image->m.sha1.c_str(), d.why);
  return {Want::Write, 0};
}

}  // namespace

void tcpboot_start(Conn& c, const Context& ctx) {
  c.state = ConnState::ReadMac;
  c.rd = MacReader{};
  c.mac[0] = '\0';
  c.image.reset();
  c.off = c.end = 0;
  c.started_ms = now_ms();
  c.deadline_ms = c.started_ms + ctx.cfg->tcpboot_read_timeout * 1000;
  CONN_LOG(LogLevel::Info, c, kProto, "connected (%u active)", ctx.stats->active);
}

Next tcpboot_drive(Conn& c, const Context& ctx, bool timed_out) {
  const int64_t send_timeout_ms = ctx.cfg->tcpboot_send_timeout * 1000;
  for (;;) {
    switch (c.state) {
      case ConnState::ReadMac: {
        if (timed_out || now_ms() >= c.deadline_ms) {
          CONN_LOG(LogLevel::Info, c, kProto,
                   "closed: MAC not received within %lld s (%u of 12 bytes)",
                   static_cast<long long>(ctx.cfg->tcpboot_read_timeout), c.rd.len);
          ctx.stats->bad_requests++;
          return close_now();
        }
        uint8_t buf[kTcpbootMacLen];
        IoResult r = c.io->read(c, buf, kTcpbootMacLen - c.rd.len);
        if (r.st == Io::WantRead || r.st == Io::WantWrite) {
          return {r.st == Io::WantRead ? Want::Read : Want::Write, c.deadline_ms - now_ms()};
        }
        if (r.st != Io::Ok) {
          CONN_LOG(LogLevel::Info, c, kProto, "closed before sending a whole MAC (%u of 12 bytes): %s",
                   c.rd.len, io_reason(c, r));
          ctx.stats->bad_requests++;
          return close_now();
        }
        MacFeed f = mac_feed(c.rd, buf, r.n);
        if (f == MacFeed::Invalid) {
          uint8_t head[kTcpbootMacLen + 16];
          const size_t kept = c.rd.len, more = std::min(r.n, sizeof head - kept);
          memcpy(head, c.rd.buf, kept);
          memcpy(head + kept, buf, more);
          CONN_LOG(LogLevel::Info, c, kProto, "closed: %s", tcpboot_misfit(head, kept + more));
          ctx.stats->bad_requests++;
          return close_now();
        }
        if (f == MacFeed::Done) {
          Next n = on_mac(c, ctx);
          if (n.want == Want::Close) return n;
        }
        break;
      }
      case ConnState::SendHeader: {
        if (timed_out) return abort_transfer(c, ctx, "send timeout before the header was out");
        IoResult r = c.io->write(c, c.hdr + c.hdr_sent, kTcpbootHeaderLen - c.hdr_sent, true);
        if (r.st == Io::WantWrite || r.st == Io::WantRead) {
          return {r.st == Io::WantWrite ? Want::Write : Want::Read, send_timeout_ms};
        }
        if (r.st != Io::Ok) return abort_transfer(c, ctx, io_reason(c, r));
        c.hdr_sent = static_cast<uint8_t>(c.hdr_sent + r.n);
        if (c.hdr_sent == kTcpbootHeaderLen) c.state = ConnState::SendBody;
        break;
      }
      case ConnState::SendBody: {
        if (timed_out) return abort_transfer(c, ctx, "no progress within send_timeout");
        BodyStep b = stream_body(c, ctx);
        if (b.kind == BodyStep::Failed) return abort_transfer(c, ctx, b.why);
        if (b.kind == BodyStep::WaitRead) return {Want::Read, send_timeout_ms};
        if (b.kind != BodyStep::Done) return {Want::Write, send_timeout_ms};  // blocked, or yielding
        c.image.reset();
        c.io->shutdown_write(c);
        if (ctx.draining) return log_complete(c, ctx, "sent; closing at once (shutting down)");
        c.state = ConnState::Linger;
        c.deadline_ms = now_ms() + kLingerMs;
        break;
      }
      case ConnState::Linger: {
        if (timed_out) return log_complete(c, ctx, "sent; the device did not close within 5 s");
        if (ctx.draining) return log_complete(c, ctx, "sent; closing at once (shutting down)");
        uint8_t sink[64];
        IoResult r = c.io->read(c, sink, sizeof sink);
        if (r.st == Io::WantRead) return {Want::Read, c.deadline_ms - now_ms()};
        if (r.st == Io::Eof) return log_complete(c, ctx, "the device received it and closed");
        // A reset now means the device gave up with bytes still in flight.
        if (r.st == Io::Error) return abort_transfer(c, ctx, "device reset the connection before the end");
        // Discard what a device sent after its MAC; one read per wake-up.
        return {Want::Read, c.deadline_ms - now_ms()};
      }
      default:  // not a tcpboot state
        return close_now();
    }
  }
}

}  // namespace otad
