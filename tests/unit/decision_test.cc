// The update decision as a table: one row per rule, over a catalog built in
// memory and a registry built in code.
#include <gtest/gtest.h>

#include "otad/decision.h"

using namespace otad;

namespace {

ManifestEntry entry(const char* platform, const char* version, char fill, uint64_t size, uint64_t seq,
                    const char* kind = "app") {
  ManifestEntry e;
  e.sha256 = std::string(64, fill);
  e.md5 = std::string(32, fill);
  e.platform = platform;
  e.version = version;
  e.kind = kind;
  e.chip = "esp32";
  e.size = size;
  e.seq = seq;
  return e;
}

// An ESP8266 image whose MD5 for each flash-mode byte is 1..4 repeated.
ManifestEntry esp8266(const char* version, uint64_t seq) {
  ManifestEntry e = entry("sleeper", version, '9', 4096, seq);
  e.chip = "esp8266";
  e.md5_modes = std::string(32, '1') + "," + std::string(32, '2') + "," + std::string(32, '3') + "," + std::string(32, '4');
  return e;
}

struct Fleet {
  std::shared_ptr<const Catalog> cat = Catalog::in_memory({
      entry("demo", "1.0.0", 'a', 4096, 1),
      entry("demo", "1.1.0", 'b', 8192, 2),
      entry("other", "0.5.0", 'c', 4096, 3),
      entry("demo", "2.0.0", 'd', 65536, 4, "filesystem"),
      entry("nightly", "build-7", 'e', 4096, 5),  // not a semantic version
      esp8266("1.0.0", 6),
  });
  Registry reg;
  Fleet() {
    auto dev = [&](const char* mac, const char* platform, std::string image, bool enabled) {
      Device d;
      d.mac = *parse_mac(mac);
      d.platform = platform;
      d.image = image;
      d.enabled = enabled;
      reg.put(d);
    };
    dev("000000000001", "other", "", true);
    dev("000000000002", "other", "", false);
    dev("000000000003", "", std::string(64, 'a'), true);  // pinned to demo 1.0.0
    dev("000000000004", "", "", true);                    // no platform: default
    dev("000000000005", "gone", "", true);
    dev("000000000006", "nightly", "", true);
    dev("000000000007", "", std::string(64, 'f'), true);  // pinned to an image not in the catalog
    Device c3;
    c3.mac = *parse_mac("000000000008");
    c3.platform = "demo";
    c3.chip = "esp32c3";  // demo's images are esp32
    reg.put(c3);
    Device e32 = c3;
    e32.mac = *parse_mac("000000000009");
    e32.chip = "esp32";
    reg.put(e32);
  }
};

const PolicyConfig kServe{"demo", true}, kRefuse{"demo", false}, kNone{"", true}, kOther{"other", true};

}  // namespace

// The rules every protocol shares: who may be served, pin, platform.
TEST(Decision, WhoGetsWhat) {
  Fleet f;
  struct Case {
    const char* mac;
    PolicyConfig cfg;
    Decision::Kind want;
    int status;
    const char* version;
  };
  const Case cases[] = {
      {"0000000000ff", kServe, Decision::Serve, 0, "1.1.0"},   // unknown device, default platform
      {"0000000000ff", kRefuse, Decision::Deny, 403, nullptr},
      {"0000000000ff", kNone, Decision::Deny, 404, nullptr},
      {"0000000000ff", kOther, Decision::Serve, 0, "0.5.0"},
      {"000000000001", kRefuse, Decision::Serve, 0, "0.5.0"},  // registered: refuse does not apply
      {"000000000002", kServe, Decision::Deny, 403, nullptr},  // disabled
      {"000000000003", kServe, Decision::Serve, 0, "1.0.0"},   // pinned beats newer
      {"000000000004", kServe, Decision::Serve, 0, "1.1.0"},
      {"000000000004", kNone, Decision::Deny, 404, nullptr},
      {"000000000005", kServe, Decision::Deny, 404, nullptr},  // platform without images
      {"000000000006", kServe, Decision::Serve, 0, "build-7"},
      {"000000000007", kServe, Decision::Deny, 404, nullptr},  // pin not in the catalog
  };
  for (const Case& c : cases) {
    DeviceReport r;
    r.mac = *parse_mac(c.mac);
    r.ask = Ask::Boot;
    Decision d = decide(r, {*f.cat, f.reg, c.cfg});
    EXPECT_EQ(d.kind, c.want) << c.mac << " " << d.why;
    if (c.want == Decision::Deny) {
      EXPECT_EQ(d.status, c.status) << c.mac;
    }
    if (c.version) {
      ASSERT_NE(d.image, nullptr);
      EXPECT_EQ(d.image->m.version, c.version) << c.mac;
    }
  }
}

