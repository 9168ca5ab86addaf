#include "otad/crypto_init.h"

#include <mbedtls/version.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#include <mbedtls/build_info.h>
#if defined(MBEDTLS_PSA_CRYPTO_C)
#include <psa/crypto.h>
#define OTAD_HAVE_PSA 1
#endif
#endif

namespace otad {

bool crypto_init() {
#ifdef OTAD_HAVE_PSA
  return psa_crypto_init() == PSA_SUCCESS;
#else
  return true;
#endif
}

}  // namespace otad
