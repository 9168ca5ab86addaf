// Order: the image asked by hash is served as is; otherwise a device must be
// allowed (unknown devices per policy, disabled ones never), a pin wins over
// its platform, and the platform's current image is the candidate. The
// update endpoint then serves it only if it differs from what the device runs
// and fits the space the device has.
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

// Which image this device's platform (or pin) serves.
Decision candidate(const DeviceReport& r, std::string_view platform, const FleetView& f) {
  const bool fs = r.ask == Ask::Filesystem;
  const std::string_view fallback = platform.empty() ? std::string_view(f.policy.default_platform) : platform;
  const Grant g = r.mac ? authorize(f.registry, *r.mac) : Grant{Access::Unknown, nullptr, "unknown device"};
  if (g.access == Access::Unknown) {
    if (!f.policy.serve_unknown) return deny(403, "unknown device (unknown_devices = refuse)", false);
    if (fallback.empty()) return deny(404, "unknown device and no default_platform", false);
    auto img = f.catalog.current(fallback, fs);
    if (!img) return deny(404, "platform has no image", false);
    return serve(img, "default platform", false);
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
  auto img = f.catalog.current(chosen, fs);
  if (!img) return deny(404, "platform has no image", true);
  return serve(img, d.platform.empty() ? "default platform" : "device platform", true);
}

// md5 (as a device reports it, any case) equals want (lowercase hex).
bool same_md5(std::string_view md5, std::string_view want) {
  if (md5.size() != 32 || want.size() != 32) return false;
  for (size_t i = 0; i < 32; ++i) {
    if (tolower(static_cast<unsigned char>(md5[i])) != want[i]) return false;
  }
  return true;
}

// True when the device already runs img: the same bytes (the sketch MD5, or
// for ESP8266 that MD5 with the flash-mode byte the Updater rewrote), else
// not an older semantic version, else the same version text.
bool device_current(const DeviceReport& r, const Image& img) {
  if (r.ask != Ask::Filesystem && !r.sketch_md5.empty()) {
    if (same_md5(r.sketch_md5, img.m.md5)) return true;
    std::string_view modes = img.m.md5_modes;
    for (size_t i = 0; i + 32 <= modes.size(); i += 33) {
      if (same_md5(r.sketch_md5, modes.substr(i, 32))) return true;
    }
  }
  auto have = parse_semver(r.version);
  if (have && img.semver) return semver_compare(*img.semver, *have) <= 0;
  return !r.version.empty() && r.version == img.m.version;
}

// The family an image's chip belongs to ("" or unknown chips: none).
ChipFamily family_of(std::string_view chip) {
  if (chip == "esp8266") return ChipFamily::Esp8266;
  if (chip.substr(0, 5) == "esp32") return ChipFamily::Esp32;
  return ChipFamily::Unknown;
}

}  // namespace

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
  // Never an image for another chip: the registry may know the exact one
  // (an esp32c3 cannot run an esp32 image, though both send x-ESP32-*).
  if (const Device* dev = r.mac ? f.registry.find(*r.mac) : nullptr;
      dev && !dev->chip.empty() && !img.m.chip.empty() && dev->chip != img.m.chip) {
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
  if (r.ask != Ask::Update && r.ask != Ask::Filesystem) return d;
  if (device_current(r, img)) {
    d.kind = Decision::NoUpdate;
    d.why = "no update";
    return d;
  }
  if (r.ask == Ask::Update && r.free_space && *r.free_space < img.m.size) {
    return deny(413, "image larger than the device's free sketch space", d.registered);
  }
  return d;
}

}  // namespace otad
