#include "otad/suite_order.h"

#include <mbedtls/chachapoly.h>
#include <mbedtls/gcm.h>
#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <vector>

namespace otad {

Aead suite_aead(const std::string& name) {
  size_t with = name.find("-WITH-");
  if (with == std::string::npos) return Aead::Other;
  std::string cipher = name.substr(with + 6);
  if (cipher.rfind("CHACHA20-POLY1305", 0) == 0) return Aead::ChaCha;
  if (cipher.rfind("AES-", 0) == 0) return Aead::Aes;
  return Aead::Other;
}

std::vector<std::string> prefer_aead(const std::vector<std::string>& suites, Aead first) {
  auto kx = [](const std::string& s) { return s.substr(0, s.find("-WITH-")); };
  std::vector<std::string> out = suites;
  std::vector<bool> done(suites.size(), false);
  for (size_t i = 0; i < suites.size(); ++i) {
    if (done[i]) continue;
    // The slots this exchange holds, refilled preferred cipher first.
    std::vector<size_t> slots;
    for (size_t j = i; j < suites.size(); ++j) {
      if (!done[j] && kx(suites[j]) == kx(suites[i])) slots.push_back(j), done[j] = true;
    }
    std::vector<std::string> members;
    for (size_t j : slots) members.push_back(suites[j]);
    std::stable_partition(members.begin(), members.end(),
                          [first](const std::string& s) { return suite_aead(s) == first; });
    for (size_t k = 0; k < slots.size(); ++k) out[slots[k]] = members[k];
  }
  return out;
}

namespace {

double seconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

constexpr size_t kChunk = 16384;  // one TLS record's worth

template <typename Encrypt>
double mbps(size_t bytes, unsigned char* in, unsigned char* out, Encrypt enc) {
  double t0 = seconds();
  for (size_t done = 0; done < bytes; done += kChunk) enc(in, out, kChunk);
  double dt = seconds() - t0;
  return dt > 0 ? static_cast<double>(bytes) / 1e6 / dt : 0;
}

}  // namespace

CipherSpeeds measure_cipher_speeds(size_t bytes, int rounds) {
  const unsigned char key[32] = {1}, iv[12] = {2};
  unsigned char tag[16];
  mbedtls_gcm_context gcm;
  mbedtls_gcm_init(&gcm);
  mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, 128);
  mbedtls_chachapoly_context cp;
  mbedtls_chachapoly_init(&cp);
  mbedtls_chachapoly_setkey(&cp, key);
  CipherSpeeds best;
  // Scratch mapped for the measurement and returned after it: timing at
  // start-up leaves no resident memory behind.
  void* mem = mmap(nullptr, 2 * kChunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return best;
  unsigned char* in = static_cast<unsigned char*>(mem);
  unsigned char* out = in + kChunk;
  for (int r = 0; r < rounds; ++r) {
    // Alternating, best of each: a VM's speed drifts, and a burst of other
    // load should not decide the order.
    best.aes128gcm = std::max(best.aes128gcm, mbps(bytes, in, out, [&](const unsigned char* in, unsigned char* out, size_t n) {
      mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, n, iv, sizeof iv, nullptr, 0, in, out, sizeof tag, tag);
    }));
    best.chachapoly = std::max(best.chachapoly, mbps(bytes, in, out, [&](const unsigned char* in, unsigned char* out, size_t n) {
      mbedtls_chachapoly_encrypt_and_tag(&cp, n, iv, nullptr, 0, in, out, tag);
    }));
  }
  munmap(mem, 2 * kChunk);
  mbedtls_gcm_free(&gcm);
  mbedtls_chachapoly_free(&cp);
  return best;
}

}  // namespace otad
