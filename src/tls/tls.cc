// mbedTLS over the connection's non-blocking fd with our own BIO (no
// bufferevents: libevent 2.1 has none for mbedTLS). One shared config; a
// fixed pool of contexts; every mbedTLS return code is folded into Io in
// fold() and nowhere else.
#include "tls/tls.h"
#include "tls/tls_server.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "otad/authorize.h"
#include "otad/digest.h"
#include "otad/fsutil.h"
#include "otad/log.h"
#include "otad/strict_num.h"
#include "otad/suite_order.h"

namespace otad {

TlsConn* g_handshaking = nullptr;

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

// Encrypted bodies are read from the image file into this one buffer: the
// reactor is single-threaded, so one buffer serves every connection.
uint8_t g_scratch[16384];

}  // namespace

namespace {

TlsConn& tc(Conn& c) { return *static_cast<TlsConn*>(c.io_ctx); }

// The one place mbedTLS return codes become Io.
IoResult fold(int r) {
  if (r >= 0) return {Io::Ok, static_cast<size_t>(r), 0};
  switch (r) {
    case MBEDTLS_ERR_SSL_WANT_READ: return {Io::WantRead, 0, 0};
    case MBEDTLS_ERR_SSL_WANT_WRITE: return {Io::WantWrite, 0, 0};
    case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
    case MBEDTLS_ERR_SSL_CONN_EOF: return {Io::Eof, 0, 0};
  }
  return {Io::Error, 0, r};
}

int bio_send(void* ctx, const unsigned char* buf, size_t len) {
  auto* t = static_cast<TlsConn*>(ctx);
  ssize_t r = send(t->fd, buf, len, MSG_NOSIGNAL);
  if (r >= 0) return static_cast<int>(r);
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return MBEDTLS_ERR_SSL_WANT_WRITE;
  return MBEDTLS_ERR_NET_SEND_FAILED;
}

int bio_recv(void* ctx, unsigned char* buf, size_t len) {
  auto* t = static_cast<TlsConn*>(ctx);
  ssize_t r = recv(t->fd, buf, len, 0);
  if (r >= 0) return static_cast<int>(r);  // 0: EOF, which mbedTLS reports as CONN_EOF
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return MBEDTLS_ERR_SSL_WANT_READ;
  return MBEDTLS_ERR_NET_RECV_FAILED;
}

// Io::Error codes of our own, below every mbedTLS code (those are > -0x8000):
// not TLS at all, with the offending first byte in the low bits.
constexpr int kErrNotTls = -0x10000;

// Looks at the device's first byte before mbedTLS takes it. Every TLS
// connection opens with a handshake record (type 22). An uppercase letter
// starts a plain HTTP request, which stays unread so the HTTP layer can
// answer it in clear; anything else is named as what it is, where mbedTLS
// would only say that processing the ClientHello failed.
constexpr int kErrPlaintext = -0x20000;
IoResult sniff(TlsConn& t) {
  uint8_t b;
  const ssize_t r = recv(t.fd, &b, 1, MSG_PEEK);
  if (r < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return {Io::WantRead, 0, 0};
    return {Io::Error, 0, errno};
  }
  if (r == 0) return {Io::Eof, 0, 0};
  t.sniffed = true;
  if (b == 22) return {Io::Ok, 0, 0};
  if (b >= 'A' && b <= 'Z') return {Io::Error, 0, kErrPlaintext};
  return {Io::Error, 0, kErrNotTls - b};
}

// The identity a device offered, logged even when it is refused.
void set_claim(TlsConn& t, const unsigned char* id, size_t len) {
  size_t n = std::min(len, sizeof t.claimed - 1);
  for (size_t i = 0; i < n; ++i) t.claimed[i] = (id[i] > ' ' && id[i] < 0x7F) ? static_cast<char>(id[i]) : '?';
  t.claimed[n] = '\0';
}

void set_proven(TlsConn& t, Proof how, const Mac& mac) {
  t.proven.proof = how;
  memcpy(t.proven.mac, mac.str().c_str(), sizeof t.proven.mac);
}

// TLS-PSK: identity = MAC (any spelling), key from the registry.
int psk_cb(void* p, mbedtls_ssl_context* ssl, const unsigned char* id, size_t len) {
  auto* s = static_cast<TlsServer*>(p);
  auto* t = reinterpret_cast<TlsConn*>(ssl);
  auto mac = parse_mac(std::string_view(reinterpret_cast<const char*>(id), len));
  // A MAC in any spelling is logged in the one form the other lines use.
  if (mac) {
    memcpy(t->claimed, mac->str().c_str(), sizeof t->claimed);
  } else {
    set_claim(*t, id, len);
  }
  if (s->auth != Auth::Psk && s->auth != Auth::Any && s->auth != Auth::None) return -1;
  if (!mac) return MBEDTLS_ERR_SSL_UNKNOWN_IDENTITY;
  const Grant g = authorize(*s->registry, *mac);
  uint8_t key[64];
  if (!g || g.device->psk.empty() || !from_hex(g.device->psk, key, g.device->psk.size() / 2)) {
    return MBEDTLS_ERR_SSL_UNKNOWN_IDENTITY;
  }
  const Device* d = g.device;
  int r = mbedtls_ssl_set_hs_psk(ssl, key, d->psk.size() / 2);
  memset(key, 0, sizeof key);
  if (r != 0) return r;
  t->psk_used = true;
  set_proven(*t, Proof::Psk, *mac);
  return 0;
}

// Tickets carry no PSK identity, so a PSK session resumed from one could not
// name its device: PSK handshakes get no ticket (they are cheap anyway).
int ticket_write(void* p, const mbedtls_ssl_session* session, unsigned char* start,
                 const unsigned char* end, size_t* tlen, uint32_t* lifetime) {
  if (g_handshaking && g_handshaking->psk_used) return MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE;
  // A ticket holding the client certificate is ~600 bytes and mbedTLS cannot
  // split a handshake message across records: under a small negotiated max
  // fragment length the device gets no ticket (an empty one) instead.
  if (g_handshaking && mbedtls_ssl_get_output_max_frag_len(&g_handshaking->ssl) < 4096) {
    return MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE;
  }
  return mbedtls_ssl_ticket_write(p, session, start, end, tlen, lifetime);
}

}  // namespace

