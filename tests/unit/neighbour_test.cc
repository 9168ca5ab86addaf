#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "otad/hostapd_ctrl.h"
#include "otad/neighbour.h"

using namespace otad;

namespace {

// Builds rtnetlink messages as the kernel sends them (host byte order).
struct Msgs {
  std::vector<uint8_t> b;
  size_t start = 0;
  void begin(uint16_t type) {
    start = b.size();
    nlmsghdr h{};
    h.nlmsg_type = type;
    put(&h, sizeof h);
  }
  void put(const void* p, size_t n) {
    const auto* c = static_cast<const uint8_t*>(p);
    b.insert(b.end(), c, c + n);
    while (b.size() % 4) b.push_back(0);
  }
  void attr(uint16_t type, const void* p, size_t n) {
    rtattr a{};
    a.rta_len = static_cast<uint16_t>(RTA_LENGTH(n));
    a.rta_type = type;
    const size_t at = b.size();
    b.resize(at + RTA_SPACE(n));
    memcpy(b.data() + at, &a, sizeof a);
    memcpy(b.data() + at + RTA_LENGTH(0), p, n);
  }
  void end() {
    const auto len = static_cast<uint32_t>(b.size() - start);
    memcpy(b.data() + start, &len, sizeof len);
  }
  void neigh(const char* ip, const uint8_t* ll, uint16_t state = NUD_REACHABLE) {
    begin(RTM_NEWNEIGH);
    ndmsg nd{};
    nd.ndm_family = AF_INET;
    nd.ndm_state = state;
    put(&nd, sizeof nd);
    in_addr a;
    inet_pton(AF_INET, ip, &a);
    attr(NDA_DST, &a, 4);
    if (ll) attr(NDA_LLADDR, ll, 6);
    end();
  }
  void addr(const char* ip, uint8_t prefixlen) {
    begin(RTM_NEWADDR);
    ifaddrmsg ifa{};
    ifa.ifa_family = AF_INET;
    ifa.ifa_prefixlen = prefixlen;
    put(&ifa, sizeof ifa);
    in_addr a;
    inet_pton(AF_INET, ip, &a);
    attr(IFA_LOCAL, &a, 4);
    end();
  }
  void done() {
    begin(NLMSG_DONE);
    int zero = 0;
    put(&zero, sizeof zero);
    end();
  }
};

const uint8_t kLl[6] = {0x30, 0xae, 0xa4, 0x04, 0x1d, 0x8c};

}  // namespace

TEST(Netlink, NeighboursWithProofAreKept) {
  Msgs m;
  m.neigh("10.77.0.2", kLl);
  m.neigh("10.77.0.3", kLl, NUD_STALE);       // seen before: still proof
  m.neigh("10.77.0.4", kLl, NUD_INCOMPLETE);  // resolution under way: none
  m.neigh("10.77.0.5", kLl, NUD_FAILED);
  m.neigh("10.77.0.6", nullptr);              // no link-layer address
  m.done();
  NeighEntry n[8];
  AddrEntry a[2];
  NlBatch b;
  netlink_parse(m.b.data(), m.b.size(), n, 8, a, 2, &b);
  EXPECT_TRUE(b.done);
  EXPECT_EQ(b.error, 0);
  ASSERT_EQ(b.neigh, 2u);
  EXPECT_EQ(n[0].family, AF_INET);
  EXPECT_EQ(memcmp(n[0].lladdr, kLl, 6), 0);
  EXPECT_EQ(n[1].addr[3], 3);
}

TEST(Netlink, CapacityErrorsAndTruncation) {
  Msgs m;
  for (int i = 0; i < 5; ++i) m.neigh(("10.0.0." + std::to_string(i + 1)).c_str(), kLl);
  NeighEntry n[3];
  NlBatch b;
  netlink_parse(m.b.data(), m.b.size(), n, 3, nullptr, 0, &b);
  EXPECT_EQ(b.neigh, 3u);
  EXPECT_EQ(b.dropped, 2u);
  EXPECT_FALSE(b.done);  // more datagrams to come

  // Every cut of a message is refused or parsed within bounds, never read past.
  for (size_t cut = 1; cut < m.b.size(); ++cut) {
    std::vector<uint8_t> part(m.b.begin(), m.b.begin() + static_cast<long>(cut));
    NlBatch pb;
    netlink_parse(part.data(), part.size(), n, 3, nullptr, 0, &pb);
    EXPECT_LE(pb.neigh, 3u);
  }
  Msgs e;
  e.begin(NLMSG_ERROR);
  int err = -EPERM;
  e.put(&err, sizeof err);
  e.end();
  NlBatch eb;
  netlink_parse(e.b.data(), e.b.size(), n, 3, nullptr, 0, &eb);
  EXPECT_EQ(eb.error, EPERM);
  // A length field past the datagram.
  std::vector<uint8_t> bad = m.b;
  const uint32_t huge = 1u << 20;
  memcpy(bad.data(), &huge, 4);
  NlBatch bb;
  netlink_parse(bad.data(), bad.size(), n, 3, nullptr, 0, &bb);
  EXPECT_EQ(bb.error, EBADMSG);
  EXPECT_EQ(bb.neigh, 0u);
}

