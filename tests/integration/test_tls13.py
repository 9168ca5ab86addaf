"""TLS 1.3 on an otad built with mbedTLS 3.6: openssl s_client -tls1_3 and
gnutls-cli over ECDHE-ECDSA, a client certificate, and both PSK key-exchange
modes (psk_ke, psk_dhe_ke), each download checked and named by its device;
TLS 1.2 kept beside it for ESP8266 and ESP-IDF 4.x devices; tls_versions
narrowing either way. Skipped, with the reason, where otad's mbedTLS has no
TLS 1.3 (Debian bookworm's 2.28): the mbedTLS 3.6 CI tier runs it."""
import os
import re
import subprocess
import unittest

from otadtest import TLS13, GatewayTest
from test_https import add_device, https_gateway

REQ = b"GET /firmware/demo.bin HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n"


@unittest.skipUnless(TLS13, "otad's mbedTLS has no TLS 1.3 (build with contrib/mbedtls36.sh)")
class Tls13(GatewayTest):
    def up(self, auth="any", versions=None):
        extra = f"tls_versions = {versions}\n" if versions else ""
        self.g = https_gateway(self, auth=auth, https_extra=extra)
        self.image = self.g.add_image(size=4096)
        self.a, _ = add_device(self.g, "30:AE:A4:04:1D:8C", "--psk", "--cert")
        self.g.start()

    def s_client(self, *args):
        p = subprocess.run(["openssl", "s_client", "-ign_eof", "-CAfile", self.g.ca, "-connect",
                            f"127.0.0.1:{self.g.https_port}", *args], input=REQ, capture_output=True, timeout=20)
        m = re.search(rb"(?:New|Reused), (TLSv[\d.]+), Cipher is (\S+)", p.stdout)
        # s_client prints TLS 1.3's post-handshake tickets among the data.
        ok = b"HTTP/1.1 200 OK" in p.stdout and b"\r\n\r\n" + self.image in p.stdout
        self.last_err = p.stderr[-800:]  # for a failure's message
        return (m.group(1).decode(), m.group(2).decode()) if m else None, ok

    def gnutls(self, priority, *args):
        # stdin stays open until the server closes: gnutls-cli stops reading
        # the socket at the end of its input.
        p = subprocess.Popen(["gnutls-cli", "-p", str(self.g.https_port), "127.0.0.1", "--priority", priority,
                              "--x509cafile", self.g.ca, "--verify-hostname", "localhost", *args],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p.stdin.write(REQ)
        p.stdin.flush()
        out = p.stdout.read()
        p.stdin.close()
        err = p.stderr.read()
        p.wait(20)
        head, _, body = out.partition(b"\r\n\r\n")
        return b"200 OK" in head and body.startswith(self.image), out[:1500] + err[-500:]

    def test_openssl_ecdhe_ecdsa_and_client_certificate(self):
        self.up()
        session, ok = self.s_client("-tls1_3")
        self.assertIsNotNone(session, self.last_err)
        version, cipher = session
        self.assertEqual(version, "TLSv1.3")
        self.assertTrue(cipher.startswith("TLS_"), cipher)
        self.assertFalse(ok)  # auth = any: a device without a credential gets 401
        self.g.wait_log(r"mac=- https: GET /firmware/demo\.bin -> 401")
        (version, _), ok = self.s_client("-tls1_3", "-cert", self.a["cert"], "-key", self.a["key"])
        self.assertEqual((version, ok), ("TLSv1.3", True))
        self.g.wait_log(r"mac=30aea4041d8c https: GET /firmware/demo\.bin -> 200")
        # TLS 1.2 beside it, for the devices that speak nothing newer.
        (version, _), ok = self.s_client("-tls1_2")
        self.assertEqual(version, "TLSv1.2")
        self.g.wait_log(r"https: TLS 1\.3 preference TLS1-3-")

    def test_gnutls_ecdhe_ecdsa_certificate_and_both_psk_modes(self):
        self.up()
        v13 = "NORMAL:-VERS-ALL:+VERS-TLS1.3"
        ok, out = self.gnutls(v13, "--x509certfile", self.a["cert"], "--x509keyfile", self.a["key"])
        self.assertTrue(ok, out)
        # psk_ke (PSK alone) and psk_dhe_ke (PSK with ECDHE).
        for kx in ("+PSK", "+ECDHE-PSK"):
            ok, out = self.gnutls(f"{v13}:-KX-ALL:{kx}", "--pskusername", "30aea4041d8c", "--pskkey", self.a["psk"])
            self.assertTrue(ok, (kx, out))
        self.assertEqual(len(re.findall(r"mac=30aea4041d8c https: GET /firmware/demo\.bin -> 200", self.g.log())), 3)
        # A wrong key is refused, and logged against the identity it claimed.
        ok, out = self.gnutls(f"{v13}:-KX-ALL:+PSK", "--pskusername", "30aea4041d8c", "--pskkey", "00" * 16)
        self.assertFalse(ok)
        self.g.wait_log(r"mac=30aea4041d8c https: TLS handshake failed")

    def test_psk_only_gateway_over_openssl(self):
        self.up(auth="psk")
        (version, _), ok = self.s_client("-tls1_3", "-psk_identity", "30aea4041d8c", "-psk", self.a["psk"])
        self.assertEqual((version, ok), ("TLSv1.3", True))
        self.g.wait_log(r"mac=30aea4041d8c https: GET /firmware/demo\.bin -> 200")

    def test_versions_narrowed(self):
        self.up(versions="1.2")
        self.assertEqual(self.s_client("-tls1_3")[0], None)
        self.assertEqual(self.s_client("-tls1_2")[0][0], "TLSv1.2")

    def test_tls13_only(self):
        self.up(versions="1.3")
        self.assertEqual(self.s_client("-tls1_2")[0], None)
        self.assertEqual(self.s_client("-tls1_3")[0][0], "TLSv1.3")
        self.g.wait_log(r"https: .*; no TLS 1\.2")


if __name__ == "__main__":
    unittest.main()
