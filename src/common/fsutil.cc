#include "otad/fsutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace otad {

static std::string errstr() { return strerror(errno); }

Result<std::string> read_file(const std::string& path, size_t max_bytes) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Err("cannot open: " + errstr());
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Err("not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    close(fd);
    return Err("file is " + std::to_string(st.st_size) + " bytes; the limit is " +
               std::to_string(max_bytes));
  }
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t r = read(fd, out.data() + got, out.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      std::string why = r < 0 ? errstr() : "file shrank while reading";
      close(fd);
      return Err("read failed: " + why);
    }
    got += static_cast<size_t>(r);
  }
  close(fd);
  return out;
}

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool file_exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

namespace {

// Temp files of writers killed before their rename (kill -9, power cut
// during a write): "<name>.tmp.<pid>" whose pid is gone. They may hold
// secrets, so they do not stay.
void remove_dead_temps(const std::string& path) {
  const std::string dir = dir_of(path);
  const std::string prefix = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1) + ".tmp.";
  DIR* d = opendir(dir.empty() ? "." : dir.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    const std::string_view name = e->d_name;
    if (name.substr(0, prefix.size()) != prefix || name.size() == prefix.size()) continue;
    const std::string_view digits = name.substr(prefix.size());
    if (digits.find_first_not_of("0123456789") != std::string_view::npos || digits.size() > 9) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(std::string(digits)));
    if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH) unlinkat(dirfd(d), e->d_name, 0);
  }
  closedir(d);
}

}  // namespace

Status write_file_atomic(const std::string& path, std::string_view data, unsigned mode) {
  remove_dead_temps(path);
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Err(tmp + ": cannot create: " + errstr());
  size_t put = 0;
  while (put < data.size()) {
    ssize_t w = write(fd, data.data() + put, data.size() - put);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      std::string why = errstr();
      close(fd);
      unlink(tmp.c_str());
      return Err(tmp + ": write failed: " + why);
    }
    put += static_cast<size_t>(w);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    std::string why = errstr();
    unlink(tmp.c_str());
    return Err(tmp + ": fsync failed: " + why);
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    std::string why = errstr();
    unlink(tmp.c_str());
    return Err(path + ": rename failed: " + why);
  }
  // The rename is durable only once the directory entry is.
  int dfd = open(dir_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return Ok();
}

Status make_dirs(const std::string& path) {
  if (path.empty()) return Ok();
  std::string cur;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    cur = path.substr(0, j);
    if (!cur.empty() && mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
      return Err(cur + ": cannot create directory: " + errstr());
    }
    i = j + 1;
  }
  return Ok();
}

}  // namespace otad
