// The fleet's memory: what check-ins and transfer records make of a
// device's state (updated, failed, rolled back), the halt they trigger, the
// state's bounds and snapshot, and the event ring.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "otad/fleet.h"
#include "otad/fsutil.h"
#include "release_fixture.h"

using namespace otad;

namespace {

ManifestEntry rel(const char* version, char fill) { return release_entry("ro", version, fill, "esp32c3"); }

struct World {
  char dir[32] = "/tmp/otad-fleet-XXXXXX";
  std::shared_ptr<const Catalog> cat = Catalog::in_memory({rel("1.0.0", '1'), rel("2.0.0", '2')});
  Fleet fleet;
  Registry reg;
  PolicyConfig policy{"ro", true};
  int64_t now = 1'000'000;
  World(uint32_t halt_after = 0, bool ratio = false) {
    EXPECT_NE(mkdtemp(dir), nullptr);
    FleetConfig fc;
    fc.catalog_dir = dir;
    fleet.configure(fc);
    fleet.set_catalog(cat);
    Rollout r;
    r.platform = "ro";
    r.version = "2.0.0";
    r.halt_after = halt_after;
    r.halt_ratio = ratio;
    EXPECT_TRUE(fleet.save_rollouts({r}).ok());
  }
  ~World() {
    unlink(rollouts_path(dir).c_str());
    rmdir(dir);
  }
  // One Arduino check-in reporting version; returns the decision.
  Decision check_in(const char* mac, const char* version) {
    DeviceReport r;
    r.mac = *parse_mac(mac);
    r.ask = Ask::Update;
    r.version = version;
    r.family = ChipFamily::Esp32;
    FleetView view{*cat, reg, policy, &fleet.rollouts(), fleet.find(*r.mac)};
    view.rules = fleet.rules(now, 30);
    Decision d = decide(r, view);
    fleet.check_in(r, d, {"10.0.0.2:4000", "http", false}, now);
    return d;
  }
  void download(const char* mac, bool whole, uint64_t bytes = 4096) {
    TransferNote t;
    t.mac = mac;
    t.image = cat->by_sha256(std::string(64, '2')).get();
    t.outcome = whole ? "served" : "aborted";
    t.status = 200;
    t.bytes = bytes;
    t.whole = whole;
    t.aborted = !whole;
    fleet.transfer_end(t, now);
  }
  const DeviceState& st(const char* mac) { return *fleet.find(*parse_mac(mac)); }
};

}  // namespace

TEST(Fleet, UpdatedThenRolledBack) {
  World w;
  const char* mac = "240000000001";
  EXPECT_EQ(w.check_in(mac, "1.0.0").kind, Decision::Serve);
  EXPECT_EQ(w.st(mac).offered.view(), std::string(64, '2'));
  EXPECT_EQ(w.st(mac).version_before.view(), "1.0.0");
  w.download(mac, true);
  EXPECT_EQ(w.st(mac).outcome, Inferred::Pending);
  EXPECT_EQ(w.st(mac).result, LastResult::Complete);
  EXPECT_EQ(w.check_in(mac, "2.0.0").kind, Decision::NoUpdate);
  EXPECT_EQ(w.st(mac).outcome, Inferred::Updated);
  // Installing the esp32c3 image recorded the exact chip.
  EXPECT_TRUE(w.st(mac).chip_exact);
  EXPECT_EQ(w.st(mac).chip.view(), "esp32c3");
  w.check_in(mac, "1.0.0");
  EXPECT_EQ(w.st(mac).outcome, Inferred::RolledBack);
  EXPECT_EQ(w.fleet.stats(w.fleet.rollouts()[0]).failed, 1u);
}

TEST(Fleet, OldVersionAfterACompleteDownloadIsAFailure) {
  World w;
  const char* mac = "240000000002";
  w.check_in(mac, "1.0.0");
  w.check_in(mac, "1.0.0");  // no download yet: nothing to infer
  EXPECT_EQ(w.st(mac).outcome, Inferred::None);
  w.download(mac, true);
  w.check_in(mac, "1.0.0");
  EXPECT_EQ(w.st(mac).outcome, Inferred::Failed);
}

