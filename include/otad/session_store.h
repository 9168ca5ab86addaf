// TLS sessions kept for resumption by session ID (RFC 5246 §7.3), for
// devices that take no session tickets: BearSSL on the ESP8266 resumes only
// this way. A table of fixed slots, sized at start, where each session may
// sit in one of two slots (two-choice hashing: far fewer devices evicting
// each other than with one): a new session takes an empty one or evicts the
// older, and nothing is allocated later.
// Pure storage: the TLS code serializes the session and decides what a
// cached entry is still worth (src/tls/session_cache.cc).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

namespace otad {

class SessionStore {
 public:
  // A serialized TLS 1.2 session with an ECDSA device certificate is about
  // 600 bytes; a PSK session about 100. A larger one is not kept.
  static constexpr size_t kBlobMax = 768;
  struct Entry {
    uint8_t id[32];
    uint8_t id_len;
    int64_t expires;   // monotonic seconds
    char psk_mac[13];  // the device a PSK session belongs to; "" otherwise
    uint8_t cred[32];  // SHA-256 of that device's PSK when the session was made
    uint16_t len;
    uint8_t blob[kBlobMax];
  };

  static_assert(std::is_trivially_copyable_v<Entry>, "slots are calloc'd");

  // The slots are allocated zeroed at start; their pages become resident
  // only as sessions land in them.
  explicit SessionStore(size_t entries);
  ~SessionStore();
  SessionStore(const SessionStore&) = delete;
  SessionStore& operator=(const SessionStore&) = delete;

  // False (and nothing kept) when the blob is larger than kBlobMax, the id
  // empty or longer than 32 bytes, or the store has no slots.
  bool put(const uint8_t* id, size_t id_len, int64_t expires, const char* psk_mac, const uint8_t cred[32],
           const uint8_t* blob, size_t len);
  // The live entry for this id, or nullptr (absent, evicted or expired).
  const Entry* find(const uint8_t* id, size_t id_len, int64_t now) const;
  void erase(const uint8_t* id, size_t id_len);
  size_t capacity() const { return n_; }
  size_t in_use() const;

 private:
  struct Pair {
    Entry *a, *b;
  };
  Pair slots(const uint8_t* id, size_t id_len) const;
  struct Free {
    void operator()(Entry* p) const;
  };
  std::unique_ptr<Entry[], Free> slots_;
  size_t n_;
};

}  // namespace otad
