// Streaming an image range to a device: shared by every protocol driver.
//
// Three rules make a body trustworthy:
// - the file is checked (fstat) against what the catalog verified before
//   every step, and a changed file cuts the body (image_fault: the reactor
//   has the catalog re-checked);
// - the last byte is held back until the device has acknowledged all the
//   others and the file is checked once more, so a file rewritten in place
//   can never yield a full-length body (sendfile reads the page cache when it
//   transmits, so bytes merely queued could still change);
// - the body is Done only when the kernel holds nothing more for the device
//   (SIOCOUTQ), not when the bytes are queued: "complete" means received.
// A device that takes less than [server] min_send_rate per second over
// send_rate_window is cut, so a barely-reading peer cannot hold a slot.
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "core/admission.h"
#include "core/conn.h"
#include "core/context.h"
#include "core/transfer.h"

namespace otad {
namespace {

constexpr int64_t kAckPollMaxMs = 20;  // a LAN acknowledges within a millisecond: ask soon, then back off
constexpr int64_t kAckStallMs = 60000;  // the last bytes unacknowledged this long: the device is gone

// Bytes the kernel still holds for the peer (unsent or unacknowledged); -1
// once the connection is closed (a reset purges the queue, which must not
// read as "all acknowledged"). Where the socket cannot say (qemu-user has no
// SIOCOUTQ), 0: the bytes written are taken as delivered, as before.
int64_t unacked_bytes(int fd) {
  int n = 0;
  if (ioctl(fd, SIOCOUTQ, &n) != 0) return 0;
  tcp_info ti{};
  socklen_t len = sizeof ti;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 && ti.tcpi_state == TCP_CLOSE) return -1;
  return n;
}

BodyStep failed(const char* why, bool fault = false) { return {BodyStep::Failed, why, fault, 0}; }

// The min_send_rate floor over its window, on bytes the device acknowledged.
const char* too_slow(Conn& c, const Context& ctx, int64_t now, int64_t unacked) {
  const int64_t floor = ctx.cfg->min_send_rate, window_ms = ctx.cfg->send_rate_window * 1000;
  Body& b = c.body;
  const uint64_t acked = b.sent > static_cast<uint64_t>(std::max<int64_t>(unacked, 0))
                             ? b.sent - static_cast<uint64_t>(std::max<int64_t>(unacked, 0)) : 0;
  if (floor <= 0) return nullptr;
  if (!b.rate_since_ms) {
    b.rate_since_ms = now;
    b.rate_base = acked;
    return nullptr;
  }
  if (now - b.rate_since_ms < window_ms) return nullptr;
  const uint64_t got = acked > b.rate_base ? acked - b.rate_base : 0;
  if (got * 1000 < static_cast<uint64_t>(floor) * static_cast<uint64_t>(now - b.rate_since_ms)) {
    static char why[128];
    snprintf(why, sizeof why, "the device took %llu bytes in %lld s, under min_send_rate (%lld bytes/s)",
             static_cast<unsigned long long>(got), static_cast<long long>((now - b.rate_since_ms) / 1000),
             static_cast<long long>(floor));
    return why;
  }
  b.rate_since_ms = now;
  b.rate_base = acked;
  return nullptr;
}

// When a blocked body must wake up to check the rate floor even if the
// socket never becomes writable (0: no floor).
int64_t rate_check_in(const Conn& c, const Context& ctx, int64_t now) {
  if (ctx.cfg->min_send_rate <= 0 || !c.body.rate_since_ms) return 0;
  return std::max<int64_t>(c.body.rate_since_ms + ctx.cfg->send_rate_window * 1000 - now, 1);
}

// Waiting for the device to acknowledge what the kernel holds: Pace until it
// has, Failed if the connection died first or acknowledgements stopped.
BodyStep await_acks(Conn& c, int64_t now, int64_t unacked, bool* all_acked) {
  Body& b = c.body;
  *all_acked = false;
  if (unacked < 0) {
    static char why[96];
    snprintf(why, sizeof why, "the connection closed with %lld bytes unacknowledged", static_cast<long long>(b.unacked));
    return failed(why);
  }
  if (unacked < b.unacked) c.progress_ms = now;  // acknowledgements are progress
  b.unacked = unacked;
  if (unacked == 0) {
    *all_acked = true;
    return {BodyStep::Done, nullptr, false, 0};
  }
  if (now - c.progress_ms >= kAckStallMs) {
    static char why[96];
    snprintf(why, sizeof why, "aborted with %lld bytes unacknowledged", static_cast<long long>(unacked));
    return failed(why);
  }
  return {BodyStep::Pace, nullptr, false, std::clamp<int64_t>((now - c.progress_ms) / 4, 1, kAckPollMaxMs)};
}

}  // namespace

