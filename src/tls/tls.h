// TLS for the HTTPS listener (mbedTLS 2.28, with 3.x differences behind
// version checks). Nothing mbedTLS leaks out of this header: the reactor
// attaches a pooled context to a connection and gets a Transport back.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/conn.h"

namespace otad {

class TlsServer;
struct TlsServerDeleter {
  void operator()(TlsServer* s) const;
};
using TlsServerPtr = std::unique_ptr<TlsServer, TlsServerDeleter>;

// Loads certificate, key and client CA, builds the one shared config and a
// pool of max_tls_connections contexts (set up lazily, reused with session
// reset). registry points at the server's live registry, read at each
// handshake, so a reload revokes at once.
Result<TlsServerPtr> tls_server_new(const Config& cfg, Auth auth, const Registry* registry);

// Binds a free pooled context to c and returns the TLS transport; nullptr
// when the pool is exhausted.
Transport* tls_attach(TlsServer& s, Conn& c);
// Returns c's context to the pool.
void tls_detach(TlsServer& s, Conn& c);
size_t tls_free_contexts(const TlsServer& s);
// The cipher-suite preference in force and, with cipher_order = auto, the
// speeds that chose it.
const std::string& tls_summary(const TlsServer& s);
// Start-up warnings about the certificate: what devices will trip over.
const std::vector<std::string>& tls_warnings(const TlsServer& s);
// True while another connection may be accepted: a context is free and fewer
// than max_handshakes handshakes are in progress.
bool tls_accepting(const TlsServer& s);
// Short names accepted by https.ciphersuites, with mbedTLS's full names.
std::vector<std::pair<std::string, std::string>> tls_suite_names();

}  // namespace otad
