// Streaming an image range to a device: shared by every protocol driver.
#include <algorithm>

#include "core/admission.h"
#include "core/conn.h"

namespace otad {

BodyStep stream_body(Conn& c, Pacer& pacer) {
  // Fairness: one device gets at most this much per wake-up (nginx's
  // sendfile_max_chunk is 2 MiB); the socket buffer usually bounds it first.
  constexpr size_t kMaxBytesPerWake = 1024 * 1024;
  Body& b = c.body;
  size_t budget = kMaxBytesPerWake;
  while (b.off < b.end && budget > 0) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(b.end - b.off, budget));
    int64_t wait_ms = 0;
    // The shared bandwidth cap: what the bucket allows now, or a wait.
    n = pacer.take(n, now_ms(), &wait_ms);
    if (n == 0) return {BodyStep::Pace, nullptr, false, wait_ms};
    IoResult r = c.io->send_file(c, b.image->fd, b.off, n);
    pacer.give_back(r.st == Io::Ok ? n - r.n : n);
    if (r.st == Io::WantWrite) return {BodyStep::WaitWrite, nullptr, false, 0};
    if (r.st == Io::WantRead) return {BodyStep::WaitRead, nullptr, false, 0};
    // The file is shorter than the catalog verified: have it re-checked.
    if (r.st == Io::Eof) return {BodyStep::Failed, "image file shrank on disk", true, 0};
    if (r.st != Io::Ok) return {BodyStep::Failed, c.io->error_text(r.err), false, 0};
    b.off += r.n;
    b.sent += r.n;
    if (r.n) c.progress_ms = now_ms();
    budget -= r.n;
  }
  return {b.off < b.end ? BodyStep::Yield : BodyStep::Done, nullptr, false, 0};
}

}  // namespace otad
