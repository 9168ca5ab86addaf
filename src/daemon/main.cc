// otad: the OTA update gateway daemon. Wires the listeners' table of config
// sections to protocols and transports and hands them to the reactor.
#include <event2/event.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "admin/api.h"
#include "core/server.h"
#include "http/upload.h"
#include "otad/catalog_store.h"
#include "proto/protocols.h"
#include "tls/tls.h"
#include "otad/crypto_init.h"
#include "otad/log.h"

using namespace otad;

namespace {

constexpr int kExitConfig = 2;

void usage(FILE* f) {
  fprintf(f,
          "usage: otad [--config FILE]        run the gateway (default /etc/otad/otad.ini)\n"
          "       otad --check-config FILE    validate FILE and print the effective config\n"
          "       otad --list-ciphersuites    short names for [https] ciphersuites\n"
          "       otad --version\n");
}

// Every slot may hold a socket, plus listeners, image files and libevent's
// own descriptors: make sure the process may open that many.
bool ensure_fd_budget(int64_t max_connections, size_t images) {
  const rlim_t need = static_cast<rlim_t>(max_connections) + images + 64;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return true;
  if (rl.rlim_cur >= need) return true;
  if (rl.rlim_max >= need) {
    rl.rlim_cur = need;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0) return true;
  }
  fprintf(stderr,
          "otad: max_connections=%lld needs %llu file descriptors, but RLIMIT_NOFILE allows %llu "
          "(raise it, e.g. ulimit -n, or lower server.max_connections)\n",
          static_cast<long long>(max_connections), static_cast<unsigned long long>(need),
          static_cast<unsigned long long>(rl.rlim_max));
  return false;
}

// One row per listening config section: the protocol spoken there, whether
// the transport is TLS, and the keys that place it. [admin] and the push
// listeners join here.
struct ListenerSection {
  const char* section;
  const Protocol* proto;
  bool tls;                 // always TLS
  bool Config::* tls_key;   // TLS when this key says so
  bool Config::* enabled;
  std::string Config::* listen;
  int64_t Config::* port;
  std::string Config::* auth;  // null: the protocol has no device credentials
  bool devices;                // its requests are devices' (device state, event log); admin: the operator's
  std::string Config::* verify_mac;  // null: no link-layer check of claimed MACs
};
// The admin API speaks HTTP with its own routes (src/admin).
Protocol g_admin_protocol;
AdminApi g_admin;

const ListenerSection kListeners[] = {
    {"tcpboot", &kTcpbootProtocol, false, nullptr, &Config::tcpboot_enabled, &Config::tcpboot_listen,
     &Config::tcpboot_port, nullptr, true, &Config::tcpboot_verify_mac},
    {"http", &kHttpProtocol, false, nullptr, &Config::http_enabled, &Config::http_listen, &Config::http_port,
     &Config::http_auth, true, &Config::http_verify_mac},
    {"https", &kHttpProtocol, true, nullptr, &Config::https_enabled, &Config::https_listen, &Config::https_port,
     &Config::https_auth, true, nullptr},
    {"admin", &g_admin_protocol, false, &Config::admin_tls, &Config::admin_enabled, &Config::admin_listen,
     &Config::admin_port, nullptr, false, nullptr},
};

}  // namespace

