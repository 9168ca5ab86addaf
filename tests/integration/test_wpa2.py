"""One credential for Wi-Fi and updates: otad and otactl keep hostapd's
eap_user_file in step with the device registry. hostapd runs as a real
RADIUS server on loopback (driver=none, its internal EAP server, otad's CA
and server certificate) and eapol_test authenticates against it as a device
would: EAP-TLS with a certificate from otactl device add --cert,
PEAP-MSCHAPv2 and TTLS-MSCHAPv2 with a password from --wifi-password.
Revocation cuts the Wi-Fi in the same step as otad's own access; the
operator's own lines survive every rewrite."""
import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import time
import unittest

from otadtest import OTACTL, GatewayTest, eventually, free_port
from test_https import add_device, https_gateway

HOSTAPD = shutil.which("hostapd") or "/usr/sbin/hostapd"
EAPOL_TEST = shutil.which("eapol_test")
SECRET = "otad-radius-test"
# A catch-all that would let any certificate of the CA in: only the CRL keeps
# a revoked one out.
OPERATOR_LINES = '* PEAP,TLS\n"guest" MSCHAPV2 "guest password" [2]\n'
A, B, C = "30:AE:A4:04:1D:01", "30:AE:A4:04:1D:02", "30:AE:A4:04:1D:03"


def ident(mac):
    return mac.replace(":", "").lower()


@unittest.skipUnless(os.path.exists(HOSTAPD) and EAPOL_TEST,
                     "needs Debian's hostapd and eapoltest packages (contrib/test.sh installs them)")
