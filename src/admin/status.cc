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
                      {"bytes_sent", st.bytes_sent},
                      {"aborted", st.aborted},
                      {"refused", st.refused},
                      {"bad_requests", st.bad_requests},
                      // Fair slots (SECURITY.md), named as in the SIGUSR1
                      // line: closed at accept (over an address's cap or in
                      // its back-off), evicted, failed authentications.
                      {"over_cap", st.over_cap},
                      {"evicted", st.evicted},
                      {"auth_failures", st.auth_failures}};
  json_reply(out, 200, j.dump(1) + "\n");
}

}  // namespace otad
