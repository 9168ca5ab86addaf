// /api/rollouts: list, one, set (PUT, JSON body), pause, resume, delete.
// Every change is checked, written to rollouts.ini (temp, fsync, rename)
// and in force for the next request; a refused change leaves the rollouts
// in force as they were.
#include "admin/api.h"
#include "otad/platforms.h"
#include "otad/fleet_json.h"

namespace otad {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr int64_t kMaxRolloutJson = 4096;

json one(const Exchange& x, const Rollout& r) {
  RolloutStats s = x.ctx.fleet->stats(r);
  if (!s.target_sha256.empty()) s.downloading = x.ctx.transfers->admission().downloading(s.target_sha256);
  return rollout_json(r, s);
}

// The rollouts with r put in place of the platform's (or added).
Status replace(const Exchange& x, const Rollout& r, HttpResponse* out) {
  std::vector<Rollout> next = x.ctx.fleet->rollouts();
  bool found = false;
  for (Rollout& have : next) {
    if (have.platform == r.platform) {
      have = r;
      found = true;
    }
  }
  if (!found) next.push_back(r);
  if (Status st = x.ctx.fleet->save_rollouts(std::move(next)); !st) {
    json_error(out, 500, st.error());
    return st;
  }
  json_reply(out, 200, one(x, r).dump(1) + "\n");
  return Ok();
}

}  // namespace

void api_rollouts_list(const Exchange& x, HttpResponse* out) {
  if (!admin_authorized(x, out)) return;
  json arr = json::array();
  for (const Rollout& r : x.ctx.fleet->rollouts()) arr.push_back(one(x, r));
  json_reply(out, 200, arr.dump(1) + "\n");
  out->set_note("%zu rollout(s)", x.ctx.fleet->rollouts().size());
}

void api_rollout_get(const Exchange& x, HttpResponse* out) {
  if (!admin_authorized(x, out)) return;
  const Rollout* r = rollout_find(x.ctx.fleet->rollouts(), x.arg);
  if (!r) return json_error(out, 404, "no rollout for platform " + std::string(x.arg));
  json_reply(out, 200, one(x, *r).dump(1) + "\n");
}

void api_rollout_put(const Exchange& x, HttpResponse* out) {
  if (!admin_authorized(x, out)) return;
  if (!catalog_name_ok(x.arg)) return json_error(out, 400, "platform names hold letters, digits and . _ - + only");
  json_body_begin(x, out, kMaxRolloutJson, "a rollout", "{\"version\": ..., \"percent\": ...}");
}

void api_rollout_received(const Exchange& x, Upload* u, HttpResponse* out) {
  json j;
  if (!json_body_read(u, kMaxRolloutJson, &j, out)) return;
  Rollout r;
  r.platform = std::string(x.arg);
  if (Status st = rollout_from_json(j, &r); !st) return json_error(out, 400, st.error());
  if (Status st = rollout_check(r, *x.ctx.catalog, *x.ctx.registry); !st) return json_error(out, 400, st.error());
  r.since = wall_s();
  if (!replace(x, r, out)) return;
  out->set_note("rollout %s %s at %u%%%s", r.platform.c_str(), r.version.c_str(), r.percent,
                r.paused ? " (paused)" : "");
}

// POST /api/rollouts/<platform>/pause and /resume. A resume also clears a
// halt: the operator has looked at why.
void api_rollout_pause(const Exchange& x, HttpResponse* out) {
  if (!admin_authorized(x, out)) return;
  const Rollout* have = rollout_find(x.ctx.fleet->rollouts(), x.arg);
  if (!have) return json_error(out, 404, "no rollout for platform " + std::string(x.arg));
  Rollout r = *have;
  const bool pause = x.req.path.in(x.buf).ends_with("/pause");
  r.paused = pause;
  if (!pause) {
    r.halted.clear();
    r.since = wall_s();
  }
  if (!replace(x, r, out)) return;
  out->set_note("rollout %s %s", r.platform.c_str(), pause ? "paused" : "resumed");
}

void api_rollout_delete(const Exchange& x, HttpResponse* out) {
  if (!admin_authorized(x, out)) return;
  std::vector<Rollout> next;
  for (const Rollout& r : x.ctx.fleet->rollouts()) {
    if (r.platform != x.arg) next.push_back(r);
  }
  if (next.size() == x.ctx.fleet->rollouts().size()) {
    return json_error(out, 404, "no rollout for platform " + std::string(x.arg));
  }
  if (Status st = x.ctx.fleet->save_rollouts(std::move(next)); !st) return json_error(out, 500, st.error());
  json_reply(out, 200, json{{"removed", std::string(x.arg)}}.dump() + "\n");
  out->set_note("rollout %.*s removed", static_cast<int>(x.arg.size()), x.arg.data());
}

}  // namespace otad
