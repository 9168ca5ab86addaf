#include "otad/session_store.h"

#include <mbedtls/platform_util.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace otad {

namespace {
// Master secrets live here: wiped on eviction and at exit, by the call the
// compiler cannot drop as a dead store.
void wipe(void* p, size_t n) { mbedtls_platform_zeroize(p, n); }
}  // namespace

void SessionStore::Free::operator()(Entry* p) const { free(p); }

SessionStore::SessionStore(size_t entries)
    : slots_(entries ? static_cast<Entry*>(calloc(entries, sizeof(Entry))) : nullptr), n_(slots_ ? entries : 0) {}

SessionStore::~SessionStore() {
  // Only slots ever used hold secrets; wiping the rest would make every
  // page resident at exit.
  for (size_t i = 0; i < n_; ++i) {
    if (slots_[i].id_len) wipe(&slots_[i], sizeof(Entry));
  }
}

namespace {
// splitmix64's finalizer: eight bytes of a session ID, spread evenly over
// the table whatever its size.
uint64_t mix(uint64_t h) {
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}
}  // namespace

// Session IDs are 32 random bytes from the server's generator: bytes 0-7
// pick one slot, bytes 8-15 the other.
// Read little-endian, so every host places a session in the same slots.
SessionStore::Pair SessionStore::slots(const uint8_t* id, size_t id_len) const {
  uint64_t a = 0, b = 0;
  for (size_t i = std::min<size_t>(id_len, 8); i-- > 0;) a = a << 8 | id[i];
  for (size_t i = std::min<size_t>(id_len, 16); i-- > 8;) b = b << 8 | id[i];
  return {&slots_[mix(a) % n_], &slots_[mix(b ^ 0x9e3779b97f4a7c15ull) % n_]};
}

namespace {
bool holds(const SessionStore::Entry* e, const uint8_t* id, size_t id_len) {
  return e->id_len == id_len && memcmp(e->id, id, id_len) == 0;
}
}  // namespace

bool SessionStore::put(const uint8_t* id, size_t id_len, int64_t expires, const char* psk_mac,
                       const uint8_t cred[32], const uint8_t* blob, size_t len) {
  if (!n_ || id_len == 0 || id_len > sizeof(Entry::id) || len > kBlobMax) return false;
  // Of the two slots: the one already holding this id, else an empty one,
  // else the one whose session is older (it expires first).
  auto [a, b] = slots(id, id_len);
  Entry* e = holds(a, id, id_len)   ? a
             : holds(b, id, id_len) ? b
             : a->id_len == 0       ? a
             : b->id_len == 0       ? b
             : b->expires < a->expires ? b
                                       : a;
  wipe(e, sizeof *e);
  memcpy(e->id, id, id_len);
  e->id_len = static_cast<uint8_t>(id_len);
  e->expires = expires;
  if (psk_mac) {
    strncpy(e->psk_mac, psk_mac, sizeof e->psk_mac - 1);
    memcpy(e->cred, cred, sizeof e->cred);
  }
  memcpy(e->blob, blob, len);
  e->len = static_cast<uint16_t>(len);
  return true;
}

const SessionStore::Entry* SessionStore::find(const uint8_t* id, size_t id_len, int64_t now) const {
  if (!n_ || id_len == 0 || id_len > sizeof(Entry::id)) return nullptr;
  auto [a, b] = slots(id, id_len);
  const Entry* e = holds(a, id, id_len) ? a : holds(b, id, id_len) ? b : nullptr;
  return e && now < e->expires ? e : nullptr;
}

void SessionStore::erase(const uint8_t* id, size_t id_len) {
  if (!n_ || id_len == 0 || id_len > sizeof(Entry::id)) return;
  auto [a, b] = slots(id, id_len);
  for (Entry* e : {a, b}) {
    if (holds(e, id, id_len)) wipe(e, sizeof *e);
  }
}

size_t SessionStore::in_use() const {
  size_t k = 0;
  for (size_t i = 0; i < n_; ++i) k += slots_[i].id_len != 0;
  return k;
}

}  // namespace otad
