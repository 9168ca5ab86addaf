// mbedTLS over the connection's non-blocking fd with our own BIO (no
// bufferevents: libevent 2.1 has none for mbedTLS). One shared config; a
// fixed pool of contexts; every mbedTLS return code is folded into Io in
// fold() and nowhere else.
#include "tls/tls.h"
#include "tls/tls_server.h"

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
#include <new>

#include "otad/authorize.h"
#include "otad/digest.h"
#include "otad/strict_num.h"

namespace otad {

TlsConn* g_handshaking = nullptr;

namespace {

// Encrypted bodies are read from the image file into this one buffer: the
// reactor is single-threaded, so one buffer serves every connection.
uint8_t g_scratch[16384];

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

}  // namespace

// TLS-PSK: identity = MAC (any spelling), key from the registry.
int psk_identity_cb(void* p, mbedtls_ssl_context* ssl, const unsigned char* id, size_t len) {
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
  if (!mac) {
    t->refusal = "not a MAC";
    t->refusal_psk = true;
    return MBEDTLS_ERR_SSL_UNKNOWN_IDENTITY;
  }
  const Grant g = authorize(*s->registry, *mac);
  uint8_t key[64];
  if (!g || g.device->psk.empty() || !from_hex(g.device->psk, key, g.device->psk.size() / 2)) {
    t->refusal = !g ? g.why : "the device has no PSK in the registry";
    t->refusal_psk = true;
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
// A ticket holding the client certificate is ~600 bytes and mbedTLS cannot
// split a handshake message across records: under a small negotiated max
// fragment length the device gets no ticket either. TLS 1.2 says so with an
// empty ticket. TLS 1.3 has none (a failed write would end the handshake):
// there the device gets a few random bytes that ticket_parse_cb will not
// take, and it resumes with a full handshake, its PSK named again.
int ticket_write_cb(void* p, const mbedtls_ssl_session* session, unsigned char* start, const unsigned char* end,
                    size_t* tlen, uint32_t* lifetime) {
  const bool no_ticket = g_handshaking && (g_handshaking->psk_used ||
                                           mbedtls_ssl_get_max_out_record_payload(&g_handshaking->ssl) < 4096);
  if (!no_ticket) return mbedtls_ssl_ticket_write(p, session, start, end, tlen, lifetime);
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
  if (mbedtls_ssl_get_version_number(&g_handshaking->ssl) == MBEDTLS_SSL_VERSION_TLS1_3 && end - start >= 16) {
    TlsServer* s = g_handshaking->server;
    if (mbedtls_ctr_drbg_random(&s->drbg, start, 16) != 0) return MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE;
    *tlen = 16;
    *lifetime = 60;
    return 0;
  }
#endif
  return MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE;
}

// A ticket that does not parse (one of those random ones, or one from a
// rotated key) is "not ours": TLS 1.3 then tries the device's next identity
// (its PSK) instead of ending the handshake.
int ticket_parse_cb(void* p, mbedtls_ssl_session* session, unsigned char* buf, size_t len) {
  const int r = mbedtls_ssl_ticket_parse(p, session, buf, len);
  return r == 0 || r == MBEDTLS_ERR_SSL_SESSION_TICKET_EXPIRED ? r : MBEDTLS_ERR_SSL_INVALID_MAC;
}

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
  if (!g) {
    t.refusal = mac ? g.why : "the certificate's subject is not a MAC";
    return {Io::Error, 0, MBEDTLS_ERR_SSL_UNKNOWN_IDENTITY};
  }
  if (!g.device->cert.empty()) {
    uint8_t fp[32];
    sha256_bytes({peer->raw.p, peer->raw.len}, fp);
    if (to_hex(fp, 32) != g.device->cert) {
      t.refusal = "not the certificate pinned for this device (replaced or revoked)";
      return {Io::Error, 0, MBEDTLS_ERR_SSL_UNKNOWN_IDENTITY};
    }
  }
  set_proven(t, Proof::Cert, *mac);
  return {Io::Ok, 0, 0};
}

Handshake TlsServer::handshake(Conn& c) {
  TlsConn& t = tc(c);
  Handshake h{Hs::Done, {}, {}, nullptr, false, true};
  const IoResult r = t.hs_done ? IoResult{Io::Ok, 0, 0} : step(t);
  memcpy(h.claimed, t.claimed, sizeof h.claimed);
  // Past CLIENT_HELLO: mbedTLS has parsed the device's ClientHello.
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
  h.hello_in = t.ssl.MBEDTLS_PRIVATE(state) > MBEDTLS_SSL_CLIENT_HELLO;
#else
  h.hello_in = t.ssl.state > MBEDTLS_SSL_CLIENT_HELLO;
#endif
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
      h.why = refusal_text(t, r.err, &h.auth_failed);
      if (!h.why) h.why = error_text(r.err);
      return h;
  }
  return h;
}

// The real reason a credential was refused, in the operator's words (not
// mbedTLS's "Unknown identity received" or "message MAC failed"); nullptr
// when the handshake failed for something other than a credential.
const char* TlsServer::refusal_text(TlsConn& t, int err, bool* auth_failed) {
  static char buf[200];
  const char* who = t.claimed[0] ? t.claimed : "?";
  *auth_failed = true;
  if (t.refusal) {
    snprintf(buf, sizeof buf, "%s %s: %s", t.refusal_psk ? "PSK identity" : "certificate", who, t.refusal);
    return buf;
  }
#if defined(MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE)
  const bool key_wrong = err == MBEDTLS_ERR_SSL_INVALID_MAC || err == MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE;  // 1.3: the binder
#else
  const bool key_wrong = err == MBEDTLS_ERR_SSL_INVALID_MAC;
#endif
  if (t.psk_used && key_wrong) {
    snprintf(buf, sizeof buf, "wrong key for PSK identity %s", who);
    return buf;
  }
  if (err == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
    const uint32_t f = mbedtls_ssl_get_verify_result(&t.ssl);
    const char* w = f & MBEDTLS_X509_BADCERT_NOT_TRUSTED ? "not issued by the gateway's CA"
                  : f & MBEDTLS_X509_BADCERT_REVOKED    ? "revoked"
                  : f & MBEDTLS_X509_BADCERT_EXPIRED    ? "expired"
                  : f & MBEDTLS_X509_BADCERT_FUTURE     ? "not valid yet"
                                                        : "not valid for a client";
    snprintf(buf, sizeof buf, "certificate %s: %s (verify flags 0x%x)", who, w, static_cast<unsigned>(f));
    return buf;
  }
  *auth_failed = false;
  return nullptr;
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
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
  // 3.x says HANDSHAKE_FAILURE for every negotiation failure.
  const bool no_suite = err == MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE, no_usable = false;
#else
  const bool no_suite = err == MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN, no_usable = err == MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE;
#endif
  if (no_suite || no_usable) {
    size_t n = strlen(buf);
    snprintf(buf + n, sizeof buf - n, " [the device's offer fits none of https.ciphersuites, https.groups%s]",
             no_usable ? ", or it lacks P-256 for the certificate" : "");
  }
  return buf;
}

Transport* TlsServer::attach(Conn& c) {
  TlsServer& s = *this;
  const bool fresh = !s.free_head;
  if (fresh && s.pool_used == s.pool_size) return nullptr;
  TlsConn& t = fresh ? *new (&s.pool[s.pool_used]) TlsConn() : s.pool[s.free_head - 1];
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
  if (fresh) s.pool_used++;
  else s.free_head = t.next_free;
  s.free_count--;
  s.handshaking++;  // from accept until established or detached
  t.server = &s;
  t.fd = c.fd;
  t.hs_done = t.psk_used = t.sniffed = t.refusal_psk = false;
  t.refusal = nullptr;
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
  s.free_head = static_cast<uint32_t>(t - s.pool) + 1;
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


}  // namespace otad