class Wpa2(GatewayTest):
    def setUp(self):
        self.g = g = https_gateway(self, auth="any")
        self.users = os.path.join(g.dir, "hostapd.eap_user")
        self.hostapd_pid = os.path.join(g.dir, "hostapd.pid")
        with open(g.config, "a") as f:
            f.write(f"\n[wpa2]\neap_user_file = {self.users}\nnt_hash_file = {g.dir}/wifi-nt\n"
                    f"crl_file = {g.dir}/ca-crl.pem\n"
                    f"reload_command = kill -HUP $(cat {self.hostapd_pid})\nreload_timeout = 5\n")
        g.ctl("ca", "init", "--force")  # with crl_file set: the CA and its (empty) CRL
        with open(self.users, "w") as f:
            f.write(OPERATOR_LINES)
        self.radius_port = free_port()
        conf = os.path.join(g.dir, "hostapd.conf")
        with open(os.path.join(g.dir, "radius_clients"), "w") as f:
            f.write(f"127.0.0.1/32 {SECRET}\n")
        with open(conf, "w") as f:
            f.write(f"driver=none\ninterface=lo\nlogger_stdout=-1\nlogger_stdout_level=2\n"
                    f"radius_server_clients={g.dir}/radius_clients\nradius_server_auth_port={self.radius_port}\n"
                    f"eap_server=1\neap_user_file={self.users}\nca_cert={g.dir}/ca-crl.pem\n"
                    # hostapd 2.10 reads its CRL at start and then every
                    # crl_reload_interval seconds, not at SIGHUP.
                    f"check_crl=1\ncrl_reload_interval=1\n"
                    f"server_cert={g.dir}/tls/server.crt\nprivate_key={g.dir}/tls/server.key\n")
        # In the background (-B), as on a gateway: only then does it write its
        # pid file, which reload_command signals.
        p = subprocess.run([HOSTAPD, "-B", "-P", self.hostapd_pid, "-f", os.path.join(g.dir, "hostapd.log"), conf],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.addCleanup(self.stop_hostapd)
        end = time.time() + 10
        while not os.path.exists(self.hostapd_pid) and time.time() < end:
            time.sleep(0.05)

    def stop_hostapd(self):
        try:
            pid = int(open(self.hostapd_pid).read())
            os.kill(pid, signal.SIGTERM)
            for _ in range(200):
                os.kill(pid, 0)
                time.sleep(0.05)
        except (OSError, ValueError):
            pass

    def eap(self, name, **network):
        """eapol_test as a device: True when the RADIUS server accepts it."""
        conf = os.path.join(self.g.dir, f"eapol-{name}.conf")
        lines = ["key_mgmt=WPA-EAP", f'ca_cert="{self.g.dir}/tls/ca.crt"']
        lines += [f"{k}={v}" if k == "eap" else f'{k}="{v}"' for k, v in network.items()]
        with open(conf, "w") as f:
            f.write("network={\n  " + "\n  ".join(lines) + "\n}\n")
        p = subprocess.run([EAPOL_TEST, "-c", conf, "-a", "127.0.0.1", "-p", str(self.radius_port), "-s", SECRET,
                            "-r", "0", "-t", "5"], capture_output=True, text=True, timeout=30)
        self.assertIn(p.stdout.strip().splitlines()[-1], ("SUCCESS", "FAILURE"), p.stdout[-1500:])
        return p.returncode == 0

    def tls(self, mac, cert=None, key=None):
        d = os.path.join(self.g.dir, "tls/devices")
        return self.eap("tls-" + ident(mac), eap="TLS", identity=ident(mac),
                        client_cert=cert or f"{d}/{ident(mac)}.crt", private_key=key or f"{d}/{ident(mac)}.key")

    def mschap(self, mac, password, outer="PEAP"):
        phase2 = "auth=MSCHAPV2" if outer == "PEAP" else "autheap=MSCHAPV2"
        return self.eap(f"{outer}-{ident(mac)}", eap=outer, identity=ident(mac), password=password, phase2=phase2)

    def wifi_password(self, mac):
        out = self.g.ctl("device", "add", mac, "--wifi-password").stdout
        return re.search(r"password: ([0-9a-f]{32})", out).group(1)

    def users_text(self):
        with open(self.users) as f:
            return f.read()

    def test_one_credential_for_wifi_and_updates_revoked_alone(self):
        g = self.g
        g.add_image(size=4096)
        add_device(g, A, "--cert")
        pw_b = self.wifi_password(B)
        pw_c = self.wifi_password(C)
        self.assertEqual(os.stat(self.users).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(os.path.join(g.dir, "wifi-nt")).st_mode & 0o777, 0o600)
        self.assertNotIn(pw_b, open(os.path.join(g.dir, "wifi-nt")).read())  # only its NT hash is kept
        self.assertNotIn(pw_b, self.users_text())
        self.assertTrue(self.users_text().endswith(OPERATOR_LINES), self.users_text())

        self.assertTrue(self.tls(A))
        self.assertTrue(self.mschap(B, pw_b))
        self.assertTrue(self.mschap(B, pw_b, outer="TTLS"))
        self.assertTrue(self.mschap(C, pw_c))
        self.assertFalse(self.mschap(B, pw_c))  # another device's password
        self.assertFalse(self.mschap(B, "0" * 32))
        self.assertTrue(self.mschap("guest", "guest password"))  # the operator's own user

        # A certificate from another CA (another gateway's) is refused.
        other = https_gateway(self)
        other_dev, _ = add_device(other, A, "--cert")
        self.assertFalse(self.tls(A, other_dev["cert"], other_dev["key"]))

        # The same certificate serves HTTPS.
        g.start()
        p = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", g.ca,
                            "--cert", f"{g.dir}/tls/devices/{ident(A)}.crt",
                            "--key", f"{g.dir}/tls/devices/{ident(A)}.key",
                            f"https://localhost:{g.https_port}/firmware/demo.bin", "--resolve",
                            f"localhost:{g.https_port}:127.0.0.1"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.stdout, "200", p.stderr)

        # Revocation: otad refuses at its next handshake, and the Wi-Fi at once.
        outs = [g.ctl("device", "revoke", mac).stdout for mac in (A, B)]
        for out in outs:
            self.assertIn("RADIUS server reloaded", out)
        self.assertIn(f"certificate of {ident(A)} added to the CRL", outs[0])
        p = subprocess.run(["openssl", "verify", "-crl_check", "-CAfile", os.path.join(g.dir, "ca-crl.pem"),
                            os.path.join(g.dir, "tls/devices", ident(A) + ".crt")], capture_output=True, text=True)
        self.assertIn("certificate revoked", p.stdout + p.stderr)
        # hostapd: SIGHUP for the user file, crl_reload_interval (1 s) for the CRL
        eventually("hostapd refusing A's revoked certificate", lambda: not self.tls(A))
        eventually("hostapd refusing B's removed password", lambda: not self.mschap(B, pw_b))
        self.assertTrue(self.mschap(C, pw_c))  # the others stay on
        self.assertTrue(self.mschap("guest", "guest password"))
        self.assertTrue(self.users_text().endswith(OPERATOR_LINES))
        self.assertNotIn(ident(A), self.users_text())
        self.assertNotIn(ident(B), open(os.path.join(g.dir, "wifi-nt")).read())

        # Disabled by hand in devices.ini: otad's reload rewrites the file and
        # runs reload_command itself.
        with open(os.path.join(g.dir, "devices.ini")) as f:
            reg = f.read()
        reg = reg.replace(f"[{ident(C)}]\nenabled = yes", f"[{ident(C)}]\nenabled = no")
        with open(os.path.join(g.dir, "devices.ini"), "w") as f:
            f.write(reg)
        g.send(signal.SIGHUP)
        g.wait_log(r"wpa2: RADIUS server reloaded")
        eventually("hostapd refusing the disabled C", lambda: not self.mschap(C, pw_c))
        self.assertTrue(self.mschap("guest", "guest password"))

        # Added back with new credentials.
        add_device(g, A, "--cert")
        eventually("hostapd taking A's new certificate", lambda: self.tls(A))
        # A new certificate retires the old one on the Wi-Fi too (the CRL),
        # even under the catch-all TLS line.
        d = os.path.join(g.dir, "tls/devices")
        for ext in ("crt", "key"):
            shutil.copy(f"{d}/{ident(A)}.{ext}", f"{g.dir}/old.{ext}")
        out = g.ctl("device", "add", A, "--cert").stdout
        self.assertIn(f"certificate of {ident(A)} added to the CRL", out)
        eventually("hostapd refusing A's replaced certificate",
                   lambda: not self.tls(A, f"{g.dir}/old.crt", f"{g.dir}/old.key"))
        self.assertTrue(self.tls(A))

    def test_reload_command_that_fails_or_hangs(self):
        g = self.g
        for command, why in (("exit 3", "exit status 3"), ("sleep 30", "still running at the timeout; killed")):
            text = open(g.config).read()
            text = re.sub(r"(?m)^reload_command = .*$", f"reload_command = {command}", text)
            text = re.sub(r"(?m)^reload_timeout = .*$", "reload_timeout = 1", text)
            g.write_config(text)
            t0 = time.time()
            p = g.ctl("device", "add", A if command == "exit 3" else B, "--wifi-password", check=False)
            self.assertLess(time.time() - t0, 10)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn(f"failed ({why})", p.stderr)
            # The registry and the user file changed all the same.
            self.assertIn(ident(A), self.users_text())
        # otad runs it without waiting for it: a hand edit and SIGHUP, then
        # the reload's log line and a download while the command hangs.
        image = g.add_image(size=4096)
        g.write_config(re.sub(r"(?m)^reload_timeout = .*$", "reload_timeout = 3", open(g.config).read()))
        g.start()
        with open(os.path.join(g.dir, "devices.ini")) as f:
            reg = f.read()
        with open(os.path.join(g.dir, "devices.ini"), "w") as f:
            f.write(reg.replace(f"[{ident(A)}]\nenabled = yes", f"[{ident(A)}]\nenabled = no"))
        g.send(signal.SIGHUP)
        g.wait_log(r"reloaded: ")
        p = g.sim("--devices", "3", "--expect-sha1", hashlib.sha1(image).hexdigest(), timeout=30)
        self.assertIn("ok=3 failed=0", p.stdout)
        # Served while the command still ran: it is killed 3 s after it started.
        self.assertNotIn("reload_command 'sleep 30' failed", g.log())
        g.wait_log(r"wpa2: reload_command 'sleep 30' failed \(still running at the timeout; killed\)")
        self.assertNotIn(ident(A), self.users_text())

    def test_a_file_otad_cannot_read_is_left_as_it_was(self):
        g = self.g
        for bad in ("# BEGIN otad\n\"x\" TLS\n", "ok\n" + "x" * 5000 + "\n", "a\0b\n"):
            with open(self.users, "w") as f:
                f.write(bad)
            p = g.ctl("device", "add", A, "--wifi-password", check=False)
            self.assertEqual(p.returncode, 1)
            self.assertRegex(p.stderr, re.escape(self.users) + r"(:\d+)?: .*left as it was")
            self.assertEqual(open(self.users).read(), bad)
        with open(self.users, "w") as f:
            f.write(OPERATOR_LINES)
        g.start()
        g.ctl("device", "add", B, "--wifi-password")
        # Written whole (temp and rename), as an editor saves: otad must not
        # read it half-written.
        with open(self.users + ".new", "w") as f:
            f.write("# END otad\n")
        os.rename(self.users + ".new", self.users)
        g.send(signal.SIGHUP)
        g.wait_log(r"wpa2: " + re.escape(self.users) + r":1: '# END otad' without its BEGIN; left as it was")
        self.assertEqual(open(self.users).read(), "# END otad\n")

    def test_kill_9_during_rewrites_never_tears_the_file(self):
        g = self.g
        add_device(g, A, "--cert")
        rng = random.Random(7)
        for i in range(40):
            p = subprocess.Popen([OTACTL, "--config", g.config,
                                  "device", "add", f"30:AE:A4:04:2{i // 10}:{i % 10}0", "--wifi-password"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0, 0.03))
            p.send_signal(signal.SIGKILL)
            p.wait()
            text = self.users_text()
            self.assertTrue(text.endswith(OPERATOR_LINES), text)
            self.assertEqual(text.count("# BEGIN otad"), 1)
            self.assertEqual(text.count("# END otad"), 1)
            self.assertIn(f'"{ident(A)}" TLS\n', text)
        # The killed writers' temp files (they hold secrets) go at the next write.
        g.ctl("device", "add", B, "--wifi-password")
        self.assertEqual([f for f in os.listdir(g.dir) if ".tmp." in f], [])
        self.assertTrue(self.tls(A))


if __name__ == "__main__":
    unittest.main()
