// Resident memory per connection. Debian's mbedTLS 2.28 gives every context
// two fixed record buffers of about 16.7 KB, and a session reset zeroes
// both, so a pool entry that has carried one connection would keep about
// 34 KB resident for good. A device that is downloading sends next to
// nothing after its handshake, and an idle pool entry needs no bytes at
// all: their pages go back to the kernel and read as zeros when touched
// again. Only pages wholly inside a buffer are released. mbedTLS 3.x marks
// these fields private; Debian's and OpenWrt's 3.6 builds keep the same
// fixed buffers (MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH off), so the same pages
// are released there, through the private names.
#define MBEDTLS_ALLOW_PRIVATE_ACCESS
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

#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH)
// Buffers sized per connection: mbedTLS shrinks them itself.
void release_input_tail(mbedtls_ssl_context&) {}
void release_buffers(mbedtls_ssl_context&) {}
#else
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define F(x) MBEDTLS_PRIVATE(x)
#else
#define F(x) x
#endif

// After the handshake: the input buffer beyond what mbedTLS still holds.
void release_input_tail(mbedtls_ssl_context& ssl) {
  unsigned char* used = std::max(ssl.F(in_hdr) + ssl.F(in_left), ssl.F(in_msg) + ssl.F(in_msglen));
  release_pages(used, ssl.F(in_buf) + MBEDTLS_SSL_IN_CONTENT_LEN);
}

// A context going back to the pool: both buffers (the next session reset
// zeroes them anyway).
void release_buffers(mbedtls_ssl_context& ssl) {
  release_pages(ssl.F(in_buf), ssl.F(in_buf) + MBEDTLS_SSL_IN_CONTENT_LEN);
  release_pages(ssl.F(out_buf), ssl.F(out_buf) + MBEDTLS_SSL_OUT_CONTENT_LEN);
}
#undef F
#endif

}  // namespace otad
