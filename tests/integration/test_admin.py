"""The admin API on the real otad: uploads with detection, refusals, the
catalog exactly as it was after bad input, crash safety and a full disk."""
import hashlib
import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import threading
import time
import unittest

from otadtest import BASE_CONFIG, FIXTURES, OTACTL, GatewayTest, free_port, run

ADMIN_CONFIG = """
[http]
enabled = yes
listen = 127.0.0.1
port = {http_port}
[admin]
enabled = yes
listen = 127.0.0.1
port = {admin_port}
token_file = {dir}/admin-tokens
"""


def admin_gateway(test, max_image_size=4 << 20, **kw):
    g = test.gateway(**kw)
    g.http_port, g.admin_port = free_port(), free_port()
    base = BASE_CONFIG.format(**g.settings).replace("[catalog]\n", f"[catalog]\nmax_image_size = {max_image_size}\n")
    g.write_config(base + ADMIN_CONFIG.format(http_port=g.http_port, admin_port=g.admin_port, dir=g.dir))
    p = run(OTACTL, "--config", g.config, "admin", "token", "add", "ci")
    g.token = p.stdout.splitlines()[0]
    return g


def call(g, method, path, body=None, token=None, headers=None):
    """One admin request; returns (status, parsed JSON or raw bytes)."""
    c = http.client.HTTPConnection("127.0.0.1", g.admin_port, timeout=30)
    h = dict(headers or {})
    tok = g.token if token is None else token
    if tok:
        h["Authorization"] = "Bearer " + tok
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    try:
        return r.status, json.loads(data)
    except ValueError:
        return r.status, data


def curl_upload(g, data, query=""):
    """Uploads as curl does a large file: Expect: 100-continue, so a refusal
    that comes before the body (413, 507) is read, not a broken pipe."""
    path = os.path.join(g.dir, "upload.bin")
    with open(path, "wb") as f:
        f.write(data)
    p = run("curl", "-sS", "-H", "Authorization: Bearer " + g.token, "-H", "Expect: 100-continue",
            "--data-binary", "@" + path, "-w", "\n%{http_code}", f"http://127.0.0.1:{g.admin_port}/api/images{query}",
            check=False)
    text, _, st = p.stdout.rpartition("\n")
    return int(st or 0), json.loads(text) if text else p.stderr


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def download(g, platform):
    c = http.client.HTTPConnection("127.0.0.1", g.http_port, timeout=30)
    c.request("GET", f"/firmware/{platform}.bin")
    r = c.getresponse()
    return r.status, r.read()


def catalog_state(g):
    """Every file in the catalog directory with its SHA-256."""
    d = os.path.join(g.dir, "catalog")
    out = {}
    for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        if n == ".lock":  # the writers' lock file, empty
            continue
        with open(os.path.join(d, n), "rb") as f:
            out[n] = hashlib.sha256(f.read()).hexdigest()
    return out


def manifest_entries(g):
    path = os.path.join(g.dir, "catalog", "manifest.ini")
    if not os.path.exists(path):
        return []
    text = open(path).read()
    return re.findall(r"sha256 = ([0-9a-f]{64})\nplatform = (\S+)\nversion = (\S+)", text)


