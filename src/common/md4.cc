// MD4 (RFC 1320), for the NT hash MSCHAPv2 needs and nothing else: it is
// broken as a hash, and mbedTLS 3 no longer carries it. Byte order is
// explicit (little-endian words), so big-endian hosts get the same digest.
#include <cstring>

#include "otad/md4.h"

namespace otad {
namespace {

uint32_t rotl(uint32_t x, int s) { return (x << s) | (x >> (32 - s)); }
uint32_t f(uint32_t x, uint32_t y, uint32_t z) { return (x & y) | (~x & z); }
uint32_t g(uint32_t x, uint32_t y, uint32_t z) { return (x & y) | (x & z) | (y & z); }
uint32_t h(uint32_t x, uint32_t y, uint32_t z) { return x ^ y ^ z; }

void block(uint32_t st[4], const uint8_t* p) {
  uint32_t x[16];
  for (int i = 0; i < 16; ++i) {
    x[i] = uint32_t{p[4 * i]} | uint32_t{p[4 * i + 1]} << 8 | uint32_t{p[4 * i + 2]} << 16 |
           uint32_t{p[4 * i + 3]} << 24;
  }
  uint32_t a = st[0], b = st[1], c = st[2], d = st[3];
  static const int r1[4] = {3, 7, 11, 19}, r2[4] = {3, 5, 9, 13}, r3[4] = {3, 9, 11, 15};
  static const int k2[16] = {0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15};
  static const int k3[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
  // Each round turns the four words: a, d, c, b take the step in turn.
  uint32_t* w[4] = {&a, &d, &c, &b};
  for (int i = 0; i < 16; ++i) {
    uint32_t &t = *w[i % 4], &u = *w[(i + 3) % 4], &v = *w[(i + 2) % 4], &y = *w[(i + 1) % 4];
    t = rotl(t + f(u, v, y) + x[i], r1[i % 4]);
  }
  for (int i = 0; i < 16; ++i) {
    uint32_t &t = *w[i % 4], &u = *w[(i + 3) % 4], &v = *w[(i + 2) % 4], &y = *w[(i + 1) % 4];
    t = rotl(t + g(u, v, y) + x[k2[i]] + 0x5a827999u, r2[i % 4]);
  }
  for (int i = 0; i < 16; ++i) {
    uint32_t &t = *w[i % 4], &u = *w[(i + 3) % 4], &v = *w[(i + 2) % 4], &y = *w[(i + 1) % 4];
    t = rotl(t + h(u, v, y) + x[k3[i]] + 0x6ed9eba1u, r3[i % 4]);
  }
  st[0] += a;
  st[1] += b;
  st[2] += c;
  st[3] += d;
}

}  // namespace

void md4(const uint8_t* data, size_t len, uint8_t out[16]) {
  uint32_t st[4] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};
  size_t i = 0;
  for (; i + 64 <= len; i += 64) block(st, data + i);
  uint8_t tail[128] = {};
  const size_t rest = len - i;
  if (rest) memcpy(tail, data + i, rest);
  tail[rest] = 0x80;
  const size_t n = rest < 56 ? 64 : 128;
  const uint64_t bits = static_cast<uint64_t>(len) * 8;
  for (int b = 0; b < 8; ++b) tail[n - 8 + b] = static_cast<uint8_t>(bits >> (8 * b));
  block(st, tail);
  if (n == 128) block(st, tail + 64);
  for (int w = 0; w < 4; ++w) {
    for (int b = 0; b < 4; ++b) out[4 * w + b] = static_cast<uint8_t>(st[w] >> (8 * b));
  }
}

}  // namespace otad
