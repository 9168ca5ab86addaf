// Rollouts in the decision, as a table: who is in, what the others get,
// pause, halt, groups, downgrade, the loop guard, max_concurrent; and the
// stable MAC hash behind the percentage.
#include <gtest/gtest.h>

#include <set>

#include "otad/decision.h"
#include "release_fixture.h"

using namespace otad;

namespace {

ManifestEntry rel(const char* version, char fill, const char* platform = "ro") {
  return release_entry(platform, version, fill);
}

// The first MAC (24:00:00:00:xx:xx) whose bucket for ro 2.0.0 satisfies want.
Mac find_mac(bool (*want)(uint32_t)) {
  for (uint32_t i = 0;; ++i) {
    Mac m = *parse_mac("240000000000");
    m.b[4] = static_cast<uint8_t>(i >> 8);
    m.b[5] = static_cast<uint8_t>(i);
    if (want(rollout_bucket(m, "ro", "2.0.0"))) return m;
  }
}

struct FakeLoad final : FleetLoad {
  uint32_t n = 0;
  bool mine = false;
  uint32_t downloading(std::string_view) const override { return n; }
  bool holds(const Mac&, std::string_view) const override { return mine; }
};

}  // namespace

TEST(Rollout, TheDecisionTable) {
  auto cat = Catalog::in_memory({rel("1.0.0", '1'), rel("2.0.0", '2'), rel("3.0.0", '3'), rel("2.0.0", '4', "solo")});
  const Mac in = find_mac([](uint32_t b) { return b < 1000; });    // in at 10%
  const Mac out = find_mac([](uint32_t b) { return b >= 5000; });  // out at 50%
  Registry reg;
  Device lab;
  lab.mac = out;
  lab.platform = "ro";
  lab.groups = {"lab", "north"};
  reg.put(lab);
  Device pinned;
  pinned.mac = *parse_mac("250000000001");
  pinned.platform = "ro";
  pinned.image = std::string(64, '1');
  reg.put(pinned);
  Device plain;
  plain.mac = *parse_mac("250000000002");
  plain.platform = "ro";
  reg.put(plain);
  const Mac stranger = in;  // unregistered
  const PolicyConfig policy{"ro", true};
  const int64_t now = 1'000'000;

  enum Setup { None, Pct10, Pct100, Paused, Halted, Groups, Downgrade, Concurrent1, Missing, Pct0 };
  struct Case {
    const char* name;
    Setup setup;
    Mac mac;
    Ask ask;
    const char* version;      // reported
    const char* offered;      // recorded state: offered image fill ("" none)
    uint16_t completes;
    int64_t since_first;      // seconds since the first complete
    uint32_t downloading;     // FakeLoad
    bool holds;
    Decision::Kind want;
    const char* serves;       // version of the image in the answer (nullptr: none)
    bool in_rollout = false;
    bool loop = false;
  };
  const std::string c2(64, '2');
  const Case cases[] = {
      {"no rollout: the newest", None, stranger, Ask::Update, "1.0.0", "", 0, 0, 0, false, Decision::Serve, "3.0.0"},
      {"100%: the target", Pct100, stranger, Ask::Update, "1.0.0", "", 0, 0, 0, false, Decision::Serve, "2.0.0", true},
      {"10%, in", Pct10, in, Ask::Update, "1.0.0", "", 0, 0, 0, false, Decision::Serve, "2.0.0", true},
      {"10%, out: the release below", Pct10, out, Ask::Update, "0.9.0", "", 0, 0, 0, false, Decision::Serve, "1.0.0"},
      {"10%, out, runs the release below", Pct10, out, Ask::Update, "1.0.0", "", 0, 0, 0, false, Decision::NoUpdate, "1.0.0"},
      {"10%, out, runs the target: no downgrade", Pct10, out, Ask::Update, "2.0.0", "", 0, 0, 0, false, Decision::NoUpdate, "1.0.0"},
      {"0%: nobody new", Pct0, in, Ask::Update, "1.0.0", "", 0, 0, 0, false, Decision::NoUpdate, "1.0.0"},
      {"0%, offered before: stays offered", Pct0, in, Ask::Update, "1.0.0", "2", 0, 0, 0, false, Decision::Serve, "2.0.0", true},
      {"paused: nobody new", Paused, in, Ask::Update, "1.0.0", "", 0, 0, 0, false, Decision::NoUpdate, "1.0.0"},
      {"paused, mid-download keeps its image", Paused, in, Ask::Download, "", "2", 0, 0, 0, false, Decision::Serve, "2.0.0", true},
      {"halted: offered before or not, the release below", Halted, in, Ask::Update, "0.5.0", "2", 0, 0, 0, false, Decision::Serve, "1.0.0"},
      {"halted, runs the target: kept", Halted, in, Ask::Update, "2.0.0", "2", 0, 0, 0, false, Decision::NoUpdate, "1.0.0"},
      {"groups: in lab", Groups, out, Ask::Update, "1.0.0", "", 0, 0, 0, false, Decision::Serve, "2.0.0", true},
      {"groups: an unknown device is in none", Groups, stranger, Ask::Update, "0.1.0", "", 0, 0, 0, false, Decision::Serve, "1.0.0"},
      {"groups: a device in no group", Groups, *parse_mac("250000000002"), Ask::Update, "0.1.0", "", 0, 0, 0, false, Decision::Serve, "1.0.0"},
      {"allow_downgrade: runs 3.0.0, gets 2.0.0", Downgrade, stranger, Ask::Update, "3.0.0", "", 0, 0, 0, false, Decision::Serve, "2.0.0", true},
      {"allow_downgrade: runs the target", Downgrade, stranger, Ask::Update, "2.0.0", "", 0, 0, 0, false, Decision::NoUpdate, "2.0.0", true},
      {"no allow_downgrade: runs 3.0.0", Pct100, stranger, Ask::Update, "3.0.0", "", 0, 0, 0, false, Decision::NoUpdate, "2.0.0", true},
      {"loop guard trips", Pct100, stranger, Ask::Update, "custom", "2", 3, 10, 0, false, Decision::NoUpdate, "2.0.0", true, true},
      {"loop guard: under the count", Pct100, stranger, Ask::Update, "custom", "2", 2, 10, 0, false, Decision::Serve, "2.0.0", true},
      {"loop guard: outside the window", Pct100, stranger, Ask::Update, "custom", "2", 3, 4000, 0, false, Decision::Serve, "2.0.0", true},
      {"loop guard: another image", None, stranger, Ask::Update, "custom", "2", 5, 10, 0, false, Decision::Serve, "3.0.0"},
      {"max_concurrent reached: busy", Concurrent1, stranger, Ask::Update, "1.0.0", "", 0, 0, 1, false, Decision::Busy, "2.0.0", true},
      {"max_concurrent: the holder of a Range walk goes on", Concurrent1, stranger, Ask::Download, "", "2", 0, 0, 1, true, Decision::Serve, "2.0.0", true},
      {"max_concurrent: tcpboot waits too", Concurrent1, stranger, Ask::Boot, "", "", 0, 0, 3, false, Decision::Busy, "2.0.0", true},
      {"max_concurrent: a version query is not a download", Concurrent1, stranger, Ask::Version, "", "", 0, 0, 9, false, Decision::Serve, "2.0.0", true},
      {"max_concurrent: room left", Concurrent1, stranger, Ask::Update, "1.0.0", "", 0, 0, 0, false, Decision::Serve, "2.0.0", true},
      {"max_concurrent: current devices are not busy", Concurrent1, stranger, Ask::Update, "2.0.0", "", 0, 0, 5, false, Decision::NoUpdate, "2.0.0", true},
      {"target gone from the catalog: as without", Missing, stranger, Ask::Update, "1.0.0", "", 0, 0, 0, false, Decision::Serve, "3.0.0"},
      {"a pin beats the rollout", Pct100, *parse_mac("250000000001"), Ask::Update, "0.1.0", "", 0, 0, 0, false, Decision::Serve, "1.0.0"},
      {"tcpboot in the rollout", Pct10, in, Ask::Boot, "", "", 0, 0, 0, false, Decision::Serve, "2.0.0", true},
      {"tcpboot out of it", Pct10, out, Ask::Boot, "", "", 0, 0, 0, false, Decision::Serve, "1.0.0"},
      {"download URL follows the rollout", Pct10, in, Ask::Download, "", "", 0, 0, 0, false, Decision::Serve, "2.0.0", true},
  };
  for (const Case& c : cases) {
    std::vector<Rollout> ros;
    if (c.setup != None) {
      Rollout r;
      r.platform = "ro";
      r.version = c.setup == Missing ? "9.9.9" : "2.0.0";
      r.percent = c.setup == Pct10 || c.setup == Paused || c.setup == Halted ? 10 : c.setup == Pct0 ? 0 : 100;
      r.paused = c.setup == Paused;
      if (c.setup == Halted) r.halted = "3 of 3 devices offered failed";
      if (c.setup == Groups) r.groups = {"lab"};
      r.allow_downgrade = c.setup == Downgrade;
      if (c.setup == Concurrent1) r.max_concurrent = 1;
      ros.push_back(r);
    }
    DeviceState st;
    st.mac = c.mac;
    if (c.offered[0]) st.offered.set(std::string(64, c.offered[0]));
    st.completes = c.completes;
    st.first_complete = now - c.since_first;
    FakeLoad load;
    load.n = c.downloading;
    load.mine = c.holds;
    DeviceReport r;
    r.mac = c.mac;
    r.ask = c.ask;
    r.version = c.version;
    r.platform = c.ask == Ask::Download ? "ro" : "";
    FleetView view{*cat, reg, policy, &ros, &st, &load};
    view.rules.now_s = now;
    view.rules.retry_after_s = 17;
    const Decision d = decide(r, view);
    EXPECT_EQ(d.kind, c.want) << c.name << ": " << d.why;
    if (c.serves) {
      ASSERT_NE(d.image, nullptr) << c.name;
      EXPECT_EQ(d.image->m.version, c.serves) << c.name;
    }
    EXPECT_EQ(d.rollout != nullptr, c.in_rollout) << c.name;
    EXPECT_EQ(d.loop_guard, c.loop) << c.name;
    if (c.want == Decision::Busy) {
      EXPECT_EQ(d.status, 503) << c.name;
      EXPECT_EQ(d.retry_after_s, 17u) << c.name;
    }
  }
}

