#include "otad/fleet.h"

#include <nlohmann/json.hpp>

#include "otad/fsutil.h"

namespace otad {

using nlohmann::ordered_json;

namespace {

// The members of a JSON object without its braces, for EventLog::append.
std::string members(const ordered_json& j) {
  std::string s = j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
  return s.substr(1, s.size() - 2);
}

bool failed(Inferred i) { return i == Inferred::Failed || i == Inferred::RolledBack; }

// The fleet's notes for the log are lines joined by newlines.
void add_line(std::string* out, const std::string& line) {
  if (!line.empty()) *out += (out->empty() ? "" : "\n") + line;
}

}  // namespace

void Fleet::configure(const FleetConfig& cfg) {
  cfg_ = cfg;
  state_.set_max(cfg.max_devices);
  events_.configure(cfg.event_log, cfg.event_log_size, cfg.event_log_keep);
}

std::string Fleet::load(int64_t now) {
  next_flush_ = now + cfg_.flush_interval_s;
  if (cfg_.state_file.empty()) return "";
  if (!file_exists(cfg_.state_file)) return "state: " + cfg_.state_file + " does not exist yet; starting empty";
  auto text = read_file(cfg_.state_file, 64 << 20);
  uint64_t seq = 0;
  Status st = text ? state_.restore(*text, &seq) : Status(Err(text.error()));
  if (!st) return "state: " + cfg_.state_file + " is unusable (" + st.error() + "); starting empty";
  events_.set_seq(seq);
  return "state: " + std::to_string(state_.size()) + " devices from " + cfg_.state_file;
}

Status Fleet::load_rollouts() {
  std::vector<std::string> errors;
  auto r = rollouts_read(rollouts_path(cfg_.catalog_dir), &errors);
  if (!r) return Err(r.error());
  rollouts_ = std::move(*r);
  return Ok();
}

Status Fleet::save_rollouts(std::vector<Rollout> rollouts) {
  if (Status st = rollouts_write(rollouts_path(cfg_.catalog_dir), rollouts); !st) return st;
  rollouts_ = std::move(rollouts);
  return Ok();
}

RolloutStats Fleet::stats(const Rollout& r) const {
  RolloutStats s;
  auto target = catalog_ ? catalog_->release(r.platform, r.version) : nullptr;
  if (!target) return s;
  s.target_sha256 = target->m.sha256;
  state_.each([&](const DeviceState& d) {
    if (d.offered.view() != s.target_sha256) return;
    s.offered++;
    if (d.outcome == Inferred::Updated) s.updated++;
    else if (failed(d.outcome)) s.failed++;
    else s.pending++;
  });
  return s;
}

FleetRules Fleet::rules(int64_t now, uint32_t retry_after_s) const {
  FleetRules r;
  r.loop_guard = cfg_.loop_guard;
  r.loop_window_s = cfg_.loop_window_s;
  r.retry_after_s = retry_after_s;
  r.now_s = now;
  return r;
}

std::string Fleet::event(int64_t now, const std::string& body) {
  Status st = events_.append(now, body);
  return st ? "" : "event log: " + st.error();
}

// A device counts as failing once per offered image; a rollout of that image
// may halt on it.
std::string Fleet::fail(DeviceState& d, Inferred how, const char* why, int64_t now) {
  if (failed(d.outcome)) return "";
  d.outcome = how;
  d.result_why.set(why);
  ordered_json j = {{"ev", "outcome"},       {"mac", d.mac.str()},          {"outcome", inferred_name(how)},
                    {"sha256", d.offered.view()}, {"version", d.offered_version.view()}, {"why", why}};
  std::string out = event(now, members(j));
  add_line(&out, maybe_halt(d.offered.view(), now));
  return out;
}

std::string Fleet::maybe_halt(std::string_view sha, int64_t now) {
  if (!catalog_) return "";
  for (size_t i = 0; i < rollouts_.size(); ++i) {
    const Rollout& r = rollouts_[i];
    if (!r.halt_after || !r.halted.empty()) continue;
    auto target = catalog_->release(r.platform, r.version);
    if (!target || target->m.sha256 != sha) continue;
    const RolloutStats s = stats(r);
    const bool over = r.halt_ratio ? uint64_t{s.failed} * 100 >= uint64_t{r.halt_after} * s.offered
                                   : s.failed >= r.halt_after;
    if (!over || !s.failed) continue;
    char why[160];
    snprintf(why, sizeof why, "%u of %u devices offered failed (halt_after %s)", s.failed, s.offered,
             halt_after_text(r).c_str());
    const std::string platform = r.platform, version = r.version;
    std::string out = "rollout " + platform + " " + version + " halted: " + why;
    std::vector<Rollout> next = rollouts_;
    next[i].halted = why;
    // In place, not by replacing the vector: a decision in hand may point
    // at this rollout. Halted in RAM even when the file cannot be written:
    // serving on would hurt more devices.
    Status st = rollouts_write(rollouts_path(cfg_.catalog_dir), next);
    rollouts_[i].halted = why;
    if (!st) out += " (not saved: " + st.error() + ")";
    ordered_json j = {{"ev", "halt"}, {"platform", platform}, {"version", version}, {"why", why}};
    add_line(&out, event(now, members(j)));
    return out;
  }
  return "";
}

std::string Fleet::check_in(const DeviceReport& r, const Decision& d, const Caller& who, int64_t now) {
  std::string out;
  if (d.kind == Decision::Deny) {
    ordered_json j = {{"ev", "deny"},   {"mac", r.mac ? r.mac->str() : ""}, {"peer", who.peer},
                      {"proto", who.proto}, {"status", d.status},          {"why", d.why}};
    out = event(now, members(j));
  }
  if (!r.mac) return out;
  DeviceState* s = state_.touch(*r.mac, who.registered, now);
  if (!s) return out;
  dirty_ = true;
  s->last_seen = now;
  s->peer.set(who.peer);
  s->proto.set(who.proto);
  const bool reports = r.ask == Ask::Update || r.ask == Ask::Filesystem || r.ask == Ask::Version;
  if (reports) {
    s->version.set(r.version);
    s->sketch_md5.set(r.sketch_md5);
  }
  if (!s->chip_exact && r.family != ChipFamily::Unknown) s->chip.set(r.family == ChipFamily::Esp8266 ? "esp8266" : "esp32");
  // What the report says of the last image it downloaded whole.
  auto offered = catalog_ && !s->offered.empty() ? catalog_->by_sha256(s->offered.view()) : nullptr;
  if (r.ask == Ask::Update && offered && (!r.version.empty() || !r.sketch_md5.empty())) {
    const bool has_it = reports_installed(r, *offered, false);
    if (has_it && s->outcome != Inferred::Updated) {
      s->outcome = Inferred::Updated;
      s->completes = 0;
      s->aborts = 0;
      if (!offered->m.chip.empty() && offered->m.chip != "esp32" && offered->m.chip != "esp8266") {
        s->chip.set(offered->m.chip);
        s->chip_exact = true;
      }
    } else if (!has_it && s->outcome == Inferred::Pending) {
      add_line(&out, fail(*s, Inferred::Failed, "reported the old version after a complete download", now));
    } else if (!has_it && s->outcome == Inferred::Updated && !reports_installed(r, *offered, true)) {
      add_line(&out, fail(*s, Inferred::RolledBack, "reported an older version after installing it", now));
    }
  }
  if (d.loop_guard) {
    add_line(&out, fail(*s, Inferred::Failed, "loop guard: downloaded whole again and again, never installed", now));
  }
  // Offered: the decision hands it a body.
  const bool body = d.kind == Decision::Serve && d.image && r.ask != Ask::Version && r.ask != Ask::ByHash;
  if (body && s->offered.view() != d.image->m.sha256) {
    s->offered.set(d.image->m.sha256);
    s->offered_version.set(d.image->m.version);
    s->version_before.set(r.version);
    s->outcome = Inferred::None;
    s->completes = 0;
    s->aborts = 0;
    s->first_complete = 0;
  }
  return out;
}

std::string Fleet::transfer_end(const TransferNote& t, int64_t now) {
  const int64_t ms = t.ms;
  ordered_json j = {{"ev", "transfer"}, {"mac", t.mac},       {"peer", t.peer},   {"proto", t.proto},
                    {"outcome", t.outcome}, {"status", t.status}, {"bytes", t.bytes}, {"ms", ms}};
  if (t.image) {
    j["platform"] = t.image->m.platform;
    j["version"] = t.image->m.version;
    j["sha256"] = t.image->m.sha256;
  }
  j["what"] = t.what;
  std::string out = event(now, members(j));
  auto mac = t.mac[0] ? parse_mac(t.mac) : std::nullopt;
  DeviceState* s = mac ? state_.find(*mac) : nullptr;
  if (!s) return out;
  dirty_ = true;
  s->last_seen = now;
  const bool this_image = t.image && s->offered.view() == t.image->m.sha256;
  if (t.whole) {
    s->result = LastResult::Complete;
    s->result_bytes = t.image->m.size;
    s->result_why.set("");
    if (this_image) {
      if (s->completes == 0 || now - s->first_complete > cfg_.loop_window_s) {
        s->completes = 0;
        s->first_complete = now;
      }
      s->completes++;
      if (!failed(s->outcome)) s->outcome = Inferred::Pending;
    }
  } else if (t.aborted && t.image) {
    s->result = LastResult::Aborted;
    s->result_bytes = t.bytes;
    s->result_why.set(t.what);
    if (this_image && ++s->aborts >= cfg_.abort_limit) {
      add_line(&out, fail(*s, Inferred::Failed, "aborted the same image again and again", now));
    }
  } else if (t.refused) {
    s->result = LastResult::Refused;
    s->result_bytes = 0;
    s->result_why.set(t.what);
  } else if (t.status == 503) {
    s->result = LastResult::Busy;
    s->result_bytes = 0;
    s->result_why.set(t.what);
  }
  return out;
}

Status Fleet::flush(int64_t now, bool force) {
  if (!force && now < next_flush_) return Ok();
  next_flush_ = now + cfg_.flush_interval_s;
  if (cfg_.state_file.empty() || !dirty_) return Ok();
  if (Status st = write_file_atomic(cfg_.state_file, state_.snapshot(events_.seq()), 0640); !st) return st;
  dirty_ = false;
  snapshots_++;
  return Ok();
}

}  // namespace otad
