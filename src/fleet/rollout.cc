#include "otad/rollout.h"

#include "otad/fsutil.h"
#include "otad/named_sections.h"
#include "otad/strict_num.h"

namespace otad {
namespace {

// FNV-1a, then a 64-bit finaliser: FNV alone leaves the low bits of short
// inputs poorly mixed, and the bucket is taken modulo 10,000.
uint64_t mix(uint64_t h, std::string_view s) {
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t finalise(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::string rollouts_path(const std::string& catalog_dir) { return catalog_dir + "/rollouts.ini"; }

const Rollout* rollout_find(const std::vector<Rollout>& all, std::string_view platform) {
  for (const Rollout& r : all) {
    if (r.platform == platform) return &r;
  }
  return nullptr;
}

uint32_t rollout_bucket(const Mac& mac, std::string_view platform, std::string_view version) {
  uint64_t h = 0xcbf29ce484222325ULL;
  h = mix(h, std::string_view(reinterpret_cast<const char*>(mac.b.data()), mac.b.size()));
  h = mix(h, platform);
  h = mix(h, "\n");
  h = mix(h, version);
  return static_cast<uint32_t>(finalise(h) % 10000);
}

bool rollout_includes(const Rollout& r, const Mac& mac) {
  return rollout_bucket(mac, r.platform, r.version) < r.percent * 100;
}

Status parse_halt_after(std::string_view s, Rollout* r) {
  r->halt_ratio = !s.empty() && s.back() == '%';
  if (r->halt_ratio) s.remove_suffix(1);
  if (s.empty()) {
    r->halt_after = 0;
    return Ok();
  }
  auto n = parse_int_strict(s, 0, r->halt_ratio ? 100 : 1000000);
  if (!n) return Err("halt_after: " + n.error() + " (a count of failed devices, or a percentage like 20%)");
  r->halt_after = static_cast<uint32_t>(*n);
  return Ok();
}

std::string halt_after_text(const Rollout& r) {
  if (!r.halt_after) return "never";
  return std::to_string(r.halt_after) + (r.halt_ratio ? "%" : "");
}

Result<std::vector<Rollout>> rollouts_read(const std::string& path, std::vector<std::string>* errors) {
  auto out = read_named_sections<Rollout>(
      path, "rollout", &Rollout::platform,
      [](Rollout& r, std::string_view k, std::string_view v) -> std::string {
        auto flag = [&](bool* to) -> std::string {
          auto b = parse_bool_strict(v);
          if (!b) return b.error();
          *to = *b;
          return "";
        };
        if (k == "version") {
          if (!catalog_name_ok(v)) return "not a catalog version";
          r.version = std::string(v);
        } else if (k == "percent") {
          auto n = parse_int_strict(v, 0, 100);
          if (!n) return n.error();
          r.percent = static_cast<uint32_t>(*n);
        } else if (k == "groups") {
          r.groups = split_words(v);
          for (const std::string& g : r.groups) {
            if (!catalog_name_ok(g)) return "group names hold letters, digits and . _ - + only";
          }
        } else if (k == "max_concurrent") {
          auto n = parse_int_strict(v, 0, 65536);
          if (!n) return n.error();
          r.max_concurrent = static_cast<uint32_t>(*n);
        } else if (k == "halt_after") {
          if (Status st = parse_halt_after(v, &r); !st) return st.error();
        } else if (k == "allow_downgrade") {
          return flag(&r.allow_downgrade);
        } else if (k == "paused") {
          return flag(&r.paused);
        } else if (k == "halted") {
          r.halted = std::string(v);
        } else if (k == "since") {
          auto n = parse_int_strict(v, 0, int64_t{1} << 40);
          if (!n) return n.error();
          r.since = *n;
        } else {
          return "unknown key";
        }
        return "";
      },
      errors);
  if (!out) return out;
  for (const Rollout& r : *out) {
    if (r.version.empty()) return Err(path + ": rollout " + r.platform + " names no version");
  }
  return out;
}

Status rollouts_write(const std::string& path, const std::vector<Rollout>& rollouts) {
  std::string s =
      "; otad rollouts. Written by otad's admin API, otactl, and otad when it halts one.\n"
      "; version: the target release; percent: the share of the platform's devices offered it\n"
      "; (a stable hash of the MAC); groups: only devices in one of these; halt_after: failed\n"
      "; devices (N, or N% of those offered) that halt it.\n";
  for (const Rollout& r : rollouts) {
    s += "\n[rollout " + r.platform + "]\n";
    s += "version = " + r.version + "\n";
    s += "percent = " + std::to_string(r.percent) + "\n";
    if (!r.groups.empty()) {
      s += "groups =";
      for (const std::string& g : r.groups) s += " " + g;
      s += "\n";
    }
    if (r.max_concurrent) s += "max_concurrent = " + std::to_string(r.max_concurrent) + "\n";
    if (r.halt_after) s += "halt_after = " + halt_after_text(r) + "\n";
    if (r.allow_downgrade) s += "allow_downgrade = yes\n";
    if (r.paused) s += "paused = yes\n";
    // One line: the reason is otad's own text, never a newline in it.
    if (!r.halted.empty()) s += "halted = " + r.halted.substr(0, 150) + "\n";
    if (r.since) s += "since = " + std::to_string(r.since) + "\n";
  }
  return write_file_atomic(path, s);
}

}  // namespace otad
