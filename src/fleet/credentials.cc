#include "otad/credentials.h"

#include <mbedtls/base64.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/version.h>
#include <sys/random.h>

#include <cerrno>
#include <cstring>

#include "otad/strict_num.h"

namespace otad {

Status random_bytes(uint8_t* out, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(out + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Err(std::string("getrandom: ") + strerror(errno));
    got += static_cast<size_t>(r);
  }
  return Ok();
}

bool ct_equal(const uint8_t* a, const uint8_t* b, size_t n) {
  uint8_t d = 0;
  for (size_t i = 0; i < n; ++i) d |= static_cast<uint8_t>(a[i] ^ b[i]);
  return d == 0;
}

bool ct_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return ct_equal(reinterpret_cast<const uint8_t*>(a.data()), reinterpret_cast<const uint8_t*>(b.data()),
                  a.size());
}

namespace {

bool pbkdf2(std::string_view password, const uint8_t* salt, size_t salt_len, unsigned iterations,
            uint8_t out[32]) {
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
  return mbedtls_pkcs5_pbkdf2_hmac_ext(MBEDTLS_MD_SHA256,
                                       reinterpret_cast<const unsigned char*>(password.data()),
                                       password.size(), salt, salt_len, iterations, 32, out) == 0;
#else
  mbedtls_md_context_t md;
  mbedtls_md_init(&md);
  bool ok = mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1) == 0 &&
            mbedtls_pkcs5_pbkdf2_hmac(&md, reinterpret_cast<const unsigned char*>(password.data()),
                                      password.size(), salt, salt_len, iterations, 32, out) == 0;
  mbedtls_md_free(&md);
  return ok;
#endif
}

}  // namespace

Result<std::string> password_hash_make(std::string_view password) {
  uint8_t salt[16], h[32];
  Status s = random_bytes(salt, sizeof salt);
  if (!s) return Err(s.error());
  if (!pbkdf2(password, salt, sizeof salt, kPasswordIterations, h)) return Err("pbkdf2 failed");
  return "pbkdf2-sha256$" + std::to_string(kPasswordIterations) + "$" + to_hex(salt, sizeof salt) +
         "$" + to_hex(h, sizeof h);
}

bool password_verify(std::string_view stored, std::string_view password) {
  // pbkdf2-sha256$<n>$<salt>$<hash>
  if (stored.rfind("pbkdf2-sha256$", 0) != 0) return false;
  stored.remove_prefix(14);
  size_t a = stored.find('$');
  if (a == std::string_view::npos) return false;
  size_t b = stored.find('$', a + 1);
  if (b == std::string_view::npos) return false;
  auto iters = parse_int_strict(stored.substr(0, a), 1, 10000000);
  std::string_view salt_hex = stored.substr(a + 1, b - a - 1), hash_hex = stored.substr(b + 1);
  uint8_t salt[64], want[32], got[32];
  if (!iters || salt_hex.size() > 128 || salt_hex.size() % 2 ||
      !from_hex(salt_hex, salt, salt_hex.size() / 2) || !from_hex(hash_hex, want, 32)) {
    return false;
  }
  if (!pbkdf2(password, salt, salt_hex.size() / 2, static_cast<unsigned>(*iters), got)) return false;
  return ct_equal(got, want, 32);
}

const std::string& password_hash_dummy() {
  static const std::string dummy = [] {
    uint8_t secret[16];
    // Without the random source the password is all zeroes: its hash still
    // costs the same, and no user is ever checked against it to pass.
    if (!random_bytes(secret, sizeof secret)) memset(secret, 0, sizeof secret);
    Result<std::string> h = password_hash_make(to_hex(secret, sizeof secret));
    return h ? *h : std::string("pbkdf2-sha256$") + std::to_string(kPasswordIterations) + "$" +
                        std::string(32, '0') + "$" + std::string(64, '0');
  }();
  return dummy;
}

bool VerifiedCache::hit(const uint8_t tag[32], int64_t now) const {
  bool found = false;
  for (const Slot& s : slots_) found |= s.until_ms > now && ct_equal(s.tag, tag, 32);
  return found;
}

void VerifiedCache::put(const uint8_t tag[32], int64_t now) {
  Slot* oldest = &slots_[0];
  for (Slot& s : slots_) {
    if (s.until_ms < oldest->until_ms) oldest = &s;
  }
  memcpy(oldest->tag, tag, 32);
  oldest->until_ms = now + kTtlMs;
}

bool basic_credentials(std::string_view header, std::string* user, std::string* password) {
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  if (header.size() < 6 || !(header.substr(0, 6) == "Basic " || header.substr(0, 6) == "basic ")) return false;
  header.remove_prefix(6);
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  unsigned char out[192];
  size_t n = 0;
  if (header.size() > 250 ||
      mbedtls_base64_decode(out, sizeof out - 1, &n, reinterpret_cast<const unsigned char*>(header.data()),
                            header.size()) != 0) {
    return false;
  }
  std::string_view s(reinterpret_cast<const char*>(out), n);
  size_t colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  *user = std::string(s.substr(0, colon));
  *password = std::string(s.substr(colon + 1));
  return true;
}

}  // namespace otad