TEST(Netlink, AddressesAndPrefixes) {
  Msgs m;
  m.addr("10.77.0.1", 24);
  m.addr("192.168.1.1", 0);
  m.addr("172.16.5.1", 20);
  m.done();
  AddrEntry a[4];
  NlBatch b;
  netlink_parse(m.b.data(), m.b.size(), nullptr, 0, a, 4, &b);
  ASSERT_EQ(b.addrs, 3u);
  auto ip = [](const char* s) {
    static uint8_t out[16];
    inet_pton(AF_INET, s, out);
    return out;
  };
  const struct {
    int entry;
    const char* ip;
    bool on;
  } rows[] = {
      {0, "10.77.0.2", true},   {0, "10.77.0.255", true}, {0, "10.77.1.2", false},
      {1, "8.8.8.8", true},     // a /0 holds everything
      {2, "172.16.15.254", true}, {2, "172.16.16.1", false}, {2, "172.16.0.1", true},
  };
  for (const auto& r : rows) EXPECT_EQ(on_prefix(a[r.entry], AF_INET, ip(r.ip)), r.on) << r.ip;
  EXPECT_FALSE(on_prefix(a[0], AF_INET6, ip("10.77.0.2")));
}

TEST(HostapdSta, ReplyTable) {
  const Mac mac = *parse_mac("30aea4041d8c");
  const std::string head = "30:ae:a4:04:1d:8c\nflags=[AUTH][ASSOC][AUTHORIZED]\naid=1\n";
  const struct {
    std::string reply;
    StationCheck want;
    const char* why;
  } rows[] = {
      {head + "dot1xAuthSessionUserName=30aea4041d8c\n", StationCheck::Yes, ""},
      {head + "dot1xAuthSessionUserName=30:AE:A4:04:1D:8C\n", StationCheck::Yes, ""},
      {head + "dot1xAuthSessionUserName=30aea4041d99\n", StationCheck::No,
       "station 30:ae:a4:04:1d:8c logged in to the Wi-Fi as '30aea4041d99', not as its MAC"},
      {head + "dot1xAuthSessionUserName=guest\x01\n", StationCheck::No,
       "station 30:ae:a4:04:1d:8c logged in to the Wi-Fi as 'guest?', not as its MAC"},
      {head, StationCheck::No,
       "station 30:ae:a4:04:1d:8c has no 802.1X identity at hostapd (not a WPA2-Enterprise login)"},
      {head + "dot1xAuthSessionUserName=\n", StationCheck::No,
       "station 30:ae:a4:04:1d:8c has no 802.1X identity at hostapd (not a WPA2-Enterprise login)"},
      {"FAIL\n", StationCheck::No, "hostapd has no station 30:ae:a4:04:1d:8c"},
      {"", StationCheck::No, "hostapd has no station 30:ae:a4:04:1d:8c"},
      {"30:ae:a4:04:1d:99\ndot1xAuthSessionUserName=30aea4041d8c\n", StationCheck::No,
       "hostapd answered for another station than 30:ae:a4:04:1d:8c"},
  };
  for (const auto& r : rows) {
    std::string why;
    EXPECT_EQ(parse_sta_reply(r.reply, mac, &why), r.want) << r.reply;
    EXPECT_EQ(why, r.why) << r.reply;
  }
}

TEST(Prefixes, ParseTable) {
  const struct {
    const char* text;
    size_t n;
    const char* error;
  } rows[] = {
      {"", 0, ""},
      {"10.9.0.0/16", 1, ""},
      {"  10.9.0.0/16\tfd00::/8 192.0.2.7 ", 3, ""},
      {"0.0.0.0/0", 1, ""},
      {"10.9.0.0/33", 0, "'10.9.0.0/33': the prefix length must be 0..32"},
      {"fd00::/129", 0, "'fd00::/129': the prefix length must be 0..128"},
      {"10.9.0.0/", 0, "'10.9.0.0/': the prefix length must be 0..32"},
      {"10.9.0.0/1x", 0, "'10.9.0.0/1x': the prefix length must be 0..32"},
      {"gw.lan", 0, "'gw.lan' is not an address or network (10.9.0.0/16, fd00::/8)"},
      {"1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4", 0, "more than 3 networks"},
  };
  for (const auto& r : rows) {
    AddrEntry p[3];
    size_t n = 99;
    EXPECT_EQ(parse_prefixes(r.text, p, 3, &n), r.error) << r.text;
    if (!*r.error) {
      EXPECT_EQ(n, r.n) << r.text;
    }
  }
  AddrEntry p[1];
  size_t n;
  ASSERT_EQ(parse_prefixes("192.0.2.7", p, 1, &n), "");
  EXPECT_EQ(p[0].prefixlen, 32);
}
