// otactl device add | list | remove
#include <cstdio>

#include "cli/cli.h"
#include "otad/devices.h"
#include "otad/strict_num.h"

namespace otad::cli {
namespace {

bool load_registry(const Config& cfg, Registry* out) {
  std::vector<std::string> errors;
  auto reg = Registry::load(cfg.devices_file, &errors);
  if (!reg) {
    for (const auto& e : errors) fprintf(stderr, "%s\n", e.c_str());
    return false;
  }
  *out = std::move(*reg);
  return true;
}

int add(const Args& a) {
  if (a.pos.size() != 1 || !only_flags(a, {"--platform", "--image", "--name", "--disabled"})) {
    fprintf(stderr, "usage: otactl device add MAC [--platform P] [--image SHA256] [--name TEXT] "
                    "[--disabled]\n");
    return kExitUsage;
  }
  auto mac = parse_mac(a.pos[0]);
  if (!mac) {
    fprintf(stderr, "otactl: '%s' is not a MAC (30aea4041d8c, 30:AE:A4:04:1D:8C or 30-ae-...)\n",
            a.pos[0].c_str());
    return kExitUsage;
  }
  uint8_t sha[32];
  if (a.has("--image") && !from_hex(a.get("--image"), sha, 32)) {
    fprintf(stderr, "otactl: --image takes an image's full SHA-256 (see otactl image list --json)\n");
    return kExitUsage;
  }
  if (a.get("--name").size() > 120 || a.get("--platform").size() > 64) {
    fprintf(stderr, "otactl: --name is at most 120 characters, --platform 64\n");
    return kExitUsage;
  }
  Config cfg;
  Registry reg;
  if (!load_config(a, &cfg) || !load_registry(cfg, &reg)) return kExitFail;
  if (cfg.devices_file.empty()) {
    fprintf(stderr, "otactl: [devices] file is empty in the config: nowhere to keep devices\n");
    return kExitFail;
  }
  const bool existed = reg.find(*mac) != nullptr;
  Device d = existed ? *reg.find(*mac) : Device{};
  d.mac = *mac;
  if (a.has("--platform")) d.platform = a.get("--platform");
  if (a.has("--image")) d.image = to_hex(sha, 32);
  if (a.has("--name")) d.name = a.get("--name");
  d.enabled = !a.has("--disabled");
  reg.put(d);
  Status s = reg.save(cfg.devices_file);
  if (!s) {
    fprintf(stderr, "otactl: %s\n", s.error().c_str());
    return kExitFail;
  }
  printf("%s %s%s\n", existed ? "updated" : "added", mac->str().c_str(), d.enabled ? "" : " (disabled)");
  notify_daemon(cfg);
  return kExitOk;
}

int list(const Args& a) {
  if (!a.pos.empty() || !only_flags(a, {})) {
    fprintf(stderr, "usage: otactl device list\n");
    return kExitUsage;
  }
  Config cfg;
  Registry reg;
  if (!load_config(a, &cfg) || !load_registry(cfg, &reg)) return kExitFail;
  printf("%-12s %-8s %-16s %-12s %s\n", "MAC", "ENABLED", "PLATFORM", "IMAGE", "NAME");
  for (const Device& d : reg.sorted()) {
    printf("%-12s %-8s %-16s %-12.12s %s\n", d.mac.str().c_str(), d.enabled ? "yes" : "no",
           d.platform.empty() ? "-" : d.platform.c_str(), d.image.empty() ? "-" : d.image.c_str(),
           d.name.c_str());
  }
  return kExitOk;
}

int remove(const Args& a) {
  if (a.pos.size() != 1 || !only_flags(a, {})) {
    fprintf(stderr, "usage: otactl device remove MAC\n");
    return kExitUsage;
  }
  auto mac = parse_mac(a.pos[0]);
  if (!mac) {
    fprintf(stderr, "otactl: '%s' is not a MAC\n", a.pos[0].c_str());
    return kExitUsage;
  }
  Config cfg;
  Registry reg;
  if (!load_config(a, &cfg) || !load_registry(cfg, &reg)) return kExitFail;
  if (!reg.remove(*mac)) {
    fprintf(stderr, "otactl: %s is not registered\n", mac->str().c_str());
    return kExitFail;
  }
  Status s = reg.save(cfg.devices_file);
  if (!s) {
    fprintf(stderr, "otactl: %s\n", s.error().c_str());
    return kExitFail;
  }
  printf("removed %s\n", mac->str().c_str());
  notify_daemon(cfg);
  return kExitOk;
}

}  // namespace

int cmd_device(const std::string& verb, const Args& a) {
  if (verb == "add") return add(a);
  if (verb == "list") return list(a);
  if (verb == "remove") return remove(a);
  fprintf(stderr, "otactl: unknown command 'device %s'\n", verb.c_str());
  return kExitUsage;
}

}  // namespace otad::cli
