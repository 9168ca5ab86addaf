// Streaming an image range to a device: shared by every protocol driver.
#include <algorithm>

#include "core/conn.h"

namespace otad {

BodyStep stream_body(Conn& c, const Context& ctx) {
  // Fairness: one device gets at most this much per wake-up (nginx's
  // sendfile_max_chunk is 2 MiB); the socket buffer usually bounds it first.
  constexpr size_t kMaxBytesPerWake = 1024 * 1024;
  size_t budget = kMaxBytesPerWake;
  while (c.off < c.end && budget > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(c.end - c.off, budget));
    IoResult r = c.io->send_file(c, c.image->fd, c.off, n);
    if (r.st == Io::WantWrite) return {BodyStep::WaitWrite, nullptr};
    if (r.st == Io::WantRead) return {BodyStep::WaitRead, nullptr};
    if (r.st == Io::Eof) {
      // The file is shorter than the catalog verified: have it re-checked.
      *ctx.image_trouble = true;
      return {BodyStep::Failed, "image file shrank on disk"};
    }
    if (r.st != Io::Ok) return {BodyStep::Failed, c.io->error_text(r.err)};
    c.off += r.n;
    budget -= r.n;
    ctx.stats->bytes_sent += r.n;
  }
  return {c.off < c.end ? BodyStep::Yield : BodyStep::Done, nullptr};
}

}  // namespace otad
