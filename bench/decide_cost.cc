// The decision's cost per request on a fleet of 10,000 registered devices
// and 100 images (10 platforms x 10 releases, a rollout on each platform,
// every device with recorded state): decide() alone, and decide() with the
// fleet's bookkeeping (Fleet::check_in, event log in RAM). Prints
// microseconds per request; bench/fleet_reboot.py sets them against the CPU
// one download costs the server.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "otad/decision.h"
#include "otad/fleet.h"

using namespace otad;

int main(int argc, char** argv) {
  const int devices = argc > 1 ? atoi(argv[1]) : 10000;
  const int iterations = argc > 2 ? atoi(argv[2]) : 1000000;
  std::vector<ManifestEntry> entries;
  char hex[65];
  for (int p = 0; p < 10; ++p) {
    for (int v = 0; v < 10; ++v) {
      ManifestEntry e;
      snprintf(hex, sizeof hex, "%064x", p * 100 + v + 1);
      e.sha256 = hex;
      e.md5 = std::string(hex, 32);
      e.platform = "platform" + std::to_string(p);
      e.version = "1." + std::to_string(v) + ".0";
      e.kind = "app";
      e.chip = "esp32";
      e.size = 1 << 20;
      e.seq = static_cast<uint64_t>(p * 100 + v);
      entries.push_back(e);
    }
  }
  auto cat = Catalog::in_memory(entries);
  Registry reg;
  std::vector<Mac> macs;
  for (int i = 0; i < devices; ++i) {
    Device d;
    d.mac = *parse_mac("240000000000");
    d.mac.b[3] = static_cast<uint8_t>(i >> 16);
    d.mac.b[4] = static_cast<uint8_t>(i >> 8);
    d.mac.b[5] = static_cast<uint8_t>(i);
    d.platform = "platform" + std::to_string(i % 10);
    if (i % 3 == 0) d.groups = {"field"};
    reg.put(d);
    macs.push_back(d.mac);
  }
  std::vector<Rollout> ros;
  for (int p = 0; p < 10; ++p) {
    Rollout r;
    r.platform = "platform" + std::to_string(p);
    r.version = "1.9.0";
    r.percent = 30;
    r.groups = {"field"};
    ros.push_back(r);
  }
  Fleet fleet;
  FleetConfig fc;
  fc.max_devices = static_cast<size_t>(devices);
  fleet.configure(fc);
  fleet.set_catalog(cat);
  const PolicyConfig policy{"platform0", true};
  // Every device checked in once: each has recorded state from here on.
  auto one = [&](int i, bool record, int64_t now) {
    DeviceReport r;
    r.mac = macs[static_cast<size_t>(i)];
    r.ask = Ask::Update;
    r.version = "1.3.0";
    r.family = ChipFamily::Esp32;
    FleetView view{*cat, reg, policy, &ros, fleet.find(*r.mac)};
    view.rules.now_s = now;
    Decision d = decide(r, view);
    if (record) fleet.check_in(r, d, {"192.168.1.20:51234", "http", true}, now);
    return d.kind;
  };
  for (int i = 0; i < devices; ++i) one(i, true, 1);
  unsigned sink = 0;
  uint64_t x = 88172645463325252ULL;
  auto run = [&](bool record) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int k = 0; k < iterations; ++k) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      sink += one(static_cast<int>(x % static_cast<uint64_t>(devices)), record, 2 + k / 100000);
    }
    const std::chrono::duration<double, std::micro> us = std::chrono::steady_clock::now() - t0;
    return us.count() / iterations;
  };
  const double pure = run(false), with_state = run(true);
  printf("decision_us %.3f\ndecision_with_state_us %.3f\ndevices %d\nimages %zu\niterations %d\nsink %u\n", pure,
         with_state, devices, cat->images().size(), iterations, sink % 2);
  return 0;
}