TEST(Fleet, RepeatedAbortsAreAFailure) {
  World w;
  const char* mac = "240000000003";
  w.check_in(mac, "1.0.0");
  w.download(mac, false, 1000);
  EXPECT_EQ(w.st(mac).result, LastResult::Aborted);
  EXPECT_EQ(w.st(mac).result_bytes, 1000u);
  w.download(mac, false, 2000);
  EXPECT_EQ(w.st(mac).outcome, Inferred::None);
  w.download(mac, false, 3000);
  EXPECT_EQ(w.st(mac).outcome, Inferred::Failed);
}

TEST(Fleet, LoopGuardCountsCompletesAndFails) {
  World w;
  const char* mac = "240000000004";
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(w.check_in(mac, "custom").kind, Decision::Serve) << i;
    w.download(mac, true);
  }
  // The third check-in after a complete download marked it failed already.
  const Decision d = w.check_in(mac, "custom");
  EXPECT_EQ(d.kind, Decision::NoUpdate);
  EXPECT_TRUE(d.loop_guard);
  EXPECT_EQ(w.st(mac).outcome, Inferred::Failed);
  // An hour later the window is over: offered again.
  w.now += 3601;
  EXPECT_EQ(w.check_in(mac, "custom").kind, Decision::Serve);
}

TEST(Fleet, HaltAtACountAndTheRestGetTheReleaseBelow) {
  World w(2);
  w.check_in("240000000010", "1.0.0");
  w.download("240000000010", true);
  w.check_in("240000000010", "1.0.0");
  EXPECT_TRUE(w.fleet.rollouts()[0].halted.empty());
  w.check_in("240000000011", "1.0.0");
  w.download("240000000011", true);
  w.check_in("240000000011", "1.0.0");
  ASSERT_FALSE(w.fleet.rollouts()[0].halted.empty());
  EXPECT_EQ(w.fleet.rollouts()[0].halted, "2 of 2 devices offered failed (halt_after 2)");
  // Written, so a restart keeps it halted.
  std::vector<std::string> errors;
  auto back = rollouts_read(rollouts_path(w.dir), &errors);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ((*back)[0].halted, w.fleet.rollouts()[0].halted);
  const Decision d = w.check_in("240000000012", "1.0.0");
  EXPECT_EQ(d.kind, Decision::NoUpdate);
  EXPECT_EQ(d.image->m.version, "1.0.0");
}

TEST(Fleet, HaltAtARatioOfDevicesOffered) {
  World w(50, true);
  for (const char* mac : {"240000000020", "240000000021", "240000000022"}) w.check_in(mac, "1.0.0");
  w.download("240000000020", true);
  w.check_in("240000000020", "2.0.0");  // updated
  w.download("240000000021", true);
  w.check_in("240000000021", "1.0.0");  // failed: 1 of 3 offered
  EXPECT_TRUE(w.fleet.rollouts()[0].halted.empty());
  w.download("240000000022", true);
  w.check_in("240000000022", "1.0.0");  // 2 of 3: past 50%
  EXPECT_FALSE(w.fleet.rollouts()[0].halted.empty());
  const RolloutStats s = w.fleet.stats(w.fleet.rollouts()[0]);
  EXPECT_EQ(s.failed, 2u);
  EXPECT_EQ(s.offered, 3u);
  EXPECT_EQ(s.updated, 1u);
}

