"""HTTP pull endpoints on the real otad, with the exact requests ESP clients send."""
import hashlib
import os
import re
import socket
import subprocess
import tempfile
import time
import unittest

from otadtest import SIM, GatewayTest, eventually, recv_until, sha1, tcpboot_fetch

HTTP_CONFIG = """
[http]
enabled = yes
listen = 127.0.0.1
port = {http_port}
auth = {http_auth}
"""


def http_gateway(test, **kw):
    from otadtest import free_port
    g = test.gateway(**{k: v for k, v in kw.items() if k not in ("http_auth",)})
    g.http_port = free_port()
    from otadtest import BASE_CONFIG
    g.write_config(BASE_CONFIG.format(**g.settings) +
                   HTTP_CONFIG.format(http_port=g.http_port, http_auth=kw.get("http_auth", "none")))
    return g


def raw(port, request, timeout=10):
    """Sends bytes, returns everything until the server closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(request)
    out = recv_until(s)
    s.close()
    return bytes(out)


def split(resp):
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body, head.decode()


def esp8266_request(path="/update", mac="5C:CF:7F:B2:42:CA", version=None, mode="sketch",
                    md5="0" * 32, free=1000000, auth=None):
    """Byte for byte what ESP8266httpUpdate sends (protocols.md §2.1)."""
    h = [f"GET {path} HTTP/1.0", "Host: 127.0.0.1:8080", "User-Agent: ESP8266-http-Update"]
    if auth:
        import base64
        h.append("Authorization: Basic " + base64.b64encode(auth.encode()).decode())
    h += ["Connection: close", "x-ESP8266-Chip-ID: 11922863", f"x-ESP8266-STA-MAC: {mac}",
          "x-ESP8266-AP-MAC: 5E:CF:7F:B2:42:CA", f"x-ESP8266-free-space: {free}",
          "x-ESP8266-sketch-size: 307584", f"x-ESP8266-sketch-md5: {md5}",
          "x-ESP8266-chip-size: 4194304", "x-ESP8266-sdk-version: 2.2.2-dev(38a443e)",
          f"x-ESP8266-mode: {mode}"]
    if version:
        h.append(f"x-ESP8266-version: {version}")
    h.append("Content-Length: 0")
    return ("\r\n".join(h) + "\r\n\r\n").encode()


def esp32_request(path="/update", mac="24:0A:C4:00:01:10", version=None, mode="sketch"):
    """What ESP32 HTTPUpdate sends (protocols.md §2.2): HTTP/1.0, no Content-Length."""
    h = [f"GET {path} HTTP/1.0", "Host: 127.0.0.1", "User-Agent: ESP32-http-Update", "Connection: close",
         "Cache-Control: no-cache", f"x-ESP32-BASE-MAC: {mac}", f"x-ESP32-STA-MAC: {mac}",
         "x-ESP32-AP-MAC: 24:0A:C4:00:01:11", "x-ESP32-free-space: 1310720", "x-ESP32-sketch-size: 230000",
         "x-ESP32-sketch-md5: " + "1" * 32, "x-ESP32-sketch-sha256: " + "A" * 64,
         "x-ESP32-chip-size: 4194304", "x-ESP32-sdk-version: v4.4.4", f"x-ESP32-mode: {mode}"]
    if version:
        h.append(f"x-ESP32-version: {version}")
    return ("\r\n".join(h) + "\r\n\r\n").encode()


class ArduinoEndpoint(GatewayTest):
    def setUp(self):
        self.g = http_gateway(self)
        # demo is an ESP8266 platform (the esp8266_request devices); the ESP32
        # client of esp32_request is registered to an ESP32 one.
        self.v1 = self.g.add_image("demo", "1.0.0", size=100000, chip="esp8266")
        self.v2 = self.g.add_image("demo", "1.2.0", size=150000, chip="esp8266")
        self.v2_esp32 = self.g.add_image("demo32", "1.2.0", size=150000, chip="esp32")
        self.g.ctl("device", "add", "24:0A:C4:00:01:10", "--platform", "demo32")
        self.g.start()

    def test_esp8266_exact_request_gets_200_bytes_and_md5(self):
        status, h, body, head = split(raw(self.g.http_port, esp8266_request(version="1.0.0")))
        self.assertEqual(status, 200, head)
        self.assertEqual(body, self.v2)
        self.assertEqual(h["content-length"], str(len(self.v2)))
        self.assertEqual(h["x-md5"], hashlib.md5(self.v2).hexdigest())  # lowercase, 32 chars
        self.assertEqual(h["x-sha256"], hashlib.sha256(self.v2).hexdigest())
        self.assertEqual(h["content-type"], "application/octet-stream")
        self.assertNotIn("transfer-encoding", h)
        self.assertNotIn("location", h)
        self.g.wait_log(r"mac=5ccf7fb242ca http: GET /update -> 200: serving demo 1\.2\.0")

    def test_esp32_exact_request(self):
        status, h, body, head = split(raw(self.g.http_port, esp32_request(version="1.1.9")))
        self.assertEqual(status, 200, head)
        self.assertEqual(body, self.v2_esp32)
        self.assertEqual(h["x-md5"], hashlib.md5(self.v2_esp32).hexdigest())

    def test_never_an_image_for_the_other_chip_family(self):
        # An ESP8266 asking for an ESP32 platform's image, and the other way
        # round: the Arduino clients would flash it (they check only the magic
        # byte and the flash size). 409 with both chips named, never a body.
        status, h, body, head = split(raw(self.g.http_port, esp8266_request(path="/update?dev=demo32")))
        self.assertEqual(status, 409, head)
        self.assertNotIn("x-md5", h)
        self.assertEqual(body, b"Conflict\n")
        self.g.wait_log(r"mac=5ccf7fb242ca http: GET /update\?dev=demo32 -> 409: an ESP8266 cannot run an ESP32 image: "
                        r"device esp8266 \(x-ESP8266-\*\), demo32 1\.2\.0 is esp32 in")
        self.g.ctl("device", "add", "24:0A:C4:00:01:10", "--platform", "demo")
        self.g.wait_log(r"reloaded")
        status, h, body, head = split(raw(self.g.http_port, esp32_request(version="1.0.0")))
        self.assertEqual(status, 409, head)
        self.assertNotIn("x-md5", h)
        # The exact chip, where the registry knows it: an ESP32-C3 is not an ESP32.
        self.g.ctl("device", "add", "24:0A:C4:00:01:10", "--platform", "demo32", "--chip", "esp32c3")
        self.g.wait_log(r"reloaded", count=2)
        status, h, body, head = split(raw(self.g.http_port, esp32_request(version="1.0.0")))
        self.assertEqual(status, 409, head)
        self.g.wait_log(r"-> 409: the device's chip is not the image's: device esp32c3, demo32 1\.2\.0 is esp32 in")

    def test_current_version_gets_304_no_body(self):
        resp = raw(self.g.http_port, esp8266_request(version="1.2.0"))
        status, h, body, head = split(resp)
        self.assertEqual(status, 304, head)
        self.assertEqual(body, b"")
        status, *_ = split(raw(self.g.http_port, esp8266_request(version="v1.3.0")))
        self.assertEqual(status, 304)
        # No version, but the device already runs these exact bytes (sketch MD5).
        status, *_ = split(raw(self.g.http_port, esp8266_request(md5=hashlib.md5(self.v2).hexdigest())))
        self.assertEqual(status, 304)

    def test_mode_version_answers_x_version_without_body(self):
        status, h, body, head = split(raw(self.g.http_port, esp8266_request(mode="version")))
        self.assertEqual(status, 200, head)
        self.assertEqual(h["x-version"], "1.2.0")
        self.assertEqual(h["content-length"], "0")
        self.assertEqual(body, b"")

    def test_esp_update_server_query_form(self):
        req = esp8266_request(path="/update?ver=v1.0.2&dev=DEMO")
        status, h, body, head = split(raw(self.g.http_port, req))
        self.assertEqual(status, 200, head)
        self.assertEqual(body, self.v2)
        status, *_ = split(raw(self.g.http_port, esp8266_request(path="/update?ver=v1.2.0&dev=demo")))
        self.assertEqual(status, 304)
        status, *_ = split(raw(self.g.http_port, esp8266_request(path="/update?ver=1.0.0&dev=nope")))
        self.assertEqual(status, 404)

    def test_no_update_status_204_when_configured(self):
        with open(self.g.config, "a") as f:
            f.write("no_update_status = 204\n")  # appended to [http]
        import signal
        self.g.send(signal.SIGHUP)
        self.g.wait_log(r"reloaded")
        resp = raw(self.g.http_port, esp32_request(version="1.2.0"))
        status, h, body, head = split(resp)
        self.assertEqual(status, 204, head)
        self.assertEqual(body, b"")
        self.assertNotIn("content-length", h)

    def test_free_space_too_small(self):
        status, h, body, head = split(raw(self.g.http_port, esp8266_request(version="1.0.0", free=1000)))
        self.assertEqual(status, 413, head)

    def test_errors(self):
        status, *_ = split(raw(self.g.http_port, b"GET /update HTTP/1.0\r\n\r\n"))
        self.assertEqual(status, 400)  # no MAC
        status, *_ = split(raw(self.g.http_port, esp8266_request(mac="not-a-mac")))
        self.assertEqual(status, 400)
        status, *_ = split(raw(self.g.http_port, esp8266_request(mode="eeprom")))
        self.assertEqual(status, 400)
        status, h, *_ = split(raw(self.g.http_port, b"DELETE /update HTTP/1.1\r\nHost: x\r\n\r\n"))
        self.assertEqual(status, 405)
        self.assertEqual(h["allow"], "GET, HEAD")
        status, *_ = split(raw(self.g.http_port, b"BREW /update HTTP/1.1\r\nHost: x\r\n\r\n"))
        self.assertEqual(status, 501)
        status, *_ = split(raw(self.g.http_port, b"GET /update HTTP/2.0\r\n\r\n"))
        self.assertEqual(status, 505)
        status, *_ = split(raw(self.g.http_port, b"GET /nothing HTTP/1.0\r\n\r\n"))
        self.assertEqual(status, 404)
        status, *_ = split(raw(self.g.http_port, b"GET /update HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"))
        self.assertEqual(status, 413)

    def test_disabled_and_unknown_devices(self):
        self.g.ctl("device", "add", "5C:CF:7F:B2:42:CA", "--disabled")
        self.g.wait_log(r"reloaded")
        status, *_ = split(raw(self.g.http_port, esp8266_request(version="1.0.0")))
        self.assertEqual(status, 403)


class Esp8266AgainstAnEsp32DefaultPlatform(GatewayTest):
    def test_unregistered_esp8266_without_dev_gets_409(self):
        g = http_gateway(self)
        g.add_image("demo", "1.2.0", size=150000, chip="esp32")  # the default platform is ESP32 only
        g.start()
        status, h, body, head = split(raw(g.http_port, esp8266_request(version="1.0.0")))
        self.assertEqual(status, 409, head)
        self.assertNotEqual(body[:1], b"\xe9")
        self.assertNotIn("x-md5", h)


class Downloads(GatewayTest):
    def setUp(self):
        self.g = http_gateway(self)
        self.image = self.g.add_image("demo", "2.0.0", size=300000)
        self.sha = hashlib.sha256(self.image).hexdigest()
        self.g.start()
        self.url = f"http://127.0.0.1:{self.g.http_port}/firmware/demo.bin"

    def curl(self, *args):
        return subprocess.run(["curl", "-sS", *args], capture_output=True, timeout=30)

    def test_64k_range_steps_on_one_connection(self):
        d = tempfile.mkdtemp()
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", d]))
        args, step, n = [], 65536, len(self.image)
        parts = []
        for i, start in enumerate(range(0, n, step)):
            end = min(start + step, n) - 1
            rng = f"{start}-{end}" if end < n - 1 else f"{start}-"
            p = os.path.join(d, f"p{i}")
            parts.append(p)
            args += (["--next"] if i else []) + ["-r", rng, "-o", p, "-w", "%{http_code} %{num_connects}\\n", self.url]
        out = self.curl("-I", self.url)  # HEAD first, as esp_https_ota does
        self.assertIn(b"Content-Length: 300000", out.stdout)
        r = self.curl(*args)
        lines = r.stdout.decode().split()
        codes, connects = lines[0::2], lines[1::2]
        self.assertEqual(set(codes), {"206"}, r.stderr)
        self.assertEqual(sum(int(c) for c in connects), 1, "all ranges on one connection")
        data = b""
        for p in parts:
            with open(p, "rb") as f:
                data += f.read()
        self.assertEqual(data, self.image)

    def test_head_416_if_none_match_if_range(self):
        r = self.curl("-I", self.url)
        status, h, _, _ = split(r.stdout.replace(b"\r\n\r\n", b"\r\n\r\n", 1))
        self.assertEqual(status, 200)
        self.assertEqual(h["etag"], f'"{self.sha}"')
        self.assertEqual(h["accept-ranges"], "bytes")
        r = self.curl("-D", "-", "-o", "/dev/null", "-r", "400000-", self.url)
        status, h, _, _ = split(r.stdout)
        self.assertEqual(status, 416)
        self.assertEqual(h["content-range"], "bytes */300000")
        r = self.curl("-D", "-", "-o", "/dev/null", "-H", f'If-None-Match: "{self.sha}"', self.url)
        self.assertEqual(split(r.stdout)[0], 304)
        r = self.curl("-D", "-", "-o", "/dev/null", "-H", 'If-None-Match: "other"', self.url)
        self.assertEqual(split(r.stdout)[0], 200)
        # If-Range with a stale tag: the whole image, not the range.
        r = self.curl("-D", "-", "-o", "/dev/null", "-r", "0-9", "-H", 'If-Range: "stale"', self.url)
        self.assertEqual(split(r.stdout)[0], 200)
        r = self.curl("-D", "-", "-o", "/dev/null", "-r", "0-9", "-H", f'If-Range: "{self.sha}"', self.url)
        self.assertEqual(split(r.stdout)[0], 206)
        r = self.curl("-s", "-r", "-100", self.url)
        self.assertEqual(r.stdout, self.image[-100:])
        r = self.curl("-s", f"http://127.0.0.1:{self.g.http_port}/images/{self.sha}.bin")
        self.assertEqual(r.stdout, self.image)
        r = self.curl("-s", "-o", "/dev/null", "-w", "%{http_code}", f"http://127.0.0.1:{self.g.http_port}/images/{'0'*64}.bin")
        self.assertEqual(r.stdout, b"404")

    def test_pipelined_requests_answered_in_order(self):
        reqs = b"".join(f"GET /firmware/demo.bin HTTP/1.1\r\nHost: x\r\nRange: bytes={a}-{a+9}\r\n\r\n".encode()
                        for a in (0, 100, 200))
        reqs += b"GET /firmware/demo.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=300-309\r\nConnection: close\r\n\r\n"
        resp = raw(self.g.http_port, reqs)
        bodies = []
        rest = resp
        while rest:
            head, _, rest = rest.partition(b"\r\n\r\n")
            self.assertIn(b"206 Partial Content", head)
            bodies.append(rest[:10])
            rest = rest[10:]
        self.assertEqual(bodies, [self.image[a:a + 10] for a in (0, 100, 200, 300)])

    def test_oversized_head_gets_431_while_downloads_continue(self):
        big = self.g.add_image("big", "1.0.0", size=8 << 20)
        self.g.wait_log(r"reloaded")
        url = f"http://127.0.0.1:{self.g.http_port}/firmware/big.bin"
        slow = subprocess.Popen(["curl", "-sS", "--limit-rate", "2M", "-o", "-", url], stdout=subprocess.PIPE)
        time.sleep(0.3)
        head = b"GET /firmware/demo.bin HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 3000 + b"\r\n\r\n"
        status, *_ = split(raw(self.g.http_port, head))
        self.assertEqual(status, 431)
        status, *_ = split(raw(self.g.http_port, b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"))
        self.assertEqual(status, 414)
        out, _ = slow.communicate(timeout=60)
        self.assertEqual(out, big)
        # One line per bad request, saying what was wrong.
        self.g.wait_log(r"bad request -> 431: head larger than http\.max_head in ")
        self.g.wait_log(r"bad request -> 414: request line longer than http\.max_head in ")
        self.assertEqual(len(re.findall(r"-> 431", self.g.log())), 1)

    def test_close_at_once_unless_the_device_sent_more(self):
        req = b"GET /firmware/demo.bin HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n"
        # A device that sent nothing more: its slot is free as soon as the
        # last byte is queued, while the device itself keeps its socket open.
        quiet = socket.create_connection(("127.0.0.1", self.g.http_port), timeout=10)
        quiet.sendall(req)
        body = split(bytes(recv_until(quiet)))[2]
        self.assertEqual(body, self.image)
        self.assertEqual(self.g.stats()["active"], 0)
        quiet.close()
        # A device that sent bytes after its request (here a stray CRLF, then
        # more while it reads slowly) is drained, never reset: closing on
        # unread input would make the kernel send RST and could cut the image
        # short at the device.
        talky = socket.create_connection(("127.0.0.1", self.g.http_port), timeout=10)
        talky.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)  # otad's send queue stays full
        talky.sendall(req + b"\r\n")
        time.sleep(0.3)
        talky.sendall(b"\r\n")
        self.assertEqual(self.g.stats()["active"], 1)
        got = recv_until(talky)  # a reset would raise ConnectionResetError
        self.assertEqual(split(bytes(got))[2], self.image)
        talky.close()
        self.g.wait_log(r"GET /firmware/demo\.bin -> 200", count=2)

    def test_truncated_head_and_garbage(self):
        s = socket.create_connection(("127.0.0.1", self.g.http_port))
        s.sendall(b"GET /firmware/demo.bin HTTP/1.1\r\nHost: x\r\n")
        s.close()
        status, *_ = split(raw(self.g.http_port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n"))
        self.assertEqual(status, 400)
        self.g.wait_log(r"bad request -> 400: TLS handshake on the plain HTTP port")
        self.g.wait_log(r"closed in the middle of a request head")
        status, *_ = split(raw(self.g.http_port, b"GET /firmware/demo.bin HTTP/1.1\r\nHost: x\r\n"
                                                  b"Transfer-Encoding: chunked\r\n\r\n"))
        self.assertEqual(status, 501)
        self.g.wait_log(r"bad request -> 501: Transfer-Encoding in a request")
        r = subprocess.run(["curl", "-s", self.url], capture_output=True)
        self.assertEqual(r.stdout, self.image)


class Shutdown(GatewayTest):
    def test_sigterm_closes_idle_keepalive_and_finishes_downloads(self):
        import signal
        g = http_gateway(self, shutdown_grace=60)
        big = g.add_image(size=6 << 20)
        g.start()
        url = f"http://127.0.0.1:{g.http_port}/firmware/demo.bin"
        slow = subprocess.Popen(["curl", "-sS", "--limit-rate", "3M", "-o", "-", url], stdout=subprocess.PIPE)
        idle = socket.create_connection(("127.0.0.1", g.http_port), timeout=10)
        idle.sendall(b"HEAD /firmware/demo.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertIn(b"200 OK", idle.recv(4096))
        eventually("curl's download under way", lambda: g.stats()["downloads"] == 1)
        g.send(signal.SIGTERM)
        t0 = time.time()
        self.assertEqual(idle.recv(100), b"")  # the idle keep-alive is closed at once
        self.assertLess(time.time() - t0, 2)
        out, _ = slow.communicate(timeout=60)
        self.assertEqual(out, big)
        self.assertEqual(g.proc.wait(30), 0)


class Mixed(GatewayTest):
    def test_http_and_tcpboot_side_by_side(self):
        g = http_gateway(self)
        image = g.add_image(size=65536)
        g.start()
        p = g.sim("--devices", "100", "--expect-sha1", sha1(image))
        self.assertRegex(p.stdout, "ok=100")
        p = subprocess.run([SIM, "http", "--port", str(g.http_port), "--path", "/firmware/demo.bin",
                            "--devices", "200", "--expect-sha1", sha1(image)], capture_output=True, text=True)
        self.assertRegex(p.stdout, "ok=200 failed=0", p.stderr)

    def test_simulator_discard_still_checks_sizes(self):
        # The benchmarks trust --verify discard to count every body byte.
        g = http_gateway(self)
        image = g.add_image(size=300001)
        g.start()
        base = [SIM, "http", "--port", str(g.http_port), "--path", "/firmware/demo.bin", "--devices", "20",
                "--verify", "discard", "--expect-size"]
        p = subprocess.run(base + [str(len(image))], capture_output=True, text=True)
        self.assertRegex(p.stdout, f"ok=20 failed=0 bytes={20 * len(image)} ", p.stderr)
        p = subprocess.run(base + [str(len(image) - 1)], capture_output=True, text=True)
        self.assertRegex(p.stdout, "ok=0 failed=20", p.stderr)
        self.assertIn(f"size {len(image)} unexpected", p.stderr)


if __name__ == "__main__":
    unittest.main()
