"""otactl on real files: inspection, catalog and registry management."""
import json
import os
import subprocess
import unittest

from otadtest import FIXTURES, OTACTL, GatewayTest, run


class Otactl(GatewayTest):
    def test_inspect_json_on_fixtures(self):
        want = {
            "esp32_idf_hello_world_signed.bin": ("app", "esp32", "esp32", "hello-world", True),
            "esp32c3_arduino_pressureprobe.bin": ("app", "esp32", "esp32c3", None, True),
            "esp8266_arduino_deepsleep.bin": ("app", "esp8266", "esp8266", None, True),
            "neg_bootloader_esp32c3.bin": ("bootloader", "esp32", "esp32c3", None, False),
            "neg_merged_esp32_micropython_v1.23.0.bin": ("merged", "esp32", "esp32", None, False),
            "neg_partitions_singleapp.bin": ("partition-table", None, None, None, False),
        }
        with open(os.path.join(FIXTURES, "expected.json")) as f:
            expected = json.load(f)
        for name, (kind, family, chip, project, accepted) in want.items():
            j = json.loads(run(OTACTL, "image", "inspect", "--json", os.path.join(FIXTURES, name)).stdout)
            self.assertEqual((j["kind"], j["family"], j["chip"], j["project"], j["accepted"]),
                             (kind, family, chip, project, accepted), name)
            for k in ("md5", "sha256", "size"):
                self.assertEqual(j[k], expected[name][k], name)
            self.assertEqual(len(j["sha1"]), 40)
            self.assertEqual(accepted, j["reason"] is None, name)
        merged = json.loads(run(OTACTL, "image", "inspect", "--json",
                                os.path.join(FIXTURES, "neg_merged_esp32_micropython_v1.23.0.bin")).stdout)
        self.assertEqual(merged["app_offset"], 0xF000)
        self.assertEqual(merged["idf"], "v5.0.4")

    def test_image_add_detects_and_refuses(self):
        g = self.gateway()
        path = os.path.join(g.dir, "x.bin")
        run(OTACTL, "image", "make", "-o", path, "--project", "thermo", "--version", "v2.1.0",
            "--chip", "esp32s3", "--size", "10000")
        out = g.ctl("image", "add", path).stdout
        self.assertRegex(out, r"added thermo v2\.1\.0 \(esp32s3 app, 10000 bytes")
        self.assertIn("already in the catalog", g.ctl("image", "add", path).stdout)
        # Bootloaders, merged images and partition tables are refused.
        for bad in ("neg_bootloader_esp32c3.bin", "neg_merged_esp32_micropython_v1.23.0.bin",
                    "neg_partitions_singleapp.bin"):
            p = g.ctl("image", "add", os.path.join(FIXTURES, bad), check=False)
            self.assertEqual(p.returncode, 1, bad)
            self.assertIn("refused:", p.stderr)
        # Arduino-ESP32 cannot say its sketch version: it must be given.
        arduino = os.path.join(FIXTURES, "esp32c3_arduino_pressureprobe.bin")
        p = g.ctl("image", "add", arduino, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("give --platform and --version", p.stderr)
        g.ctl("image", "add", arduino, "--platform", "probe", "--version", "1.4.0")
        # The ESP8266 Arduino image, with an explicit platform and version.
        g.ctl("image", "add", os.path.join(FIXTURES, "esp8266_arduino_deepsleep.bin"),
              "--platform", "sleeper", "--version", "0.9.0")
        # Versions are immutable.
        other = os.path.join(g.dir, "y.bin")
        run(OTACTL, "image", "make", "-o", other, "--project", "thermo", "--version", "v2.1.0",
            "--chip", "esp32s3", "--size", "20000")
        p = g.ctl("image", "add", other, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("versions are immutable", p.stderr)
        listing = json.loads(g.ctl("image", "list", "--json").stdout)
        self.assertEqual(sorted(i["platform"] for i in listing), ["probe", "sleeper", "thermo"])
        # Remove by prefix.
        sha = [i["sha256"] for i in listing if i["platform"] == "sleeper"][0]
        self.assertIn("removed sleeper 0.9.0", g.ctl("image", "remove", sha[:10]).stdout)
        self.assertFalse(os.path.exists(os.path.join(g.dir, "catalog", sha + ".bin")))

    def test_current_follows_semver(self):
        g = self.gateway()
        for v in ("1.2.0", "1.10.0", "1.9.0", "1.10.0-rc.1"):
            g.add_image("p", v, size=4096)
        listing = json.loads(g.ctl("image", "list", "--json").stdout)
        self.assertEqual([i["version"] for i in listing if i["current"]], ["1.10.0"])

    def test_device_add_list_remove(self):
        g = self.gateway()
        for spelling in ("30:AE:A4:04:1D:8C", "30-ae-a4-04-1d-8d", "30aea4041d8e"):
            self.assertIn("added", g.ctl("device", "add", spelling, "--platform", "demo").stdout)
        self.assertIn("updated 30aea4041d8c", g.ctl("device", "add", "30aea4041d8c", "--disabled").stdout)
        listing = g.ctl("device", "list").stdout
        self.assertRegex(listing, r"30aea4041d8c\s+no\s+demo")
        self.assertRegex(listing, r"30aea4041d8d\s+yes\s+demo")
        with open(os.path.join(g.dir, "devices.ini")) as f:
            text = f.read()
        self.assertIn("[30aea4041d8d]", text)
        self.assertNotIn("30-ae", text)
        g.ctl("device", "remove", "30:ae:a4:04:1d:8d")
        self.assertNotIn("30aea4041d8d", g.ctl("device", "list").stdout)
        p = g.ctl("device", "add", "30:ae:a4:04:1d", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("is not a MAC", p.stderr)
        p = g.ctl("device", "remove", "30aea4041d8d", check=False)
        self.assertEqual(p.returncode, 1)
        # A revoked device is a tombstone: remove refuses it unless forced.
        g.ctl("device", "revoke", "30aea4041d8e")
        p = g.ctl("device", "remove", "30aea4041d8e", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("30aea4041d8e is revoked", p.stderr)
        self.assertRegex(g.ctl("device", "list").stdout, r"30aea4041d8e\s+no")
        g.ctl("device", "remove", "30aea4041d8e", "--force")
        self.assertNotIn("30aea4041d8e", g.ctl("device", "list").stdout)

    def test_a_reload_otad_did_not_take_is_a_failure(self):
        g = self.gateway()
        # A pid file whose process is gone (a crash): the change is saved, but
        # nothing took it, and the exit status says so.
        dead = subprocess.Popen(["true"])
        dead.wait()
        with open(os.path.join(g.dir, "otad.pid"), "w") as f:
            f.write(f"{dead.pid}\n")
        for args in (("reload",), ("device", "add", "30aea4041d8c")):
            p = g.ctl(*args, check=False)
            self.assertEqual(p.returncode, 1, args)
            self.assertIn("did not take SIGHUP (No such process)", p.stderr)
        self.assertIn("30aea4041d8c", g.ctl("device", "list").stdout)  # saved all the same
        os.unlink(os.path.join(g.dir, "otad.pid"))
        p = g.ctl("reload")
        self.assertIn("otad is not running", p.stdout)  # nothing to tell: not a failure
        g.start()
        self.assertIn("reloaded", g.ctl("reload").stdout)  # otad's own word, not only the signal's delivery
        g.wait_log(r"reloaded: ")
        # A reload otad refuses is a failure for otactl too, with otad's reason.
        with open(os.path.join(g.dir, "devices.ini"), "w"):
            pass  # blanked, where a device was registered
        p = g.ctl("reload", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr, r"otad \(pid \d+\) refused: .*devices")

    def test_unknown_options_are_refused(self):
        g = self.gateway()
        p = g.ctl("image", "list", "--colour", check=False)
        self.assertEqual(p.returncode, 2)
        p = run(OTACTL, "frobnicate", check=False)
        self.assertEqual(p.returncode, 2)


if __name__ == "__main__":
    unittest.main()
