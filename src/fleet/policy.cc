#include "otad/policy.h"

namespace otad {

Decision decide(const Catalog& cat, const Registry& reg, const PolicyConfig& cfg, const Mac* mac,
                bool fs, std::string_view platform) {
  const std::string_view fallback = platform.empty() ? std::string_view(cfg.default_platform) : platform;
  const Device* d = mac ? reg.find(*mac) : nullptr;
  if (!d) {
    if (!cfg.serve_unknown) return {Verdict::Refuse, nullptr, "unknown device (unknown_devices = refuse)", false};
    if (fallback.empty()) return {Verdict::NoImage, nullptr, "unknown device and no default_platform", false};
    auto img = cat.current(fallback, fs);
    if (!img) return {Verdict::NoImage, nullptr, "platform has no image", false};
    return {Verdict::Serve, img, "default platform", false};
  }
  if (!d->enabled) return {Verdict::Refuse, nullptr, "device disabled", true};
  if (!d->image.empty() && !fs) {
    auto img = cat.by_sha256(d->image);
    if (!img) return {Verdict::NoImage, nullptr, "pinned image not in the catalog", true};
    return {Verdict::Serve, img, "pinned image", true};
  }
  const std::string_view chosen = d->platform.empty() ? fallback : std::string_view(d->platform);
  if (chosen.empty()) return {Verdict::NoImage, nullptr, "device has no platform and there is no default", true};
  auto img = cat.current(chosen, fs);
  if (!img) return {Verdict::NoImage, nullptr, "platform has no image", true};
  return {Verdict::Serve, img, d->platform.empty() ? "default platform" : "device platform", true};
}

}  // namespace otad
