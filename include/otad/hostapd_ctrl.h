// verify_mac = hostapd: besides the neighbour table, ask the access
// point's hostapd (its control socket, the one hostapd_cli uses) whether
// the station with this MAC authenticated over 802.1X with identity = this
// MAC. One query in flight at a time over one datagram socket, answers
// cached for a moment; never waits: a caller that gets Pending asks again.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "otad/mac.h"

namespace otad {

enum class StationCheck { Yes, No, Pending };

// Pure: hostapd's reply to "STA <mac>". Yes when it names this station
// and its 802.1X identity (dot1xAuthSessionUserName) is the MAC, in any of
// the spellings parse_mac takes; else No with the reason in why.
StationCheck parse_sta_reply(std::string_view reply, const Mac& mac, std::string* why);

class HostapdCtrl {
 public:
  explicit HostapdCtrl(std::string ctrl_path) : path_(std::move(ctrl_path)) {}
  ~HostapdCtrl();
  HostapdCtrl(const HostapdCtrl&) = delete;
  HostapdCtrl& operator=(const HostapdCtrl&) = delete;

  StationCheck check(const Mac& mac, int64_t now_ms, std::string* why);
  const std::string& path() const { return path_; }

  static constexpr size_t kSlots = 64;
  static constexpr int64_t kAnswerMs = 500, kKeepMs = 2000;

 private:
  struct Slot {
    Mac mac;
    StationCheck state = StationCheck::Pending;
    bool used = false, sent = false;
    int64_t at_ms = 0;  // asked (pending) or answered
    std::string why;
  };
  bool open_socket(std::string* why);
  void pump(int64_t now_ms);
  void send_next(int64_t now_ms);

  std::string path_, local_;
  int fd_ = -1;
  Slot slots_[kSlots];
  Slot* in_flight_ = nullptr;
};

}  // namespace otad
