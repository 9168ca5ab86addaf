// /api/status: what otad is doing now.
#include <nlohmann/json.hpp>

#include "admin/api.h"

namespace otad {

void api_status(const Exchange& x, HttpResponse* out) {
  if (!admin_authorized(x, out)) return;
  const Stats& st = x.ctx.stats();
  nlohmann::json j = {{"version", OTAD_VERSION},
                      {"uptime_s", x.ctx.ops->uptime_s()},
                      {"images", x.ctx.catalog->images().size()},
                      {"devices", x.ctx.registry->size()},
                      {"connections", st.active},
                      {"downloads_in_flight", x.ctx.ops->downloads_in_flight()},
                      {"served", st.served},
                      {"bytes_sent", st.bytes_sent}};
  json_reply(out, 200, j.dump(1) + "\n");
}

}  // namespace otad
