#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "otad/fsutil.h"
#include "otad/md4.h"
#include "otad/strict_num.h"
#include "otad/wpa2.h"

using namespace otad;

namespace {

std::string md4_hex(const std::string& s) {
  uint8_t d[16];
  md4(reinterpret_cast<const uint8_t*>(s.data()), s.size(), d);
  return to_hex(d, 16);
}

Device dev(const char* mac, bool enabled, const char* cert = "") {
  Device d;
  d.mac = *parse_mac(mac);
  d.enabled = enabled;
  d.cert = cert;
  return d;
}

const std::string kFp(64, 'a');

}  // namespace

TEST(Md4, Rfc1320Vectors) {
  const struct {
    const char* in;
    const char* out;
  } rows[] = {
      {"", "31d6cfe0d16ae931b73c59d7e0c089c0"},
      {"a", "bde52cb31de33e46245e05fbdbd6fb24"},
      {"abc", "a448017aaf21d8525fc10ae87aa6729d"},
      {"message digest", "d9130a8164549fe818874806e1c7014b"},
      {"abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"},
      {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "043f8582f241db351ce627e153e7f0e4"},
      {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
       "e33b4ddc9c38f2199c3e7b164fcc0536"},
  };
  for (const auto& r : rows) EXPECT_EQ(md4_hex(r.in), r.out) << '"' << r.in << '"';
}

TEST(NtHash, KnownPasswordsAndUtf8) {
  EXPECT_EQ(*nt_hash_hex("password"), "8846f7eaee8fb117ad06bdd830b7586c");
  EXPECT_EQ(*nt_hash_hex(""), "31d6cfe0d16ae931b73c59d7e0c089c0");  // MD4 of nothing
  // MSCHAPv2's own example (RFC 2759 9.2): "clientPass".
  EXPECT_EQ(*nt_hash_hex("clientPass"), "44ebba8d5312b8d611474411f56989ae");
  // Non-ASCII is hashed as UTF-16LE: the same as its code units spelled out.
  auto e = nt_hash_hex("\xc3\xa9");  // U+00E9
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, md4_hex(std::string("\xe9\x00", 2)));
  auto pair = nt_hash_hex("\xf0\x9f\x98\x80");  // U+1F600: a surrogate pair
  ASSERT_TRUE(pair.ok());
  EXPECT_EQ(*pair, md4_hex(std::string("\x3d\xd8\x00\xde", 4)));
  for (const char* bad : {"\xff", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"}) {
    EXPECT_FALSE(nt_hash_hex(bad).ok()) << to_hex(reinterpret_cast<const uint8_t*>(bad), strlen(bad));
  }
}

TEST(NtHashes, ParseTable) {
  const struct {
    const char* text;
    const char* error;  // nullptr: parses
    size_t count;
  } rows[] = {
      {"", nullptr, 0},
      {"# only a comment\n\n", nullptr, 0},
      {"30aea4041d8c 8846F7EAEE8FB117AD06BDD830B7586C\n", nullptr, 1},
      {"30:AE:A4:04:1D:8C\t8846f7eaee8fb117ad06bdd830b7586c\r\n  # x\n", nullptr, 1},
      {"30aea4041d8c 8846f7eaee8fb117ad06bdd830b7586c\n30aea4041d8d 31d6cfe0d16ae931b73c59d7e0c089c0", nullptr, 2},
      {"30aea4041d8c\n", "line 1: expected 'MAC NTHASH'", 0},
      {"# c\nnot-a-mac 8846f7eaee8fb117ad06bdd830b7586c\n", "line 2: not a MAC address", 0},
      {"30aea4041d8c 8846f7\n", "line 1: the NT hash must be 32 hex digits", 0},
      {"30aea4041d8c 8846f7eaee8fb117ad06bdd830b7586z\n", "line 1: the NT hash must be 32 hex digits", 0},
      {"30aea4041d8c 8846f7eaee8fb117ad06bdd830b7586c\n30:ae:a4:04:1d:8c 8846f7eaee8fb117ad06bdd830b7586c\n",
       "line 2: device 30aea4041d8c listed twice", 0},
  };
  for (const auto& r : rows) {
    auto h = parse_nt_hashes(r.text);
    if (!r.error) {
      ASSERT_TRUE(h.ok()) << r.text << ": " << h.error();
      EXPECT_EQ(h->size(), r.count) << r.text;
    } else {
      ASSERT_FALSE(h.ok()) << r.text;
      EXPECT_EQ(h.error(), r.error) << r.text;
    }
  }
  EXPECT_FALSE(parse_nt_hashes(std::string("30aea4041d8c \0", 14)).ok());
  auto h = parse_nt_hashes("30aea4041d8c 8846F7EAEE8FB117AD06BDD830B7586C\n");
  auto again = parse_nt_hashes(format_nt_hashes(*h));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *h);
  EXPECT_EQ(h->begin()->second, "8846f7eaee8fb117ad06bdd830b7586c");
}

