// The update decision: which image (if any) a device gets. Pure over the
// loaded catalog and registry; every protocol asks here.
#pragma once
#include <memory>
#include <string>

#include "otad/catalog.h"
#include "otad/devices.h"

namespace otad {

struct PolicyConfig {
  std::string default_platform;
  bool serve_unknown = true;
};

enum class Verdict { Serve, Refuse, NoImage };

struct Decision {
  Verdict verdict;
  std::shared_ptr<const Image> image;  // set when Serve
  const char* why;                     // short reason for the log
  bool registered;
};

// mac may be null: an anonymous device (plain download URL) gets the default
// platform's image unless unknown devices are refused. platform, when not
// empty, stands in for cfg.default_platform (the platform a request names).
Decision decide(const Catalog& cat, const Registry& reg, const PolicyConfig& cfg, const Mac* mac,
                bool filesystem = false, std::string_view platform = {});
inline Decision decide(const Catalog& cat, const Registry& reg, const PolicyConfig& cfg,
                       const Mac& mac) {
  return decide(cat, reg, cfg, &mac, false);
}

}  // namespace otad
