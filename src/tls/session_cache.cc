// Resumption by session ID (RFC 5246 §7.3) for devices that take no
// tickets: the mbedTLS callbacks over the fixed SessionStore. The lookup
// needs the suite negotiated so far, which mbedTLS 3.x keeps in a private
// field (it compares the two itself only after the callback returns).
#define MBEDTLS_ALLOW_PRIVATE_ACCESS
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>

#include <cstring>

#include "otad/authorize.h"
#include "otad/credentials.h"
#include "otad/digest.h"
#include "otad/mac.h"
#include "tls/tls_server.h"

namespace otad {
namespace {

// The cache keeps mbedTLS's own serialization of the session (a client certificate
// included, so a resumed session is checked against the registry like a
// full one, in TlsServer::handshake). A PSK session carries no identity, so
// its entry records the device and a digest of that device's key: a resumed
// session names its device, and one revoked or re-keyed since cannot resume.
void psk_digest(const std::string& psk_hex, uint8_t out[32]) {
  sha256_bytes({reinterpret_cast<const uint8_t*>(psk_hex.data()), psk_hex.size()}, out);
}

int64_t now_s() { return now_ms() / 1000; }

int cache_store(TlsServer* s, const unsigned char* id, size_t id_len, const mbedtls_ssl_session* session) {
  TlsConn* t = g_handshaking;
  const char* psk_mac = nullptr;
  uint8_t cred[32] = {};
  if (t && t->psk_used) {
    auto mac = parse_mac(t->proven.mac);
    const Device* d = mac ? s->registry->find(*mac) : nullptr;
    if (!d) return 0;
    psk_digest(d->psk, cred);
    psk_mac = t->proven.mac;
  }
  unsigned char blob[SessionStore::kBlobMax];
  size_t len = 0;
  // A session too large for a slot (a device certificate over ~650 bytes)
  // is simply not kept: that device resumes by ticket or not at all.
  if (mbedtls_ssl_session_save(session, blob, sizeof blob, &len) == 0) {
    s->sessions->put(id, id_len, now_s() + s->session_lifetime_s, psk_mac, cred, blob, len);
  }
  mbedtls_platform_zeroize(blob, sizeof blob);
  return 0;
}

// The cached entry for this id if it may still resume, loaded into out.
const SessionStore::Entry* cache_load(TlsServer* s, const unsigned char* id, size_t id_len,
                                      mbedtls_ssl_session* out) {
  const SessionStore::Entry* e = s->sessions->find(id, id_len, now_s());
  if (!e) return nullptr;
  if (e->psk_mac[0]) {
    auto mac = parse_mac(e->psk_mac);
    const Grant g = mac ? authorize(*s->registry, *mac) : Grant{Access::Unknown, nullptr, ""};
    uint8_t cred[32];
    if (g) psk_digest(g.device->psk, cred);
    if (!g || g.device->psk.empty() || !ct_equal(cred, e->cred, sizeof cred)) {
      s->sessions->erase(id, id_len);
      return nullptr;
    }
  }
  if (mbedtls_ssl_session_load(out, e->blob, e->len) != 0) return nullptr;
  return e;
}

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define F(x) MBEDTLS_PRIVATE(x)
#else
#define F(x) x
#endif

// mbedTLS hands the lookup a fresh session holding only the id, and after
// it returns compares the cached suite with the one negotiated, resuming
// only if they match. The comparison is made here first, so a PSK
// session's device is named only when it will resume.
int cache_lookup(TlsServer* s, const unsigned char* id, size_t id_len, mbedtls_ssl_session* session) {
  TlsConn* t = g_handshaking;
  if (!t) return 1;
  const SessionStore::Entry* e = cache_load(s, id, id_len, session);
  if (!e) return 1;
  const mbedtls_ssl_session* negotiated = t->ssl.F(session_negotiate);
  if (session->F(ciphersuite) != negotiated->F(ciphersuite)) return 1;  // mbedTLS frees session
#if MBEDTLS_VERSION_NUMBER < 0x03000000
  if (session->compression != negotiated->compression) return 1;
#endif
  if (e->psk_mac[0]) {
    t->psk_used = true;
    t->proven.proof = Proof::Psk;
    memcpy(t->proven.mac, e->psk_mac, sizeof t->proven.mac);
    memcpy(t->claimed, e->psk_mac, sizeof t->claimed);
  }
  return 0;
}
#undef F

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
int cache_set(void* p, const unsigned char* id, size_t id_len, const mbedtls_ssl_session* session) {
  return cache_store(static_cast<TlsServer*>(p), id, id_len, session);
}
int cache_get(void* p, const unsigned char* id, size_t id_len, mbedtls_ssl_session* session) {
  return cache_lookup(static_cast<TlsServer*>(p), id, id_len, session);
}
#else
int cache_set(void* p, const mbedtls_ssl_session* session) {
  return cache_store(static_cast<TlsServer*>(p), session->id, session->id_len, session);
}
int cache_get(void* p, mbedtls_ssl_session* session) {
  return cache_lookup(static_cast<TlsServer*>(p), session->id, session->id_len, session);
}
#endif

}  // namespace

void session_cache_attach(TlsServer& s, size_t slots, int64_t lifetime_s) {
  s.sessions = std::make_unique<SessionStore>(slots);
  s.session_lifetime_s = lifetime_s;
  mbedtls_ssl_conf_session_cache(&s.conf, &s, cache_get, cache_set);
}

}  // namespace otad