// The Arduino update endpoint and the download URLs: version, bytes, free
// space, filesystem images, platform names, hashes.
TEST(Decision, UpdateTable) {
  Fleet f;
  struct Case {
    const char* name;
    const char* mac;  // "" = none sent
    Ask ask;
    ChipFamily family;
    const char* platform;
    const char* version;
    const char* md5;
    int64_t free_space;  // -1 = not reported
    Decision::Kind want;
    int status;
    const char* serves;  // version of the image in the answer
    const char* why = nullptr;
  };
  const std::string md5_b(32, 'b'), md5_a(32, 'a'), md5_dio(32, '3'), md5_none(32, '5');
  const Case cases[] = {
      {"older semver", "0000000000ff", Ask::Update, ChipFamily::Unknown, "", "1.0.0", "", -1, Decision::Serve, 0, "1.1.0"},
      {"same semver", "0000000000ff", Ask::Update, ChipFamily::Unknown, "", "1.1.0", "", -1, Decision::NoUpdate, 0, "1.1.0"},
      {"newer semver: no downgrade", "0000000000ff", Ask::Update, ChipFamily::Unknown, "", "1.2.0", "", -1, Decision::NoUpdate, 0, "1.1.0"},
      {"prerelease below release", "0000000000ff", Ask::Update, ChipFamily::Unknown, "", "1.1.0-rc.1", "", -1, Decision::Serve, 0, "1.1.0"},
      {"build metadata ignored", "0000000000ff", Ask::Update, ChipFamily::Unknown, "", "1.1.0+abc", "", -1, Decision::NoUpdate, 0, "1.1.0"},
      {"no version reported", "0000000000ff", Ask::Update, ChipFamily::Unknown, "", "", "", -1, Decision::Serve, 0, "1.1.0"},
      {"version not semver, differs", "0000000000ff", Ask::Update, ChipFamily::Unknown, "", "vX", "", -1, Decision::Serve, 0, "1.1.0"},
      {"same bytes by md5", "0000000000ff", Ask::Update, ChipFamily::Unknown, "", "0.0.1", md5_b.c_str(), -1, Decision::NoUpdate, 0, "1.1.0"},
      {"same bytes, md5 in capitals", "0000000000ff", Ask::Update, ChipFamily::Unknown, "", "", "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", -1, Decision::NoUpdate, 0, "1.1.0"},
      {"other bytes by md5", "0000000000ff", Ask::Update, ChipFamily::Unknown, "", "", md5_a.c_str(), -1, Decision::Serve, 0, "1.1.0"},
      {"md5 of the wrong length", "0000000000ff", Ask::Update, ChipFamily::Unknown, "", "", "bbbb", -1, Decision::Serve, 0, "1.1.0"},
      {"free space too small", "0000000000ff", Ask::Update, ChipFamily::Unknown, "", "1.0.0", "", 8191, Decision::Deny, 413, nullptr},
      {"free space exactly enough", "0000000000ff", Ask::Update, ChipFamily::Unknown, "", "1.0.0", "", 8192, Decision::Serve, 0, "1.1.0"},
      {"free space ignored when current", "0000000000ff", Ask::Update, ChipFamily::Unknown, "", "1.1.0", "", 1, Decision::NoUpdate, 0, "1.1.0"},
      {"no MAC", "", Ask::Update, ChipFamily::Unknown, "", "1.0.0", "", -1, Decision::Deny, 400, nullptr},
      {"no MAC, version query", "", Ask::Version, ChipFamily::Unknown, "", "", "", -1, Decision::Deny, 400, nullptr},
      {"version query serves metadata", "0000000000ff", Ask::Version, ChipFamily::Unknown, "", "1.1.0", "", -1, Decision::Serve, 0, "1.1.0"},
      {"?dev= names the platform", "0000000000ff", Ask::Update, ChipFamily::Unknown, "other", "0.1.0", "", -1, Decision::Serve, 0, "0.5.0"},
      {"?dev= lowercased", "0000000000ff", Ask::Update, ChipFamily::Unknown, "OTHER", "0.1.0", "", -1, Decision::Serve, 0, "0.5.0"},
      {"?dev= unknown platform", "0000000000ff", Ask::Update, ChipFamily::Unknown, "nope", "0.1.0", "", -1, Decision::Deny, 404, nullptr},
      {"registry beats ?dev=", "000000000001", Ask::Update, ChipFamily::Unknown, "demo", "0.1.0", "", -1, Decision::Serve, 0, "0.5.0"},
      {"pinned and current", "000000000003", Ask::Update, ChipFamily::Unknown, "", "1.0.0", "", -1, Decision::NoUpdate, 0, "1.0.0"},
      {"pinned below what it runs", "000000000003", Ask::Update, ChipFamily::Unknown, "", "1.1.0", "", -1, Decision::NoUpdate, 0, "1.0.0"},
      {"disabled", "000000000002", Ask::Update, ChipFamily::Unknown, "", "0.1.0", "", -1, Decision::Deny, 403, nullptr, "device disabled"},
      {"filesystem image", "0000000000ff", Ask::Filesystem, ChipFamily::Unknown, "", "1.0.0", "", -1, Decision::Serve, 0, "2.0.0"},
      {"filesystem ignores the sketch md5", "0000000000ff", Ask::Filesystem, ChipFamily::Unknown, "", "", "dddddddddddddddddddddddddddddddd", -1, Decision::Serve, 0, "2.0.0"},
      {"filesystem ignores free sketch space", "0000000000ff", Ask::Filesystem, ChipFamily::Unknown, "", "1.0.0", "", 100, Decision::Serve, 0, "2.0.0"},
      {"filesystem current", "0000000000ff", Ask::Filesystem, ChipFamily::Unknown, "", "2.0.0", "", -1, Decision::NoUpdate, 0, "2.0.0"},
      {"filesystem: pin does not apply", "000000000003", Ask::Filesystem, ChipFamily::Unknown, "", "", "", -1, Decision::Serve, 0, "2.0.0"},
      {"filesystem of a platform without one", "000000000001", Ask::Filesystem, ChipFamily::Unknown, "", "", "", -1, Decision::Deny, 404, nullptr},
      {"non-semver platform, same text", "000000000006", Ask::Update, ChipFamily::Unknown, "", "build-7", "", -1, Decision::NoUpdate, 0, "build-7"},
      {"non-semver platform, other text", "000000000006", Ask::Update, ChipFamily::Unknown, "", "build-6", "", -1, Decision::Serve, 0, "build-7"},
      {"download by platform", "", Ask::Download, ChipFamily::Unknown, "demo", "", "", -1, Decision::Serve, 0, "1.1.0"},
      {"download: version is not asked", "", Ask::Download, ChipFamily::Unknown, "demo", "9.9.9", "", -1, Decision::Serve, 0, "1.1.0"},
      {"download of another platform", "000000000001", Ask::Download, ChipFamily::Unknown, "demo", "", "", -1, Decision::Deny, 403, nullptr},
      {"download of its own platform", "000000000001", Ask::Download, ChipFamily::Unknown, "other", "", "", -1, Decision::Serve, 0, "0.5.0"},
      {"download, not lowercased", "", Ask::Download, ChipFamily::Unknown, "DEMO", "", "", -1, Decision::Deny, 404, nullptr},
      {"download by a disabled device", "000000000002", Ask::Download, ChipFamily::Unknown, "other", "", "", -1, Decision::Deny, 403, nullptr},
      {"download by an unknown device", "0000000000ff", Ask::Download, ChipFamily::Unknown, "demo", "", "", -1, Decision::Serve, 0, "1.1.0"},
      {"ESP8266 installed with flash mode DIO", "0000000000ff", Ask::Update, ChipFamily::Unknown, "sleeper", "", md5_dio.c_str(), -1, Decision::NoUpdate, 0, "1.0.0"},
      {"ESP8266 md5 of no flash mode", "0000000000ff", Ask::Update, ChipFamily::Unknown, "sleeper", "", md5_none.c_str(), -1, Decision::Serve, 0, "1.0.0"},
      {"ESP8266 client, ESP32 image: 409", "0000000000ff", Ask::Update, ChipFamily::Esp8266, "", "1.0.0", "", -1, Decision::Deny, 409, nullptr},
      {"ESP32 client, ESP8266 image: 409", "0000000000ff", Ask::Update, ChipFamily::Esp32, "sleeper", "", "", -1, Decision::Deny, 409, nullptr},
      {"ESP32 client, ESP32 image", "0000000000ff", Ask::Update, ChipFamily::Esp32, "", "1.0.0", "", -1, Decision::Serve, 0, "1.1.0"},
      {"ESP8266 client, ESP8266 image", "0000000000ff", Ask::Update, ChipFamily::Esp8266, "sleeper", "", "", -1, Decision::Serve, 0, "1.0.0"},
      {"ESP8266 client asking its version: 409 too", "0000000000ff", Ask::Version, ChipFamily::Esp8266, "", "", "", -1, Decision::Deny, 409, nullptr},
      {"tcpboot (ESP32) to an ESP8266 platform", "0000000000ff", Ask::Boot, ChipFamily::Esp32, "sleeper", "", "", -1, Decision::Deny, 409, nullptr},
      {"registry says esp32c3, image esp32: 409", "000000000008", Ask::Update, ChipFamily::Esp32, "", "1.0.0", "", -1, Decision::Deny, 409, nullptr},
      {"registry says esp32c3: tcpboot too", "000000000008", Ask::Boot, ChipFamily::Esp32, "", "", "", -1, Decision::Deny, 409, nullptr},
      {"registry says esp32, image esp32", "000000000009", Ask::Update, ChipFamily::Esp32, "", "1.0.0", "", -1, Decision::Serve, 0, "1.1.0"},
      {"download, pinned device asks its pin's platform", "000000000003", Ask::Download, ChipFamily::Unknown, "demo", "", "", -1, Decision::Serve, 0, "1.0.0"},
  };
  for (const Case& c : cases) {
    DeviceReport r;
    if (c.mac[0]) r.mac = *parse_mac(c.mac);
    r.ask = c.ask;
    r.family = c.family;
    r.platform = c.platform;
    r.version = c.version;
    r.sketch_md5 = c.md5;
    if (c.free_space >= 0) r.free_space = static_cast<uint64_t>(c.free_space);
    Decision d = decide(r, {*f.cat, f.reg, kServe});
    EXPECT_EQ(d.kind, c.want) << c.name << ": " << d.why;
    if (c.want == Decision::Deny) {
      EXPECT_EQ(d.status, c.status) << c.name;
    }
    if (c.why) {
      EXPECT_STREQ(d.why, c.why) << c.name;
    }
    if (c.serves) {
      ASSERT_NE(d.image, nullptr) << c.name;
      EXPECT_EQ(d.image->m.version, c.serves) << c.name;
    }
  }
}

TEST(Decision, ByHashServesExactlyThoseBytes) {
  Fleet f;
  DeviceReport r;
  r.ask = Ask::ByHash;
  const std::string a(64, 'a'), z(64, '0');
  r.sha256 = a;
  Decision d = decide(r, {*f.cat, f.reg, kRefuse});
  ASSERT_EQ(d.kind, Decision::Serve);
  EXPECT_EQ(d.image->m.version, "1.0.0");
  r.sha256 = z;
  d = decide(r, {*f.cat, f.reg, kServe});
  EXPECT_EQ(d.kind, Decision::Deny);
  EXPECT_EQ(d.status, 404);
}

TEST(Decision, UnknownRefusedOnDownloadToo) {
  Fleet f;
  DeviceReport r;
  r.mac = *parse_mac("0000000000ff");
  r.ask = Ask::Download;
  r.platform = "demo";
  Decision d = decide(r, {*f.cat, f.reg, kRefuse});
  EXPECT_EQ(d.kind, Decision::Deny);
  EXPECT_EQ(d.status, 403);
}
