// Staged rollouts: per platform, a target release offered to a stable share
// of its devices (a hash of the MAC, so a device that is in stays in as the
// percentage grows), optionally only to some groups, paused by an operator
// or halted by otad when devices come back failing. Kept in
// <catalog dir>/rollouts.ini, written like the manifest (temp, fsync,
// rename) by the admin API and otactl, and by otad itself when it halts one.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "otad/mac.h"
#include "otad/result.h"

namespace otad {

struct Rollout {
  std::string platform;
  std::string version;  // the target release: an image of platform with this version
  uint32_t percent = 100;
  std::vector<std::string> groups;  // empty: every device; else devices in one of them
  uint32_t max_concurrent = 0;      // target downloads in flight at once; 0 = no cap
  uint32_t halt_after = 0;          // failures that halt it (a count, or a percentage of devices offered); 0 = never
  bool halt_ratio = false;          // halt_after is a percentage
  bool allow_downgrade = false;     // devices in it may get a lower version than they run
  bool paused = false;
  std::string halted;  // why otad halted it; "" = not halted
  int64_t since = 0;   // unix seconds it was set (or last resumed)
  bool operator==(const Rollout&) const = default;
};

std::string rollouts_path(const std::string& catalog_dir);
// A missing file is no rollouts; anything malformed is an error (file:line).
Result<std::vector<Rollout>> rollouts_read(const std::string& path, std::vector<std::string>* errors);
Status rollouts_write(const std::string& path, const std::vector<Rollout>& rollouts);
const Rollout* rollout_find(const std::vector<Rollout>& all, std::string_view platform);

// The device's place in a rollout, 0..9999: stable for a MAC and a target,
// different across targets (each release gets its own first devices).
uint32_t rollout_bucket(const Mac& mac, std::string_view platform, std::string_view version);
// True when the device's bucket falls within percent.
bool rollout_includes(const Rollout& r, const Mac& mac);

// "5" or "20%" as halt_after; "" or "0" = never.
Status parse_halt_after(std::string_view s, Rollout* r);
std::string halt_after_text(const Rollout& r);

}  // namespace otad
