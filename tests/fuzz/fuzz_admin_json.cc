// The admin API's JSON bodies (PUT /api/rollouts/<platform>): any bytes
// parse or are refused, and a rollout that is taken renders back to JSON.
#include <nlohmann/json.hpp>

#include <cstdint>

#include "otad/fleet_json.h"
#include "otad/rollout.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  otad::Rollout r;
  r.platform = "demo";
  if (!otad::rollout_from_json(j, &r).ok()) return 0;
  const std::string out = otad::rollout_json(r, otad::RolloutStats{}).dump();
  if (out.find("\"version\"") == std::string::npos) __builtin_trap();
  return 0;
}
