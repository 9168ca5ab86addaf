// tcpboot connection driver: read the 12-character MAC, decide, reply
// u32le size | SHA-1 | image by sendfile, then linger until the device
// closes (closing first with unread bytes would reset the connection and
// could destroy the image's tail in flight).
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/context.h"
#include "otad/tcpboot.h"
#include "proto/protocols.h"

namespace otad {
namespace {

constexpr int64_t kLingerMs = 5000;
constexpr int64_t kVerifyMs = 1000;  // longest wait for hostapd's answer

struct Tcpboot {
  enum class St : uint8_t {
    ReadMac,     // waiting for the 12-character MAC
    SendHeader,  // size + SHA-1 reply partly sent
    SendBody,    // image streaming
    Linger,      // all sent, FIN sent: waiting for the device to close
    Hold,        // refused: held open, silent, until hold_refused runs out
    Wait,        // decided, waiting in line for a download slot (max_downloads)
    Verify,      // waiting for hostapd to say who the station logged in as
  } st;
  bool verified;  // the MAC passed verify_mac (a rollout wait decides again, it does not re-verify)
  bool queued;  // in the admission queue
  bool rollout_wait;  // waiting for the rollout's max_concurrent, decided again each second
  bool held;  // counted in g_held
  MacReader rd;
  uint8_t hdr[kTcpbootHeaderLen];
  uint8_t hdr_sent;
};

Tcpboot& tb(Conn& c) { return proto_state<Tcpboot>(c); }

// Refused devices held open right now, against [tcpboot] hold_max.
uint32_t g_held = 0;

void unhold(Tcpboot& t) {
  if (t.held) g_held--;
  t.held = false;
}

// The connection's one record, then close (or reset).
Next end(Conn& c, const Context& ctx, Outcome o, const char* what, const char* tail = "",
         bool image_fault = false) {
  ctx.transfers->end(c, {.outcome = o, .image = c.body.image.get(), .bytes = c.body.sent,
                         .started_ms = c.started_ms, .what = what, .tail = tail, .image_fault = image_fault});
  return {o == Outcome::Aborted ? Want::Reset : Want::Close, 0};
}

Next abort_transfer(Conn& c, const Context& ctx, const char* why, bool image_fault = false) {
  char what[200];
  snprintf(what, sizeof what, "aborted after %llu of %llu bytes: %s", static_cast<unsigned long long>(c.body.off),
           static_cast<unsigned long long>(c.body.end), why);
  return end(c, ctx, Outcome::Aborted, what, "", image_fault);
}

// Logged when the device closes after the image (or cannot be waited for):
// the time then is the device's download time, not the kernel's queueing.
Next complete(Conn& c, const Context& ctx, const char* how) {
  char what[64];
  snprintf(what, sizeof what, "complete: %llu bytes", static_cast<unsigned long long>(c.body.end));
  return end(c, ctx, Outcome::Served, what, how);
}

Next bad(Conn& c, const Context& ctx, const char* fmt_what) { return end(c, ctx, Outcome::BadRequest, fmt_what); }

const char* io_reason(const Conn& c, const IoResult& r) {
  if (r.st == Io::Eof) return "device closed the connection";
  return c.io->error_text(r.err);
}

// The image is chosen (c.body): send it if admission allows, else wait in
// line, held open. The bootloader waits in read() without a timeout, and a
// close would make it erase its partition and reboot.
Next admit_and_send(Conn& c, const Context& ctx, const char* why) {
  Tcpboot& t = tb(c);
  Admission& adm = ctx.transfers->admission();
  if (t.queued && adm.first_waiting() != &c) return {Want::Read, 1000};  // not its turn yet
  const Admission::Verdict v = ctx.transfers->admit(c, c.mac, true, c.body.image->m.sha256);
  if (v != Admission::Verdict::Admitted) {
    if (!t.queued) {
      adm.enqueue(&c);
      t.queued = true;
      CONN_LOG(LogLevel::Info, c, "waiting for a download slot (%u in flight, max_downloads %u)", adm.in_use(now_ms()),
               adm.max());
    }
    t.st = Tcpboot::St::Wait;
    return {Want::Read, 1000};  // and again each second, in case no download ends
  }
  if (t.queued) adm.dequeue(&c);
  t.queued = false;
  ctx.transfers->download_started(c);
  const Image& img = *c.body.image;
  t.hdr_sent = 0;
  tcpboot_header(static_cast<uint32_t>(c.body.end), img.sha1, t.hdr);
  t.st = Tcpboot::St::SendHeader;
  CONN_LOG(LogLevel::Info, c, "serving %s %s (%llu bytes, sha1 %.12s) [%s]", img.m.platform.c_str(),
           img.m.version.c_str(), static_cast<unsigned long long>(c.body.end), img.m.sha1.c_str(), why);
  return {Want::Write, 0};
}

// A refused device: recorded now, once, and held open without a reply
// (a close makes the bootloader erase and reboot) until the hold runs out,
// unless hold_max devices are held already.
Next refuse(Conn& c, const Context& ctx, const char* what) {
  Tcpboot& t = tb(c);
  if (ctx.cfg->tcpboot_hold_refused > 0 && g_held < static_cast<uint32_t>(ctx.cfg->tcpboot_hold_max)) {
    char tail[160];
    snprintf(tail, sizeof tail, "; held open for %lld s without a reply (a close makes the bootloader erase and reboot)",
             static_cast<long long>(ctx.cfg->tcpboot_hold_refused));
    ctx.transfers->end(c, {.outcome = Outcome::Refused, .started_ms = c.started_ms, .what = what, .tail = tail});
    t.st = Tcpboot::St::Hold;
    t.held = true;
    g_held++;
    conn_awaits(c, true, now_ms());  // a courtesy: evictable when room is short
    c.deadline_ms = c.progress_ms + ctx.cfg->tcpboot_hold_refused * 1000;
    return {Want::Read, ctx.cfg->tcpboot_hold_refused * 1000};
  }
  return end(c, ctx, Outcome::Refused, what, "; closed without a reply");
}

Next on_mac(Conn& c, const Context& ctx) {
  Tcpboot& t = tb(c);
  const Mac mac = mac_reader_mac(t.rd);
  memcpy(c.mac, mac.str().c_str(), sizeof c.mac);
  if (t.st == Tcpboot::St::ReadMac) conn_awaits(c, false, now_ms());
  DeviceReport rep;
  rep.mac = mac;
  rep.ask = Ask::Boot;
  rep.family = ChipFamily::Esp32;  // the network bootloader runs on ESP32-family chips only
  if (c.verify_link && !t.verified) {
    // Refused like any refusal (held: a close makes the bootloader erase
    // and reboot), before the fleet hears of the claim.
    char why[224], what[280];
    if (!ctx.ops->mac_proven_by_link(c, mac, why, sizeof why)) {
      snprintf(what, sizeof what, "refused: MAC not proven by the link layer: %s", why);
      return refuse(c, ctx, what);
    }
    const StationCheck s = c.verify_station ? ctx.ops->station_check(mac, why, sizeof why) : StationCheck::Yes;
    if (s == StationCheck::Pending && !(t.st == Tcpboot::St::Verify && now_ms() >= c.deadline_ms)) {
      if (t.st != Tcpboot::St::Verify) c.deadline_ms = now_ms() + kVerifyMs;
      t.st = Tcpboot::St::Verify;
      return {Want::Timer, 20};
    }
    if (s != StationCheck::Yes) {
      snprintf(what, sizeof what, "refused: MAC not proven by the Wi-Fi login: %s",
               s == StationCheck::Pending ? "hostapd did not answer in time" : why);
      return refuse(c, ctx, what);
    }
    t.verified = true;
  }
  const Decision d = decide_for(c, ctx, rep);
  if (d.kind == Decision::Busy) {
    // Held open like any wait (a close makes the bootloader erase and
    // reboot), and decided again each second.
    if (!t.rollout_wait) {
      CONN_LOG(LogLevel::Info, c, "waiting: %s (%s %s)", d.why, d.image->m.platform.c_str(),
               d.image->m.version.c_str());
    }
    t.rollout_wait = true;
    t.st = Tcpboot::St::Wait;
    return {Want::Read, 1000};
  }
  t.rollout_wait = false;
  if (d.kind != Decision::Serve) {
    char what[128];
    snprintf(what, sizeof what, "%s: %s", d.status == 404 ? "no image" : "refused", d.why);
    return refuse(c, ctx, what);
  }
  c.body = {d.image, 0, d.image->m.size, 0};
  return admit_and_send(c, ctx, d.why);
}

size_t no_buffer(const Context&) { return 0; }

void start(Conn& c, const Context& ctx) {
  Tcpboot& t = proto_state_make<Tcpboot>(c);
  t.st = Tcpboot::St::ReadMac;
  conn_awaits(c, true, now_ms());
  c.deadline_ms = c.progress_ms + ctx.cfg->tcpboot_read_timeout * 1000;
  CONN_LOG(LogLevel::Debug, c, "connected (%u active)", ctx.stats().active);
}

Next drive(Conn& c, const Context& ctx, bool timed_out) {
  Tcpboot& t = tb(c);
  const int64_t send_timeout_ms = ctx.cfg->tcpboot_send_timeout * 1000;
  for (;;) {
    switch (t.st) {
      case Tcpboot::St::ReadMac: {
        char what[200];
        if (timed_out || now_ms() >= c.deadline_ms) {
          snprintf(what, sizeof what, "closed: MAC not received within %lld s (%u of 12 bytes)",
                   static_cast<long long>(ctx.cfg->tcpboot_read_timeout), t.rd.len);
          return bad(c, ctx, what);
        }
        uint8_t buf[kTcpbootMacLen];
        IoResult r = c.io->read(c, buf, kTcpbootMacLen - t.rd.len);
        if (r.st == Io::WantRead || r.st == Io::WantWrite) {
          return {r.st == Io::WantRead ? Want::Read : Want::Write, c.deadline_ms - now_ms()};
        }
        if (r.st != Io::Ok) {
          snprintf(what, sizeof what, "closed before sending a whole MAC (%u of 12 bytes): %s", t.rd.len,
                   io_reason(c, r));
          return bad(c, ctx, what);
        }
        MacFeed f = mac_feed(t.rd, buf, r.n);
        if (f == MacFeed::Invalid) {
          uint8_t head[kTcpbootMacLen + 16];
          const size_t kept = t.rd.len, more = std::min(r.n, sizeof head - kept);
          memcpy(head, t.rd.buf, kept);
          memcpy(head + kept, buf, more);
          snprintf(what, sizeof what, "closed: %s", tcpboot_misfit(head, kept + more));
          return bad(c, ctx, what);
        }
        if (f == MacFeed::Done) {
          Next n = on_mac(c, ctx);
          if (n.want == Want::Close || t.st == Tcpboot::St::Hold || t.st == Tcpboot::St::Wait ||
              t.st == Tcpboot::St::Verify) {
            return n;
          }
        }
        break;
      }
      case Tcpboot::St::Verify: {
        Next n = on_mac(c, ctx);
        if (n.want == Want::Close || t.st == Tcpboot::St::Hold || t.st == Tcpboot::St::Wait ||
            t.st == Tcpboot::St::Verify) {
          return n;
        }
        timed_out = false;  // the poll's timer, not a send timeout
        break;
      }
      case Tcpboot::St::SendHeader: {
        if (timed_out) return abort_transfer(c, ctx, "send timeout before the header was out");
        IoResult r = c.io->write(c, t.hdr + t.hdr_sent, kTcpbootHeaderLen - t.hdr_sent, true);
        if (r.st == Io::WantWrite || r.st == Io::WantRead) {
          return {r.st == Io::WantWrite ? Want::Write : Want::Read, send_timeout_ms};
        }
        if (r.st != Io::Ok) return abort_transfer(c, ctx, io_reason(c, r));
        t.hdr_sent = static_cast<uint8_t>(t.hdr_sent + r.n);
        if (t.hdr_sent == kTcpbootHeaderLen) t.st = Tcpboot::St::SendBody;
        break;
      }
      case Tcpboot::St::SendBody: {
        // A wake-up for the rate check is a timeout too; only real silence aborts.
        if (timed_out && now_ms() - c.progress_ms >= send_timeout_ms) {
          return abort_transfer(c, ctx, "no progress within send_timeout");
        }
        BodyStep b = stream_body(c, ctx);
        if (b.kind == BodyStep::Failed) return abort_transfer(c, ctx, b.why, b.image_fault);
        if (b.kind == BodyStep::WaitRead) return {Want::Read, body_wait(b, send_timeout_ms)};
        if (b.kind == BodyStep::Pace) return {Want::Timer, b.wait_ms};
        if (b.kind != BodyStep::Done) return {Want::Write, body_wait(b, send_timeout_ms)};  // blocked, or yielding
        c.io->shutdown_write(c);
        if (ctx.draining) return complete(c, ctx, "; sent; closing at once (shutting down)");
        t.st = Tcpboot::St::Linger;
        c.deadline_ms = now_ms() + kLingerMs;
        break;
      }
      case Tcpboot::St::Wait: {
        // Bytes after the MAC are dropped; a device that leaves leaves the line.
        uint8_t sink[64];
        IoResult r = c.io->read(c, sink, sizeof sink);
        if (r.st == Io::Eof || r.st == Io::Error) {
          ctx.transfers->admission().dequeue(&c);
          t.queued = false;
          return end(c, ctx, Outcome::Closed, "left while waiting for a download slot");
        }
        Next n = t.rollout_wait ? on_mac(c, ctx) : admit_and_send(c, ctx, "waited for a download slot");
        if (n.want == Want::Close || t.st == Tcpboot::St::Hold) return n;
        if (t.st == Tcpboot::St::Wait) return n;
        timed_out = false;  // that was the wait's timer, not a send timeout
        break;
      }
      case Tcpboot::St::Hold: {
        // Silent until the hold runs out or the device leaves; what it sends is dropped.
        if (timed_out || ctx.draining || now_ms() >= c.deadline_ms) {
          unhold(t);
          return {Want::Close, 0};
        }
        uint8_t sink[64];
        IoResult r = c.io->read(c, sink, sizeof sink);
        if (r.st == Io::WantRead || r.st == Io::Ok) return {Want::Read, c.deadline_ms - now_ms()};
        unhold(t);
        return {Want::Close, 0};
      }
      case Tcpboot::St::Linger: {
        if (timed_out) return complete(c, ctx, "; sent; the device did not close within 5 s");
        if (ctx.draining) return complete(c, ctx, "; sent; closing at once (shutting down)");
        uint8_t sink[64];
        IoResult r = c.io->read(c, sink, sizeof sink);
        if (r.st == Io::WantRead) return {Want::Read, c.deadline_ms - now_ms()};
        if (r.st == Io::Eof) return complete(c, ctx, "; the device received it and closed");
        // A reset now means the device gave up with bytes still in flight.
        if (r.st == Io::Error) return abort_transfer(c, ctx, "device reset the connection before the end");
        // Discard what a device sent after its MAC; one read per wake-up.
        return {Want::Read, c.deadline_ms - now_ms()};
      }
    }
  }
}

// A tcpboot device is idle only while held after a refusal: until its MAC
// is in it is waiting to be served, and after that it is being served.
bool idle(const Conn& c) { return proto_state<Tcpboot>(c).st == Tcpboot::St::Hold; }

}  // namespace

void release(Conn& c, const Context& ctx) {
  Tcpboot& t = tb(c);
  unhold(t);
  if (t.queued) ctx.transfers->admission().dequeue(&c);
  t.queued = false;
}

const Protocol kTcpbootProtocol = {"tcpboot", no_buffer, start, drive, idle, release};

}  // namespace otad
