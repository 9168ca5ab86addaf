// Single-core mbedTLS cipher speed: the ceiling for HTTPS throughput on this
// machine. Encrypts 16 KiB records (a TLS record's payload) with AES-128-GCM
// and ChaCha20-Poly1305 for about a second each (or the seconds given as the
// first argument) and prints MB/s. The bench runs it next to every otad run:
// a VM's speed drifts by 20% within minutes, so a ratio is only fair against a
// measurement taken at the same time.
#include <mbedtls/chachapoly.h>
#include <mbedtls/gcm.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

static double now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  const double secs = argc > 1 ? atof(argv[1]) : 1.0;
  std::vector<unsigned char> in(16384, 0x5a), out(16384);
  unsigned char key[32] = {1}, iv[12] = {2}, tag[16];
  mbedtls_gcm_context gcm;
  mbedtls_gcm_init(&gcm);
  mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, 128);
  double t0 = now(), bytes = 0;
  while (now() - t0 < secs) {
    for (int i = 0; i < 16; ++i) {
      mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, in.size(), iv, sizeof iv, nullptr, 0, in.data(),
                                out.data(), sizeof tag, tag);
      bytes += in.size();
    }
  }
  printf("aes128gcm_MBps=%.1f", bytes / 1e6 / (now() - t0));
  mbedtls_gcm_free(&gcm);
  mbedtls_chachapoly_context cp;
  mbedtls_chachapoly_init(&cp);
  mbedtls_chachapoly_setkey(&cp, key);
  t0 = now();
  bytes = 0;
  while (now() - t0 < secs) {
    for (int i = 0; i < 16; ++i) {
      mbedtls_chachapoly_encrypt_and_tag(&cp, in.size(), iv, nullptr, 0, in.data(), out.data(), tag);
      bytes += in.size();
    }
  }
  printf(" chacha20poly1305_MBps=%.1f\n", bytes / 1e6 / (now() - t0));
  mbedtls_chachapoly_free(&cp);
  return 0;
}
