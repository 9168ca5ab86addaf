// One-time set-up of the crypto library, before any TLS, X.509 or PK call.
#pragma once

namespace otad {

// mbedTLS 3.x routes TLS, X.509 and PK through its PSA layer, which must be
// initialised first; with 2.28 there is nothing to do. False on failure.
bool crypto_init();

}  // namespace otad
