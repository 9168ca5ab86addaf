// Which AEAD cipher this CPU runs faster, and a cipher-suite list reordered
// to prefer it. mbedTLS servers pick the first suite of their own list that a
// device offers, so the order is the server's to choose. Which cipher wins
// depends on the CPU and on the mbedTLS build: Debian's 2.28 runs ChaCha20-
// Poly1305 faster than AES-GCM even with AES-NI (one block per call), a MIPS
// router has no AES instructions at all, while mbedTLS 3.6 on an ARMv8 core
// with crypto extensions turns it round. So otad measures rather than guesses.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace otad {

enum class Aead { Aes, ChaCha, Other };

// The cipher family of an mbedTLS suite name ("TLS-...-WITH-<cipher>-<mac>").
Aead suite_aead(const std::string& name);

// Single-core encryption speed in MB/s over 16 KiB records (a TLS record's
// payload), `bytes` of each, best of `rounds` alternating runs.
struct CipherSpeeds {
  double aes128gcm = 0, chachapoly = 0;
};
CipherSpeeds measure_cipher_speeds(size_t bytes, int rounds);

// Within each key exchange (the part of the name before "-WITH-"), moves the
// suites of `first` ahead of that exchange's other suites, keeping every
// other order: which exchange a device gets is still the listed order's
// choice. Pure.
std::vector<std::string> prefer_aead(const std::vector<std::string>& suites, Aead first);

}  // namespace otad
