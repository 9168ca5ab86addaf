// The per-address table: lookups survive deletions (backward shift), idle
// addresses are forgotten when room is needed and connections never are,
// failures block an address for the back-off, repeated lines aggregate.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/peers.h"

namespace {

otad::PeerKey v4(uint32_t host) {
  otad::PeerAddr a{};
  a.v4.sin_family = AF_INET;
  a.v4.sin_addr.s_addr = htonl(host);
  return otad::peer_key(a);
}

TEST(Peers, KeysAndText) {
  char s[64];
  otad::peer_key_text(v4(0x0a000007), s, sizeof s);
  EXPECT_STREQ(s, "10.0.0.7");
  otad::PeerAddr a{};
  a.v6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "fe80::1", &a.v6.sin6_addr);
  otad::peer_key_text(otad::peer_key(a), s, sizeof s);
  EXPECT_STREQ(s, "fe80::1");
  EXPECT_FALSE(v4(1) == v4(2));
  EXPECT_TRUE(v4(3) == v4(3));
}

TEST(Peers, ConnectionsAreNeverForgotten) {
  otad::Peers p(16);  // room for 16 connections' addresses and as many more
  const size_t cap = p.capacity();
  // Fill with addresses that hold a connection each, up to the sweep point.
  std::vector<otad::PeerKey> held;
  for (uint32_t i = 0; held.size() < cap * 3 / 4 - 1; ++i) {
    otad::PeerRecord* r = p.get(v4(0x0a000000 + i), 0);
    ASSERT_NE(r, nullptr);
    r->conns = 1;
    held.push_back(v4(0x0a000000 + i));
  }
  // Idle addresses come and go (a sweep makes room) ...
  for (uint32_t i = 0; i < 5000; ++i) ASSERT_NE(p.get(v4(0x0b000000 + i), 1000), nullptr);
  // ... and every address with a connection is still found, with its count.
  for (const otad::PeerKey& k : held) {
    otad::PeerRecord* r = p.find(k);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->conns, 1);
  }
  EXPECT_LT(p.size(), cap);
}

TEST(Peers, FailuresBlockForTheBackoffThenForget) {
  otad::Peers p(8);
  otad::PeerRules rules;
  rules.max_failures = 3;
  rules.failure_window_ms = 1000;
  rules.backoff_ms = 5000;
  p.set_rules(rules);
  otad::PeerRecord* r = p.get(v4(7), 0);
  EXPECT_FALSE(p.fail(*r, 0));
  EXPECT_FALSE(p.fail(*r, 10));
  EXPECT_TRUE(p.fail(*r, 20));  // the third within the window: blocked, said once
  EXPECT_TRUE(p.blocked(*r, 20));
  EXPECT_TRUE(p.blocked(*r, 5019));
  EXPECT_FALSE(p.blocked(*r, 5020));
  // Failures further apart than the window never add up.
  otad::PeerRecord* q = p.get(v4(8), 0);
  for (int64_t t = 0; t < 10000; t += 600) EXPECT_FALSE(p.fail(*q, t));
  EXPECT_FALSE(p.blocked(*q, 10000));
  // 0 = no limit.
  rules.max_failures = 0;
  p.set_rules(rules);
  otad::PeerRecord* z = p.get(v4(9), 0);
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(p.fail(*z, i));
}

TEST(Peers, LinesAggregatePerAddressAndKind) {
  otad::Peers p(8);
  otad::PeerRecord* r = p.get(v4(7), 0);
  int logged = 0;
  for (int i = 0; i < 100; ++i) logged += p.should_log(*r, otad::PeerEvent::OverCap, i);
  EXPECT_EQ(logged, 1);  // a refusal: once per window, then held back
  int failed = 0;
  for (int i = 0; i < 100; ++i) failed += p.should_log(*r, otad::PeerEvent::Failed, i);
  EXPECT_EQ(failed, 3);  // failed requests: a few, for their detail
  EXPECT_TRUE(p.should_log(*r, otad::PeerEvent::Evicted, 100));  // another kind has its own
  std::vector<std::string> lines;
  auto emit = [&](const otad::PeerKey& k, otad::PeerEvent e, uint32_t n, int64_t) {
    char s[64];
    otad::peer_key_text(k, s, sizeof s);
    lines.push_back(std::string(s) + " " + otad::peer_event_name(e) + " " + std::to_string(n));
  };
  p.flush(5000, emit);
  EXPECT_TRUE(lines.empty());  // the window is still open
  p.flush(10000, emit);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "0.0.0.7 refused over the per-address cap 99");
  EXPECT_EQ(lines[1], "0.0.0.7 failed request 97");
  // A new window logs again.
  EXPECT_TRUE(p.should_log(*r, otad::PeerEvent::OverCap, 10001));
}

}  // namespace
