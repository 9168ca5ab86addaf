"""SIGHUP reloads without cutting transfers; SIGTERM drains in-flight ones."""
import os
import signal
import socket
import subprocess
import time
import unittest

from otadtest import OTAD, SIM, GatewayTest, sha1, tcpboot_fetch


class Signals(GatewayTest):
    def test_sighup_with_broken_config_keeps_serving(self):
        g = self.gateway()
        image = g.add_image(size=32768)
        g.start()
        with open(g.config, "a") as f:
            f.write("[tcpboot]\nsend_timeout = 10abc\n")  # also a duplicate section key
        g.send(signal.SIGHUP)
        g.wait_log(r"reload failed; still running on the previous configuration")
        self.assertRegex(g.log(), r"reload: .*otad\.ini:\d+: tcpboot\.send_timeout: ")
        self.assertEqual(tcpboot_fetch(g.port)[2], image)
        self.assertIsNone(g.proc.poll())

    def test_sighup_with_broken_devices_or_manifest_keeps_old_state(self):
        g = self.gateway(unknown_devices="refuse")
        image = g.add_image(size=32768)
        g.ctl("device", "add", "30aea4041d8c")
        g.start()
        with open(g.settings["dir"] + "/devices.ini", "a") as f:
            f.write("[zz]\n")
        g.send(signal.SIGHUP)
        g.wait_log(r"reload: .*devices\.ini:\d+: \[zz\]: not a MAC")
        g.wait_log(r"reload failed; still serving the previous catalog and devices")
        self.assertEqual(tcpboot_fetch(g.port)[2], image)  # still registered

    def test_reloads_that_would_empty_the_gateway_are_refused(self):
        # unknown_devices = serve: a lost registry would let the revoked device in.
        g = self.gateway(unknown_devices="serve")
        image = g.add_image(size=32768)
        g.ctl("device", "add", "30aea4041d8c")
        g.ctl("device", "add", "30aea4041d8d")
        g.ctl("device", "revoke", "30aea4041d8d")
        g.start()
        config = open(g.config).read()
        devices = os.path.join(g.settings["dir"], "devices.ini")
        registry = open(devices).read()

        def refused(pattern, n):
            g.send(signal.SIGHUP)
            g.wait_log(r"reload refused: " + pattern, count=n)
            self.assertEqual(tcpboot_fetch(g.port, b"30aea4041d8c")[2], image)  # the old state serves
            data = tcpboot_fetch(g.port, b"30aea4041d8d", timeout=5)[2]
            self.assertEqual(data, b"")  # the revoked device stays refused

        g.write_config("")
        refused(r".*otad\.ini: the file is empty", 1)
        g.write_config("; only a comment\n\n")
        refused(r".*otad\.ini: the file is empty", 2)
        g.write_config(config[:config.index("[catalog]")])  # cut off before [catalog]
        refused(r".*otad\.ini: \[catalog\] dir /var/lib/otad/catalog does not exist", 1)
        g.write_config(config)
        os.unlink(devices)
        refused(r".*devices\.ini is missing, where 2 device\(s\) were registered", 1)
        open(devices, "w").close()
        refused(r".*devices\.ini is empty, where 2 device\(s\) were registered", 1)
        with open(devices, "w") as f:
            f.write(registry)
        g.send(signal.SIGHUP)
        g.wait_log(r"reloaded: 1 image\(s\), 2 device\(s\)")
        # Removing every device on purpose (otactl keeps the file's header) is a reload like any.
        g.ctl("device", "remove", "30aea4041d8c")
        g.ctl("device", "remove", "30aea4041d8d", "--force")  # revoked: a tombstone unless forced
        g.wait_log(r"reloaded: 1 image\(s\), 0 device\(s\)")

    def test_revocation_cuts_the_devices_own_transfer_only(self):
        g = self.gateway(unknown_devices="refuse")
        image = g.add_image(size=8 << 20)
        g.ctl("device", "add", "30aea4041d8c")
        g.ctl("device", "add", "30aea4041d8d")
        g.start()
        s = socket.create_connection(("127.0.0.1", g.port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.sendall(b"30aea4041d8c")
        got = s.recv(65536)  # the header and the first bytes; then it stops reading
        g.wait_log(r"mac=30aea4041d8c tcpboot: serving")
        p = g.ctl("device", "revoke", "30aea4041d8c")
        self.assertIn("reloaded", p.stdout)
        g.wait_log(r"mac=30aea4041d8c tcpboot: cut by revocation after \d+ of 8388608 bytes")
        while True:
            try:
                b = s.recv(1 << 20)
            except ConnectionResetError:
                break
            if not b:
                break
            got += b
        s.close()
        self.assertLess(len(got), 24 + len(image))  # a short body, never a whole one
        self.assertEqual(tcpboot_fetch(g.port, b"30aea4041d8d")[2], image)  # the others go on

    def test_sighup_new_image_while_old_one_is_in_flight(self):
        g = self.gateway()
        old = g.add_image("demo", "1.0.0", size=4 << 20)
        g.start()
        # A slow device starts on 1.0.0 ...
        slow = subprocess.Popen([SIM, "tcpboot", "--port", str(g.port), "--devices", "3",
                                 "--rate", str(2 << 20), "--expect-sha1", sha1(old)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        g.wait_log(r"serving demo 1\.0\.0", count=3)
        # ... then 1.1.0 is added, otactl signals otad through the pid file,
        # and old 1.0.0 is even removed from the catalog directory.
        new = g.add_image("demo", "1.1.0", size=8192)
        g.wait_log(r"reloaded: 2 image")
        self.assertEqual(tcpboot_fetch(g.port, b"30aea4041d8f")[2], new)
        out, err = slow.communicate(timeout=60)
        self.assertEqual(slow.returncode, 0, out + err)
        self.assertRegex(out, r"ok=3 failed=0")

    def test_pid_file_written_when_up_and_left_alone_by_a_second_instance(self):
        g = self.gateway()
        image = g.add_image(size=8192)
        pid_file = g.dir + "/otad.pid"
        g.start(wait=False)
        # The pid file means "up": once it exists the port answers and SIGHUP
        # reloads (before the handlers are in, SIGHUP would end the process).
        for _ in range(500):
            if os.path.exists(pid_file):
                break
            time.sleep(0.01)
        self.assertEqual(tcpboot_fetch(g.port)[2], image)
        with open(pid_file) as f:
            self.assertEqual(int(f.read()), g.proc.pid)
        # A second otad on the same config cannot bind the port: it exits
        # without touching the first one's pid file.
        p = subprocess.run([OTAD, "--config", g.config], capture_output=True, text=True, timeout=20)
        self.assertNotEqual(p.returncode, 0)
        self.assertRegex(p.stderr, r"tcpboot: .*127\.0\.0\.1.*Address already in use")
        with open(pid_file) as f:
            self.assertEqual(int(f.read()), g.proc.pid)
        g.ctl("reload")
        g.wait_log(r"reloaded")
        self.assertIsNone(g.proc.poll())
        self.assertEqual(g.stop(), 0)
        self.assertFalse(os.path.exists(pid_file))

    def test_sigterm_lets_20_in_flight_downloads_finish(self):
        g = self.gateway(shutdown_grace=60)
        image = g.add_image(size=1 << 20)
        g.start()
        sim = subprocess.Popen([SIM, "tcpboot", "--port", str(g.port), "--devices", "20",
                                "--rate", str(1 << 20), "--expect-sha1", sha1(image)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        g.wait_log(r"serving demo", count=20)
        time.sleep(0.2)
        g.send(signal.SIGTERM)
        g.wait_log(r"shutdown: no longer accepting; 20 connection\(s\) in flight")
        # New devices are turned away now.
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", g.port), timeout=2).recv(1)
        out, err = sim.communicate(timeout=60)
        self.assertEqual(sim.returncode, 0, out + err)
        self.assertRegex(out, r"devices=20 ok=20 failed=0")
        self.assertEqual(g.proc.wait(30), 0)
        self.assertRegex(g.log(), r"stats \(exit\): accepted=20 served=20 aborted=0")

    def test_grace_period_cuts_stragglers_and_exits_0(self):
        g = self.gateway(shutdown_grace=1)
        g.add_image(size=12 << 20)
        g.start()
        sim = subprocess.Popen([SIM, "tcpboot", "--port", str(g.port), "--devices", "2",
                                "--rate", "100000"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        g.wait_log(r"serving demo", count=2)
        g.send(signal.SIGTERM)
        self.assertEqual(g.proc.wait(10), 0)
        self.assertIn("grace period over; cutting 2 connection(s)", g.log())
        sim.wait(10)
        self.assertNotEqual(sim.returncode, 0)


if __name__ == "__main__":
    unittest.main()
