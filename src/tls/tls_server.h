// Inside the HTTPS transport: the pooled context and the server, shared by
// tls.cc, the session cache (session_cache.cc), the certificate checks
// (server_cert.cc) and the buffer release (record_pages.cc). Nothing outside src/tls
// includes this; the reactor sees only tls.h.
#pragma once
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/conn.h"
#include "core/transport.h"
#include "otad/config.h"
#include "otad/devices.h"
#include "otad/mac.h"
#include "otad/result.h"
#include "otad/session_store.h"

namespace otad {

class TlsServer;

// One pooled context. ssl comes first so the PSK callback can get from the
// mbedtls_ssl_context back to its owner.
struct TlsConn {
  mbedtls_ssl_context ssl;
  TlsServer* server = nullptr;
  int fd = -1;  // the connection's socket, for the BIO
  bool in_use = false;
  bool set_up = false;
  bool hs_done = false;
  bool psk_used = false;
  bool sniffed = false;      // the device's first byte was looked at
  const char* refusal = nullptr;  // the credential check's word when it refused the device
  bool refusal_psk = false;       // ... and whether it was a PSK identity (else a certificate)
  char claimed[13] = {};     // the identity the device offered, for the log
  Identity proven;           // what the handshake proved
  size_t pending = 0;        // length of a write that returned WANT_WRITE
  uint64_t pending_off = 0;  // its file offset, for send_file
  uint32_t next_free = 0;
};

class TlsServer final : public Transport, public TransportPool {
 public:
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_ssl_config conf;
  mbedtls_x509_crt own_cert, ca;
  mbedtls_pk_context key;
  mbedtls_ssl_ticket_context ticket;
  std::vector<int> suites;
  std::string summary;  // the suite order and why, for the start-up log
  std::string summary13;  // the TLS 1.3 suite order, if 1.3 is offered
  std::vector<std::string> warnings;  // what devices will trip over, for the start-up log
#if MBEDTLS_VERSION_NUMBER >= 0x03010000
  std::vector<uint16_t> groups;
#else
  std::vector<mbedtls_ecp_group_id> groups;
#endif
  bool tickets = false;
  std::unique_ptr<SessionStore> sessions;  // resumption by session ID; null when off
  int64_t session_lifetime_s = 0;
  Auth auth = Auth::None;
  const Registry* registry = nullptr;
  // The pool: reserved at start-up (anonymous pages, untouched), an entry
  // constructed the first time a connection needs it (pool_used grows to
  // the peak); freed entries go on a free list.
  TlsConn* pool = nullptr;
  size_t pool_bytes = 0, pool_used = 0;
  size_t pool_size = 0, free_count = 0;
  size_t handshaking = 0, max_handshakes = 32;
  uint32_t free_head = 0;

  Handshake handshake(Conn& c) override;
  IoResult read(Conn& c, uint8_t* buf, size_t n) override;
  IoResult write(Conn& c, const uint8_t* buf, size_t n, bool more) override;
  IoResult send_file(Conn& c, int file_fd, uint64_t off, size_t n) override;
  void shutdown_write(Conn& c) override;
  const char* error_text(int err) override;
  static const char* refusal_text(TlsConn& t, int err, bool* auth_failed);
  bool closes_with_record() const override { return true; }
  const char* name() const override { return "TLS"; }
  // TransportPool
  Transport* attach(Conn& c) override;
  void detach(Conn& c) override;
  bool accepting() const override { return free_count > 0 && handshaking < max_handshakes; }
  const char* busy_reason(bool* warn) const override;
  int64_t handshake_timeout_ms() const override { return handshake_timeout_s * 1000; }
  int64_t handshake_timeout_s = 10;
  // One step of the handshake and the identity checks that complete it.
  IoResult step(TlsConn& t);
};

// The context inside mbedtls_ssl_handshake right now (the reactor is single-
// threaded): mbedTLS's callbacks get only the config's pointer, and some
// need the connection.
extern TlsConn* g_handshaking;

// mbedTLS callbacks of the handshake (tls.cc): the device's PSK by its
// identity (its MAC), and tickets only where a resumed session can still
// name its device.
int psk_identity_cb(void* p, mbedtls_ssl_context* ssl, const unsigned char* id, size_t len);
int ticket_write_cb(void* p, const mbedtls_ssl_session* session, unsigned char* start, const unsigned char* end,
                    size_t* tlen, uint32_t* lifetime);
int ticket_parse_cb(void* p, mbedtls_ssl_session* session, unsigned char* buf, size_t len);

// Resumption by session ID from a fixed table of `slots` sessions, each
// valid for lifetime_s seconds (session_cache.cc).
void session_cache_attach(TlsServer& s, size_t slots, int64_t lifetime_s);

// Record-buffer pages a context does not need go back to the kernel
// (record_pages.cc): after the handshake the input buffer's unused tail, and
// both buffers when the context returns to the pool.
void release_input_tail(mbedtls_ssl_context& ssl);
void release_buffers(mbedtls_ssl_context& ssl);

// The server certificate as devices will meet it (server_cert.cc): an error
// when no device could complete a handshake, warnings for those some cannot.
Status check_certificate(const Config& cfg, const mbedtls_x509_crt& crt, std::vector<std::string>* warnings);
#if MBEDTLS_VERSION_NUMBER < 0x03000000
// Re-types a parsed EC key so that ECDSA signs and verifies with it in place.
int ecdsa_in_place(mbedtls_pk_context& key);
#endif
// The device MAC a client certificate names: subject CN, else a SAN dNSName.
std::optional<Mac> cert_mac(const mbedtls_x509_crt* crt);

}  // namespace otad
