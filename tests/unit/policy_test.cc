#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include "otad/digest.h"
#include "otad/fsutil.h"
#include "otad/imagegen.h"
#include "otad/policy.h"
#include "testutil.h"

using namespace otad;

namespace {
struct Fixture {
  std::string dir;
  std::shared_ptr<const Catalog> cat;
  std::vector<ManifestEntry> m;
  Fixture() {
    char tmpl[] = "/tmp/otad-pol-XXXXXX";
    dir = mkdtemp(tmpl);
    uint64_t seq = 0;
    for (auto [p, v] : {std::pair{"demo", "1.0.0"}, {"demo", "1.1.0"}, {"other", "0.5.0"}}) {
      m.push_back(test::store_generated(dir, p, v, ++seq, 4096));
    }
    EXPECT_TRUE(manifest_write(manifest_path(dir), m).ok());
    std::vector<std::string> errors, warnings;
    cat = *Catalog::load(dir, 1 << 20, nullptr, &errors, &warnings);
  }
  ~Fixture() { (void)!system(("rm -rf " + dir).c_str()); }
};
}  // namespace

TEST(Policy, Table) {
  Fixture f;
  Registry reg;
  auto dev = [](const char* mac, const char* platform, std::string image, bool enabled) {
    Device d;
    d.mac = *parse_mac(mac);
    d.platform = platform;
    d.image = image;
    d.enabled = enabled;
    return d;
  };
  reg.put(dev("000000000001", "other", "", true));
  reg.put(dev("000000000002", "other", "", false));
  reg.put(dev("000000000003", "", f.m[0].sha256, true));  // pinned to 1.0.0
  reg.put(dev("000000000004", "", "", true));             // no platform: default
  reg.put(dev("000000000005", "gone", "", true));
  struct Case {
    const char* mac;
    PolicyConfig cfg;
    Verdict want;
    const char* version;
  };
  const PolicyConfig serve{"demo", true}, refuse{"demo", false}, none{"", true};
  const Case cases[] = {
      {"0000000000ff", serve, Verdict::Serve, "1.1.0"},   // unknown device, default platform
      {"0000000000ff", refuse, Verdict::Refuse, nullptr},
      {"0000000000ff", none, Verdict::NoImage, nullptr},
      {"0000000000ff", PolicyConfig{"other", true}, Verdict::Serve, "0.5.0"},
      {"000000000001", refuse, Verdict::Serve, "0.5.0"},  // registered: refuse does not apply
      {"000000000002", serve, Verdict::Refuse, nullptr},  // disabled
      {"000000000003", serve, Verdict::Serve, "1.0.0"},   // pinned beats newer
      {"000000000004", serve, Verdict::Serve, "1.1.0"},
      {"000000000004", none, Verdict::NoImage, nullptr},
      {"000000000005", serve, Verdict::NoImage, nullptr},
  };
  for (const Case& c : cases) {
    Decision d = decide(*f.cat, reg, c.cfg, *parse_mac(c.mac));
    EXPECT_EQ(d.verdict, c.want) << c.mac << " " << d.why;
    if (c.version) {
      ASSERT_NE(d.image, nullptr);
      EXPECT_EQ(d.image->m.version, c.version) << c.mac;
    }
  }
}
