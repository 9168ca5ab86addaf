// otactl ca init: the gateway's CA (issues device certificates) and the
// server certificate [https] presents, signed by that CA.
#include <unistd.h>

#include <cstdio>
#include <sstream>

#include "cli/cli.h"
#include "cli/x509.h"
#include "otad/digest.h"
#include "otad/fsutil.h"

namespace otad::cli {

std::string ca_key_path(const Config& cfg) { return dir_of(cfg.client_ca_file) + "/ca.key"; }

Result<Pem> load_ca(const Config& cfg) {
  auto cert = read_file(cfg.client_ca_file, 1 << 16);
  auto key = read_file(ca_key_path(cfg), 1 << 16);
  if (!cert || !key) {
    return Err("no gateway CA at " + cfg.client_ca_file + " (run otactl ca init)");
  }
  return Pem{*cert, *key};
}

int cmd_ca(const std::string& verb, const Args& a) {
  if (verb != "init" || !a.pos.empty() || !only_flags(a, {"--host", "--force"})) {
    fprintf(stderr, "usage: otactl ca init [--host NAME[,NAME...]] [--force]\n");
    return kExitUsage;
  }
  Config cfg;
  if (!load_config(a, &cfg)) return kExitFail;
  if (cfg.client_ca_file.empty() || cfg.cert_file.empty() || cfg.key_file.empty()) {
    fprintf(stderr, "otactl: [https] cert_file, key_file and client_ca_file must be set\n");
    return kExitFail;
  }
  if (!a.has("--force") && (file_exists(cfg.client_ca_file) || file_exists(cfg.cert_file))) {
    fprintf(stderr, "otactl: %s or %s exists; --force replaces them (and orphans every device "
                    "certificate issued so far)\n", cfg.client_ca_file.c_str(), cfg.cert_file.c_str());
    return kExitFail;
  }
  std::vector<std::string> sans = {"localhost", "127.0.0.1"};
  char host[256];
  if (gethostname(host, sizeof host) == 0) sans.emplace_back(host);
  std::stringstream extra(a.get("--host"));
  for (std::string h; std::getline(extra, h, ',');) {
    if (!h.empty()) sans.push_back(h);
  }
  auto ca = make_ca("otad gateway CA", 20);
  if (!ca) {
    fprintf(stderr, "otactl: %s\n", ca.error().c_str());
    return kExitFail;
  }
  auto server = make_leaf(*ca, sans.back() == host ? host : sans.back(), sans, true, 10);
  if (!server) {
    fprintf(stderr, "otactl: %s\n", server.error().c_str());
    return kExitFail;
  }
  for (const std::string& f : {cfg.client_ca_file, cfg.cert_file, cfg.key_file}) {
    Status s = make_dirs(dir_of(f));
    if (!s) {
      fprintf(stderr, "otactl: %s\n", s.error().c_str());
      return kExitFail;
    }
  }
  Status s = write_file_atomic(ca_key_path(cfg), ca->key, 0600);
  if (s) s = write_file_atomic(cfg.client_ca_file, ca->cert);
  if (s) s = write_file_atomic(cfg.key_file, server->key, 0600);
  if (s) s = write_file_atomic(cfg.cert_file, server->cert);
  if (s && !cfg.crl_file.empty()) {
    // A new CA starts with an empty CRL of its own (the old one's entries
    // name certificates of the old CA, which no longer verify anyway).
    auto crl = make_crl(*ca, "", {});
    s = crl ? write_file_atomic(cfg.crl_file, ca->cert + *crl) : Status(Err(crl.error()));
  }
  if (!s) {
    fprintf(stderr, "otactl: %s\n", s.error().c_str());
    return kExitFail;
  }
  std::string names;
  for (const auto& n : sans) names += (names.empty() ? "" : ", ") + n;
  printf("CA: %s (key %s)\nserver certificate: %s for %s\n", cfg.client_ca_file.c_str(),
         ca_key_path(cfg).c_str(), cfg.cert_file.c_str(), names.c_str());
  printf("devices verify the gateway with %s:\n"
         "  esp_https_ota, esp_http_client: cert_pem = its text\n"
         "  Arduino-ESP32 (WiFiClientSecure): client.setCACert(its text)\n"
         "  ESP8266 (BearSSL): BearSSL::X509List ca(its text); client.setTrustAnchors(&ca);\n"
         "    BearSSL checks the validity dates: set the clock first (configTime)\n",
         cfg.client_ca_file.c_str());
  auto der = cert_der(server->cert);
  if (der) {
    // A fingerprint needs no clock but pins this very certificate: the next
    // ca init changes it, and every device pinned to it must be updated first.
    const Digests d = digest_bytes({reinterpret_cast<const uint8_t*>(der->data()), der->size()});
    std::string fp;
    for (size_t i = 0; i < sizeof d.sha1; ++i) {
      char b2[4];
      snprintf(b2, sizeof b2, i ? ":%02X" : "%02X", d.sha1[i]);
      fp += b2;
    }
    printf("  or pin this server certificate (changes with every ca init):\n"
           "    ESP8266 (BearSSL): client.setFingerprint(\"%s\");\n", fp.c_str());
  }
  // The whole Certificate message (the certificate plus 10 bytes) must fit
  // in one record of the size a device asks for: mbedTLS 2.28 never splits
  // it. BearSSL devices with the smallest buffers ask for 512.
  if (der && der->size() + 10 > 512) {
    fprintf(stderr, "otactl: warning: the server certificate is %zu bytes; devices that ask for 512-byte "
                    "records (BearSSL's smallest buffers) need it under 503: name fewer hosts\n", der->size());
  } else if (der) {
    printf("server certificate: %zu bytes (fits devices that ask for 512-byte records)\n", der->size());
  }
  return kExitOk;
}

}  // namespace otad::cli
