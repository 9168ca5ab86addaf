// MD4 (RFC 1320). Only the NT hash of a Wi-Fi password (wpa2.h) uses it:
// MD4 is broken as a hash, and mbedTLS 3 no longer carries it.
#pragma once
#include <cstddef>
#include <cstdint>

namespace otad {

void md4(const uint8_t* data, size_t len, uint8_t out[16]);

}  // namespace otad
