// otactl device add | revoke | remove (list and show: cmd_fleet.cc)
#include <cstring>
#include <cstdio>

#include "cli/cli.h"
#include "cli/x509.h"
#include "otad/command.h"
#include "otad/credentials.h"
#include "otad/devices.h"
#include "otad/inspect.h"
#include "otad/fsutil.h"
#include "otad/platforms.h"
#include "otad/strict_num.h"
#include "otad/wpa2.h"

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

// Random secret as hex.
std::string random_hex(size_t bytes) {
  uint8_t b[64];
  if (!random_bytes(b, bytes)) return "";
  return to_hex(b, bytes);
}

// Sets (hash) or drops (nullptr) a device's NT hash in [wpa2] nt_hash_file.
bool store_nt_hash(const Config& cfg, const Mac& mac, const std::string* hash) {
  if (cfg.nt_hash_file.empty()) return true;
  auto nt = load_nt_hashes(cfg.nt_hash_file);
  Status s = nt ? Ok() : Err(nt.error());
  if (s) {
    if (hash) (*nt)[mac] = *hash;
    else if (!nt->erase(mac)) return true;
    s = write_file_atomic(cfg.nt_hash_file, format_nt_hashes(*nt), 0600);
  }
  if (!s) fprintf(stderr, "otactl: wpa2: %s\n", s.error().c_str());
  return s.ok();
}

// The certificate otactl issued to d into the CA's devices folder, if it
// is still there and still the one d pins ("" otherwise, after saying so).
std::string issued_cert(const Config& cfg, const Device& d) {
  if (d.cert.empty() || cfg.crl_file.empty()) return "";
  const std::string path = dir_of(cfg.client_ca_file) + "/devices/" + d.mac.str() + ".crt";
  auto pem = read_file(path, 1 << 16);
  auto fp = pem ? cert_fingerprint(*pem) : Result<std::string>(Err(""));
  if (fp && *fp == d.cert) return *pem;
  printf("  (the certificate %s pins is not at %s: not added to the CRL; otad refuses it all the same)\n",
         d.mac.str().c_str(), path.c_str());
  return "";
}

// [wpa2] crl_file: the CA certificate and a CRL listing, besides what it
// listed before, a certificate that no longer speaks for its device (the
// device revoked or removed, or given a new certificate). Returns whether
// the file changed; false with *ok = false after printing an error.
bool crl_step(const Config& cfg, const std::string& revoked_pem, const Mac& mac, bool* ok) {
  *ok = true;
  if (cfg.crl_file.empty()) return false;
  std::vector<std::string> revoked;
  if (!revoked_pem.empty()) revoked.push_back(revoked_pem);
  if (revoked.empty() && file_exists(cfg.crl_file)) return false;
  auto ca = load_ca(cfg);
  auto previous = file_exists(cfg.crl_file) ? read_file(cfg.crl_file, 16 << 20) : Result<std::string>(std::string());
  Result<std::string> crl = !ca ? Result<std::string>(Err(ca.error()))
                            : !previous ? Result<std::string>(Err(cfg.crl_file + ": " + previous.error()))
                                        : make_crl(*ca, *previous, revoked);
  Status s = crl ? write_file_atomic(cfg.crl_file, ca->cert + *crl) : Status(Err(crl.error()));
  if (!s) {
    fprintf(stderr, "otactl: wpa2: crl_file: %s\n", s.error().c_str());
    *ok = false;
    return false;
  }
  if (!revoked.empty()) printf("certificate of %s added to the CRL (%s)\n", mac.str().c_str(), cfg.crl_file.c_str());
  return true;
}

// The RADIUS server's user files (and CRL) follow the registry, and the
// server is told to reload, in the same step that changes otad's own view.
// False (after printing why) when either did not happen: a revoked device
// may then still be on the Wi-Fi.
bool wpa2_step(const Config& cfg, const Registry& reg, const Mac& mac, const std::string& revoked_pem = "") {
  bool crl_ok;
  const bool crl_changed = crl_step(cfg, revoked_pem, mac, &crl_ok);
  auto changed = wpa2_sync({cfg.eap_user_file, cfg.radius_users_file, cfg.nt_hash_file}, reg);
  if (!changed) {
    fprintf(stderr, "otactl: wpa2: %s; the RADIUS server's users did not change\n", changed.error().c_str());
    return false;
  }
  if (!*changed && !crl_changed) return crl_ok;
  if (*changed) {
    printf("RADIUS users updated (%s)\n", cfg.eap_user_file.empty() ? cfg.radius_users_file.c_str()
                                                                     : cfg.eap_user_file.c_str());
  }
  if (cfg.wpa2_reload_command.empty()) {
    printf("  ([wpa2] reload_command is empty: reload the RADIUS server yourself)\n");
    return crl_ok;
  }
  if (Status s = command_run(cfg.wpa2_reload_command, cfg.wpa2_reload_timeout * 1000); !s) {
    fprintf(stderr, "otactl: wpa2: reload_command '%s' failed (%s): the RADIUS server may still use its old users\n",
            cfg.wpa2_reload_command.c_str(), s.error().c_str());
    return false;
  }
  printf("RADIUS server reloaded (%s)\n", cfg.wpa2_reload_command.c_str());
  return crl_ok;
}

