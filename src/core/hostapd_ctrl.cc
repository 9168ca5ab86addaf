#include "otad/hostapd_ctrl.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace otad {
namespace {

std::string colon_mac(const Mac& m) {
  char s[18];
  snprintf(s, sizeof s, "%02x:%02x:%02x:%02x:%02x:%02x", m.b[0], m.b[1], m.b[2], m.b[3], m.b[4], m.b[5]);
  return s;
}

}  // namespace

StationCheck parse_sta_reply(std::string_view reply, const Mac& mac, std::string* why) {
  const std::string want = colon_mac(mac);
  if (reply.substr(0, 4) == "FAIL" || reply.empty()) {
    *why = "hostapd has no station " + want;
    return StationCheck::No;
  }
  bool first = true, named = false;
  std::string_view identity;
  bool have_identity = false;
  while (!reply.empty()) {
    const size_t nl = reply.find('\n');
    std::string_view line = reply.substr(0, nl);
    reply = nl == std::string_view::npos ? std::string_view{} : reply.substr(nl + 1);
    if (first) {
      auto m = parse_mac(line);
      named = m && *m == mac;
      first = false;
      continue;
    }
    constexpr std::string_view kUser = "dot1xAuthSessionUserName=";
    if (line.substr(0, kUser.size()) == kUser) {
      identity = line.substr(kUser.size());
      have_identity = true;
    }
  }
  if (!named) {
    *why = "hostapd answered for another station than " + want;
    return StationCheck::No;
  }
  if (!have_identity || identity.empty()) {
    *why = "station " + want + " has no 802.1X identity at hostapd (not a WPA2-Enterprise login)";
    return StationCheck::No;
  }
  auto id = parse_mac(identity);
  if (!id || *id != mac) {
    std::string shown(identity.substr(0, 64));
    for (char& ch : shown) {
      if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e) ch = '?';
    }
    *why = "station " + want + " logged in to the Wi-Fi as '" + shown + "', not as its MAC";
    return StationCheck::No;
  }
  return StationCheck::Yes;
}

HostapdCtrl::~HostapdCtrl() {
  if (fd_ >= 0) close(fd_);
  if (!local_.empty()) unlink(local_.c_str());
}

bool HostapdCtrl::open_socket(std::string* why) {
  if (fd_ >= 0) return true;
  sockaddr_un to{}, me{};
  if (path_.size() >= sizeof to.sun_path) {
    *why = "[wpa2] hostapd_ctrl is too long for a socket path";
    return false;
  }
  fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) {
    *why = std::string("cannot open a socket for hostapd: ") + strerror(errno);
    return false;
  }
  // hostapd answers to the address the query came from: bind one.
  static unsigned n = 0;
  local_ = "/tmp/otad-" + std::to_string(getpid()) + "-hostapd-" + std::to_string(n++);
  unlink(local_.c_str());
  me.sun_family = to.sun_family = AF_UNIX;
  snprintf(me.sun_path, sizeof me.sun_path, "%s", local_.c_str());
  snprintf(to.sun_path, sizeof to.sun_path, "%s", path_.c_str());
  if (bind(fd_, reinterpret_cast<sockaddr*>(&me), sizeof me) != 0 ||
      connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    *why = "cannot reach hostapd's control socket " + path_ + ": " + strerror(errno);
    close(fd_);
    fd_ = -1;
    unlink(local_.c_str());
    local_.clear();
    return false;
  }
  return true;
}

void HostapdCtrl::pump(int64_t now_ms) {
  char buf[4096];
  for (;;) {
    const ssize_t r = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (r < 0) break;
    if (!in_flight_) continue;  // a late answer to a query given up on
    std::string why;
    in_flight_->state = parse_sta_reply(std::string_view(buf, static_cast<size_t>(r)), in_flight_->mac, &why);
    in_flight_->why = why;
    in_flight_->at_ms = now_ms;
    in_flight_ = nullptr;
  }
  if (in_flight_ && now_ms - in_flight_->at_ms >= kAnswerMs) {
    in_flight_->state = StationCheck::No;
    in_flight_->why = "hostapd did not answer within 0.5 s (" + path_ + ")";
    in_flight_->at_ms = now_ms;
    in_flight_ = nullptr;
  }
  send_next(now_ms);
}

void HostapdCtrl::send_next(int64_t now_ms) {
  if (in_flight_) return;
  for (Slot& s : slots_) {
    if (!s.used || s.sent || s.state != StationCheck::Pending) continue;
    const std::string q = "STA " + colon_mac(s.mac);
    s.sent = true;
    s.at_ms = now_ms;
    if (send(fd_, q.data(), q.size(), MSG_DONTWAIT) < 0) {
      s.state = StationCheck::No;
      s.why = "cannot ask hostapd (" + path_ + "): " + strerror(errno);
      continue;
    }
    in_flight_ = &s;
    return;
  }
}

StationCheck HostapdCtrl::check(const Mac& mac, int64_t now_ms, std::string* why) {
  if (!open_socket(why)) return StationCheck::No;
  pump(now_ms);
  Slot* found = nullptr;
  Slot* oldest = &slots_[0];
  for (Slot& s : slots_) {
    if (s.used && s.mac == mac) found = &s;
    if (!s.used || (oldest->used && s.at_ms < oldest->at_ms && &s != in_flight_)) oldest = &s;
  }
  if (found && found->state != StationCheck::Pending && now_ms - found->at_ms >= kKeepMs) {
    if (found != in_flight_) *found = Slot{};  // stale: ask again
    found = nullptr;
  }
  if (!found) {
    if (oldest == in_flight_) {
      *why = "too many stations being checked at once";
      return StationCheck::Pending;
    }
    *oldest = Slot{};
    oldest->used = true;
    oldest->mac = mac;
    oldest->at_ms = now_ms;
    found = oldest;
    send_next(now_ms);
  }
  *why = found->why;
  return found->state;
}

}  // namespace otad
