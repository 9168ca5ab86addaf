"""The fleet on the real otad: staged rollouts by a stable MAC hash, their
refusals, auto-halt, the loop guard, max_concurrent, device state that
survives kill -9 and is written per interval (never per check-in), and the
event log with its rotation."""
import ctypes
import http.client
import json
import os
import random
import re
import signal
import struct
import subprocess
import threading
import time
import unittest

from otadtest import BASE_CONFIG, OTACTL, GatewayTest, eventually, free_port, run, tcpboot_fetch
from test_admin import ADMIN_CONFIG

FLEET_CONFIG = ADMIN_CONFIG + """[fleet]
loop_guard = {loop_guard}
[state]
file = {dir}/state.json
flush_interval = {flush}
event_log = {dir}/events.jsonl
event_log_size = {log_size}
event_log_keep = 2
"""


def fleet_gateway(test, flush=300, loop_guard=3, log_size=1 << 20, **kw):
    g = test.gateway(**kw)
    g.http_port, g.admin_port = free_port(), free_port()
    g.write_config(BASE_CONFIG.format(**g.settings) +
                   FLEET_CONFIG.format(http_port=g.http_port, admin_port=g.admin_port, dir=g.dir, flush=flush,
                                       loop_guard=loop_guard, log_size=log_size))
    g.token = run(OTACTL, "--config", g.config, "admin", "token", "add", "ci").stdout.splitlines()[0]
    return g


def api(g, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", g.admin_port, timeout=30)
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Authorization": "Bearer " + g.token})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, json.loads(data)


def mac_of(i):
    return "24%010x" % i


class Device:
    """An Arduino client (ESP32 HTTPUpdate) on one keep-alive connection."""

    def __init__(self, g):
        self.c = http.client.HTTPConnection("127.0.0.1", g.http_port, timeout=30)

    def update(self, mac, version, mode=None, read=True):
        h = {"x-ESP32-STA-MAC": mac, "x-ESP32-version": version, "User-Agent": "ESP32-http-Update"}
        if mode:
            h["x-ESP32-mode"] = mode
        self.c.request("GET", "/update", headers=h)
        r = self.c.getresponse()
        body = r.read()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), body

    def close(self):
        self.c.close()


def offered_set(g, n, percent_target="2.0.0"):
    """The MACs (of n) whose version query answers the target."""
    d = Device(g)
    out = set()
    for i in range(n):
        st, h, _ = d.update(mac_of(i), "1.0.0", mode="version")
        if st == 200 and h.get("x-version") == percent_target:
            out.add(i)
    d.close()
    return out


