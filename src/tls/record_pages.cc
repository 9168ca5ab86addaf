// Resident memory per connection. Debian's mbedTLS 2.28 gives every context
// two fixed record buffers of about 16.7 KB, and a session reset zeroes
// both, so a pool entry that has carried one connection would keep about
// 34 KB resident for good. A device that is downloading sends next to
// nothing after its handshake, and an idle pool entry needs no bytes at
// all: their pages go back to the kernel and read as zeros when touched
// again. Only pages wholly inside a buffer are released. mbedTLS 3.x hides
// these fields (and has MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH for the purpose).
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "tls/tls_server.h"

namespace otad {

namespace {

void release_pages(unsigned char* from, unsigned char* to) {
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t a = (reinterpret_cast<uintptr_t>(from) + page - 1) & ~(page - 1);
  const uintptr_t b = reinterpret_cast<uintptr_t>(to) & ~(page - 1);
  if (b > a) madvise(reinterpret_cast<void*>(a), b - a, MADV_DONTNEED);
}

}  // namespace

// After the handshake: the input buffer beyond what mbedTLS still holds.
void release_input_tail(mbedtls_ssl_context& ssl) {
#if MBEDTLS_VERSION_NUMBER < 0x03000000
  unsigned char* used = std::max(ssl.in_hdr + ssl.in_left, ssl.in_msg + ssl.in_msglen);
  release_pages(used, ssl.in_buf + MBEDTLS_SSL_IN_CONTENT_LEN);
#else
  (void)ssl;
#endif
}

// A context going back to the pool: both buffers (the next session reset
// zeroes them anyway).
void release_buffers(mbedtls_ssl_context& ssl) {
#if MBEDTLS_VERSION_NUMBER < 0x03000000
  release_pages(ssl.in_buf, ssl.in_buf + MBEDTLS_SSL_IN_CONTENT_LEN);
  release_pages(ssl.out_buf, ssl.out_buf + MBEDTLS_SSL_OUT_CONTENT_LEN);
#else
  (void)ssl;
#endif
}

}  // namespace otad
