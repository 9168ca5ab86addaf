#include "otad/policy.h"

namespace otad {

Decision decide(const Catalog& cat, const Registry& reg, const PolicyConfig& cfg, const Mac* mac,
                bool fs) {
  const Device* d = mac ? reg.find(*mac) : nullptr;
  if (!d) {
    if (!cfg.serve_unknown) return {Verdict::Refuse, nullptr, "unknown device (unknown_devices = refuse)", false};
    if (cfg.default_platform.empty()) return {Verdict::NoImage, nullptr, "unknown device and no default_platform", false};
    auto img = cat.current(cfg.default_platform, fs);
    if (!img) return {Verdict::NoImage, nullptr, "platform has no image", false};
    return {Verdict::Serve, img, "default platform", false};
  }
  if (!d->enabled) return {Verdict::Refuse, nullptr, "device disabled", true};
  if (!d->image.empty() && !fs) {
    auto img = cat.by_sha256(d->image);
    if (!img) return {Verdict::NoImage, nullptr, "pinned image not in the catalog", true};
    return {Verdict::Serve, img, "pinned image", true};
  }
  const std::string& platform = d->platform.empty() ? cfg.default_platform : d->platform;
  if (platform.empty()) return {Verdict::NoImage, nullptr, "device has no platform and there is no default", true};
  auto img = cat.current(platform, fs);
  if (!img) return {Verdict::NoImage, nullptr, "platform has no image", true};
  return {Verdict::Serve, img, d->platform.empty() ? "default platform" : "device platform", true};
}

}  // namespace otad
