// MD5 (what ESP8266httpUpdate's x-MD5 and espota carry), SHA-1 (the tcpboot
// header) and SHA-256 (the catalog's content address) over bytes or a file.
// Uses mbedTLS's generic md API, which is the same in 2.28 and 3.x.
#pragma once
#include <cstdint>
#include <span>
#include <string>

#include "otad/result.h"

namespace otad {

struct Digests {
  uint8_t md5[16];
  uint8_t sha1[20];
  uint8_t sha256[32];
  std::string md5_hex() const;
  std::string sha1_hex() const;
  std::string sha256_hex() const;
};

// Incremental: feed bytes, then finish.
class Hasher {
 public:
  Hasher();
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  void update(std::span<const uint8_t> data);
  Digests finish();
  // Starts over, for the next stream (keeps its contexts).
  void reset();

 private:
  struct Impl;
  Impl* impl_;
};

Digests digest_bytes(std::span<const uint8_t> data);
void sha256_bytes(std::span<const uint8_t> data, uint8_t out[32]);
// Reads an open fd from offset 0 to EOF; size receives the byte count.
Result<Digests> digest_fd(int fd, uint64_t* size);

}  // namespace otad
