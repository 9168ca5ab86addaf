// One record per request or transfer, however it ended, handed to one
// function: it writes the request's one log line and keeps the counters.
// Device state, the event log and metrics plug in here.
#pragma once
#include <cstdint>

#include <memory>

#include "core/admission.h"
#include "core/conn.h"
#include "core/peers.h"
#include "otad/fleet.h"

namespace otad {

enum class Outcome : uint8_t {
  Served,      // the whole body reached the device
  Answered,    // an answer without a body to count (no update, not modified, 404)
  Refused,     // the device was turned away (401, 403; tcpboot: no image for it)
  Busy,        // asked to come back later (503 and Retry-After: admission control)
  BadRequest,  // malformed, misdirected or timed out before a request was whole
  Aborted,     // cut short after the answer began
  Closed,      // the device left before asking anything complete
};

const char* outcome_name(Outcome o);

struct Transfer {
  Outcome outcome;
  int status = 0;               // HTTP status; 0 where the protocol has none
  const Image* image = nullptr;  // what was (being) sent
  uint64_t bytes = 0;           // body bytes sent
  int64_t started_ms = 0;
  const char* what = "";        // the protocol's words: "GET /update -> 200: serving demo 1.2.0"
  const char* tail = "";        // after the duration: "; the device received it and closed"
  bool image_fault = false;     // the image file is not what the catalog verified
  PeerEvent kind = PeerEvent::Failed;  // how a failure's line is aggregated per address
};

struct Stats {
  uint64_t accepted = 0, served = 0, aborted = 0, refused = 0, bad_requests = 0, busy = 0;
  // Fairness: connections closed at accept (over an address's cap, or its
  // authentication back-off), evicted to make room, failed authentications.
  uint64_t over_cap = 0, evicted = 0, auth_failures = 0;
  uint64_t bytes_sent = 0;
  uint32_t active = 0, peak_active = 0;
  uint32_t peak_downloads = 0;  // image bodies in flight at once, at most
};

class TransferLog {
 public:
  // Sizes the admission table for every slot of the slab, once.
  void init(size_t slots) { admission_ = std::make_unique<Admission>(slots + 16); }
  // Where each record also goes: device state and the event log.
  void set_fleet(Fleet* f) { fleet_ = f; }
  // Where failures' lines are aggregated per address.
  void set_peers(Peers* p) { peers_ = p; }
  Admission& admission() { return *admission_; }
  Pacer& pacer() { return pacer_; }
  // Admits c's coming body of image sha for `who`; the ticket goes with the
  // body and is given back when it ends (download_gone).
  Admission::Verdict admit(Conn& c, std::string_view who, bool is_device, std::string_view sha);
  // Set when an admission was given back while devices wait for one: the
  // reactor wakes the first of them.
  bool take_wake() {
    bool w = wake_;
    wake_ = false;
    return w;
  }
  // The one log line "<what> in <seconds> s<tail>" and the counters.
  void end(Conn& c, const Transfer& t);
  // An image body starts on its way to a device (a download in flight until
  // its record, or until its slot frees).
  void download_started(Conn& c);
  void download_gone(Conn& c);
  uint32_t downloads() const { return downloads_; }
  Stats& stats() { return stats_; }
  const Stats& stats() const { return stats_; }
  // Set when a transfer found its image file changed; the reactor re-checks
  // the catalog and clears it.
  bool take_image_fault() {
    bool f = image_fault_;
    image_fault_ = false;
    return f;
  }

 private:
  Stats stats_;
  bool image_fault_ = false;
  bool wake_ = false;
  uint32_t downloads_ = 0;
  std::unique_ptr<Admission> admission_;
  Pacer pacer_;
  Fleet* fleet_ = nullptr;
  Peers* peers_ = nullptr;
};

}  // namespace otad
