// What protocol drivers may read of the server's state, and the one place
// they report to.
#pragma once
#include <memory>

#include "core/ops.h"
#include "core/transfer.h"
#include "otad/catalog.h"
#include "otad/config.h"
#include "otad/decision.h"
#include "otad/devices.h"

namespace otad {

struct Context {
  const Config* cfg = nullptr;
  std::shared_ptr<const Catalog> catalog;
  const Registry* registry = nullptr;
  PolicyConfig policy;
  bool draining = false;
  size_t max_head = 0;
  TransferLog* transfers = nullptr;
  ServerOps* ops = nullptr;
  const Stats& stats() const { return transfers->stats(); }
};

}  // namespace otad
