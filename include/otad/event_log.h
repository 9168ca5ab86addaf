// The event log: one JSON line per transfer record and per decision that
// refuses or halts, appended to [state] event_log and rotated by size
// (event_log_size, event_log_keep). The newest events are also kept in a
// fixed ring in RAM, numbered, for GET /api/events?since=N.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "otad/result.h"

namespace otad {

class EventLog {
 public:
  explicit EventLog(size_t ring = 512) : ring_(ring) {}
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;
  // path "" keeps events in RAM only.
  void configure(const std::string& path, uint64_t max_bytes, uint32_t keep);
  void set_seq(uint64_t seq) { seq_ = seq; }
  uint64_t seq() const { return seq_; }
  // body: the event's JSON members without braces ("\"ev\":\"halt\",...");
  // seq and time are put first. A write that fails (disk full) is an
  // error the first time, and again only after one succeeded.
  Status append(int64_t now, std::string_view body);
  // Events numbered above since, oldest first, at most max (JSON lines).
  std::vector<std::string> since(uint64_t since, size_t max) const;

 private:
  void rotate();
  Status failed(std::string why);
  std::vector<std::string> ring_;
  size_t head_ = 0, count_ = 0;
  uint64_t seq_ = 0;
  std::string path_;
  uint64_t max_bytes_ = 0, size_ = 0;
  uint32_t keep_ = 0;
  int fd_ = -1;
  bool failing_ = false;
};

}  // namespace otad
