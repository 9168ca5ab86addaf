// Per-device secrets: random generation, salted password hashes, Basic
// credentials, constant-time comparison. Hashing uses mbedTLS.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "otad/result.h"

namespace otad {

// Kernel randomness (getrandom). Fails only if the kernel has none to give.
Status random_bytes(uint8_t* out, size_t n);

// Compares without an early exit, so timing does not tell how much matched.
bool ct_equal(const uint8_t* a, const uint8_t* b, size_t n);
bool ct_equal(std::string_view a, std::string_view b);

// "pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>". Device passwords are
// random 128-bit strings made by otactl, so a modest iteration count keeps a
// router's CPU free while guessing stays hopeless.
constexpr unsigned kPasswordIterations = 2000;
Result<std::string> password_hash_make(std::string_view password);
bool password_verify(std::string_view stored, std::string_view password);
// A stored hash, in the same form, of a random password made once per
// process, for a user that has none (unknown, or no password): checked
// against it, such a user takes the same path and time as a wrong password,
// so the answer's timing does not tell whether a MAC is registered.
const std::string& password_hash_dummy();

// Credentials verified lately, across connections, so that a fleet of honest
// devices does not pay PBKDF2 on every request. Keyed by a digest of the
// whole credential and the stored hash it matched (a changed password misses);
// only verified credentials go in, so a hit proves nothing an attacker
// could not already do. Fixed size; the oldest entry makes room.
class VerifiedCache {
 public:
  static constexpr size_t kSlots = 64;
  static constexpr int64_t kTtlMs = 60000;
  bool hit(const uint8_t tag[32], int64_t now) const;
  void put(const uint8_t tag[32], int64_t now);

 private:
  struct Slot {
    uint8_t tag[32];
    int64_t until_ms;
  };
  Slot slots_[kSlots] = {};
};

// "Authorization: Basic <base64(user:password)>" -> user, password.
bool basic_credentials(std::string_view header, std::string* user, std::string* password);

}  // namespace otad
