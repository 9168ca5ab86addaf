"""What can be tested here of the packages: the OpenWrt init script under a
stub of procd's shell functions (the parameters it sets), shellcheck, the
OpenWrt and shipped configs through otad --check-config, and the systemd
unit through systemd-analyze verify."""
import os
import shutil
import subprocess
import tempfile
import unittest

from otadtest import OTAD, SOURCE, run

OPENWRT = os.path.join(SOURCE, "contrib/openwrt")

# procd's shell API as /lib/functions/procd.sh defines it, reduced to a
# record of each call, one line each.
PROCD_STUB = r"""
rec() { printf '%s\n' "$*" >> "$REC"; }
procd_open_instance() { rec open_instance "$@"; }
procd_set_param() { rec set_param "$@"; }
procd_add_jail() { rec add_jail "$@"; }
procd_add_jail_mount() { rec jail_mount "$@"; }
procd_add_jail_mount_rw() { rec jail_mount_rw "$@"; }
procd_close_instance() { rec close_instance; }
"""


class Packaging(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="otad-pkg-")
        self.addCleanup(shutil.rmtree, self.dir)

    def start_service(self, ujail):
        rec = os.path.join(self.dir, "calls")
        if os.path.exists(rec):
            os.unlink(rec)
        script = (PROCD_STUB + f'. "{OPENWRT}/files/otad.init"\n'
                  f'PROG="{OTAD}" CONF="{OPENWRT}/files/otad.ini" STATE_DIR="{self.dir}/srv" '
                  f'RUN_DIR="{self.dir}/run" EVENT_DIR="{self.dir}/tmp" UJAIL="{ujail}"\n'
                  "start_service\n")
        p = subprocess.run(["sh", "-c", script], env=dict(os.environ, REC=rec), capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        return open(rec).read().splitlines()

    def test_openwrt_init_script_sets_what_procd_needs(self):
        calls = self.start_service("/bin/true")
        self.assertEqual(calls[0], "open_instance otad")
        self.assertIn(f"set_param command {OTAD} --config {OPENWRT}/files/otad.ini", calls)
        self.assertIn("set_param respawn 3600 5 5", calls)
        self.assertIn("set_param reload_signal HUP", calls)
        self.assertIn(f"set_param pidfile {self.dir}/run/otad.pid", calls)
        self.assertIn("set_param stderr 1", calls)
        self.assertIn("add_jail otad log", calls)
        self.assertIn(f"jail_mount_rw {self.dir}/srv {self.dir}/run {self.dir}/tmp", calls)
        self.assertEqual(calls[-1], "close_instance")
        for d in ("srv/catalog", "run", "tmp"):
            self.assertTrue(os.path.isdir(os.path.join(self.dir, d)), d)
        # Without ujail (a build without it), no jail is asked for.
        self.assertFalse([c for c in self.start_service("/nonexistent") if c.startswith("add_jail")])

    def test_init_script_refuses_a_broken_config(self):
        bad = os.path.join(self.dir, "bad.ini")
        with open(bad, "w") as f:
            f.write("[server]\nmax_conections = 1\n")
        rec = os.path.join(self.dir, "calls")
        p = subprocess.run(["sh", "-c", PROCD_STUB + f'. "{OPENWRT}/files/otad.init"\nPROG="{OTAD}" CONF="{bad}" '
                            f'STATE_DIR="{self.dir}" RUN_DIR="{self.dir}" EVENT_DIR="{self.dir}"\nstart_service'],
                           env=dict(os.environ, REC=rec), capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("bad.ini:2: server.max_conections: unknown key", p.stderr)
        self.assertFalse(os.path.exists(rec))  # no instance started

    @unittest.skipUnless(shutil.which("shellcheck"), "shellcheck is not installed")
    def test_shellcheck(self):
        scripts = [os.path.join(OPENWRT, "files/otad.init")] + [
            os.path.join(SOURCE, "contrib", n) for n in sorted(os.listdir(os.path.join(SOURCE, "contrib")))
            if n.endswith(".sh")] + [os.path.join(SOURCE, ".ci/run"), os.path.join(SOURCE, "bench/run.sh")]
        p = subprocess.run(["shellcheck", *scripts], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout)

    def test_configs_pass_check_config(self):
        for conf in (os.path.join(OPENWRT, "files/otad.ini"), os.path.join(SOURCE, "conf/otad.ini")):
            p = run(OTAD, "--check-config", conf)
            self.assertIn("OK. Effective configuration", p.stdout)
        p = run(OTAD, "--check-config", os.path.join(OPENWRT, "files/otad.ini"))
        self.assertIn("log = syslog", p.stdout)
        self.assertIn("dir = /srv/otad/catalog", p.stdout)

    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze is not installed")
    def test_systemd_unit_verifies(self):
        # verify checks that ExecStart's binary exists: point it at this build.
        unit = os.path.join(self.dir, "otad.service")
        with open(os.path.join(SOURCE, "contrib/systemd/otad.service")) as f:
            text = f.read()
        self.assertIn("ExecReload=/bin/kill -HUP $MAINPID", text)
        self.assertIn("RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK", text)
        self.assertIn("StateDirectory=otad", text)
        with open(unit, "w") as f:
            f.write(text.replace("/usr/sbin/otad", os.path.abspath(OTAD)))
        p = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr.strip(), "")


if __name__ == "__main__":
    unittest.main()
