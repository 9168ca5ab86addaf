#include "otad/event_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace otad {

EventLog::~EventLog() {
  if (fd_ >= 0) close(fd_);
}

void EventLog::configure(const std::string& path, uint64_t max_bytes, uint32_t keep) {
  max_bytes_ = max_bytes;
  keep_ = keep;
  if (path == path_ && fd_ >= 0) return;
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  path_ = path;
  size_ = 0;
}

void EventLog::rotate() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  // log.(keep) is dropped; log.(i) becomes log.(i+1); log becomes log.1.
  if (keep_ == 0) {
    unlink(path_.c_str());
  } else {
    for (uint32_t i = keep_; i >= 1; --i) {
      const std::string from = i == 1 ? path_ : path_ + "." + std::to_string(i - 1);
      rename(from.c_str(), (path_ + "." + std::to_string(i)).c_str());
    }
  }
  size_ = 0;
}

// A write failure is an error the first time, and again only after a write
// succeeded: a full disk is one log line, not one per event.
Status EventLog::failed(std::string why) {
  const bool first = !failing_;
  failing_ = true;
  if (first) return Err(std::move(why));
  return Ok();
}

Status EventLog::append(int64_t now, std::string_view body) {
  std::string line = "{\"seq\":" + std::to_string(++seq_) + ",\"t\":" + std::to_string(now) + "," +
                     std::string(body) + "}\n";
  if (ring_.empty()) return Ok();
  ring_[head_] = line;
  head_ = (head_ + 1) % ring_.size();
  if (count_ < ring_.size()) count_++;
  if (path_.empty()) return Ok();
  // Opened on first use (and after a rotation); a file already too full
  // for this line is rotated first.
  for (int pass = 0; pass < 2; ++pass) {
    if (fd_ < 0) {
      fd_ = open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
      if (fd_ < 0) return failed(path_ + ": " + strerror(errno));
      struct stat st;
      size_ = fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
    }
    if (!max_bytes_ || size_ == 0 || size_ + line.size() <= max_bytes_) break;
    rotate();
  }
  ssize_t n = write(fd_, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) {
    const int e = n < 0 ? errno : ENOSPC;
    // A torn line is cut off at once so the file stays whole lines.
    if (n > 0) ftruncate(fd_, static_cast<off_t>(size_));
    return failed(path_ + ": " + strerror(e) + " (events are kept in RAM only until a write succeeds)");
  }
  size_ += line.size();
  failing_ = false;
  return Ok();
}

std::vector<std::string> EventLog::since(uint64_t since, size_t max) const {
  std::vector<std::string> out;
  const uint64_t oldest = seq_ - count_ + 1;
  uint64_t from = since + 1 > oldest ? since + 1 : oldest;
  for (uint64_t s = from; s <= seq_ && out.size() < max; ++s) {
    const size_t back = static_cast<size_t>(seq_ - s);  // 0 = newest
    out.push_back(ring_[(head_ + ring_.size() - 1 - back) % ring_.size()]);
  }
  return out;
}

}  // namespace otad