BodyStep stream_body(Conn& c, const Context& ctx) {
  // Fairness: one device gets at most this much per wake-up (nginx's
  // sendfile_max_chunk is 2 MiB); the socket buffer usually bounds it first.
  constexpr size_t kMaxBytesPerWake = 1024 * 1024;
  Body& b = c.body;
  Pacer& pacer = ctx.transfers->pacer();
  const int64_t now = now_ms();
  if (const char* changed = image_file_change(*b.image)) return failed(changed, true);
  const int64_t unacked = unacked_bytes(c.fd);
  if (const char* slow = too_slow(c, ctx, now, unacked)) return failed(slow);
  // An in-memory body (the admin API's JSON) cannot change and is the
  // operator's: written is enough.
  const bool needs_ack = b.image->catalog_file;
  const uint64_t hold = needs_ack && b.end > b.off ? b.end - 1 : b.end;  // the held-back last byte
  size_t budget = kMaxBytesPerWake;
  while (b.off < hold && budget > 0) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(hold - b.off, budget));
    int64_t wait_ms = 0;
    // The shared bandwidth cap: what the bucket allows now, or a wait.
    n = pacer.take(n, now, &wait_ms);
    if (n == 0) return {BodyStep::Pace, nullptr, false, wait_ms};
    IoResult r = c.io->send_file(c, b.image->fd, b.off, n);
    pacer.give_back(r.st == Io::Ok ? n - r.n : n);
    if (r.st == Io::WantWrite) return {BodyStep::WaitWrite, nullptr, false, rate_check_in(c, ctx, now)};
    if (r.st == Io::WantRead) return {BodyStep::WaitRead, nullptr, false, rate_check_in(c, ctx, now)};
    // The file is shorter than the catalog verified: have it re-checked.
    if (r.st == Io::Eof) return failed("image file shrank on disk", true);
    if (r.st != Io::Ok) return failed(c.io->error_text(r.err));
    b.off += r.n;
    b.sent += r.n;
    budget -= r.n;
    if (r.n) c.progress_ms = now;
  }
  if (b.off < hold) return {BodyStep::Yield, nullptr, false, 0};
  // The kernel's queue as of now: asked again only if this step added to it
  // (while the device acknowledges, a step sends nothing and asks once).
  int64_t queued = budget < kMaxBytesPerWake ? unacked_bytes(c.fd) : unacked;
  bool all_acked;
  if (b.off < b.end) {
    // Everything but the last byte is out: once the device has it all, and
    // the file is still the one verified, the last byte follows from memory.
    BodyStep w = await_acks(c, now, queued, &all_acked);
    if (!all_acked) return w;
    if (const char* changed = image_file_change(*b.image)) return failed(changed, true);
    uint8_t last;
    if (pread(b.image->fd, &last, 1, static_cast<off_t>(b.off)) != 1) return failed("image file shrank on disk", true);
    IoResult r = c.io->write(c, &last, 1, false);
    if (r.st == Io::WantWrite) return {BodyStep::WaitWrite, nullptr, false, 0};
    if (r.st == Io::WantRead) return {BodyStep::WaitRead, nullptr, false, 0};
    if (r.st != Io::Ok || r.n != 1) return failed(r.st == Io::Ok ? "short write" : c.io->error_text(r.err));
    b.off++;
    b.sent++;
    c.progress_ms = now;
    b.unacked = queued = unacked_bytes(c.fd);
  }
  if (!needs_ack) return {BodyStep::Done, nullptr, false, 0};
  return await_acks(c, now, queued, &all_acked);
}

}  // namespace otad
