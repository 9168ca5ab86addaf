// otactl: the command-line companion of otad (images, devices, reload).
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cerrno>
#include <cstring>

#include "cli/cli.h"
#include "otad/crypto_init.h"
#include "otad/fsutil.h"
#include "otad/strict_num.h"

namespace otad::cli {

namespace {

// Flags that take a value; every other --flag is a switch.
const char* const kValueFlags[] = {"--config", "--platform", "--version", "--chip",  "--project",
                                   "--size",   "--output",   "--image",   "--name",  "-o",
                                   "--secure-version", "--out", "--host", "--kind", "--token-file", "--match",
                                   "--max-size", "--percent", "--groups", "--max-concurrent", "--halt-after"};

bool takes_value(const std::string& f) {
  for (const char* v : kValueFlags) {
    if (f == v) return true;
  }
  return false;
}

void usage(FILE* f) {
  fprintf(f,
          "usage: otactl [--config FILE] COMMAND ...\n"
          "  image inspect FILE [--json]        what a binary is (chip, kind, app description)\n"
          "  image make -o FILE [--chip C] [--project P] [--version V] [--size BYTES]\n"
          "                                     generate a well-formed demo/test image\n"
          "  image add FILE [--platform P] [--version V] [--kind app|filesystem]\n"
          "                                     add an image to the catalog (through otad's admin\n"
          "                                     API when it runs: token in $OTAD_TOKEN or --token-file)\n"
          "  image list [--json]                list the catalog\n"
          "  image remove SHA256-PREFIX         remove an image from the catalog\n"
          "  platform add NAME [--chip C] [--match PROJECT] [--max-size BYTES]\n"
          "  platform list [--json] | platform remove NAME\n"
          "  status [--json]                    otad's version, uptime, images, devices, downloads\n"
          "  device add MAC [--platform P] [--image SHA256] [--name TEXT] [--chip C]\n"
          "             [--groups a,b] [--disabled] [--psk] [--password [--wpa2]] [--wifi-password]\n"
          "             [--cert [--out DIR]]     register a device; issue its credentials (Wi-Fi ones\n"
          "                                     go into the RADIUS user files of [wpa2])\n"
          "  device list [--json]               registered and seen devices, what they run\n"
          "  device show MAC [--json]           one device: its state, last download, events\n"
          "  rollout set PLATFORM --version V --percent P [--groups a,b] [--max-concurrent N]\n"
          "             [--halt-after N|P%%] [--allow-downgrade] [--paused]\n"
          "  rollout pause|resume|clear PLATFORM | rollout show [PLATFORM] [--json]\n"
          "  device revoke MAC                  disable a device and drop its credentials (Wi-Fi too)\n"
          "  device remove MAC [--force]        remove a device (a revoked one only with --force: revoked\n"
          "                                     stays a tombstone, never an unknown device)\n"
          "  ca init [--host NAME,...]          create the gateway CA and server certificate\n"
          "  admin token add NAME               make an admin API token (printed once)\n"
          "  admin token list | revoke NAME     list or revoke admin API tokens\n"
          "  reload                             tell the running otad to reload (SIGHUP)\n"
          "The config defaults to $OTAD_CONFIG, else /etc/otad/otad.ini.\n");
}

}  // namespace

bool only_flags(const Args& a, std::initializer_list<const char*> allowed) {
  for (const auto& [f, v] : a.flags) {
    if (f == "--config") continue;
    bool ok = false;
    for (const char* x : allowed) ok = ok || f == x;
    if (!ok) {
      fprintf(stderr, "otactl: unknown option %s\n", f.c_str());
      return false;
    }
  }
  return true;
}

bool load_config(const Args& a, Config* out) {
  std::string path = a.get("--config");
  if (path.empty()) {
    const char* env = getenv("OTAD_CONFIG");
    path = env && *env ? env : "/etc/otad/otad.ini";
  }
  std::vector<std::string> errors;
  auto cfg = config_load(path, &errors);
  if (!cfg) {
    for (const auto& e : errors) fprintf(stderr, "%s\n", e.c_str());
    return false;
  }
  *out = *cfg;
  return true;
}

std::optional<pid_t> daemon_pid(const Config& cfg) {
  if (cfg.pid_file.empty()) return std::nullopt;
  auto text = read_file(cfg.pid_file, 64);
  if (!text) return std::nullopt;
  std::string t = *text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  auto pid = parse_int_strict(t, 1, 1 << 30);
  if (!pid) return std::nullopt;
  return static_cast<pid_t>(*pid);
}

bool notify_daemon(const Config& cfg, FILE* out) {
  if (cfg.pid_file.empty()) {
    fprintf(out, "otad reads this at its next reload (SIGHUP)\n");
    return true;
  }
  if (!file_exists(cfg.pid_file)) {
    fprintf(out, "otad is not running (no %s); it reads this when it starts\n", cfg.pid_file.c_str());
    return true;
  }
  const std::optional<pid_t> pid = daemon_pid(cfg);
  // otad writes each reload's outcome beside its pid file: "<pid> <n> ok" or
  // "<pid> <n> refused: <why>". The count before the signal tells ours apart.
  const std::string status = cfg.pid_file + ".reload";
  auto outcome = [&](uint64_t* n) -> std::string {
    auto text = read_file(status, 4096);
    unsigned long long p = 0, k = 0;
    int used = 0;
    if (!text || sscanf(text->c_str(), "%llu %llu %n", &p, &k, &used) < 2 || static_cast<pid_t>(p) != *pid) return "";
    *n = k;
    std::string rest = text->substr(static_cast<size_t>(used));
    while (!rest.empty() && rest.back() == '\n') rest.pop_back();
    return rest;
  };
  uint64_t before = 0;
  if (pid) outcome(&before);
  if (!pid || kill(*pid, SIGHUP) != 0) {
    fprintf(stderr, "otactl: otad (pid file %s) did not take SIGHUP (%s); it still runs on what it read before: "
                    "reload it by hand\n", cfg.pid_file.c_str(), pid ? strerror(errno) : "no pid in the file");
    return false;
  }
  for (int i = 0; i < 100; ++i) {  // 5 s: a reload re-hashes only new images
    uint64_t n = before;
    const std::string said = outcome(&n);
    if (n > before) {
      if (said == "ok") {
        fprintf(out, "otad (pid %lld) reloaded\n", static_cast<long long>(*pid));
        return true;
      }
      fprintf(stderr, "otactl: otad (pid %lld) %s; it still runs on what it read before\n",
              static_cast<long long>(*pid), said.c_str());
      return false;
    }
    usleep(50000);
  }
  fprintf(stderr, "otactl: otad (pid %lld) took SIGHUP but has not said within 5 s how the reload went (%s); "
                  "its log says\n", static_cast<long long>(*pid), status.c_str());
  return false;
}

}  // namespace otad::cli

