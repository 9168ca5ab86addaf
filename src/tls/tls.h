// TLS for the HTTPS listener (mbedTLS 2.28, with 3.x differences behind
// version checks). Nothing mbedTLS leaks out of this header: the program
// hands the reactor a TransportPool, which attaches a pooled context to a
// connection and gives back a Transport whose handshake proves an Identity.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/conn.h"
#include "core/transport.h"
#include "otad/config.h"
#include "otad/devices.h"
#include "otad/result.h"

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

// The pool of contexts, as the reactor sees it.
TransportPool& tls_pool(TlsServer& s);
// The cipher-suite preference in force and, with cipher_order = auto, the
// speeds that chose it.
const std::string& tls_summary(const TlsServer& s);
// The TLS 1.3 suites in order, or "" when 1.3 is not offered.
const std::string& tls_summary13(const TlsServer& s);
// Start-up warnings about the certificate: what devices will trip over.
const std::vector<std::string>& tls_warnings(const TlsServer& s);
// "mbedTLS 2.28.3": the library otad runs with.
std::string tls_library_version();
// Short names accepted by https.ciphersuites, with mbedTLS's full names.
std::vector<std::pair<std::string, std::string>> tls_suite_names();

}  // namespace otad
