"""otad's command line and config handling, on the real binary."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

from otadtest import OTAD, OTACTL, SOURCE, GatewayTest, free_port, run, tcpboot_fetch


class ConfigCli(GatewayTest):
    def test_log_to_syslog_the_same_lines(self):
        """log = syslog: facility daemon, ident otad, the stderr line's words.
        A datagram socket stands in for the syslog daemon at /dev/log (made
        and removed here when the machine has none; else bound over it in a
        private mount namespace)."""
        import socket
        g = self.gateway()
        g.write_config(open(g.config).read().replace("[server]\n", "[server]\nlog = syslog\n"))
        g.add_image()
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        if os.path.exists("/dev/log"):
            sock.bind(os.path.join(d, "log"))
            cmd = ["unshare", "--mount", "sh", "-c", f'mount --bind {d}/log /dev/log && exec "$@"', "sh",
                   OTAD, "--config", g.config]
        else:
            sock.bind("/dev/log")
            self.addCleanup(os.unlink, "/dev/log")
            cmd = [OTAD, "--config", g.config]
        sock.settimeout(10)
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: (p.poll() is None and p.kill(), p.wait()))
        msgs = []
        while not any("ready:" in m for m in msgs):
            msgs.append(sock.recv(4096).decode())
        size, _, _ = tcpboot_fetch(g.port)
        self.assertEqual(size, 65536)
        while not any("complete: 65536 bytes" in m for m in msgs):
            msgs.append(sock.recv(4096).decode())
        p.send_signal(signal.SIGTERM)
        p.wait(10)
        # <daemon.info> = 3*8+6 = 30; the ident and pid; the level word; nothing on stderr.
        ready = next(m for m in msgs if "ready:" in m)
        self.assertRegex(ready, r"^<30>.* otad\[\d+\]: info  otad .* ready: ")
        line = next(m for m in msgs if "complete: 65536 bytes" in m)
        self.assertRegex(line, r"otad\[\d+\]: info  conn#1 127\.0\.0\.1:\d+ mac=30aea4041d8c tcpboot: complete: 65536 bytes in ")
        self.assertEqual(p.stderr.read(), b"")

    def test_check_config_on_the_shipped_file(self):
        p = run(OTAD, "--check-config", os.path.join(SOURCE, "conf/otad.ini"))
        self.assertIn("OK. Effective configuration", p.stdout)
        self.assertIn("max_connections = 1024", p.stdout)
        self.assertIn("[tcpboot]\nenabled = yes\nlisten = 0.0.0.0\nport = 8123", p.stdout)

    def test_bad_configs_exit_2_with_file_line_key_reason(self):
        cases = [
            ("[server]\nmax_connections = 10abc\n", r"bad\.ini:2: server\.max_connections: '10abc' is not a plain base-10 number"),
            ("[tcpboot]\nport = 0443\n", r"bad\.ini:2: tcpboot\.port: '0443' has a leading zero"),
            ("[catalog]\ndir = /" + "x" * 200 + "\n", r"bad\.ini:2: line is 207 characters long; the limit is 198"),
            ("[server]\nlog_level = info\nlog_level = debug\n", r"bad\.ini:3: server\.log_level: given more than once"),
            ("[server]\nmax_conn = 1\n", r"bad\.ini:2: server\.max_conn: unknown key"),
            ("[ftp]\nport = 1\n", r"bad\.ini:1: \[ftp\]: unknown section"),
        ]
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        path = os.path.join(d, "bad.ini")
        for text, want in cases:
            with open(path, "w") as f:
                f.write(text)
            for args in (["--config", path], ["--check-config", path]):
                p = subprocess.run([OTAD, *args], capture_output=True, text=True, timeout=10)
                self.assertEqual(p.returncode, 2, text)
                self.assertRegex(p.stderr, want)

    def test_missing_config_file(self):
        p = subprocess.run([OTAD, "--config", "/nonexistent/otad.ini"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("/nonexistent/otad.ini: cannot open", p.stderr)

    def test_broken_manifest_at_start_up(self):
        g = self.gateway()
        g.add_image(size=4096)
        with open(os.path.join(g.dir, "catalog/manifest.ini"), "a") as f:
            f.write("colour = blue\n")
        p = subprocess.run([OTAD, "--config", g.config], capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 2)
        self.assertRegex(p.stderr, r"manifest\.ini:\d+: image 1\.colour: unknown key")

    def test_shipped_config_runs_from_a_checkout_layout(self):
        # The README runs `build/otad --config conf/otad.ini` from the repository
        # root; do the same in a copy of that layout (only the port differs, so
        # a demo already running on 8123 does not collide).
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        os.mkdir(os.path.join(d, "conf"))
        port = free_port()
        with open(os.path.join(SOURCE, "conf/otad.ini")) as f:
            text = f.read()
        text = re.sub(r"(?m)^port = 8123$", f"port = {port}", text)
        text = re.sub(r"(?m)^port = 8080$", f"port = {free_port()}", text)
        text = re.sub(r"(?m)^port = 8443$", f"port = {free_port()}", text)
        text = re.sub(r"(?m)^listen = 0\.0\.0\.0$", "listen = 127.0.0.1", text)
        with open(os.path.join(d, "conf/otad.ini"), "w") as f:
            f.write(text)
        run(OTACTL, "image", "make", "-o", os.path.join(d, "demo.bin"), cwd=d)
        run(OTACTL, "--config", "conf/otad.ini", "image", "add", "demo.bin", cwd=d)
        run(OTACTL, "--config", "conf/otad.ini", "ca", "init", cwd=d)
        proc = subprocess.Popen([OTAD, "--config", "conf/otad.ini"], cwd=d,
                                stderr=subprocess.PIPE, text=True)
        try:
            for _ in range(200):
                if os.path.exists(os.path.join(d, "var/otad.pid")):
                    break
                import time
                time.sleep(0.02)
            size, digest, body = tcpboot_fetch(port)
            with open(os.path.join(d, "demo.bin"), "rb") as f:
                self.assertEqual(body, f.read())
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=10)
        self.assertEqual(proc.returncode, 0, err)
        self.assertFalse(os.path.exists(os.path.join(d, "var/otad.pid")), "pid file removed on exit")


if __name__ == "__main__":
    unittest.main()
