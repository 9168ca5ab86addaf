// The fleet as otad runs it: the rollouts in force, what each device did
// (FleetState) and the event log. Every decision and every transfer record
// is told here; this infers what devices did with what they got (updated,
// failed, rolled back), halts a rollout whose devices come back failing,
// and snapshots the state now and then. Single-threaded, like the reactor.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "otad/catalog.h"
#include "otad/decision.h"
#include "otad/event_log.h"
#include "otad/fleet_state.h"
#include "otad/rollout.h"

namespace otad {

struct FleetConfig {
  std::string catalog_dir;  // where rollouts.ini lives
  uint32_t loop_guard = 3;
  int64_t loop_window_s = 3600;
  uint32_t abort_limit = 3;  // aborts of one image that count as a failure
  std::string state_file;    // "" = RAM only
  int64_t flush_interval_s = 300;
  size_t max_devices = 10000;
  std::string event_log;
  uint64_t event_log_size = 1 << 20;
  uint32_t event_log_keep = 3;
};

// Who asked, as the connection knows it.
struct Caller {
  const char* peer = "";
  const char* proto = "";
  bool registered = false;
};

// What a transfer record tells the fleet.
struct TransferNote {
  const char* mac = "";       // "" when the device is not known
  const char* peer = "";
  const char* proto = "";
  const char* outcome = "";   // served, answered, refused, busy, bad request, aborted, closed
  int status = 0;
  const Image* image = nullptr;
  uint64_t bytes = 0;
  bool whole = false;         // the device now has the image's last byte
  bool aborted = false;
  bool refused = false;
  int64_t ms = 0;
  const char* what = "";
};

struct RolloutStats {
  uint32_t offered = 0, updated = 0, failed = 0, pending = 0;
  uint32_t downloading = 0;  // filled by the caller that knows the downloads in flight
  std::string target_sha256;  // "" when the catalog has no such release
};

class Fleet {
 public:
  void configure(const FleetConfig& cfg);
  const FleetConfig& config() const { return cfg_; }
  // At start-up: the snapshot, if any. Returns what to log ("" = nothing):
  // a missing or corrupt snapshot starts empty and says so.
  std::string load(int64_t now);
  void set_catalog(std::shared_ptr<const Catalog> cat) { catalog_ = std::move(cat); }
  // Rollouts from <catalog dir>/rollouts.ini; on error the ones in force stay.
  Status load_rollouts();
  const std::vector<Rollout>& rollouts() const { return rollouts_; }
  // Replaces the rollouts and writes rollouts.ini; on a write error nothing changes.
  Status save_rollouts(std::vector<Rollout> rollouts);
  RolloutStats stats(const Rollout& r) const;

  FleetRules rules(int64_t now, uint32_t retry_after_s) const;
  const DeviceState* find(const Mac& mac) const { return state_.find(mac); }
  const FleetState& state() const { return state_; }
  EventLog& events() { return events_; }

  // After decide(): records the check-in and what it says. Returns lines to
  // log (a halt, an event log that cannot be written), one per line.
  std::string check_in(const DeviceReport& r, const Decision& d, const Caller& who, int64_t now);
  std::string transfer_end(const TransferNote& t, int64_t now);
  // Writes the snapshot if something changed and the interval is up (or
  // force: shutdown). Errors leave the previous snapshot in place.
  Status flush(int64_t now, bool force);
  uint64_t snapshots_written() const { return snapshots_; }

 private:
  std::string fail(DeviceState& d, Inferred how, const char* why, int64_t now);
  std::string maybe_halt(std::string_view sha, int64_t now);
  std::string event(int64_t now, const std::string& body);

  FleetConfig cfg_;
  FleetState state_;
  EventLog events_;
  std::vector<Rollout> rollouts_;
  std::shared_ptr<const Catalog> catalog_;
  bool dirty_ = false;
  int64_t next_flush_ = 0;
  uint64_t snapshots_ = 0;
};

}  // namespace otad
