// Order: the image asked by hash is served as is; otherwise a device must be
// allowed (unknown devices per policy, disabled ones never), a pin wins over
// its platform, then the platform's rollout target if the device is in the
// rollout, else the platform's release. The chip guards refuse an image for
// another chip. The update endpoint then serves it only if it is newer than
// what the device runs (or other, where the rollout allows a downgrade),
// fits the space the device has, and has not looped (loop_guard).
#include <cctype>

#include "otad/authorize.h"
#include "otad/decision.h"

namespace otad {
namespace {

Decision deny(int status, const char* why, bool registered) {
  Decision d{Decision::Deny, nullptr};
  d.status = status;
  d.why = why;
  d.registered = registered;
  return d;
}

Decision serve(std::shared_ptr<const Image> img, const char* why, bool registered) {
  Decision d{Decision::Serve, std::move(img)};
  d.why = why;
  d.registered = registered;
  return d;
}

// The platform an Arduino request names, as the catalog spells it: a name
// the catalog does not know is tried lowercased (esp-update-server lowercases
// platform names). lower holds the lowercased copy.
std::string_view catalog_spelling(const Catalog& cat, std::string_view platform, bool fs, char (&lower)[65]) {
  if (platform.empty() || cat.current(platform, fs) || platform.size() >= sizeof lower) return platform;
  for (size_t i = 0; i < platform.size(); ++i) {
    lower[i] = static_cast<char>(tolower(static_cast<unsigned char>(platform[i])));
  }
  return {lower, platform.size()};
}

// Whether the device gets the rollout's target. Once offered it stays
// offered (a Range walk must not change images half way), unless halted.
bool rollout_admits(const Rollout& ro, const Image& target, const Mac& mac, const Device* dev, const FleetView& f) {
  if (!ro.halted.empty()) return false;
  if (f.state && f.state->offered.view() == target.m.sha256) return true;
  if (ro.paused) return false;
  if (!ro.groups.empty()) {
    if (!dev) return false;
    bool any = false;
    for (const std::string& g : ro.groups) {
      for (const std::string& mine : dev->groups) any = any || g == mine;
    }
    if (!any) return false;
  }
  return rollout_includes(ro, mac);
}

// The release a device of the platform gets: without a rollout the newest
// image; with one, its target for devices in it and the newest image below
// the target for the others (images newer than the target wait for a
// rollout of their own).
std::shared_ptr<const Image> release(std::string_view platform, bool fs, const DeviceReport& r, const Device* dev,
                                     const FleetView& f, const Rollout** in) {
  *in = nullptr;
  const Rollout* ro = fs || !f.rollouts ? nullptr : rollout_find(*f.rollouts, platform);
  if (!ro) return f.catalog.current(platform, fs);
  auto target = f.catalog.release(platform, ro->version);
  if (!target) return f.catalog.current(platform, fs);  // refused when set; gone since: as without
  if (r.mac && rollout_admits(*ro, *target, *r.mac, dev, f)) {
    *in = ro;
    return target;
  }
  return f.catalog.newest_below(platform, *target);
}

// The platform's release for this device (dev: null when unknown) as a
// decision: served, or 404 saying why there is none.
Decision serve_release(std::string_view platform, bool fs, const DeviceReport& r, const Device* dev,
                       const FleetView& f, const char* why) {
  const Rollout* ro;
  auto img = release(platform, fs, r, dev, f, &ro);
  if (!img) {
    return deny(404, ro || !f.catalog.current(platform, fs) ? "platform has no image" : "no release outside the rollout",
                dev != nullptr);
  }
  Decision d = serve(img, ro ? "rollout" : why, dev != nullptr);
  d.rollout = ro;
  return d;
}

// Which image this device's platform (or pin) serves.
Decision candidate(const DeviceReport& r, std::string_view platform, const FleetView& f) {
  const bool fs = r.ask == Ask::Filesystem;
  const std::string_view fallback = platform.empty() ? std::string_view(f.policy.default_platform) : platform;
  const Grant g = r.mac ? authorize(f.registry, *r.mac) : Grant{Access::Unknown, nullptr, "unknown device"};
  if (g.access == Access::Unknown) {
    if (!f.policy.serve_unknown) return deny(403, "unknown device (unknown_devices = refuse)", false);
    if (fallback.empty()) return deny(404, "unknown device and no default_platform", false);
    return serve_release(fallback, fs, r, nullptr, f, "default platform");
  }
  if (!g) return deny(403, g.why, true);
  const Device& d = *g.device;
  if (!d.image.empty() && !fs) {
    auto img = f.catalog.by_sha256(d.image);
    if (!img) return deny(404, "pinned image not in the catalog", true);
    return serve(img, "pinned image", true);
  }
  const std::string_view chosen = d.platform.empty() ? fallback : std::string_view(d.platform);
  if (chosen.empty()) return deny(404, "device has no platform and there is no default", true);
  return serve_release(chosen, fs, r, &d, f, d.platform.empty() ? "default platform" : "device platform");
}

// md5 (as a device reports it, any case) equals want (lowercase hex).
bool same_md5(std::string_view md5, std::string_view want) {
  if (md5.size() != 32 || want.size() != 32) return false;
  for (size_t i = 0; i < 32; ++i) {
    if (tolower(static_cast<unsigned char>(md5[i])) != want[i]) return false;
  }
  return true;
}

// The family an image's chip belongs to ("" or unknown chips: none).
ChipFamily family_of(std::string_view chip) {
  if (chip == "esp8266") return ChipFamily::Esp8266;
  if (chip.substr(0, 5) == "esp32") return ChipFamily::Esp32;
  return ChipFamily::Unknown;
}

}  // namespace

bool reports_installed(const DeviceReport& r, const Image& img, bool or_newer) {
  if (r.ask != Ask::Filesystem && !r.sketch_md5.empty()) {
    if (same_md5(r.sketch_md5, img.m.md5)) return true;
    std::string_view modes = img.m.md5_modes;
    for (size_t i = 0; i + 32 <= modes.size(); i += 33) {
      if (same_md5(r.sketch_md5, modes.substr(i, 32))) return true;
    }
  }
  auto have = parse_semver(r.version);
  if (have && img.semver) {
    const int c = semver_compare(*img.semver, *have);
    return or_newer ? c <= 0 : c == 0;
  }
  return !r.version.empty() && r.version == img.m.version;
}

Decision decide(const DeviceReport& r, const FleetView& f) {
  if (r.ask == Ask::ByHash) {
    auto img = f.catalog.by_sha256(r.sha256);
    if (!img) return deny(404, "no such image", false);
    return serve(img, "by hash", false);
  }
  const bool arduino = r.ask == Ask::Update || r.ask == Ask::Filesystem || r.ask == Ask::Version;
  if (arduino && !r.mac) return deny(400, "no device MAC (x-ESP8266-STA-MAC or x-ESP32-STA-MAC)", false);
  char lower[65];
  Decision d = candidate(r, arduino ? catalog_spelling(f.catalog, r.platform, r.ask == Ask::Filesystem, lower) : r.platform, f);
  if (d.kind != Decision::Serve) return d;
  const Image& img = *d.image;
  if (r.ask == Ask::Download && img.m.platform != r.platform) {
    return deny(403, "the device belongs to another platform", d.registered);
  }
  // Never an image for another chip: the registry, or an image the device
  // installed, may know the exact one (an esp32c3 cannot run an esp32 image,
  // though both send x-ESP32-*).
  const Device* dev = r.mac ? f.registry.find(*r.mac) : nullptr;
  const std::string_view exact = dev && !dev->chip.empty()              ? std::string_view(dev->chip)
                                 : f.state && f.state->chip_exact ? f.state->chip.view()
                                                                        : std::string_view();
  if (!exact.empty() && !img.m.chip.empty() && exact != img.m.chip) {
    Decision x = deny(409, "the device's chip is not the image's", true);
    x.image = d.image;
    return x;
  }
  // Never an image for the other family: the Arduino clients check only the
  // magic byte and the flash size, and would flash it.
  const ChipFamily img_family = family_of(img.m.chip);
  if (r.family != ChipFamily::Unknown && img_family != ChipFamily::Unknown && img_family != r.family) {
    Decision x = deny(409, r.family == ChipFamily::Esp8266 ? "an ESP8266 cannot run an ESP32 image"
                                                           : "an ESP32 cannot run an ESP8266 image",
                      d.registered);
    x.image = d.image;
    return x;
  }
  if (r.ask == Ask::Update || r.ask == Ask::Filesystem) {
    const bool downgrade = d.rollout && d.rollout->allow_downgrade;
    if (reports_installed(r, img, !downgrade)) {
      d.kind = Decision::NoUpdate;
      d.why = "no update";
      return d;
    }
    if (r.ask == Ask::Update && r.free_space && *r.free_space < img.m.size) {
      return deny(413, "image larger than the device's free sketch space", d.registered);
    }
    // The loop guard: downloaded whole loop_guard times within the window,
    // never reported installed (a sketch whose version is not the
    // catalog's would be offered it for ever).
    const DeviceState* st = f.state;
    if (f.rules.loop_guard && st && st->offered.view() == img.m.sha256 && st->completes >= f.rules.loop_guard &&
        f.rules.now_s - st->first_complete <= f.rules.loop_window_s) {
      d.kind = Decision::NoUpdate;
      d.why = "loop guard: downloaded whole again and again, never reported installed";
      d.loop_guard = true;
      return d;
    }
  } else if (r.ask == Ask::Version) {
    return d;
  }
  // A rollout's max_concurrent: downloads of its target in flight.
  if (d.rollout && d.rollout->max_concurrent && f.load && !(r.mac && f.load->holds(*r.mac, img.m.sha256)) &&
      f.load->downloading(img.m.sha256) >= d.rollout->max_concurrent) {
    d.kind = Decision::Busy;
    d.status = 503;
    d.why = "busy: the rollout's max_concurrent downloads in flight";
    d.retry_after_s = f.rules.retry_after_s;
  }
  return d;
}

}  // namespace otad