TEST(Rollout, OnlyTheTargetLeavesTheOthersWithout) {
  auto cat = Catalog::in_memory({rel("2.0.0", '4', "solo")});
  Registry reg;
  const PolicyConfig policy{"solo", true};
  Rollout r;
  r.platform = "solo";
  r.version = "2.0.0";
  r.percent = 0;
  std::vector<Rollout> ros{r};
  DeviceReport rep;
  rep.mac = *parse_mac("240000000001");
  rep.ask = Ask::Update;
  FleetView view{*cat, reg, policy, &ros};
  Decision d = decide(rep, view);
  EXPECT_EQ(d.kind, Decision::Deny);
  EXPECT_EQ(d.status, 404);
  EXPECT_STREQ(d.why, "no release outside the rollout");
}

TEST(Rollout, TheExactChipAPastUpdateRecorded) {
  auto cat = Catalog::in_memory({rel("1.0.0", '1')});
  Registry reg;
  const PolicyConfig policy{"ro", true};
  DeviceState st;
  st.chip.set("esp32c3");
  st.chip_exact = true;
  DeviceReport rep;
  rep.mac = *parse_mac("240000000001");
  rep.ask = Ask::Update;
  rep.family = ChipFamily::Esp32;
  FleetView view{*cat, reg, policy, nullptr, &st};
  Decision d = decide(rep, view);
  EXPECT_EQ(d.kind, Decision::Deny);
  EXPECT_EQ(d.status, 409);
  st.chip_exact = false;  // only the family: served
  EXPECT_EQ(decide(rep, view).kind, Decision::Serve);
}