IoResult TlsServer::step(TlsConn& t) {
  if (!t.sniffed) {
    if (IoResult f = sniff(t); f.st != Io::Ok) return f;
  }
  g_handshaking = &t;
  int r = mbedtls_ssl_handshake(&t.ssl);
  g_handshaking = nullptr;
  if (r != 0) return fold(r);
  release_input_tail(t.ssl);
  // Established only once the identity checks below pass: until then a
  // failure is a failed handshake, logged as one.
  const mbedtls_x509_crt* peer = t.psk_used ? nullptr : mbedtls_ssl_get_peer_cert(&t.ssl);
  if (!peer) return {Io::Ok, 0, 0};
  // A presented certificate must verify and name a registered, enabled
  // device whose pinned certificate (if any) it is.
  auto mac = cert_mac(peer);
  if (mac) memcpy(t.claimed, mac->str().c_str(), sizeof t.claimed);
  if (mbedtls_ssl_get_verify_result(&t.ssl) != 0) return {Io::Error, 0, MBEDTLS_ERR_X509_CERT_VERIFY_FAILED};
  const Grant g = mac ? authorize(*registry, *mac) : Grant{Access::Unknown, nullptr, ""};
  if (!g) return {Io::Error, 0, MBEDTLS_ERR_SSL_UNKNOWN_IDENTITY};
  if (!g.device->cert.empty()) {
    uint8_t fp[32];
    sha256_bytes({peer->raw.p, peer->raw.len}, fp);
    if (to_hex(fp, 32) != g.device->cert) return {Io::Error, 0, MBEDTLS_ERR_SSL_UNKNOWN_IDENTITY};
  }
  set_proven(t, Proof::Cert, *mac);
  return {Io::Ok, 0, 0};
}