TEST(Wpa2Users, HostapdAndFreeRadiusEntries) {
  Registry reg;
  reg.put(dev("30aea4041d01", true, kFp.c_str()));  // certificate only
  reg.put(dev("30aea4041d02", true));               // Wi-Fi password only
  reg.put(dev("30aea4041d03", true, kFp.c_str()));  // both
  reg.put(dev("30aea4041d04", false, kFp.c_str()));  // disabled: no entry
  reg.put(dev("30aea4041d05", true));               // no Wi-Fi credential: no entry
  NtHashes nt;
  const std::string h(32, 'b');
  nt[*parse_mac("30aea4041d02")] = h;
  nt[*parse_mac("30aea4041d03")] = h;
  nt[*parse_mac("30aea4041d04")] = h;
  nt[*parse_mac("30aea4041dff")] = h;  // not registered: no entry
  EXPECT_EQ(render_users(UserFileKind::Hostapd, reg, nt),
            "\"30aea4041d01\" TLS\n"
            "\"30aea4041d02\" PEAP,TTLS\n"
            "\"30aea4041d02\" MSCHAPV2,TTLS-MSCHAPV2 hash:" + h + " [2]\n"
            "\"30aea4041d03\" TLS,PEAP,TTLS\n"
            "\"30aea4041d03\" MSCHAPV2,TTLS-MSCHAPV2 hash:" + h + " [2]\n");
  EXPECT_EQ(render_users(UserFileKind::FreeRadius, reg, nt),
            "\"30aea4041d02\" NT-Password := 0x" + h + "\n"
            "\"30aea4041d03\" NT-Password := 0x" + h + "\n");
}

TEST(Wpa2Users, MergeKeepsTheOperatorsLines) {
  const std::string block = "\"30aea4041d01\" TLS\n";
  const std::string head = "# BEGIN otad: written by otad from its device registry; edits inside are replaced\n";
  const struct {
    std::string existing;
    std::string merged;  // empty: refused
  } rows[] = {
      {"", head + block + "# END otad\n"},
      // No markers yet: the block goes first, so "*" cannot shadow a device.
      {"* PEAP\n\"guest\" MSCHAPV2 \"pw\" [2]\n", head + block + "# END otad\n* PEAP\n\"guest\" MSCHAPV2 \"pw\" [2]\n"},
      // Markers where the operator put them: replaced in place.
      {"\"a\" TLS\n# BEGIN otad\nold\n# END otad\n* PEAP\n", "\"a\" TLS\n" + head + block + "# END otad\n* PEAP\n"},
      {"\"id \\\" quote\" MD5 \"x\"\n", head + block + "# END otad\n\"id \\\" quote\" MD5 \"x\"\n"},
      {"no newline at end", head + block + "# END otad\nno newline at end\n"},
      {"# BEGIN otad\nx\n", ""},
      {"# END otad\n", ""},
      {"# BEGIN otad\n# END otad\n# BEGIN otad\n# END otad\n", ""},
      {"# BEGIN otad\n# BEGIN otad\n# END otad\n", ""},
      {std::string("a\0b\n", 4), ""},
      {std::string(5000, 'x') + "\n", ""},
  };
  for (const auto& r : rows) {
    auto m = merge_managed_block(r.existing, block);
    if (r.merged.empty()) {
      EXPECT_FALSE(m.ok()) << r.existing.substr(0, 60);
    } else {
      ASSERT_TRUE(m.ok()) << r.existing << ": " << m.error();
      EXPECT_EQ(*m, r.merged);
      auto again = merge_managed_block(*m, block);  // idempotent: a rewrite changes nothing
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(*again, *m);
    }
  }
}

TEST(Wpa2Users, SyncWritesOnlyOnChangeAndKeepsABadFile) {
  char dir[] = "/tmp/otad-wpa2-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/hostapd.eap_user";
  Registry reg;
  reg.put(dev("30aea4041d01", true, kFp.c_str()));
  ASSERT_TRUE(write_file_atomic(path, "* PEAP\n").ok());
  auto r = sync_user_file(path, UserFileKind::Hostapd, reg, {});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(*r);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  r = sync_user_file(path, UserFileKind::Hostapd, reg, {});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);  // same content: not rewritten
  reg.put(dev("30aea4041d01", false, kFp.c_str()));
  r = sync_user_file(path, UserFileKind::Hostapd, reg, {});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
  EXPECT_EQ(read_file(path, 1 << 16)->find("30aea4041d01"), std::string::npos);
  EXPECT_NE(read_file(path, 1 << 16)->find("* PEAP\n"), std::string::npos);
  // A file otad cannot make sense of stays as it is, and the error names it.
  const std::string bad = "# BEGIN otad\n\"x\" TLS\n";
  ASSERT_TRUE(write_file_atomic(path, bad).ok());
  r = sync_user_file(path, UserFileKind::Hostapd, reg, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), path + ":1: '# BEGIN otad' without its END; left as it was");
  EXPECT_EQ(*read_file(path, 1 << 16), bad);
  unlink(path.c_str());
  rmdir(dir);
}