// Issues what was asked for, stores the verifiers in d and prints what goes
// on the device. Returns false after printing an error.
bool issue_credentials(const Args& a, const Config& cfg, Device* d, std::string* nt_hash) {
  const std::string mac = d->mac.str();
  std::string wifi;  // a Wi-Fi password, kept only as its NT hash
  if (a.has("--psk")) {
    d->psk = random_hex(16);
    printf("TLS-PSK  identity: %s\n         key:      %s\n", mac.c_str(), d->psk.c_str());
    printf("         (ESP32 Arduino: client.setPreSharedKey(\"%s\", \"%s\"); esp-tls: psk_hint_key)\n",
           mac.c_str(), d->psk.c_str());
  }
  if (a.has("--password")) {
    const std::string password = random_hex(16);
    auto h = password_hash_make(password);
    if (!h) {
      fprintf(stderr, "otactl: %s\n", h.error().c_str());
      return false;
    }
    d->password_hash = *h;
    printf("HTTP Basic  user: %s\n            password: %s   (shown once; only a salted hash is kept)\n",
           mac.c_str(), password.c_str());
    if (a.has("--wpa2")) wifi = password;
  } else if (a.has("--wpa2")) {
    fprintf(stderr, "otactl: --wpa2 goes with --password (the same identity and password serve Wi-Fi)\n");
    return false;
  }
  if (a.has("--wifi-password") && wifi.empty()) {
    wifi = random_hex(16);
    printf("Wi-Fi (WPA2-Enterprise, PEAP or TTLS with MSCHAPv2)\n            identity: %s\n"
           "            password: %s   (shown once; only its NT hash is kept)\n",
           mac.c_str(), wifi.c_str());
  }
  if (!wifi.empty()) {
    if (cfg.nt_hash_file.empty()) {
      fprintf(stderr, "otactl: a Wi-Fi password needs [wpa2] nt_hash_file in the config (where its NT hash is kept)\n");
      return false;
    }
    auto nt = nt_hash_hex(wifi);
    if (!nt) {
      fprintf(stderr, "otactl: %s\n", nt.error().c_str());
      return false;
    }
    *nt_hash = *nt;
    if (a.has("--wpa2")) printf("            (the same identity and password join the Wi-Fi: PEAP or TTLS, MSCHAPv2)\n");
  }
  if (a.has("--cert")) {
    auto ca = load_ca(cfg);
    if (!ca) {
      fprintf(stderr, "otactl: %s\n", ca.error().c_str());
      return false;
    }
    auto leaf = make_leaf(*ca, mac, {mac}, false, 10);
    if (!leaf) {
      fprintf(stderr, "otactl: %s\n", leaf.error().c_str());
      return false;
    }
    auto fp = cert_fingerprint(leaf->cert);
    if (!fp) {
      fprintf(stderr, "otactl: %s\n", fp.error().c_str());
      return false;
    }
    const std::string dir = a.get("--out", dir_of(cfg.client_ca_file) + "/devices");
    Status s = make_dirs(dir);
    if (s) s = write_file_atomic(dir + "/" + mac + ".key", leaf->key, 0600);
    if (s) s = write_file_atomic(dir + "/" + mac + ".crt", leaf->cert);
    if (!s) {
      fprintf(stderr, "otactl: %s\n", s.error().c_str());
      return false;
    }
    d->cert = *fp;
    printf("client certificate: %s/%s.crt and .key (CN %s, sha256 %.16s...)\n", dir.c_str(), mac.c_str(),
           mac.c_str(), fp->c_str());
    printf("  (esp_https_ota: client_cert_pem / client_key_pem; verify the gateway with %s)\n",
           cfg.client_ca_file.c_str());
  }
  return true;
}