TEST(FleetState, UnknownDevicesAreEvictedOldestFirstRegisteredNever) {
  FleetState st(16);
  for (int i = 0; i < 16; ++i) {
    Mac m = *parse_mac("240000000000");
    m.b[5] = static_cast<uint8_t>(i);
    ASSERT_NE(st.touch(m, i < 8, 100 + i), nullptr);
    const_cast<DeviceState*>(st.find(m))->last_seen = 100 + i;
  }
  Mac newcomer = *parse_mac("2400000000ff");
  ASSERT_NE(st.touch(newcomer, false, 200), nullptr);
  EXPECT_EQ(st.size(), 16u);
  EXPECT_EQ(st.find(*parse_mac("240000000008")), nullptr);  // the oldest unknown
  EXPECT_NE(st.find(*parse_mac("240000000000")), nullptr);  // registered, older still
  // Full of registered devices: a stranger is not tracked, a registered one is.
  FleetState full(16);
  for (int i = 0; i < 16; ++i) {
    Mac m = *parse_mac("250000000000");
    m.b[5] = static_cast<uint8_t>(i);
    full.touch(m, true, 1);
  }
  EXPECT_EQ(full.touch(newcomer, false, 2), nullptr);
  EXPECT_NE(full.touch(*parse_mac("2500000000ff"), true, 2), nullptr);
}

TEST(FleetState, SnapshotRoundTripsAndCorruptionIsRefused) {
  FleetState st;
  DeviceState* d = st.touch(*parse_mac("240000000001"), true, 5);
  d->version.set("1.2.3");
  d->peer.set("10.0.0.9:1234\n\x01");  // not printable: made safe
  d->result = LastResult::Aborted;
  d->result_bytes = 77;
  d->outcome = Inferred::RolledBack;
  d->completes = 2;
  const std::string snap = st.snapshot(42);
  FleetState back;
  uint64_t seq = 0;
  ASSERT_TRUE(back.restore(snap, &seq).ok());
  EXPECT_EQ(seq, 42u);
  const DeviceState* b = back.find(*parse_mac("240000000001"));
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->version.view(), "1.2.3");
  EXPECT_EQ(b->peer.view(), "10.0.0.9:1234??");
  EXPECT_EQ(b->result, LastResult::Aborted);
  EXPECT_EQ(b->outcome, Inferred::RolledBack);
  EXPECT_EQ(b->completes, 2);
  for (const char* bad : {"", "[]", "{\"otad_state\": 2, \"devices\": []}", "{\"otad_state\": 1}",
                          "{\"otad_state\": 1, \"devices\": [{\"mac\": \"nope\"}]}",
                          "{\"otad_state\": 1, \"devices\": [{\"mac\": \"240000000001\", \"outcome\": \"weird\"}]}",
                          "{\"otad_state\": 1, \"devices\": [{\"mac\": \"240000000001\", \"last_seen\": \"x\"}]}"}) {
    FleetState x;
    x.touch(*parse_mac("240000000009"), true, 1);
    EXPECT_FALSE(x.restore(bad, &seq).ok()) << bad;
    EXPECT_EQ(x.size(), 1u) << bad;  // what it held stays
  }
}

TEST(EventLog, RingNumbersAndSince) {
  EventLog log(4);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(log.append(10, "\"ev\":\"x\",\"i\":" + std::to_string(i)).ok());
  EXPECT_EQ(log.seq(), 6u);
  auto all = log.since(0, 100);
  ASSERT_EQ(all.size(), 4u);  // the ring keeps the newest 4
  EXPECT_EQ(nlohmann::json::parse(all[0])["seq"], 3);
  EXPECT_EQ(nlohmann::json::parse(all[3])["i"], 5);
  auto after5 = log.since(5, 100);
  ASSERT_EQ(after5.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(after5[0])["seq"], 6);
  EXPECT_TRUE(log.since(6, 100).empty());
  EXPECT_EQ(log.since(0, 2).size(), 2u);
}

TEST(EventLog, AnUnwritableFileIsOneErrorThenQuiet) {
  EventLog log(8);
  log.configure("/nonexistent-dir/events.jsonl", 4096, 2);
  EXPECT_FALSE(log.append(1, "\"ev\":\"a\"").ok());
  EXPECT_TRUE(log.append(1, "\"ev\":\"b\"").ok());  // still failing: said once
  EXPECT_EQ(log.since(0, 10).size(), 2u);          // kept in RAM
}