TEST(Rollout, PercentageIsStableAndGrowsBySuperset) {
  Rollout r;
  r.platform = "p";
  r.version = "1.2.3";
  std::set<int> at10, at50;
  for (int i = 0; i < 10000; ++i) {
    Mac m = *parse_mac("30aea4000000");
    m.b[3] = static_cast<uint8_t>(i >> 16);
    m.b[4] = static_cast<uint8_t>(i >> 8);
    m.b[5] = static_cast<uint8_t>(i);
    r.percent = 10;
    if (rollout_includes(r, m)) at10.insert(i);
    EXPECT_EQ(rollout_includes(r, m), rollout_includes(r, m));
    r.percent = 50;
    if (rollout_includes(r, m)) at50.insert(i);
    r.percent = 0;
    EXPECT_FALSE(rollout_includes(r, m));
    r.percent = 100;
    EXPECT_TRUE(rollout_includes(r, m));
  }
  EXPECT_NEAR(static_cast<double>(at10.size()), 1000, 150);
  EXPECT_NEAR(static_cast<double>(at50.size()), 5000, 300);
  for (int i : at10) EXPECT_TRUE(at50.count(i)) << i;
  // Another release picks other first devices.
  Rollout other = r;
  other.version = "1.2.4";
  other.percent = 10;
  size_t same = 0;
  for (int i : at10) {
    Mac m = *parse_mac("30aea4000000");
    m.b[3] = static_cast<uint8_t>(i >> 16);
    m.b[4] = static_cast<uint8_t>(i >> 8);
    m.b[5] = static_cast<uint8_t>(i);
    same += rollout_includes(other, m);
  }
  EXPECT_LT(same, at10.size() / 4);
}