int add(const Args& a) {
  if (a.pos.size() != 1 || !only_flags(a, {"--platform", "--image", "--name", "--chip", "--disabled", "--psk",
                                           "--password", "--wpa2", "--wifi-password", "--cert", "--out",
                                           "--groups"})) {
    fprintf(stderr, "usage: otactl device add MAC [--platform P] [--image SHA256] [--name TEXT] "
                    "[--chip esp32c3] [--groups a,b] [--disabled]\n");
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
  if (a.has("--chip")) {
    const std::string chip = a.get("--chip");
    if (!is_esp_chip(chip)) {
      fprintf(stderr, "otactl: --chip: '%s' is not an ESP chip (esp8266, esp32, esp32c3, ...)\n", chip.c_str());
      return kExitUsage;
    }
    d.chip = chip;
  }
  if (a.has("--groups")) {
    d.groups = split_words(a.get("--groups"));
    for (const std::string& g : d.groups) {
      if (!catalog_name_ok(g)) {
        fprintf(stderr, "otactl: --groups: '%s': group names hold letters, digits and . _ - + only\n", g.c_str());
        return kExitUsage;
      }
    }
  }
  d.enabled = !a.has("--disabled");
  // A new certificate retires the old one everywhere: otad's pin moves, and
  // the CRL lists the old one for the RADIUS server.
  const std::string replaced = existed && a.has("--cert") ? issued_cert(cfg, d) : "";
  std::string nt_hash;
  if (!issue_credentials(a, cfg, &d, &nt_hash)) return kExitFail;
  // The NT hash first: one without its device is never written out.
  if (!nt_hash.empty() && !store_nt_hash(cfg, *mac, &nt_hash)) return kExitFail;
  reg.put(d);
  Status s = reg.save(cfg.devices_file);
  if (!s) {
    fprintf(stderr, "otactl: %s\n", s.error().c_str());
    return kExitFail;
  }
  printf("%s %s%s\n", existed ? "updated" : "added", mac->str().c_str(), d.enabled ? "" : " (disabled)");
  const bool radius_ok = wpa2_step(cfg, reg, *mac, replaced);
  const bool told = notify_daemon(cfg);
  return radius_ok && told ? kExitOk : kExitFail;
}

// Shared by revoke and remove: one registered device, changed by `change`,
// saved, and otad told. `change` returns false when the device is unknown.
int change_device(const Args& a, const char* verb, const char* done,
                  bool (*change)(Registry& reg, const Mac& mac)) {
  const bool removing = strcmp(verb, "remove") == 0;
  if (a.pos.size() != 1 || !(removing ? only_flags(a, {"--force"}) : only_flags(a, {}))) {
    fprintf(stderr, "usage: otactl device %s MAC%s\n", verb, removing ? " [--force]" : "");
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
  const std::optional<Device> before = reg.find(*mac) ? std::optional<Device>(*reg.find(*mac)) : std::nullopt;
  // A revoked device is a tombstone: removed, it would come back as an
  // unknown device, which unknown_devices = serve serves.
  if (removing && before && !before->enabled && !a.has("--force")) {
    fprintf(stderr, "otactl: %s is revoked: removing it would let it back as an unknown device (served where "
                    "[catalog] unknown_devices = serve); it stays revoked. --force removes it all the same\n",
            mac->str().c_str());
    return kExitFail;
  }
  if (!change(reg, *mac)) {
    fprintf(stderr, "otactl: %s is not registered\n", mac->str().c_str());
    return kExitFail;
  }
  Status s = reg.save(cfg.devices_file);
  if (!s) {
    fprintf(stderr, "otactl: %s\n", s.error().c_str());
    return kExitFail;
  }
  printf("%s %s\n", done, mac->str().c_str());
  // Its Wi-Fi password goes with it; the user files lose its entries.
  const bool radius_ok = store_nt_hash(cfg, *mac, nullptr) && wpa2_step(cfg, reg, *mac, issued_cert(cfg, *before));
  const bool told = notify_daemon(cfg);
  return radius_ok && told ? kExitOk : kExitFail;
}

// A lost unit: disabled and its credentials dropped. Every other device
// keeps working; the unit needs new credentials to come back.
int revoke(const Args& a) {
  return change_device(a, "revoke", "revoked (disabled, credentials dropped):", [](Registry& reg, const Mac& mac) {
    const Device* found = reg.find(mac);
    if (!found) return false;
    Device d = *found;
    d.enabled = false;
    d.psk.clear();
    d.password_hash.clear();
    d.cert.clear();
    reg.put(d);
    return true;
  });
}

int remove(const Args& a) {
  return change_device(a, "remove", "removed", [](Registry& reg, const Mac& mac) { return reg.remove(mac); });
}

}  // namespace

int cmd_device(const std::string& verb, const Args& a) {
  if (verb == "add") return add(a);
  if (verb == "list") return device_list(a);
  if (verb == "show") return device_show(a);
  if (verb == "remove") return remove(a);
  if (verb == "revoke") return revoke(a);
  fprintf(stderr, "otactl: unknown command 'device %s'\n", verb.c_str());
  return kExitUsage;
}

}  // namespace otad::cli