int main(int argc, char** argv) {
  if (!crypto_init()) {
    fprintf(stderr, "otad: cannot initialise the crypto library\n");
    return 1;
  }
  std::string config_path = "/etc/otad/otad.ini";
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--config" || a == "-c" || a == "--check-config") && i + 1 < argc) {
      check_only = check_only || a == "--check-config";
      config_path = argv[++i];
    } else if (a == "--list-ciphersuites") {
      for (const auto& [short_name, name] : tls_suite_names()) printf("%-24s %s\n", short_name.c_str(), name.c_str());
      return 0;
    } else if (a == "--version") {
      // What this binary runs with: for bug reports and for tests that
      // depend on the TLS library.
      printf("otad %s\n%s (TLS %s)\nlibevent %s\nlisteners: tcpboot, http, https, admin\nlog: stderr, syslog\n",
             OTAD_VERSION, tls_library_version().c_str(), OTAD_TLS13 ? "1.2, 1.3" : "1.2", event_get_version());
      return 0;
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else {
      fprintf(stderr, "otad: unknown argument '%s'\n", a.c_str());
      usage(stderr);
      return kExitConfig;
    }
  }

  std::vector<std::string> errors;
  auto cfg = config_load(config_path, &errors);
  if (!cfg) {
    for (const auto& e : errors) fprintf(stderr, "%s\n", e.c_str());
    fprintf(stderr, "otad: %zu error(s) in %s\n", errors.size(), config_path.c_str());
    return kExitConfig;
  }
  if (check_only) {
    printf("; %s: OK. Effective configuration:\n%s", config_path.c_str(),
           config_dump(*cfg).c_str());
    return 0;
  }
  LogLevel lvl;
  if (log_level_from_name(cfg->log_level, &lvl)) log_set_level(lvl);
  log_to_syslog(cfg->log_target == "syslog");

  // Temporaries a crash left in the catalog (uploads, half-written files) go
  // before anything reads it.
  if (size_t n = catalog_clean_temporaries(cfg->catalog_dir)) {
    LOG_WARN("catalog: removed %zu temporary file(s) left by an interrupted write", n);
  }
  std::vector<std::string> warnings;
  auto cat = Catalog::load(cfg->catalog_dir, static_cast<uint64_t>(cfg->max_image_size), nullptr,
                           &errors, &warnings);
  for (const auto& w : warnings) LOG_WARN("%s", w.c_str());
  auto reg = Registry::load(cfg->devices_file, &errors);
  if (!cat || !reg) {
    for (const auto& e : errors) fprintf(stderr, "%s\n", e.c_str());
    return kExitConfig;
  }
  if (!ensure_fd_budget(cfg->max_connections, (*cat)->images().size())) return kExitConfig;

  // Peers that vanish mid-send must surface as EPIPE, not kill the process.
  signal(SIGPIPE, SIG_IGN);

  const Config c = *cfg;
  if (c.admin_enabled) {
    if (Status s = admin_init(g_admin, c); !s) {
      fprintf(stderr, "%s\n", s.error().c_str());
      return kExitConfig;
    }
    g_admin_protocol = kHttpProtocol;
    g_admin_protocol.table = &g_admin.routes;
    upload_pool_init(static_cast<size_t>(c.admin_max_uploads));
  }
  std::vector<TlsServerPtr> tls;  // outlive the server, whose slots hold their contexts
  Server server(config_path, std::move(*cfg), std::move(*cat), std::move(*reg));
  if (c.admin_enabled) {
    server.on_reload([](const Config& now) {
      if (Status s = admin_reload(g_admin, now); !s) LOG_ERROR("reload: %s; keeping the previous admin tokens", s.error().c_str());
    });
  }
  for (const ListenerSection& l : kListeners) {
    if (!(c.*l.enabled)) continue;
    ListenerSpec spec{l.section, l.proto,    nullptr,  l.auth, c.*l.listen, static_cast<int>(c.*l.port),
                      l.devices,  l.verify_mac};
    if (l.tls || (l.tls_key && c.*l.tls_key)) {
      // A TLS server (certificate, pool, session cache) per TLS section; its
      // registry is the server's live one, so a reload revokes at once.
      auto t = tls_server_new(c, auth_from_name(l.auth ? c.*l.auth : ""), server.registry());
      if (!t) {
        LOG_ERROR("%s", t.error().c_str());
        return kExitConfig;
      }
      tls.push_back(std::move(*t));
      LOG_INFO("%s: %s", l.section, tls_summary(*tls.back()).c_str());
      if (!tls_summary13(*tls.back()).empty()) LOG_INFO("%s: %s", l.section, tls_summary13(*tls.back()).c_str());
      for (const std::string& w : tls_warnings(*tls.back())) LOG_WARN("%s", w.c_str());
      spec.pool = &tls_pool(*tls.back());
    }
    server.add_listener(std::move(spec));
  }
  return server.run();
}
