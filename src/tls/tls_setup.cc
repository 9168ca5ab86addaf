// The TLS server's setup: certificate and key, the one shared config
// (versions, groups, suites in the order chosen, PSK and client-certificate
// policy, max fragment length, tickets, session cache) and the pool of
// contexts. Everything here runs once, at start-up.
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "otad/fsutil.h"
#include "otad/suite_order.h"
#include "tls/tls.h"
#include "tls/tls_server.h"

namespace otad {
namespace {

struct Suite {
  const char* shortname;
  const char* name;
};
constexpr Suite kSuites[] = {
    {"ecdhe-ecdsa-aes128-gcm", "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256"},
    {"ecdhe-ecdsa-aes256-gcm", "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384"},
    {"ecdhe-ecdsa-chacha20", "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256"},
    {"ecdhe-psk-chacha20", "TLS-ECDHE-PSK-WITH-CHACHA20-POLY1305-SHA256"},
    {"ecdhe-psk-aes128", "TLS-ECDHE-PSK-WITH-AES-128-CBC-SHA256"},
    {"psk-aes128-gcm", "TLS-PSK-WITH-AES-128-GCM-SHA256"},
    {"psk-aes256-gcm", "TLS-PSK-WITH-AES-256-GCM-SHA384"},
    {"psk-chacha20", "TLS-PSK-WITH-CHACHA20-POLY1305-SHA256"},
};

}  // namespace

void TlsServerDeleter::operator()(TlsServer* s) const {
  for (size_t i = 0; i < s->pool_used; ++i) {
    if (s->pool[i].set_up) mbedtls_ssl_free(&s->pool[i].ssl);
  }
  if (s->pool) munmap(s->pool, s->pool_bytes);
  if (s->tickets) mbedtls_ssl_ticket_free(&s->ticket);
  mbedtls_ssl_config_free(&s->conf);
  mbedtls_x509_crt_free(&s->own_cert);
  mbedtls_x509_crt_free(&s->ca);
  mbedtls_pk_free(&s->key);
  mbedtls_ctr_drbg_free(&s->drbg);
  mbedtls_entropy_free(&s->entropy);
  delete s;
}

namespace {
std::string mbed_err(int r) {
  char buf[160];
  mbedtls_strerror(r, buf, sizeof buf);
  return buf;
}
}  // namespace

Result<TlsServerPtr> tls_server_new(const Config& cfg, Auth auth, const Registry* registry) {
  TlsServerPtr s(new TlsServer);
  mbedtls_entropy_init(&s->entropy);
  mbedtls_ctr_drbg_init(&s->drbg);
  mbedtls_ssl_config_init(&s->conf);
  mbedtls_x509_crt_init(&s->own_cert);
  mbedtls_x509_crt_init(&s->ca);
  mbedtls_pk_init(&s->key);
  s->auth = auth;
  s->registry = registry;
  const char* pers = "otad-tls";
  int r = mbedtls_ctr_drbg_seed(&s->drbg, mbedtls_entropy_func, &s->entropy,
                                reinterpret_cast<const unsigned char*>(pers), strlen(pers));
  if (r) return Err("https: random generator: " + mbed_err(r));
  if ((r = mbedtls_x509_crt_parse_file(&s->own_cert, cfg.cert_file.c_str())) != 0) {
    return Err("https: cert_file " + cfg.cert_file + ": " + mbed_err(r));
  }
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
  r = mbedtls_pk_parse_keyfile(&s->key, cfg.key_file.c_str(), nullptr, mbedtls_ctr_drbg_random, &s->drbg);
#else
  r = mbedtls_pk_parse_keyfile(&s->key, cfg.key_file.c_str(), nullptr);
#endif
  if (r) return Err("https: key_file " + cfg.key_file + ": " + mbed_err(r));
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
  r = mbedtls_pk_check_pair(&s->own_cert.pk, &s->key, mbedtls_ctr_drbg_random, &s->drbg);
#else
  r = mbedtls_pk_check_pair(&s->own_cert.pk, &s->key);
#endif
  if (r) return Err("https: key_file " + cfg.key_file + " does not match cert_file " + cfg.cert_file);
  if (Status st = check_certificate(cfg, s->own_cert, &s->warnings); !st) return Err(st.error());
#if MBEDTLS_VERSION_NUMBER < 0x03000000
  if ((r = ecdsa_in_place(s->key)) != 0) return Err("https: key_file " + cfg.key_file + ": " + mbed_err(r));
#endif
  r = mbedtls_ssl_config_defaults(&s->conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                  MBEDTLS_SSL_PRESET_DEFAULT);
  if (r) return Err("https: " + mbed_err(r));
  mbedtls_ssl_conf_rng(&s->conf, mbedtls_ctr_drbg_random, &s->drbg);
  // Versions: https.tls_versions (the config table refused 1.3 where this
  // mbedTLS lacks it).
  const bool tls12 = cfg.tls_versions.find("1.2") != std::string::npos;
  const bool tls13 = cfg.tls_versions.find("1.3") != std::string::npos;
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
  mbedtls_ssl_conf_min_tls_version(&s->conf, tls12 ? MBEDTLS_SSL_VERSION_TLS1_2 : MBEDTLS_SSL_VERSION_TLS1_3);
  mbedtls_ssl_conf_max_tls_version(&s->conf, tls13 ? MBEDTLS_SSL_VERSION_TLS1_3 : MBEDTLS_SSL_VERSION_TLS1_2);
  // The key exchanges the auth policy allows, as the 1.2 suites do: PSK
  // (with and without ECDHE) for psk, ECDHE with the certificate for cert.
  mbedtls_ssl_conf_tls13_key_exchange_modes(&s->conf, auth == Auth::Psk    ? MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_ALL
                                                      : auth == Auth::Cert ? MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL
                                                                           : MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_ALL);
#else
  mbedtls_ssl_conf_min_tls_version(&s->conf, MBEDTLS_SSL_VERSION_TLS1_2);
  mbedtls_ssl_conf_max_tls_version(&s->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#endif
#else
  mbedtls_ssl_conf_min_version(&s->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#endif
  // Groups: https.groups, X25519 then P-256 by default. The server takes the
  // first group of this list that the device offers. mbedTLS's own default
  // list starts with P-521, Brainpool and P-384, all dearer than P-256 or
  // X25519 (P-384: half as much again per handshake). mbedTLS 2.28 keeps only
  // the first 11 groups a device lists, and mbedTLS 2.x devices list X25519
  // twelfth: they get P-256 whatever is set here. The config table has
  // already checked the words.
  std::string w;
  std::istringstream gwords(cfg.groups);
  while (gwords >> w) {
#if MBEDTLS_VERSION_NUMBER >= 0x03010000
    s->groups.push_back(w == "x25519" ? MBEDTLS_SSL_IANA_TLS_GROUP_X25519
                        : w == "p256" ? MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1
                                      : MBEDTLS_SSL_IANA_TLS_GROUP_SECP384R1);
#else
    s->groups.push_back(w == "x25519" ? MBEDTLS_ECP_DP_CURVE25519
                        : w == "p256" ? MBEDTLS_ECP_DP_SECP256R1
                                      : MBEDTLS_ECP_DP_SECP384R1);
#endif
  }
#if MBEDTLS_VERSION_NUMBER >= 0x03010000
  s->groups.push_back(MBEDTLS_SSL_IANA_TLS_GROUP_NONE);
  mbedtls_ssl_conf_groups(&s->conf, s->groups.data());
#else
  s->groups.push_back(MBEDTLS_ECP_DP_NONE);
  mbedtls_ssl_conf_curves(&s->conf, s->groups.data());
#endif
  if ((r = mbedtls_ssl_conf_own_cert(&s->conf, &s->own_cert, &s->key)) != 0) {
    return Err("https: certificate: " + mbed_err(r));
  }
  // Suites: the configured list, narrowed to what the auth policy can use,
  // then (cipher_order = auto) the faster cipher on this CPU first.
  std::vector<std::string> names;
  std::istringstream words(cfg.ciphersuites);
  while (words >> w) {
    const Suite* found = nullptr;
    for (const Suite& su : kSuites) {
      if (w == su.shortname) found = &su;
    }
    if (!found) return Err("https: ciphersuites: unknown suite '" + w + "' (otad --list-ciphersuites)");
    const bool psk = strstr(found->name, "PSK") != nullptr;
    if ((auth == Auth::Psk && !psk) || (auth == Auth::Cert && psk)) continue;
    if (mbedtls_ssl_get_ciphersuite_id(found->name) == 0) {
      return Err(std::string("https: this mbedTLS lacks ") + found->name);
    }
    names.push_back(found->name);
  }
  if (names.empty()) return Err("https: no configured cipher suite fits auth = " + cfg.https_auth);
  s->summary = "suites as listed";
  if (cfg.cipher_order == "auto") {
    // 64 KiB a run, best of 3: about 2 ms here, a tenth of a second on a
    // slow MIPS router; once per start.
    CipherSpeeds sp = measure_cipher_speeds(64 * 1024, 3);
    // Decided on the whole MB/s the log shows, in integers, so an operator
    // can check the verdict from the line itself (396 vs 360 is 10%).
    const long long chacha = std::llround(sp.chachapoly), aes = std::llround(sp.aes128gcm);
    Aead faster = 10 * chacha >= 11 * aes   ? Aead::ChaCha
                  : 10 * aes >= 11 * chacha ? Aead::Aes
                                            : Aead::Other;
    if (faster != Aead::Other) names = prefer_aead(names, faster);
    char note[160];
    snprintf(note, sizeof note, "ChaCha20-Poly1305 %lld MB/s, AES-128-GCM %lld MB/s on this CPU: %s", chacha, aes,
             faster == Aead::ChaCha ? "ChaCha20 suites first"
             : faster == Aead::Aes  ? "AES suites first"
                                    : "suites as listed (within 10%)");
    s->summary = note;
  }
  std::vector<std::string> v13;
  if (tls13) {
    // TLS 1.3 suites name only the AEAD (the key exchange is negotiated
    // apart): the faster one on this CPU first, as for 1.2.
    for (const char* n : {"TLS1-3-AES-128-GCM-SHA256", "TLS1-3-CHACHA20-POLY1305-SHA256", "TLS1-3-AES-256-GCM-SHA384"}) {
      if (mbedtls_ssl_get_ciphersuite_id(n) != 0) v13.push_back(n);
    }
    if (cfg.cipher_order == "auto" && s->summary.find("ChaCha20 suites first") != std::string::npos && v13.size() > 1) {
      std::swap(v13[0], v13[1]);
    }
  }
  if (!tls12) names.clear();
  if (names.empty() && v13.empty()) return Err("https: no cipher suite left for tls_versions = " + cfg.tls_versions);
  for (const std::string& n : v13) s->suites.push_back(mbedtls_ssl_get_ciphersuite_id(n.c_str()));
  for (const std::string& n : names) s->suites.push_back(mbedtls_ssl_get_ciphersuite_id(n.c_str()));
  // One line for 1.2 (key exchange and cipher), one for 1.3 (cipher only).
  if (!names.empty()) {
    s->summary += "; preference " + names[0];
    for (size_t i = 1; i < names.size(); ++i) s->summary += ", " + names[i];
  } else {
    s->summary += "; no TLS 1.2";
  }
  if (!v13.empty()) {
    s->summary13 = "TLS 1.3 preference " + v13[0];
    for (size_t i = 1; i < v13.size(); ++i) s->summary13 += ", " + v13[i];
  }
  s->suites.push_back(0);
  mbedtls_ssl_conf_ciphersuites(&s->conf, s->suites.data());
  if (auth == Auth::Psk || auth == Auth::Any || auth == Auth::None) {
    mbedtls_ssl_conf_psk_cb(&s->conf, psk_identity_cb, s.get());
  }
  if (auth == Auth::Cert || auth == Auth::Any) {
    if (cfg.client_ca_file.empty() || !file_exists(cfg.client_ca_file)) {
      if (auth == Auth::Cert) return Err("https: client_ca_file " + cfg.client_ca_file + " missing (auth = cert)");
      mbedtls_ssl_conf_authmode(&s->conf, MBEDTLS_SSL_VERIFY_NONE);
    } else {
      if ((r = mbedtls_x509_crt_parse_file(&s->ca, cfg.client_ca_file.c_str())) != 0) {
        return Err("https: client_ca_file " + cfg.client_ca_file + ": " + mbed_err(r));
      }
#if MBEDTLS_VERSION_NUMBER < 0x03000000
      for (mbedtls_x509_crt* c = &s->ca; c && c->raw.p; c = c->next) {
        if ((r = ecdsa_in_place(c->pk)) != 0) {
          return Err("https: client_ca_file " + cfg.client_ca_file + ": " + mbed_err(r));
        }
      }
#endif
      mbedtls_ssl_conf_ca_chain(&s->conf, &s->ca, nullptr);
      mbedtls_ssl_conf_authmode(&s->conf, auth == Auth::Cert ? MBEDTLS_SSL_VERIFY_REQUIRED
                                                              : MBEDTLS_SSL_VERIFY_OPTIONAL);
    }
  } else {
    mbedtls_ssl_conf_authmode(&s->conf, MBEDTLS_SSL_VERIFY_NONE);
  }
  if (cfg.max_fragment_length) {
    const unsigned char code = cfg.max_fragment_length == 512    ? MBEDTLS_SSL_MAX_FRAG_LEN_512
                               : cfg.max_fragment_length == 1024 ? MBEDTLS_SSL_MAX_FRAG_LEN_1024
                               : cfg.max_fragment_length == 2048 ? MBEDTLS_SSL_MAX_FRAG_LEN_2048
                                                                 : MBEDTLS_SSL_MAX_FRAG_LEN_4096;
    mbedtls_ssl_conf_max_frag_len(&s->conf, code);
  }
  if (cfg.session_tickets) {
    mbedtls_ssl_ticket_init(&s->ticket);
    s->tickets = true;
    r = mbedtls_ssl_ticket_setup(&s->ticket, mbedtls_ctr_drbg_random, &s->drbg, MBEDTLS_CIPHER_AES_256_GCM,
                                 static_cast<uint32_t>(cfg.ticket_lifetime));
    if (r) return Err("https: session tickets: " + mbed_err(r));
    mbedtls_ssl_conf_session_tickets_cb(&s->conf, ticket_write_cb, ticket_parse_cb, &s->ticket);
  }
  if (cfg.session_cache > 0) session_cache_attach(*s, static_cast<size_t>(cfg.session_cache), cfg.ticket_lifetime);
  s->max_handshakes = static_cast<size_t>(cfg.max_handshakes);
  s->handshake_timeout_s = cfg.handshake_timeout;
  s->pool_size = static_cast<size_t>(cfg.max_tls_connections);
  s->pool_bytes = std::max<size_t>(s->pool_size * sizeof(TlsConn), 1);
  void* mem = mmap(nullptr, s->pool_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return Err("https: cannot reserve the pool of " + std::to_string(s->pool_size) + " TLS contexts");
  s->pool = static_cast<TlsConn*>(mem);
  s->free_head = 0;
  s->free_count = s->pool_size;
  return s;
}


const std::string& tls_summary(const TlsServer& s) { return s.summary; }

const std::string& tls_summary13(const TlsServer& s) { return s.summary13; }

const std::vector<std::string>& tls_warnings(const TlsServer& s) { return s.warnings; }


std::string tls_library_version() {
  char v[18] = "";
  mbedtls_version_get_string(v);
  return std::string("mbedTLS ") + v;
}

std::vector<std::pair<std::string, std::string>> tls_suite_names() {
  std::vector<std::pair<std::string, std::string>> v;
  for (const Suite& s : kSuites) v.emplace_back(s.shortname, s.name);
  return v;
}
}  // namespace otad
