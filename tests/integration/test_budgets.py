"""Budgets fixed at start-up: a full slab stops accepting, never grows."""
import os
import re
import subprocess
import threading
import time
import unittest

from otadtest import OTAD, SIM, GatewayTest, sha1


def open_sockets(pid):
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


class Budgets(GatewayTest):
    def test_max_connections_50_with_200_devices(self):
        g = self.gateway(max_connections=50)
        image = g.add_image(size=64 * 1024)
        g.start()
        # Slow devices (256 KiB/s each) keep their slots long enough to overlap.
        peak = [0]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], open_sockets(g.proc.pid) - 1)  # minus the listener
                time.sleep(0.005)

        t = threading.Thread(target=sample)
        t.start()
        try:
            p = g.sim("--devices", "200", "--rate", str(256 * 1024), "--expect-sha1", sha1(image))
        finally:
            done.set()
            t.join()
        self.assertRegex(p.stdout, r"devices=200 ok=200 failed=0")
        st = g.stats()
        self.assertEqual(st["served"], 200)
        self.assertEqual(st["peak_active"], 50)  # the slab was full, and never more
        self.assertLessEqual(peak[0], 50)
        self.assertGreaterEqual(peak[0], 40)  # the sampler saw the slab nearly full
        self.assertIn("all 50 connection slots busy; pausing accept", g.log())

    def test_too_few_descriptors_is_a_clear_start_up_error(self):
        g = self.gateway(max_connections=1000)
        g.add_image(size=4096)
        p = subprocess.run(["prlimit", "--nofile=200:200", OTAD, "--config", g.config],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 2)
        self.assertIn("max_connections=1000 needs", p.stderr)
        self.assertIn("RLIMIT_NOFILE allows 200", p.stderr)

    def test_slow_reader_does_not_block_others(self):
        g = self.gateway()
        image = g.add_image(size=12 << 20)
        g.start()
        # 5 devices reading 100 kB/s would need two minutes for 12 MiB; they
        # are still downloading when 20 others have finished theirs.
        slow = subprocess.Popen([SIM, "tcpboot",
                                 "--port", str(g.port), "--devices", "5", "--rate", "100000",
                                 "--timeout", "60", "--mac-base", "aa0000000000"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            g.wait_log(r"mac=aa0000000004 tcpboot: serving demo", timeout=10)
            p = g.sim("--devices", "20", "--expect-sha1", sha1(image), timeout=60)
            self.assertRegex(p.stdout, r"ok=20 failed=0")
            self.assertIsNone(slow.poll(), "the slow devices should still be downloading")
            # Only the slow ones are left, once otad has seen the fast ones close.
            end = time.time() + 10
            while g.stats()["active"] > 5 and time.time() < end:
                time.sleep(0.2)
            self.assertEqual(g.stats()["active"], 5)
            self.assertEqual(len(re.findall(r"mac=aa00000000\d\d tcpboot: complete", g.log())), 0)
        finally:
            slow.terminate()
            slow.communicate(timeout=30)

if __name__ == "__main__":
    unittest.main()