Handshake TlsServer::handshake(Conn& c) {
  TlsConn& t = tc(c);
  Handshake h{Hs::Done, {}, {}, nullptr};
  const IoResult r = t.hs_done ? IoResult{Io::Ok, 0, 0} : step(t);
  memcpy(h.claimed, t.claimed, sizeof h.claimed);
  switch (r.st) {
    case Io::Ok:
      if (!t.hs_done) {
        t.hs_done = true;
        handshaking--;
      }
      h.proven = t.proven;
      return h;
    case Io::WantRead: h.st = Hs::WantRead; return h;
    case Io::WantWrite: h.st = Hs::WantWrite; return h;
    case Io::Eof:
      h.st = Hs::Failed;
      h.why = "the client closed the connection";
      return h;
    case Io::Error:
      h.st = r.err == kErrPlaintext ? Hs::Plaintext : Hs::Failed;
      h.why = error_text(r.err);
      return h;
  }
  return h;
}

IoResult TlsServer::read(Conn& c, uint8_t* buf, size_t n) {
  TlsConn& t = tc(c);
  const int r = mbedtls_ssl_read(&t.ssl, buf, n);
  // mbedTLS 2.28 reports a peer that closed TCP without close_notify (many
  // embedded clients do) as 0 bytes read, not as an error.
  if (r == 0 && n > 0) return {Io::Eof, 0, 0};
  return fold(r);
}

IoResult TlsServer::write(Conn& c, const uint8_t* buf, size_t n, bool) {
  TlsConn& t = tc(c);
  // After WANT_WRITE mbedTLS must be called again with the same length; the
  // caller re-offers the same bytes.
  if (t.pending) n = t.pending;
  IoResult r = fold(mbedtls_ssl_write(&t.ssl, buf, n));
  t.pending = r.st == Io::WantWrite ? n : 0;
  return r;
}

IoResult TlsServer::send_file(Conn& c, int file_fd, uint64_t off, size_t n) {
  TlsConn& t = tc(c);
  if (t.pending) {
    n = t.pending;
    off = t.pending_off;
  } else {
    const int max_payload = mbedtls_ssl_get_max_out_record_payload(&t.ssl);
    n = std::min({n, sizeof g_scratch, static_cast<size_t>(max_payload > 0 ? max_payload : 1024)});
  }
  // The scratch buffer may hold another connection's bytes by now: read the
  // same chunk again before a retry, so the retry offers identical data.
  ssize_t got = pread(file_fd, g_scratch, n, static_cast<off_t>(off));
  if (got < 0) return {Io::Error, 0, errno};
  if (static_cast<size_t>(got) < n) return {Io::Eof, 0, 0};  // the file shrank
  IoResult r = fold(mbedtls_ssl_write(&t.ssl, g_scratch, n));
  if (r.st == Io::WantWrite) {
    t.pending = n;
    t.pending_off = off;
  } else {
    t.pending = 0;
  }
  return r;
}

void TlsServer::shutdown_write(Conn& c) {
  TlsConn& t = tc(c);
  if (t.hs_done) mbedtls_ssl_close_notify(&t.ssl);  // best effort; never blocks
  shutdown(c.fd, SHUT_WR);
}

const char* TlsServer::error_text(int err) {
  static char buf[256];
  if (err > 0) return strerror(err);
  if (err <= kErrNotTls && err > kErrNotTls - 256) {
    snprintf(buf, sizeof buf, "not TLS (the device's first byte is 0x%02x; a TLS connection opens with 0x16)",
             static_cast<unsigned>(kErrNotTls - err));
    return buf;
  }
  mbedtls_strerror(err, buf, sizeof buf);
  // mbedTLS's words for a negotiation failure point at its debug log, which
  // an operator does not have; point at the keys that decide it instead.
  if (err == MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN || err == MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE) {
    size_t n = strlen(buf);
    snprintf(buf + n, sizeof buf - n, " [the device's offer fits none of https.ciphersuites, https.groups%s]",
             err == MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE ? ", or it lacks P-256 for the certificate" : "");
  }
  return buf;
}

