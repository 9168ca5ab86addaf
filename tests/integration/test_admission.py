"""Admission control and pacing on the real otad: a fleet rebooting at once
against max_downloads, Range walks that keep their admission, tcpboot
devices that wait instead of being closed, and the bandwidth cap."""
import hashlib
import socket
import threading
import time
import unittest

from otadtest import BASE_CONFIG, GatewayTest, free_port, recv_until, sha1

EXTRA = """
[http]
enabled = yes
listen = 127.0.0.1
port = {http_port}
[admission]
max_downloads = {max_downloads}
retry_after = {retry_after}
admission_hold = {hold}
bandwidth = {bandwidth}
"""


def gateway(test, max_downloads=10, retry_after=2, hold=30, bandwidth=0, **kw):
    g = test.gateway(**kw)
    g.http_port = free_port()
    # A bounded send buffer: a body is in flight until the device has (nearly) all of it.
    base = BASE_CONFIG.format(**g.settings).replace("[server]\n", "[server]\nsend_buffer = 32768\n")
    g.write_config(base +
                   EXTRA.format(http_port=g.http_port, max_downloads=max_downloads, retry_after=retry_after,
                                hold=hold, bandwidth=bandwidth))
    return g


def get(port, path, headers=(), slow=False):
    """One request; returns (status, headers dict, body). slow: read the body
    in 64 KiB steps with a pause, as a device writing flash does."""
    s = socket.socket()
    if slow:
        # A device's small receive window: the body stays in flight, server
        # side, for as long as the device takes to read it.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    s.settimeout(30)
    s.connect(("127.0.0.1", port))
    req = f"GET {path} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n"
    s.sendall(req.encode())
    data = bytearray()
    while b"\r\n\r\n" not in data:
        d = s.recv(65536)
        if not d:
            break
        data += d
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    hdrs = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    n = int(hdrs.get("content-length", "0"))
    body = bytearray(body)
    while len(body) < n:
        d = s.recv(65536)
        if not d:
            break
        body += d
        if slow:
            time.sleep(0.01)
    s.close()
    return int(lines[0].split()[1]), hdrs, bytes(body)


class Admission(GatewayTest):
    def test_fleet_reboot_against_max_downloads(self):
        g = gateway(self, max_downloads=10, retry_after=2)
        image = g.add_image("demo", "1.0.0", size=1 << 20)
        g.start()
        results, retry_afters = [], []
        lock = threading.Lock()

        def device(i):
            mac = "x-ESP32-STA-MAC: 24:0a:c4:00:%02x:%02x" % (i // 256, i % 256)
            while True:
                st, h, body = get(g.http_port, "/firmware/demo.bin", [mac], slow=True)
                if st == 503:
                    self.assertEqual(body, b"Service Unavailable\n")  # never a part of the image
                    with lock:
                        retry_afters.append(int(h["retry-after"]))
                    time.sleep(0.05)  # sooner than asked: the cap must hold anyway
                    continue
                with lock:
                    results.append((st, hashlib.sha256(body).digest()))
                return

        ts = [threading.Thread(target=device, args=(i,)) for i in range(100)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        self.assertEqual(len(results), 100)
        self.assertEqual(set(results), {(200, hashlib.sha256(image).digest())})
        st = g.stats()
        self.assertLessEqual(st["peak_downloads"], 10)
        self.assertEqual(st["peak_downloads"], 10)  # the fleet did fill the cap
        self.assertGreater(st["busy"], 0)
        self.assertEqual(st["busy"], len(retry_afters))
        self.assertTrue(all(1 <= r <= 3 for r in retry_afters), retry_afters)  # 2 s, jittered by ±50%
        self.assertGreater(len(set(retry_afters)), 1)  # and jittered indeed

    def test_range_walk_admitted_once_is_never_cut(self):
        g = gateway(self, max_downloads=1, hold=5)
        image = g.add_image("demo", "1.0.0", size=640 * 1024)
        g.start()
        mac = "x-ESP32-STA-MAC: 24:0a:c4:00:00:01"
        stop = threading.Event()
        others = []

        def other_devices():
            i = 2
            while not stop.is_set():
                st, _, _ = get(g.http_port, "/firmware/demo.bin", ["x-ESP32-STA-MAC: 24:0a:c4:00:01:%02x" % (i % 256)])
                others.append(st)
                i += 1
                time.sleep(0.01)

        t = threading.Thread(target=other_devices)
        walked = bytearray()
        st, _, first = get(g.http_port, "/firmware/demo.bin", [mac, "Range: bytes=0-65535"])
        self.assertEqual(st, 206)
        walked += first
        t.start()
        try:
            # esp_https_ota's walk: 64 KiB steps, a pause between them for flash writes.
            for off in range(65536, len(image), 65536):
                time.sleep(0.05)
                st, _, part = get(g.http_port, "/firmware/demo.bin", [mac, f"Range: bytes={off}-{off + 65535}"])
                self.assertEqual(st, 206, f"step at {off}")
                walked += part
        finally:
            stop.set()
            t.join()
        self.assertEqual(bytes(walked), image)
        self.assertIn(503, others)  # the others were held off meanwhile

    def test_tcpboot_devices_wait_and_are_all_served(self):
        g = gateway(self, max_downloads=10)
        image = g.add_image("demo", "1.0.0", size=256 * 1024)
        g.start()
        p = g.sim("--devices", "100", "--expect-sha1", sha1(image), "--rate", "2000000", timeout=120)
        self.assertRegex(p.stdout, r"ok=100 failed=0")
        st = g.stats()
        self.assertEqual(st["peak_downloads"], 10)
        self.assertEqual(st["served"], 100)
        self.assertIn("waiting for a download slot", g.log())


class Bandwidth(GatewayTest):
    def test_two_mib_per_second_shared_by_twenty_downloads(self):
        g = gateway(self, max_downloads=0, bandwidth=2 << 20)
        image = g.add_image("demo", "1.0.0", size=1 << 20)
        g.start()
        t = time.time()
        p = g.sim("--devices", "20", "--expect-sha1", sha1(image), timeout=120)
        took = time.time() - t
        self.assertRegex(p.stdout, r"ok=20 failed=0")  # every body intact
        # 20 MiB at 2 MiB/s: at least 9 s, whatever the machine (a bound that
        # cannot pass by accident).
        self.assertGreaterEqual(took, 9.0)


if __name__ == "__main__":
    unittest.main()
