// otactl admin token add NAME | list | revoke NAME
#include <cstdio>

#include "cli/cli.h"
#include "otad/fsutil.h"
#include "otad/tokens.h"

namespace otad::cli {

int cmd_admin(const std::string& verb, const Args& a) {
  const bool add = verb == "token-add", revoke = verb == "token-revoke", list = verb == "token-list";
  if ((!add && !revoke && !list) || a.pos.size() != (list ? 0u : 1u) || !only_flags(a, {})) {
    fprintf(stderr, "usage: otactl admin token add NAME | token list | token revoke NAME\n");
    return kExitUsage;
  }
  Config cfg;
  if (!load_config(a, &cfg)) return kExitFail;
  std::vector<std::string> errors;
  auto store = TokenStore::load(cfg.admin_token_file, &errors);
  if (!store) {
    fprintf(stderr, "otactl: %s\n", store.error().c_str());
    return kExitFail;
  }
  if (list) {
    for (const std::string& n : store->names()) printf("%s\n", n.c_str());
    return kExitOk;
  }
  if (revoke) {
    if (!store->revoke(a.pos[0])) {
      fprintf(stderr, "otactl: no token named %s\n", a.pos[0].c_str());
      return kExitFail;
    }
  }
  std::string token;
  if (add) {
    auto t = store->add(a.pos[0]);
    if (!t) {
      fprintf(stderr, "otactl: %s\n", t.error().c_str());
      return kExitFail;
    }
    token = *t;
  }
  if (Status s = make_dirs(dir_of(cfg.admin_token_file)); !s) {
    fprintf(stderr, "otactl: %s\n", s.error().c_str());
    return kExitFail;
  }
  if (Status s = store->save(cfg.admin_token_file); !s) {
    fprintf(stderr, "otactl: %s\n", s.error().c_str());
    return kExitFail;
  }
  if (add) {
    // The only time the token is shown: the file keeps a salted hash. It
    // is stdout's first line, for scripts (TOKEN=$(otactl admin token add ci | head -1)).
    printf("%s\n", token.c_str());
    fflush(stdout);
    fprintf(stderr, "otactl: admin token '%s' made; it is shown once. Use it as: Authorization: Bearer <token> "
                    "(otactl reads it from $OTAD_TOKEN)\n", a.pos[0].c_str());
  } else {
    printf("revoked %s\n", a.pos[0].c_str());
  }
  return notify_daemon(cfg, stderr) ? kExitOk : kExitFail;  // stdout holds the token alone
}

}  // namespace otad::cli
