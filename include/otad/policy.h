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

Decision decide(const Catalog& cat, const Registry& reg, const PolicyConfig& cfg, const Mac& mac);

}  // namespace otad