class Fleet(GatewayTest):
    def two_releases(self, g, size=4096):
        g.add_image("demo", "1.0.0", size=size)
        return g.add_image("demo", "2.0.0", size=size)

    def test_percentage_is_stable_and_grows(self):
        g = fleet_gateway(self)
        self.two_releases(g)
        g.start()
        st, body = api(g, "PUT", "/api/rollouts/demo", {"version": "2.0.0", "percent": 10})
        self.assertEqual(st, 200, body)
        at10 = offered_set(g, 1000)
        self.assertTrue(70 <= len(at10) <= 130, len(at10))
        self.assertEqual(offered_set(g, 1000), at10)  # a repeat run
        g.stop()
        g.start()
        self.assertEqual(offered_set(g, 1000), at10)  # after a restart (rollouts.ini)
        self.assertEqual(api(g, "PUT", "/api/rollouts/demo", {"version": "2.0.0", "percent": 50})[0], 200)
        at50 = offered_set(g, 1000)
        self.assertTrue(at10 <= at50, at10 - at50)
        self.assertTrue(400 <= len(at50) <= 600, len(at50))
        # Outside the rollout: the release below the target.
        d = Device(g)
        out = next(i for i in range(1000) if i not in at50)
        self.assertEqual(d.update(mac_of(out), "0.9.0", mode="version")[1]["x-version"], "1.0.0")
        d.close()

    def test_bad_rollouts_are_refused_and_change_nothing(self):
        g = fleet_gateway(self)
        self.two_releases(g)
        run(OTACTL, "--config", g.config, "device", "add", "240000000001", "--groups", "lab")
        g.start()
        self.assertEqual(api(g, "PUT", "/api/rollouts/demo", {"version": "2.0.0", "percent": 5})[0], 200)
        path = os.path.join(g.dir, "catalog", "rollouts.ini")
        before = open(path).read()
        for body, why in [({"version": "3.0.0", "percent": 10}, "has no release 3.0.0"),
                          ({"version": "2.0.0", "percent": 150}, "0 to 100"),
                          ({"version": "2.0.0", "percent": -1}, "0 to 100"),
                          ({"version": "2.0.0", "groups": ["nobody"]}, "no device is in group 'nobody'"),
                          ({"version": "2.0.0", "halt_after": "x%"}, "halt_after"),
                          ({"version": "2.0.0", "colour": "red"}, "unknown field 'colour'"),
                          ({"percent": 10}, "no version")]:
            st, reply = api(g, "PUT", "/api/rollouts/demo", body)
            self.assertEqual(st, 400, body)
            self.assertIn(why, reply["error"])
        self.assertEqual(open(path).read(), before)
        st, arr = api(g, "GET", "/api/rollouts")
        self.assertEqual([(r["version"], r["percent"]) for r in arr], [("2.0.0", 5)])
        self.assertEqual(api(g, "PUT", "/api/rollouts/nope", {"version": "1.0.0"})[0], 400)
        # The group that a device has is taken.
        self.assertEqual(api(g, "PUT", "/api/rollouts/demo", {"version": "2.0.0", "groups": "lab"})[0], 200)
        d = Device(g)
        self.assertEqual(d.update("240000000001", "1.0.0", mode="version")[1]["x-version"], "2.0.0")
        self.assertEqual(d.update("240000000002", "1.0.0", mode="version")[1]["x-version"], "1.0.0")

    def test_otactl_rollout_with_and_without_otad(self):
        g = fleet_gateway(self)
        self.two_releases(g)
        ctl = lambda *a, check=True: run(OTACTL, "--config", g.config, *a, check=check)
        # otad not running: the file, then otad reads it at start.
        p = ctl("rollout", "set", "demo", "--version", "2.0.0", "--percent", "20", "--halt-after", "10%")
        self.assertIn("rollout demo: set", p.stdout)
        p = ctl("rollout", "set", "demo", "--version", "9.9.9", "--percent", "20", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("has no release 9.9.9", p.stderr)
        self.assertIn("20%", ctl("rollout", "show").stdout)
        g.start()
        env = dict(os.environ, OTAD_TOKEN=g.token)
        ctl2 = lambda *a, check=True: run(OTACTL, "--config", g.config, *a, check=check, env=env)
        shown = json.loads(ctl2("rollout", "show", "demo", "--json").stdout)
        self.assertEqual((shown[0]["percent"], shown[0]["halt_after"], shown[0]["state"]), (20, "10%", "running"))
        ctl2("rollout", "pause", "demo")
        self.assertIn("paused by an operator", ctl2("rollout", "show").stdout)
        ctl2("rollout", "resume", "demo")
        p = ctl2("rollout", "set", "demo", "--version", "2.0.0", "--percent", "101", check=False)
        self.assertNotEqual(p.returncode, 0)
        status = ctl2("status").stdout
        self.assertRegex(status, r"demo\s+2\.0\.0\s+20%\s+running")
        ctl2("rollout", "clear", "demo")
        self.assertIn("no rollouts", ctl2("status").stdout)

    def test_auto_halt_when_devices_come_back_with_the_old_version(self):
        g = fleet_gateway(self)
        image = self.two_releases(g)
        g.start()
        self.assertEqual(api(g, "PUT", "/api/rollouts/demo",
                             {"version": "2.0.0", "percent": 100, "halt_after": 3})[0], 200)
        d = Device(g)
        failed = 0
        for i in range(5):
            st, _, body = d.update(mac_of(i), "1.0.0")
            self.assertEqual((st, body), (200, image))
            # It reboots and comes back with the old version: a failure.
            st, _, _ = d.update(mac_of(i), "1.0.0")
            failed += 1
            rollout = api(g, "GET", "/api/rollouts/demo")[1]
            if failed < 3:
                self.assertEqual(rollout["state"], "full", rollout)
                self.assertEqual(st, 200)  # offered again (the loop guard comes later)
            else:
                break
        self.assertEqual(rollout["state"], "halted")
        self.assertEqual(rollout["failed"], 3)
        self.assertIn("3 of 3 devices offered failed", rollout["why"])
        g.wait_log(r"rollout demo 2\.0\.0 halted: 3 of 3")
        # The rest of the fleet: no update (they run the release below).
        for i in range(10, 30):
            st, _, body = d.update(mac_of(i), "1.0.0")
            self.assertEqual((st, body), (304, b""))
        self.assertIn("halted = 3 of 3", open(os.path.join(g.dir, "catalog", "rollouts.ini")).read())
        # A device that installed it is never downgraded while halted.
        self.assertEqual(d.update(mac_of(99), "2.0.0")[0], 304)
        events = [json.loads(l) for l in open(os.path.join(g.dir, "events.jsonl"))]
        self.assertTrue(any(e["ev"] == "halt" for e in events))
        self.assertEqual(sum(1 for e in events if e["ev"] == "outcome" and e["outcome"] == "failed"), 3)
        # Resume clears the halt.
        self.assertEqual(api(g, "POST", "/api/rollouts/demo/resume")[1]["state"], "full")

    def test_updated_device_and_its_state(self):
        g = fleet_gateway(self)
        image = self.two_releases(g)
        g.start()
        d = Device(g)
        mac = mac_of(7)
        self.assertEqual(d.update(mac, "1.0.0")[2], image)
        self.assertEqual(d.update(mac, "2.0.0")[0], 304)
        st, dev = api(g, "GET", "/api/devices/" + mac)
        self.assertEqual(st, 200)
        s = dev["state"]
        self.assertEqual((s["version"], s["outcome"], s["result"], s["offered_version"], s["proto"]),
                         ("2.0.0", "updated", "complete", "2.0.0", "http"))
        self.assertEqual(s["result_bytes"], len(image))
        self.assertFalse(dev["registered"])
        self.assertTrue(any(e["ev"] == "transfer" and e["status"] == 200 for e in dev["events"]))
        env = dict(os.environ, OTAD_TOKEN=g.token)
        out = run(OTACTL, "--config", g.config, "device", "show", mac, env=env).stdout
        self.assertIn("outcome updated", out)
        self.assertIn("runs 2.0.0", out)
        self.assertRegex(run(OTACTL, "--config", g.config, "device", "list", env=env).stdout,
                         mac + r"\s+unknown\s+-\s+2\.0\.0")
        # Events since a sequence number.
        st, ev = api(g, "GET", "/api/events?since=0")
        last = ev["last"]
        self.assertGreaterEqual(len(ev["events"]), 2)
        d.update(mac, "2.0.0")
        st, ev = api(g, "GET", f"/api/events?since={last}")
        self.assertEqual([e["seq"] for e in ev["events"]], [last + 1])
        self.assertEqual(api(g, "GET", "/api/events?since=-1")[0], 400)
        self.assertEqual(api(g, "GET", "/api/devices/nonsense")[0], 400)
        self.assertEqual(api(g, "GET", "/api/devices/" + mac_of(12345))[0], 404)

    def test_loop_guard(self):
        g = fleet_gateway(self, loop_guard=3)
        image = self.two_releases(g)
        g.start()
        d = Device(g)
        mac = mac_of(3)
        # A sketch that reports a version the catalog does not know: each
        # check-in looks older, so without the guard it would loop for ever.
        for _ in range(3):
            self.assertEqual(d.update(mac, "custom-build")[2], image)
        st, _, body = d.update(mac, "custom-build")
        self.assertEqual((st, body), (304, b""))
        g.wait_log(r"no update: loop guard")
        s = api(g, "GET", "/api/devices/" + mac)[1]["state"]
        self.assertEqual((s["outcome"], s["completes"]), ("failed", 3))

    def test_max_concurrent_is_503_with_retry_after_then_served(self):
        g = fleet_gateway(self)
        image = self.two_releases(g, size=1 << 20)
        cfg = open(g.config).read().replace("[server]\n", "[server]\nsend_buffer = 16384\n")
        g.write_config(cfg)
        g.start()
        self.assertEqual(api(g, "PUT", "/api/rollouts/demo",
                             {"version": "2.0.0", "percent": 100, "max_concurrent": 2})[0], 200)
        import socket
        slow = []
        for i in range(2):
            s = socket.create_connection(("127.0.0.1", g.http_port))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
            s.sendall(f"GET /update HTTP/1.1\r\nHost: g\r\nx-ESP32-STA-MAC: {mac_of(i)}\r\n"
                      "x-ESP32-version: 1.0.0\r\n\r\n".encode())
            slow.append(s)
        in_flight = lambda: api(g, "GET", "/api/status")[1]["downloads_in_flight"]
        eventually("both slow downloads in flight", lambda: in_flight() == 2)
        d = Device(g)
        st, h, _ = d.update(mac_of(50), "1.0.0")
        self.assertEqual(st, 503)
        self.assertTrue(1 <= int(h["retry-after"]) <= 45, h)
        # Version queries and devices outside the target are not held back.
        self.assertEqual(d.update(mac_of(50), "1.0.0", mode="version")[0], 200)
        for s in slow:
            s.close()
        eventually("the closed downloads seen as ended", lambda: in_flight() == 0)
        st, _, body = d.update(mac_of(50), "1.0.0")
        self.assertEqual((st, body), (200, image))

    def test_tcpboot_waits_for_max_concurrent_and_is_served(self):
        g = fleet_gateway(self)
        image = self.two_releases(g, size=256 << 10)
        g.start()
        self.assertEqual(api(g, "PUT", "/api/rollouts/demo",
                             {"version": "2.0.0", "percent": 100, "max_concurrent": 1})[0], 200)
        results = []

        def fetch(i):
            results.append(tcpboot_fetch(g.port, mac=mac_of(i).encode(), timeout=30))

        ts = [threading.Thread(target=fetch, args=(i,)) for i in range(6)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(len(results), 6)
        for size, _, body in results:
            self.assertEqual(body, image)

    def test_state_survives_kill_9_and_a_corrupt_snapshot_starts_empty(self):
        g = fleet_gateway(self, flush=1)
        image = self.two_releases(g)
        g.start()
        d = Device(g)
        for i in range(20):
            self.assertEqual(d.update(mac_of(i), "1.0.0")[2], image)
        d.close()

        def snapshot():  # written within an interval (flush = 1 s), whole
            try:
                return json.load(open(os.path.join(g.dir, "state.json")))
            except (OSError, ValueError):
                return None
        done = lambda s: s and [x.get("result") for x in s["devices"]] == ["complete"] * 20
        eventually("a snapshot with the 20 complete devices", lambda: done(snapshot()))
        g.stop(signal.SIGKILL)
        self.assertTrue(done(snapshot()), snapshot())  # what kill -9 left on disk
        g.start()
        st, devs = api(g, "GET", "/api/devices")
        self.assertEqual(sum(1 for x in devs if x["state"] and x["state"]["result"] == "complete"), 20)
        g.stop()
        with open(os.path.join(g.dir, "state.json"), "w") as f:
            f.write('{"otad_state": 1, "devices": [{"mac": "zz"')
        g.start()
        g.wait_log(r"state: .*state\.json is unusable \(not JSON\); starting empty")
        self.assertEqual(api(g, "GET", "/api/devices")[1], [])
        # Serving goes on.
        self.assertEqual(Device(g).update(mac_of(1), "1.0.0")[2], image)

    def test_snapshot_writes_count_intervals_not_check_ins(self):
        g = fleet_gateway(self, flush=1)
        self.two_releases(g)
        g.start()
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(os.O_NONBLOCK)
        self.assertGreaterEqual(fd, 0)
        IN_MOVED_TO = 0x80
        self.assertGreaterEqual(libc.inotify_add_watch(fd, g.dir.encode(), IN_MOVED_TO), 0)
        d = Device(g)
        t0 = time.time()
        for i in range(10000):
            d.update(mac_of(i % 500), "2.0.0", mode="version")
        elapsed = time.time() - t0
        time.sleep(1.5)
        writes = 0
        while True:
            try:
                buf = os.read(fd, 65536)
            except BlockingIOError:
                break
            off = 0
            while off < len(buf):
                _, mask, _, n = struct.unpack_from("iIII", buf, off)
                name = buf[off + 16:off + 16 + n].rstrip(b"\0")
                writes += name == b"state.json"
                off += 16 + n
        os.close(fd)
        # One write per interval with changes at most: the seconds it took,
        # plus the one after; never one per check-in.
        self.assertGreaterEqual(writes, 1)
        self.assertLessEqual(writes, int(elapsed) + 3, (writes, elapsed))
        print(f"\n10000 check-ins in {elapsed:.1f} s: {writes} snapshot writes", flush=True)

    def test_event_log_rotates_and_stays_whole_lines(self):
        g = fleet_gateway(self, log_size=4096)
        self.two_releases(g)
        g.start()
        d = Device(g)
        for i in range(200):
            d.update(mac_of(i), "2.0.0")
        d.close()
        names = sorted(n for n in os.listdir(g.dir) if n.startswith("events.jsonl"))
        self.assertEqual(names, ["events.jsonl", "events.jsonl.1", "events.jsonl.2"])
        seqs = []
        for n in names:
            path = os.path.join(g.dir, n)
            self.assertLessEqual(os.path.getsize(path), 4096)
            for line in open(path):
                seqs.append(json.loads(line)["seq"])
        self.assertEqual(sorted(seqs), list(range(min(seqs), max(seqs) + 1)))

    def test_state_and_events_on_a_full_disk(self):
        g = fleet_gateway(self, flush=1)
        image = self.two_releases(g)
        small = os.path.join(g.dir, "small")
        os.mkdir(small)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32k", "tmpfs", small]).returncode != 0:
            self.skipTest("cannot mount a small tmpfs here (needs root)")
        self.addCleanup(lambda: subprocess.run(["umount", "-l", small]))
        cfg = open(g.config).read().replace(f"{g.dir}/state.json", f"{small}/state.json")
        g.write_config(cfg.replace(f"{g.dir}/events.jsonl", f"{small}/events.jsonl"))
        g.start()
        self.assertEqual(api(g, "PUT", "/api/rollouts/demo", {"version": "2.0.0", "percent": 100})[0], 200)
        d = Device(g)
        self.assertEqual(d.update(mac_of(0), "1.0.0")[2], image)
        for _ in range(100):  # the first snapshot, while there is room
            if os.path.exists(os.path.join(small, "state.json")):
                break
            time.sleep(0.05)
        first = open(os.path.join(small, "state.json")).read()
        for i in range(1, 300):
            st, _, body = d.update(mac_of(i), "1.0.0")
            self.assertEqual((st, body), (200, image))  # serving never stops
        g.wait_log(r"event log: .*events\.jsonl: No space left on device")
        self.assertEqual(len(re.findall(r"event log: ", g.log())), 1)  # said once
        g.wait_log(r"state: .*No space left on device; the previous snapshot stays", timeout=5)
        # Whole lines only, and the last snapshot written whole (the first, or
        # one written later while there was still room), and kept.
        for line in open(os.path.join(small, "events.jsonl")):
            json.loads(line)
        kept = open(os.path.join(small, "state.json")).read()
        json.loads(kept)
        self.assertGreaterEqual(len(kept), len(first))
        d.update(mac_of(400), "1.0.0")  # something new to write, and no room for it
        # Recorded once the device has acknowledged the last byte, which can
        # be after the client has read it: wait for otad's line, then for a
        # snapshot attempt after it (retried each interval while unwritten).
        g.wait_log(r"mac=240000000190 http: GET /update -> 200")
        n = len(re.findall(r"state: .*No space left on device", g.log()))
        g.wait_log(r"state: .*No space left on device", timeout=5, count=n + 1)
        self.assertEqual(open(os.path.join(small, "state.json")).read(), kept)
        self.assertEqual([n for n in os.listdir(small) if n.startswith(".") or n.endswith(".tmp")], [])
        st, r = api(g, "GET", "/api/rollouts/demo")
        self.assertEqual((r["version"], r["percent"], r["state"]), ("2.0.0", 100, "full"))
        self.assertEqual(api(g, "GET", "/api/events?since=0")[1]["last"], 301)  # one per transfer, in RAM all the same

    def test_unregistered_esp8266_gets_409_from_an_esp32_default(self):
        g = fleet_gateway(self)
        self.two_releases(g)
        g.start()
        c = http.client.HTTPConnection("127.0.0.1", g.http_port, timeout=10)
        c.request("GET", "/update", headers={"x-ESP8266-STA-MAC": "5c:cf:7f:00:00:01", "x-ESP8266-version": "1.0",
                                             "User-Agent": "ESP8266-http-Update"})
        r = c.getresponse()
        body = r.read()
        self.assertEqual(r.status, 409)
        self.assertFalse(body.startswith(b"\xe9"))  # never an image
        deny = [json.loads(l) for l in open(os.path.join(g.dir, "events.jsonl")) if '"deny"' in l]
        self.assertEqual(deny[-1]["status"], 409)


if __name__ == "__main__":
    unittest.main()
