#include "http/upload.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

namespace otad {

struct Upload {
  bool busy = false;
  int fd = -1;
  uint64_t expected = 0, received = 0;
  std::string path;
  UploadErr failed = UploadErr::None;
  std::string failure;
  Hasher hasher;
};

namespace {

std::unique_ptr<Upload[]> g_pool;
size_t g_slots = 0;
uint64_t g_serial = 0;

UploadErr io_error(int e, std::string* why, const char* what) {
  *why = std::string(what) + ": " + strerror(e);
  return e == ENOSPC || e == EDQUOT ? UploadErr::NoSpace : UploadErr::Io;
}

}  // namespace

void upload_pool_init(size_t slots) {
  g_pool = std::make_unique<Upload[]>(slots);
  g_slots = slots;
}

size_t upload_slots_free() {
  if (!g_pool) upload_pool_init(2);
  size_t n = 0;
  for (size_t i = 0; i < g_slots; ++i) n += !g_pool[i].busy;
  return n;
}

Upload* upload_begin(const std::string& dir, uint64_t expected, UploadErr* err, std::string* why) {
  if (!g_pool) upload_pool_init(2);
  Upload* u = nullptr;
  for (size_t i = 0; i < g_slots && !u; ++i) {
    if (!g_pool[i].busy) u = &g_pool[i];
  }
  if (!u) {
    *err = UploadErr::Busy;
    *why = "every upload slot is busy";
    return nullptr;
  }
  // A name of our own, not a guess: pid and a serial. A crash leaves it
  // behind unlisted, and the catalog never serves what its manifest does not name.
  u->path = dir + "/.upload-" + std::to_string(getpid()) + "-" + std::to_string(++g_serial) + ".tmp";
  u->fd = open(u->path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (u->fd < 0) {
    *err = io_error(errno, why, u->path.c_str());
    return nullptr;
  }
  // Claim the space up front where the filesystem can: a full disk is found
  // before the device has sent a byte, not after.
  if (expected > 0) {
    int r = posix_fallocate(u->fd, 0, static_cast<off_t>(expected));
    if (r == ENOSPC || r == EDQUOT) {
      *err = io_error(r, why, u->path.c_str());
      close(u->fd);
      unlink(u->path.c_str());
      return nullptr;
    }
  }
  u->busy = true;
  u->failed = UploadErr::None;
  u->failure.clear();
  u->expected = expected;
  u->received = 0;
  u->hasher.reset();
  *err = UploadErr::None;
  return u;
}

UploadErr upload_write(Upload* u, std::span<const uint8_t> data, std::string* why) {
  if (data.size() > u->expected - u->received) {
    *why = "more bytes than announced";
    return UploadErr::Io;
  }
  size_t done = 0;
  while (u->failed == UploadErr::None && done < data.size()) {
    ssize_t w = pwrite(u->fd, data.data() + done, data.size() - done, static_cast<off_t>(u->received + done));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) u->failed = io_error(errno, &u->failure, u->path.c_str());
    else done += static_cast<size_t>(w);
  }
  if (u->failed != UploadErr::None) {
    u->received += data.size();
    *why = u->failure;
    return u->failed;
  }
  u->hasher.update(data);
  u->received += data.size();
  return UploadErr::None;
}

UploadErr upload_failed(const Upload* u, std::string* why) {
  *why = u->failure;
  return u->failed;
}

uint64_t upload_received(const Upload* u) { return u->received; }
uint64_t upload_expected(const Upload* u) { return u->expected; }
const std::string& upload_path(const Upload* u) { return u->path; }
int upload_fd(const Upload* u) { return u->fd; }

Result<Digests> upload_finish(Upload* u) {
  if (u->failed != UploadErr::None) return Err(u->failure);
  if (u->received != u->expected) return Err("the upload is incomplete");
  if (ftruncate(u->fd, static_cast<off_t>(u->received)) != 0 || fsync(u->fd) != 0) {
    return Err(u->path + ": " + strerror(errno));
  }
  return u->hasher.finish();
}

void upload_end(Upload* u) {
  if (!u || !u->busy) return;
  if (u->fd >= 0) close(u->fd);
  u->fd = -1;
  unlink(u->path.c_str());  // ENOENT once committed (renamed away)
  u->busy = false;
}

}  // namespace otad
