// Plain TCP transport: recv/send/sendfile on the non-blocking socket.
#include <ctime>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cstring>

#include "core/conn.h"
#include "core/transport.h"

namespace otad {
namespace {

// The one place errno is folded into Io.
IoResult fold(ssize_t r, Io would_block) {
  if (r > 0) return {Io::Ok, static_cast<size_t>(r), 0};
  if (r == 0) return {Io::Eof, 0, 0};
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return {would_block, 0, 0};
  return {Io::Error, 0, errno};
}

struct Plain final : Transport {
  IoResult read(Conn& c, uint8_t* buf, size_t n) override {
    return fold(recv(c.fd, buf, n, 0), Io::WantRead);
  }
  IoResult write(Conn& c, const uint8_t* buf, size_t n, bool more) override {
    return fold(send(c.fd, buf, n, MSG_NOSIGNAL | (more ? MSG_MORE : 0)), Io::WantWrite);
  }
  IoResult send_file(Conn& c, int file_fd, uint64_t off, size_t n) override {
    off_t o = static_cast<off_t>(off);
    ssize_t r = sendfile(c.fd, file_fd, &o, n);
    // sendfile returning 0 means the file ended early, not that the peer left.
    if (r == 0 && n > 0) return {Io::Eof, 0, 0};
    return fold(r, Io::WantWrite);
  }
  void shutdown_write(Conn& c) override { shutdown(c.fd, SHUT_WR); }
  const char* error_text(int err) override { return strerror(err); }
};

}  // namespace

Transport& plain_transport() {
  static Plain p;
  return p;
}

int64_t now_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

int64_t wall_s() { return static_cast<int64_t>(time(nullptr)); }

}  // namespace otad
