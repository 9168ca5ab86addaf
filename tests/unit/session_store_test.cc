#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "otad/session_store.h"

using namespace otad;

namespace {
// Session IDs as a server makes them: 32 random bytes (seeded, so the test
// is the same every run).
std::vector<uint8_t> id_of(uint8_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> id(32);
  for (uint8_t& b : id) b = static_cast<uint8_t>(rng());
  return id;
}
const uint8_t kCred[32] = {9, 9, 9};
}  // namespace

TEST(SessionStore, PutFindExpireErase) {
  SessionStore st(64);
  auto a = id_of(1);
  const uint8_t blob[] = {1, 2, 3, 4};
  ASSERT_TRUE(st.put(a.data(), a.size(), 100, nullptr, kCred, blob, sizeof blob));
  const SessionStore::Entry* e = st.find(a.data(), a.size(), 99);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->len, sizeof blob);
  EXPECT_EQ(0, memcmp(e->blob, blob, sizeof blob));
  EXPECT_EQ(e->psk_mac[0], '\0');  // not a PSK session: no device, no key digest
  EXPECT_EQ(e->cred[0], 0);
  EXPECT_EQ(st.find(a.data(), a.size(), 100), nullptr);  // expired
  auto other = a;
  other[31] ^= 1;
  EXPECT_EQ(st.find(other.data(), other.size(), 0), nullptr);  // same slot or not, another id
  EXPECT_EQ(st.find(a.data(), 31, 0), nullptr);                // a prefix is another id
  st.erase(other.data(), other.size());                        // not ours: kept
  EXPECT_NE(st.find(a.data(), a.size(), 0), nullptr);
  st.erase(a.data(), a.size());
  EXPECT_EQ(st.find(a.data(), a.size(), 0), nullptr);
  EXPECT_EQ(st.in_use(), 0u);
}

TEST(SessionStore, PskEntryKeepsDeviceAndKeyDigest) {
  SessionStore st(8);
  auto a = id_of(2);
  const uint8_t blob[] = {7};
  ASSERT_TRUE(st.put(a.data(), a.size(), 10, "30aea4041d8c", kCred, blob, 1));
  const SessionStore::Entry* e = st.find(a.data(), a.size(), 0);
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->psk_mac, "30aea4041d8c");
  EXPECT_EQ(0, memcmp(e->cred, kCred, 32));
}

TEST(SessionStore, RefusesWhatDoesNotFit) {
  SessionStore st(8), none(0);
  auto a = id_of(3);
  std::vector<uint8_t> big(SessionStore::kBlobMax + 1, 0xab);
  struct Case {
    SessionStore* store;
    size_t id_len, len;
    bool want;
  } cases[] = {
      {&st, 32, SessionStore::kBlobMax, true},
      {&st, 32, SessionStore::kBlobMax + 1, false},
      {&st, 0, 4, false},
      {&st, 1, 4, true},
      {&none, 32, 4, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.want, c.store->put(a.data(), c.id_len, 10, nullptr, kCred, big.data(), c.len))
        << c.id_len << " " << c.len;
  }
  std::vector<uint8_t> long_id(33, 1);
  EXPECT_FALSE(st.put(long_id.data(), long_id.size(), 10, nullptr, kCred, big.data(), 4));
  EXPECT_EQ(none.find(a.data(), 32, 0), nullptr);
}

TEST(SessionStore, FixedSizeNewSessionsEvictOld) {
  SessionStore st(16);
  const uint8_t blob[] = {1};
  for (uint8_t i = 0; i < 200; ++i) {
    auto id = id_of(i);
    ASSERT_TRUE(st.put(id.data(), id.size(), 1000, nullptr, kCred, blob, 1));
    EXPECT_NE(st.find(id.data(), id.size(), 0), nullptr);  // the newest is always there
  }
  EXPECT_EQ(st.in_use(), st.capacity());  // 200 sessions fill all 16 slots
  size_t live = 0;
  for (uint8_t i = 0; i < 200; ++i) live += st.find(id_of(i).data(), 32, 0) != nullptr;
  EXPECT_EQ(live, st.in_use());
}

TEST(SessionStore, TwoChoicesKeepAlmostEverySessionUntilNearlyFull) {
  // 100 devices' sessions in 256 slots: with one slot per id about 17 would
  // evict each other (the birthday bound); with the older of two chosen,
  // hardly any. The ids are seeded, so the count is the same every run.
  SessionStore st(256);
  const uint8_t blob[] = {1};
  for (uint8_t i = 0; i < 100; ++i) {
    auto id = id_of(i);
    ASSERT_TRUE(st.put(id.data(), id.size(), 1000 + i, nullptr, kCred, blob, 1));
  }
  size_t live = 0;
  for (uint8_t i = 0; i < 100; ++i) live += st.find(id_of(i).data(), 32, 0) != nullptr;
  EXPECT_GE(live, 98u);
  EXPECT_EQ(live, st.in_use());
}