void TlsServerDeleter::operator()(TlsServer* s) const {
  for (size_t i = 0; i < s->pool_size; ++i) {
    if (s->pool[i].set_up) mbedtls_ssl_free(&s->pool[i].ssl);
  }
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
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
  mbedtls_ssl_conf_min_tls_version(&s->conf, MBEDTLS_SSL_VERSION_TLS1_2);
  mbedtls_ssl_conf_max_tls_version(&s->conf, MBEDTLS_SSL_VERSION_TLS1_2);
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
    Aead faster = sp.chachapoly >= 1.1 * sp.aes128gcm   ? Aead::ChaCha
                  : sp.aes128gcm >= 1.1 * sp.chachapoly ? Aead::Aes
                                                        : Aead::Other;
    if (faster != Aead::Other) names = prefer_aead(names, faster);
    char note[160];
    snprintf(note, sizeof note, "ChaCha20-Poly1305 %.0f MB/s, AES-128-GCM %.0f MB/s on this CPU: %s",
             sp.chachapoly, sp.aes128gcm,
             faster == Aead::ChaCha ? "ChaCha20 suites first"
             : faster == Aead::Aes  ? "AES suites first"
                                    : "suites as listed (within 10%)");
    s->summary = note;
  }
  for (const std::string& n : names) s->suites.push_back(mbedtls_ssl_get_ciphersuite_id(n.c_str()));
  s->summary += "; preference " + names[0];
  for (size_t i = 1; i < names.size(); ++i) s->summary += ", " + names[i];
  s->suites.push_back(0);
  mbedtls_ssl_conf_ciphersuites(&s->conf, s->suites.data());
  if (auth == Auth::Psk || auth == Auth::Any || auth == Auth::None) {
    mbedtls_ssl_conf_psk_cb(&s->conf, psk_cb, s.get());
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
    mbedtls_ssl_conf_session_tickets_cb(&s->conf, ticket_write, mbedtls_ssl_ticket_parse, &s->ticket);
  }
  if (cfg.session_cache > 0) session_cache_attach(*s, static_cast<size_t>(cfg.session_cache), cfg.ticket_lifetime);
  s->max_handshakes = static_cast<size_t>(cfg.max_handshakes);
  s->handshake_timeout_s = cfg.handshake_timeout;
  s->pool_size = static_cast<size_t>(cfg.max_tls_connections);
  s->pool = std::make_unique<TlsConn[]>(s->pool_size);
  for (size_t i = 0; i < s->pool_size; ++i) s->pool[i].next_free = i + 1 < s->pool_size ? static_cast<uint32_t>(i + 2) : 0;
  s->free_head = s->pool_size ? 1 : 0;
  s->free_count = s->pool_size;
  return s;
}

Transport* TlsServer::attach(Conn& c) {
  TlsServer& s = *this;
  if (!s.free_head) return nullptr;
  TlsConn& t = s.pool[s.free_head - 1];
  if (!t.set_up) {
    // First use of this pool entry: its record buffers are allocated now and
    // kept; later uses only reset the session.
    mbedtls_ssl_init(&t.ssl);
    if (mbedtls_ssl_setup(&t.ssl, &s.conf) != 0) {
      mbedtls_ssl_free(&t.ssl);
      return nullptr;
    }
    t.set_up = true;
  } else if (mbedtls_ssl_session_reset(&t.ssl) != 0) {
    return nullptr;
  }
  s.free_head = t.next_free;
  s.free_count--;
  s.handshaking++;  // from accept until established or detached
  t.server = &s;
  t.fd = c.fd;
  t.hs_done = t.psk_used = t.sniffed = false;
  t.claimed[0] = '\0';
  t.proven = Identity{};
  t.pending = 0;
  mbedtls_ssl_set_bio(&t.ssl, &t, bio_send, bio_recv, nullptr);
  c.io_ctx = &t;
  return &s;
}

void TlsServer::detach(Conn& c) {
  TlsServer& s = *this;
  auto* t = static_cast<TlsConn*>(c.io_ctx);
  if (!t) return;
  if (!t->hs_done) s.handshaking--;
  release_buffers(t->ssl);
  t->fd = -1;
  t->next_free = s.free_head;
  s.free_head = static_cast<uint32_t>(t - s.pool.get()) + 1;
  s.free_count++;
  c.io_ctx = nullptr;
}

const char* TlsServer::busy_reason(bool* warn) const {
  // Every TLS context busy, or enough handshakes under way: further devices
  // wait in the backlog, where their handshake clock has not started yet.
  static char buf[96];
  *warn = free_count == 0;
  if (*warn) snprintf(buf, sizeof buf, "all %zu TLS contexts busy", pool_size);
  else snprintf(buf, sizeof buf, "%zu handshakes in progress", max_handshakes);
  return buf;
}

TransportPool& tls_pool(TlsServer& s) { return s; }

const std::string& tls_summary(const TlsServer& s) { return s.summary; }

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
