// Single-core mbedTLS cipher speed: the ceiling for HTTPS throughput on this
// machine. Encrypts 16 KiB records (a TLS record's payload) with AES-128-GCM
// and ChaCha20-Poly1305, alternating 1 MiB of each, for about a second each
// (or the seconds given as the first argument), and prints MB/s. It is the
// measurement otad makes at start for cipher_order = auto, run for longer.
// The bench runs it next to every otad run: a VM's speed drifts by 20% within
// minutes, so a ratio is only fair against a measurement taken at the same
// time.
#include <time.h>

#include <cstdio>
#include <cstdlib>

#include "otad/suite_order.h"

static double now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  const double secs = argc > 1 ? atof(argv[1]) : 1.0;
  const size_t chunk = 1 << 20;
  double mb = 0, aes_s = 0, chacha_s = 0;  // megabytes of each, and the seconds each took
  const double t0 = now();
  while (now() - t0 < 2 * secs) {
    otad::CipherSpeeds s = otad::measure_cipher_speeds(chunk, 1);
    if (s.aes128gcm <= 0 || s.chachapoly <= 0) continue;
    mb += chunk / 1e6;
    aes_s += chunk / 1e6 / s.aes128gcm;
    chacha_s += chunk / 1e6 / s.chachapoly;
  }
  printf("aes128gcm_MBps=%.1f chacha20poly1305_MBps=%.1f\n", aes_s > 0 ? mb / aes_s : 0,
         chacha_s > 0 ? mb / chacha_s : 0);
  return 0;
}