using namespace otad::cli;

int main(int argc, char** argv) {
  if (!otad::crypto_init()) {
    fprintf(stderr, "otactl: cannot initialise the crypto library\n");
    return kExitFail;
  }
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "-h" || s == "--help") {
      usage(stdout);
      return kExitOk;
    }
    if (s.size() > 1 && s[0] == '-') {
      std::string val;
      if (size_t eq = s.find('='); eq != std::string::npos && s.rfind("--", 0) == 0) {
        val = s.substr(eq + 1);
        s = s.substr(0, eq);
      } else if (takes_value(s)) {
        if (i + 1 >= argc) {
          fprintf(stderr, "otactl: %s needs a value\n", s.c_str());
          return kExitUsage;
        }
        val = argv[++i];
      }
      if (s == "-o") s = "--output";
      a.flags[s] = val;
    } else {
      a.pos.push_back(s);
    }
  }
  if (a.pos.empty()) {
    usage(stderr);
    return kExitUsage;
  }
  const std::string group = a.pos[0];
  if (group == "reload") {
    otad::Config cfg;
    if (!load_config(a, &cfg)) return kExitFail;
    return notify_daemon(cfg) ? kExitOk : kExitFail;
  }
  if (group == "admin" && a.pos.size() >= 3 && a.pos[1] == "token") {
    const std::string verb = "token-" + a.pos[2];
    a.pos.erase(a.pos.begin(), a.pos.begin() + 3);
    return cmd_admin(verb, a);
  }
  if (group == "status") {
    a.pos.erase(a.pos.begin());
    return cmd_status(a);
  }
  if (group == "rollout" && a.pos.size() >= 2) {
    const std::string verb = a.pos[1];
    a.pos.erase(a.pos.begin(), a.pos.begin() + 2);
    return cmd_rollout(verb, a);
  }
  if (a.pos.size() < 2 || (group != "image" && group != "device" && group != "ca" && group != "platform")) {
    usage(stderr);
    return kExitUsage;
  }
  const std::string verb = a.pos[1];
  a.pos.erase(a.pos.begin(), a.pos.begin() + 2);
  if (group == "ca") return cmd_ca(verb, a);
  if (group == "platform") return cmd_platform(verb, a);
  return group == "image" ? cmd_image(verb, a) : cmd_device(verb, a);
}