TEST(Rollout, FileRoundTripsAndRefusesWithFileAndLine) {
  char dir[] = "/tmp/otad-rollout-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = rollouts_path(dir);
  Rollout a;
  a.platform = "demo";
  a.version = "2.0.0";
  a.percent = 25;
  a.groups = {"lab", "north"};
  a.max_concurrent = 5;
  ASSERT_TRUE(parse_halt_after("20%", &a).ok());
  a.allow_downgrade = true;
  a.paused = true;
  a.halted = "3 of 9 devices offered failed (halt_after 20%)";
  a.since = 1764633600;
  Rollout b;
  b.platform = "other";
  b.version = "build-7";
  ASSERT_TRUE(rollouts_write(path, {a, b}).ok());
  std::vector<std::string> errors;
  auto back = rollouts_read(path, &errors);
  ASSERT_TRUE(back.ok()) << back.error();
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0], a);
  EXPECT_EQ((*back)[1], b);
  struct Bad {
    const char* text;
    const char* error;
  };
  const Bad bad[] = {
      {"[rollout demo]\nversion = 1.0.0\npercent = 101\n", ":3:"},
      {"[rollout demo]\nversion = 1.0.0\ncolour = red\n", ":3: rollout demo.colour: unknown key"},
      {"[demo]\nversion = 1.0.0\n", ":1: [demo]: expected [rollout NAME]"},
      {"[rollout demo]\npercent = 5\n", "names no version"},
      {"[rollout demo]\nversion = 1.0.0\nhalt_after = 101%\n", ":3: rollout demo.halt_after: "},
      {"[rollout demo]\nversion = 1.0.0\n[rollout demo]\nversion = 2.0.0\n", ":3: [rollout demo]: rollout listed twice"},
  };
  for (const Bad& x : bad) {
    FILE* f = fopen(path.c_str(), "w");
    fputs(x.text, f);
    fclose(f);
    errors.clear();
    auto r = rollouts_read(path, &errors);
    ASSERT_FALSE(r.ok()) << x.text;
    EXPECT_NE(r.error().find(x.error), std::string::npos) << r.error() << " (want " << x.error << ")";
  }
  unlink(path.c_str());
  rmdir(dir);
}
