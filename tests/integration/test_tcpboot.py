"""tcpboot against the real otad: what an ESP32 network bootloader sees."""
import re
import signal
import socket
import time
import unittest

from otadtest import GatewayTest, recv_until, sha1, tcpboot_fetch


class Tcpboot(GatewayTest):
    def setUp(self):
        self.g = self.gateway(read_timeout=1)
        self.image = self.g.add_image(size=200000)
        self.g.start()

    def test_download_size_and_sha1(self):
        size, digest, body = tcpboot_fetch(self.g.port)
        self.assertEqual(size, len(self.image))
        self.assertEqual(body, self.image)
        self.assertEqual(digest, sha1(self.image))
        self.g.wait_log(r"complete: 200000 bytes")
        log = self.g.log()
        # One line each for the decision and the completion, naming conn, peer and MAC.
        self.assertNotRegex(log, r"tcpboot: connected")  # a debug line: attacks must not flood the log
        self.assertRegex(log, r"conn#1 127\.0\.0\.1:\d+ mac=30aea4041d8c tcpboot: serving demo 1\.0\.0 \(200000 bytes")
        self.assertRegex(log, r"conn#1 127\.0\.0\.1:\d+ mac=30aea4041d8c tcpboot: complete: 200000 bytes in")

    def test_uppercase_mac_is_served(self):
        size, digest, body = tcpboot_fetch(self.g.port, mac=b"30AEA4041D8C")
        self.assertEqual(body, self.image)

    def test_mac_one_byte_at_a_time_with_pauses(self):
        size, digest, body = tcpboot_fetch(self.g.port, chunks=1, pause=0.05)
        self.assertEqual(size, len(self.image))
        self.assertEqual(digest, sha1(body))
        self.assertEqual(body, self.image)

    def test_eleven_bytes_then_silence(self):
        s = socket.create_connection(("127.0.0.1", self.g.port), timeout=10)
        s.sendall(b"30aea4041d8")
        t0 = time.time()
        got = s.recv(100)  # blocks until otad closes
        waited = time.time() - t0
        s.close()
        self.assertEqual(got, b"", "nothing may be sent")
        self.assertGreater(waited, 0.5)
        self.assertLess(waited, 5)
        self.g.wait_log(r"MAC not received within 1 s \(11 of 12 bytes\)")

    def test_non_hex_mac_closes_with_nothing_sent(self):
        size, digest, raw = tcpboot_fetch(self.g.port, mac=b"30aea4041dXY")
        self.assertIsNone(size)
        self.assertEqual(raw, b"")
        self.g.wait_log(r"tcpboot: closed: not a MAC")
        size, digest, raw = tcpboot_fetch(self.g.port, mac=b"GET / HTTP/1.1\r\n\r\n")
        self.assertEqual(raw, b"")
        self.g.wait_log(r"tcpboot: closed: an HTTP request \(http:// to the tcpboot port\?\), not a MAC")
        size, digest, raw = tcpboot_fetch(self.g.port, mac=b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\x00")
        self.assertEqual(raw, b"")
        self.g.wait_log(r"tcpboot: closed: a TLS handshake \(https:// to the tcpboot port\?\), not a MAC")

    def test_device_aborting_mid_transfer_is_logged_and_others_continue(self):
        # Big enough that the kernel's socket buffers cannot hold it all.
        big = self.g.add_image("big", "1.0.0", size=12 << 20)
        self.g.ctl("device", "add", "30aea4041d8d", "--platform", "big")
        self.g.send(signal.SIGHUP)
        self.g.wait_log(r"reloaded: 2 image")
        s = socket.create_connection(("127.0.0.1", self.g.port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"30aea4041d8d")
        s.recv(100)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()  # RST mid-transfer
        size, digest, body = tcpboot_fetch(self.g.port, mac=b"30aea4041d8e")
        self.assertEqual(body, self.image)
        self.g.wait_log(r"mac=30aea4041d8d tcpboot: aborted after \d+ of 12582912 bytes")
        self.assertEqual(self.g.stats()["aborted"], 1)

    def test_300_concurrent_devices_all_verified(self):
        p = self.g.sim("--devices", "300", "--expect-sha1", sha1(self.image),
                       "--expect-size", str(len(self.image)))
        self.assertRegex(p.stdout, r"devices=300 ok=300 failed=0")
        st = self.g.stats()
        self.assertEqual(st["served"], 300)
        self.assertEqual(st["active"], 0)


class Decisions(GatewayTest):
    def test_registry_platforms_pins_and_refusals(self):
        g = self.gateway(unknown_devices="refuse")
        demo1 = g.add_image("demo", "1.0.0", size=8192)
        demo2 = g.add_image("demo", "1.2.0", size=8192)
        other = g.add_image("other", "0.1.0", size=8192, chip="esp32c3")
        import json
        images = json.loads(g.ctl("image", "list", "--json").stdout)
        demo1_sha = [i["sha256"] for i in images if i["version"] == "1.0.0"][0]
        g.ctl("device", "add", "AA:BB:CC:00:00:01", "--platform", "other")
        g.ctl("device", "add", "aa-bb-cc-00-00-02", "--image", demo1_sha)
        g.ctl("device", "add", "aabbcc000003", "--platform", "demo", "--disabled")
        g.ctl("device", "add", "aabbcc000004")  # no platform: default
        g.start()
        self.assertEqual(tcpboot_fetch(g.port, b"aabbcc000001")[2], other)
        self.assertEqual(tcpboot_fetch(g.port, b"aabbcc000002")[2], demo1)
        self.assertEqual(tcpboot_fetch(g.port, b"aabbcc000004")[2], demo2)
        self.assertEqual(tcpboot_fetch(g.port, b"aabbcc000003"), (None, None, b""))
        self.assertEqual(tcpboot_fetch(g.port, b"aabbcc0000ff"), (None, None, b""))
        g.wait_log(r"mac=aabbcc000003 tcpboot: refused: device disabled")
        g.wait_log(r"mac=aabbcc0000ff tcpboot: refused: unknown device")

    def test_refused_devices_are_held_open_not_closed(self):
        # The bootloader erases its partition and reboots on a close without
        # an answer: a refused device is held, silent, for hold_refused.
        g = self.gateway(hold_refused=2, unknown_devices="refuse")
        with open(g.config) as f:
            g.write_config(f.read() + "hold_max = 1\n")  # appended to [tcpboot]
        g.add_image("demo", "1.0.0", size=8192)
        g.start()
        held = socket.create_connection(("127.0.0.1", g.port), timeout=10)
        held.sendall(b"aabbcc0000f1")
        g.wait_log(r"mac=aabbcc0000f1 tcpboot: refused: unknown device \(unknown_devices = refuse\) in [0-9.]+ s; "
                   r"held open for 2 s")
        t = time.time()
        # A second refused device finds hold_max (1) taken: closed at once.
        self.assertEqual(tcpboot_fetch(g.port, b"aabbcc0000f2"), (None, None, b""))
        g.wait_log(r"mac=aabbcc0000f2 tcpboot: refused: .* closed without a reply")
        self.assertEqual(recv_until(held), b"")  # silent until the hold ends...
        self.assertGreaterEqual(time.time() - t, 1.5)  # ...which is not at once
        held.close()
        self.assertEqual(g.stats()["refused"], 2)
        self.assertEqual(g.stats()["active"], 0)

    def test_missing_and_corrupt_image_files(self):
        g = self.gateway()
        good = g.add_image("demo", "1.0.0", size=8192)
        g.add_image("demo", "2.0.0", size=8192)
        import json, os
        images = json.loads(g.ctl("image", "list", "--json").stdout)
        newest = [i for i in images if i["version"] == "2.0.0"][0]
        path = os.path.join(g.dir, "catalog", newest["sha256"] + ".bin")
        with open(path, "r+b") as f:  # corrupt the newest in place
            f.seek(100)
            f.write(b"\xff\xff")
        g.start()
        g.wait_log(r"SHA-256 does not match its name: corrupt \(demo 2\.0\.0 left out of the catalog\)")
        # The intact older image keeps being served.
        self.assertEqual(tcpboot_fetch(g.port)[2], good)

    def test_image_file_damaged_while_serving_falls_back(self):
        g = self.gateway()
        good = g.add_image("demo", "1.0.0", size=8192)
        g.add_image("demo", "2.0.0", size=12 << 20)
        import json, os, subprocess
        from otadtest import SIM
        images = json.loads(g.ctl("image", "list", "--json").stdout)
        big = [i for i in images if i["version"] == "2.0.0"][0]
        g.start()
        slow = subprocess.Popen([SIM, "tcpboot", "--port", str(g.port), "--devices", "1",
                                 "--rate", "1000000"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        g.wait_log(r"serving demo 2\.0\.0")
        os.truncate(os.path.join(g.dir, "catalog", big["sha256"] + ".bin"), 4 << 20)
        g.wait_log(r"aborted after \d+ of 12582912 bytes: image file shrank on disk", timeout=30)
        g.wait_log(r"demo 2\.0\.0 left out of the catalog")
        slow.wait(30)
        self.assertNotEqual(slow.returncode, 0)
        # The next device gets the newest intact image.
        self.assertEqual(tcpboot_fetch(g.port)[2], good)


if __name__ == "__main__":
    unittest.main()