class Admin(GatewayTest):
    def setUp(self):
        self.g = admin_gateway(self)
        self.g.start()

    def test_fixtures_upload_with_their_detection_or_refusal(self):
        g = self.g
        # (file, query, status, platform, platform_from, version, version_from or the refusal's words)
        cases = [
            ("esp32_idf_hello_world_signed.bin", "", 422, None, None, None, "is the framework's"),
            ("esp32_idf_hello_world_signed.bin", "?version=1.0.0", 201, "hello-world", "app_desc", "1.0.0", "given"),
            ("esp32s2_idf_blink.bin", "", 422, None, None, None, "is the framework's"),
            ("esp32s2_idf_blink.bin", "?filename=blink-v0.3.0.bin", 201, "blink", "app_desc", "0.3.0", "filename"),
            ("esp32c3_arduino_pressureprobe.bin", "", 422, None, None, None, "arduino-lib-builder"),
            ("esp32c3_arduino_pressureprobe.bin", "?platform=probe&version=1.4.0", 201, "probe", "given", "1.4.0", "given"),
            ("esp8266_arduino_deepsleep.bin", "?version=0.9.0", 422, None, None, None, "no platform found"),
            ("esp8266_arduino_deepsleep.bin", "?platform=sleeper&version=0.9.0", 201, "sleeper", "given", "0.9.0", "given"),
            ("esp8266_nonos_v2_user1_4096.bin", "?platform=nonos&version=2.0.0", 201, "nonos", "given", "2.0.0", "given"),
            ("neg_bootloader_esp32c3.bin", "?platform=x&version=1.0.0", 422, None, None, None, "bootloader"),
            ("neg_bootloader_esp32_idf5_2.bin", "?platform=x&version=1.0.0", 422, None, None, None, "bootloader"),
            ("neg_partitions_singleapp.bin", "?platform=x&version=1.0.0", 422, None, None, None, "partition table"),
            ("neg_merged_esp32_micropython_v1.23.0.bin", "?platform=x&version=1.0.0", 422, None, None, None, "merged"),
        ]
        for name, q, status, platform, pfrom, version, vfrom in cases:
            before = catalog_state(g)
            st, body = call(g, "POST", "/api/images" + q, fixture(name))
            self.assertEqual(st, status, f"{name}{q}: {body}")
            if status == 422:
                self.assertIn(vfrom, body["error"], name)
                self.assertEqual(catalog_state(g), before, f"{name}: the catalog changed on a refusal")
                g.wait_log(re.escape("-> 422: " + body["error"][:40]))  # the same reason in the log
                continue
            self.assertEqual((body["platform"], body["platform_from"], body["version"], body["version_from"]),
                             (platform, pfrom, version, vfrom), name)
            self.assertEqual(body["sha256"], hashlib.sha256(fixture(name)).hexdigest())
            st, got = download(g, platform)
            self.assertEqual((st, got), (200, fixture(name)), name)
        st, listing = call(g, "GET", "/api/images")
        self.assertEqual(sorted(i["platform"] for i in listing), ["blink", "hello-world", "nonos", "probe", "sleeper"])
        sleeper = [i for i in listing if i["platform"] == "sleeper"][0]
        self.assertEqual(len(sleeper["md5_flash_modes"].split(",")), 4)

    def test_same_bytes_conflict_and_limits(self):
        g = self.g
        img = self.make("demo", "1.2.0", 200000)
        st, body = call(g, "POST", "/api/images", img)
        self.assertEqual(st, 201, body)
        self.assertEqual(body["version_from"], "app_desc")
        st, body = call(g, "POST", "/api/images", img)
        self.assertEqual(st, 200)
        self.assertTrue(body["already"])
        other = self.make("demo", "1.2.0", 210000)
        st, body = call(g, "POST", "/api/images", other)
        self.assertEqual(st, 409)
        self.assertIn("versions are immutable", body["error"])
        big = self.make("demo", "9.0.0", (4 << 20) + 4096)
        st, body = curl_upload(g, big)
        self.assertEqual(st, 413)
        self.assertIn("max_image_size", body["error"])
        st, body = call(g, "POST", "/api/images", b"", headers={"Content-Length": "0"})
        self.assertEqual(st, 400)
        self.assertEqual(download(g, "demo"), (200, img))

    def test_tokens(self):
        g = self.g
        for tok, why in [("", "a bearer token is required"), ("0" * 64, "wrong or revoked token")]:
            st, body = call(g, "GET", "/api/status", token=tok)
            self.assertEqual((st, body["error"]), (401, why))
        # Device credentials never open it.
        st, _ = call(g, "GET", "/api/status", token="", headers={"Authorization": "Basic NWNjZjdmYjI0MmNhOnNlY3JldA=="})
        self.assertEqual(st, 401)
        st, body = call(g, "GET", "/api/status")
        self.assertEqual(st, 200)
        self.assertEqual(body["version"], "0.1.0")
        self.assertIn("downloads_in_flight", body)
        g.ctl("admin", "token", "revoke", "ci")
        g.wait_log(r"reloaded")
        st, body = call(g, "GET", "/api/status")
        self.assertEqual(st, 401)
        # The file keeps a salted hash, never the token.
        self.assertNotIn(g.token, open(os.path.join(g.dir, "admin-tokens")).read())

    def test_truncated_and_overlong_bodies_change_nothing(self):
        g = self.g
        img = self.make("demo", "1.0.0", 200000)
        self.assertEqual(call(g, "POST", "/api/images", img)[0], 201)
        before = catalog_state(g)
        new = self.make("demo", "2.0.0", 300000)
        # The device leaves half way.
        s = socket.create_connection(("127.0.0.1", g.admin_port))
        s.sendall(b"POST /api/images HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n"
                  % (g.token.encode(), len(new)) + new[:100000])
        time.sleep(0.2)
        s.close()
        g.wait_log(r"closed in the middle of a request body \(100000 of 300000 bytes\)")
        self.assertEqual(catalog_state(g), before)
        # A Content-Length shorter than the image: what arrives is not an image.
        st, body = call(g, "POST", "/api/images", new[:150000] + b"X" * 10)
        self.assertEqual(st, 422, body)
        self.assertEqual(catalog_state(g), before)
        self.assertEqual(download(g, "demo"), (200, img))
        self.assertEqual([n for n in os.listdir(os.path.join(g.dir, "catalog")) if n.startswith(".upload")], [])

    def test_expect_100_continue(self):
        g = self.g
        path = os.path.join(g.dir, "app.bin")
        with open(path, "wb") as f:
            f.write(self.make("demo", "1.3.0", 100000))
        t = time.time()
        p = run("curl", "-sS", "-H", "Authorization: Bearer " + g.token, "-H", "Expect: 100-continue",
                "--expect100-timeout", "30", "--data-binary", "@" + path, "-w", "\n%{http_code}",
                f"http://127.0.0.1:{g.admin_port}/api/images")
        self.assertTrue(p.stdout.endswith("201"), p.stdout)
        self.assertLess(time.time() - t, 20)  # curl did not wait out its 30 s timeout

    def test_filesystem_images_reach_arduino_clients(self):
        g = self.g
        self.assertEqual(call(g, "POST", "/api/images", self.make("demo", "1.0.0", 100000))[0], 201)
        fs = bytearray(b"\xff" * 65536)
        fs[8:16] = b"littlefs"
        st, body = call(g, "POST", "/api/images?kind=filesystem&platform=demo&version=1.0.0", bytes(fs))
        self.assertEqual(st, 201, body)
        self.assertEqual(body["kind"], "filesystem")
        c = http.client.HTTPConnection("127.0.0.1", g.http_port, timeout=10)
        c.request("GET", "/update", headers={"x-ESP32-STA-MAC": "24:0A:C4:00:01:10", "x-ESP32-mode": "spiffs"})
        r = c.getresponse()
        self.assertEqual((r.status, r.read()), (200, bytes(fs)))

    def test_delete_and_platforms_are_guarded(self):
        g = self.g
        img = self.make("demo", "1.0.0", 100000)
        sha = call(g, "POST", "/api/images", img)[1]["sha256"]
        g.ctl("device", "add", "30:AE:A4:04:1D:8C", "--image", sha)
        g.wait_log(r"reloaded")
        st, body = call(g, "DELETE", f"/api/images/{sha}")
        self.assertEqual(st, 409)
        self.assertIn("30aea4041d8c is pinned", body["error"])
        st, body = call(g, "DELETE", "/api/platforms/demo")
        self.assertEqual(st, 409)
        self.assertIn("still has images", body["error"])
        g.ctl("device", "remove", "30:AE:A4:04:1D:8C")
        g.wait_log(r"reloaded", count=2)
        self.assertEqual(call(g, "DELETE", f"/api/images/{sha}")[0], 200)
        self.assertEqual(download(g, "demo")[0], 404)
        self.assertFalse(os.path.exists(os.path.join(g.dir, "catalog", sha + ".bin")))
        st, body = call(g, "PUT", "/api/platforms/demo", b'{"chip": "esp32c3", "max_size": 1966080, "match": "demo-fw"}')
        self.assertEqual((st, body["chip"], body["max_size"]), (200, "esp32c3", 1966080))
        st, body = call(g, "POST", "/api/images", img)  # an esp32 image for an esp32c3 platform
        self.assertEqual(st, 422)
        self.assertIn("platform demo is esp32c3", body["error"])
        self.assertEqual(call(g, "PUT", "/api/platforms/demo", b'{"cpu": 1}')[0], 400)
        self.assertEqual(call(g, "DELETE", "/api/platforms/demo")[0], 200)
        self.assertEqual(call(g, "DELETE", "/api/platforms/nope")[0], 404)
        self.assertEqual(call(g, "GET", "/api/platforms")[1], [])

    def test_kill_9_during_uploads_and_removals(self):
        # 50 times: an upload or a removal under way, otad killed at a random
        # moment, restarted. Every listed image must be whole, and a device
        # must get one of the listed images, whole, never a part.
        g = self.g
        base = self.make("demo", "1.0.0", 150000)
        self.assertEqual(call(g, "POST", "/api/images", base)[0], 201)
        rng = random.Random(7)
        uploaded = []
        for i in range(50):
            if uploaded and rng.random() < 0.3:
                sha = uploaded.pop(rng.randrange(len(uploaded)))
                work = threading.Thread(target=lambda: self.quietly(call, g, "DELETE", f"/api/images/{sha}"))
            else:
                img = self.make("demo", f"1.1.{i}", 150000 + 997 * i)
                uploaded.append(hashlib.sha256(img).hexdigest())
                work = threading.Thread(target=lambda: self.quietly(call, g, "POST", "/api/images", img))
            work.start()
            time.sleep(rng.uniform(0, 0.03))
            g.proc.kill()
            g.proc.wait()
            work.join()
            g.stop()
            g.start(wait=False)
            g.wait_log(r"ready:", count=i + 2)
            entries = manifest_entries(g)
            self.assertTrue(entries)
            for sha, platform, version in entries:
                path = os.path.join(g.dir, "catalog", sha + ".bin")
                self.assertTrue(os.path.exists(path), f"run {i}: {platform} {version} listed without its file")
                with open(path, "rb") as f:
                    self.assertEqual(hashlib.sha256(f.read()).hexdigest(), sha, f"run {i}: {version} is not whole")
            st, got = download(g, "demo")
            self.assertEqual(st, 200)
            self.assertIn(hashlib.sha256(got).hexdigest(), [e[0] for e in entries], f"run {i}: served bytes not listed")
            self.assertEqual([n for n in os.listdir(os.path.join(g.dir, "catalog")) if "tmp" in n], [])
        self.assertIn("removed", g.log())

    def test_otactl_goes_through_the_api_while_otad_runs(self):
        g = self.g
        env = dict(os.environ, OTAD_TOKEN=g.token)
        path = os.path.join(g.dir, "thermo.bin")
        with open(path, "wb") as f:
            f.write(self.make("thermo", "2.1.0", 120000))

        def ctl(*args, token=True):
            return subprocess.run([OTACTL, "--config", g.config, *args], capture_output=True, text=True,
                                  env=env if token else dict(os.environ, OTAD_TOKEN=""))

        p = ctl("image", "add", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("platform from app_desc, version from app_desc (a new platform)", p.stdout)
        g.wait_log(r"admin: POST /api/images\?filename=thermo\.bin -> 201")  # it went through otad
        self.assertIn("already in the catalog as thermo 2.1.0", ctl("image", "add", path).stdout)
        listing = json.loads(ctl("image", "list", "--json").stdout)
        self.assertEqual([(i["platform"], i["version"], i["current"]) for i in listing], [("thermo", "2.1.0", True)])
        p = ctl("platform", "add", "thermo", "--chip", "esp32", "--match", "thermo")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(ctl("platform", "list", "--json").stdout)[0]["chip"], "esp32")
        status = json.loads(ctl("status", "--json").stdout)
        self.assertEqual((status["running"], status["images"]), (True, 1))
        p = ctl("image", "list", token=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("give its admin token in $OTAD_TOKEN", p.stderr)
        self.assertIn("removed thermo 2.1.0", ctl("image", "remove", listing[0]["sha256"][:10]).stdout)
        self.assertEqual(download(g, "thermo")[0], 404)
        self.assertEqual(ctl("platform", "remove", "thermo").returncode, 0)
        g.stop()
        self.assertIn("otad is not running", ctl("status").stdout)

    def quietly(self, fn, *args):
        try:
            fn(*args)
        except OSError:
            pass  # otad was killed under the request: that is the point

    def make(self, platform, version, size):
        path = os.path.join(self.g.dir, f"gen-{platform}-{version}-{size}.bin")
        run(OTACTL, "image", "make", "-o", path, "--project", platform, "--version", version, "--size", str(size))
        with open(path, "rb") as f:
            return f.read()


if __name__ == "__main__":
    unittest.main()


class FullDisk(GatewayTest):
    def test_full_disk_is_507_and_the_old_release_stays(self):
        g = admin_gateway(self)
        catalog = os.path.join(g.dir, "catalog")
        os.makedirs(catalog)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", catalog]).returncode != 0:
            self.skipTest("cannot mount a small tmpfs here (needs root)")
        self.addCleanup(lambda: subprocess.run(["umount", "-l", catalog]))
        g.start()
        path = os.path.join(g.dir, "old.bin")
        run(OTACTL, "image", "make", "-o", path, "--project", "demo", "--version", "1.0.0", "--size", "300000")
        old = open(path, "rb").read()
        self.assertEqual(call(g, "POST", "/api/images", old)[0], 201)
        run(OTACTL, "image", "make", "-o", path, "--project", "demo", "--version", "2.0.0", "--size", "900000")
        # A full disk is found before the body is sent.
        st, body = curl_upload(g, open(path, "rb").read())
        self.assertEqual(st, 507, body)
        self.assertIn("No space left on device", body["error"])
        g.wait_log(r"-> 507: ")
        self.assertEqual(download(g, "demo"), (200, old))
        self.assertEqual([n for n in os.listdir(catalog) if n.startswith(".upload")], [])
        self.assertEqual([e[2] for e in manifest_entries(g)], ["1.0.0"])


class AdminTls(GatewayTest):
    def test_admin_over_tls_with_the_gateway_certificate(self):
        g = self.gateway()
        g.http_port, g.admin_port = free_port(), free_port()
        g.write_config(BASE_CONFIG.format(**g.settings) + f"""
[http]
enabled = yes
listen = 127.0.0.1
port = {g.http_port}
[https]
cert_file = {g.dir}/tls/server.crt
key_file = {g.dir}/tls/server.key
client_ca_file = {g.dir}/tls/ca.crt
[admin]
enabled = yes
listen = 127.0.0.1
port = {g.admin_port}
tls = yes
token_file = {g.dir}/admin-tokens
""")
        g.ctl("ca", "init")
        token = g.ctl("admin", "token", "add", "ci").stdout.splitlines()[0]
        g.start()
        ca = os.path.join(g.dir, "tls/ca.crt")
        p = run("curl", "-sS", "--cacert", ca, "-H", "Authorization: Bearer " + token,
                f"https://127.0.0.1:{g.admin_port}/api/status")
        self.assertEqual(json.loads(p.stdout)["images"], 0)
        # Plain HTTP to the TLS admin port is told so, never answered in clear.
        p = run("curl", "-sS", "-w", "\n%{http_code}", "-H", "Authorization: Bearer " + token,
                f"http://127.0.0.1:{g.admin_port}/api/status", check=False)
        self.assertTrue(p.stdout.endswith("400"), p.stdout)
        self.assertNotIn("uptime", p.stdout)
        # otactl finds it over TLS, trusting the gateway CA.
        path = os.path.join(g.dir, "app.bin")
        run(OTACTL, "image", "make", "-o", path, "--project", "demo", "--version", "1.0.0", "--size", "50000")
        p = subprocess.run([OTACTL, "--config", g.config, "image", "add", path], capture_output=True, text=True,
                           env=dict(os.environ, OTAD_TOKEN=token))
        self.assertEqual(p.returncode, 0, p.stderr)
        g.wait_log(r"admin: POST /api/images\?filename=app\.bin -> 201")
