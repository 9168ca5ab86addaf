"""verify_mac = neighbour: tcpboot (and plain HTTP) serve a device only when
the kernel's neighbour table shows its IP at the MAC it claims. Real network
namespaces, made here and removed after: a device namespace on a veth pair
with the gateway (its interface carries the device's MAC), and a second one
behind a router namespace. otad runs in the test's own namespace. Skipped,
with the reason, where namespaces cannot be made (not root, no ip)."""
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from otadtest import BASE_CONFIG, EMULATED, SIM, GatewayTest, free_port

DEVICE_MAC = "30:ae:a4:04:1d:8c"
OTHER_MAC = "30:ae:a4:04:1d:99"


def ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def netns_usable():
    if os.geteuid() != 0 or not shutil.which("ip"):
        return False
    name = f"otadprobe{os.getpid()}"
    if ip("netns", "add", name, check=False).returncode != 0:
        return False
    ip("netns", "del", name, check=False)
    return True


class FakeHostapd:
    """hostapd's control socket as far as otad uses it: "STA <mac>" answered
    with the station's lines (dot1xAuthSessionUserName = its 802.1X
    identity) or FAIL, as hostapd_ctrl_iface_sta does."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="otad-ctrl-")
        self.path = os.path.join(self.dir, "wlan0")
        self.identities = {}  # "30:ae:..." -> identity, or None: associated without 802.1X
        self.queries = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.running:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            q = data.decode()
            self.queries.append(q)
            mac = q.split()[1] if q.startswith("STA ") else ""
            if mac not in self.identities:
                reply = "FAIL\n"
            else:
                reply = f"{mac}\nflags=[AUTH][ASSOC][AUTHORIZED]\naid=1\n"
                if self.identities[mac] is not None:
                    reply += f"dot1xAuthSessionId=0000000A-00000001\ndot1xAuthSessionUserName={self.identities[mac]}\n"
            self.sock.sendto(reply.encode(), peer)

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@unittest.skipUnless(netns_usable(), "needs root and ip(8) to make network namespaces")
@unittest.skipIf(EMULATED, "qemu-user does not pass rtnetlink neighbour requests on (RTM_GETNEIGH fails with "
                           "EOPNOTSUPP), so an emulated otad refuses every claim with that reason: the safe "
                           "answer, but not the one these tests check")
class VerifyMac(GatewayTest):
    def setUp(self):
        sfx = os.getpid() % 100000
        n = 10 + os.getpid() % 200  # private subnets of this run only
        self.dev_ns, self.far_ns, self.router_ns = f"otd{sfx}", f"otf{sfx}", f"otr{sfx}"
        self.gw_ip, self.dev_ip = f"10.{n}.1.1", f"10.{n}.1.2"
        self.far_ip = f"10.{n}.3.2"
        self.links = [f"ota{sfx}", f"otr{sfx}"]
        self.addCleanup(self.teardown_net)
        for ns in (self.dev_ns, self.far_ns, self.router_ns):
            ip("netns", "add", ns)
        # The device: one hop, its interface MAC the one it will send.
        ip("link", "add", f"ota{sfx}", "type", "veth", "peer", "name", "eth0", "netns", self.dev_ns)
        ip("addr", "add", f"{self.gw_ip}/24", "dev", f"ota{sfx}")
        ip("link", "set", f"ota{sfx}", "up")
        self.ns(self.dev_ns, "ip", "link", "set", "eth0", "address", DEVICE_MAC)
        self.ns(self.dev_ns, "ip", "addr", "add", f"{self.dev_ip}/24", "dev", "eth0")
        self.ns(self.dev_ns, "ip", "link", "set", "eth0", "up")
        # A device behind a router: gateway <-> router <-> far device.
        ip("link", "add", f"otr{sfx}", "type", "veth", "peer", "name", "up0", "netns", self.router_ns)
        ip("addr", "add", f"10.{n}.2.1/24", "dev", f"otr{sfx}")
        ip("link", "set", f"otr{sfx}", "up")
        self.ns(self.router_ns, "ip", "addr", "add", f"10.{n}.2.2/24", "dev", "up0")
        self.ns(self.router_ns, "ip", "link", "set", "up0", "up")
        self.ns(self.router_ns, "ip", "link", "add", "down0", "type", "veth", "peer", "name", "eth0", "netns",
                self.far_ns)
        self.ns(self.router_ns, "ip", "addr", "add", f"10.{n}.3.1/24", "dev", "down0")
        self.ns(self.router_ns, "ip", "link", "set", "down0", "up")
        self.ns(self.router_ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.ns(self.far_ns, "ip", "link", "set", "eth0", "address", DEVICE_MAC)
        self.ns(self.far_ns, "ip", "addr", "add", f"{self.far_ip}/24", "dev", "eth0")
        self.ns(self.far_ns, "ip", "link", "set", "eth0", "up")
        self.ns(self.far_ns, "ip", "route", "add", "default", "via", f"10.{n}.3.1")
        ip("route", "add", f"10.{n}.3.0/24", "via", f"10.{n}.2.2")

    def teardown_net(self):
        for link in self.links:
            ip("link", "del", link, check=False)
        for ns in (self.dev_ns, self.far_ns, self.router_ns):
            ip("netns", "del", ns, check=False)

    def ns(self, name, *cmd, check=True, timeout=30):
        return subprocess.run(["ip", "netns", "exec", name, *cmd], capture_output=True, text=True, check=check,
                              timeout=timeout)

    def gateway_on_all_addresses(self, http=False, mode="neighbour", extra=""):
        g = self.gateway(hold_refused=3)
        text = BASE_CONFIG.format(**g.settings).replace("listen = 127.0.0.1", "listen = 0.0.0.0")
        text = text.replace("[tcpboot]\n", f"[tcpboot]\nverify_mac = {mode}\n") + extra
        if http:
            g.http_port = free_port()
            text += f"[http]\nenabled = yes\nlisten = 0.0.0.0\nport = {g.http_port}\nverify_mac = neighbour\n"
        g.write_config(text)
        return g

    def tcpboot(self, ns, host, mac, image, expect_ok):
        p = self.ns(ns, SIM, "tcpboot", "--host", host, "--port", str(self.g.port), "--devices", "1",
                    "--mac-base", mac.replace(":", ""), "--expect-sha1", hashlib.sha1(image).hexdigest(),
                    "--timeout", "2" if not expect_ok else "20", check=False)
        return p.stdout + p.stderr

    def test_tcpboot_serves_only_the_mac_the_link_layer_shows(self):
        self.g = g = self.gateway_on_all_addresses()
        image = g.add_image(size=100000)
        g.start()
        # The device's own MAC: served.
        self.assertRegex(self.tcpboot(self.dev_ns, self.gw_ip, DEVICE_MAC, image, True), "ok=1 failed=0")
        g.wait_log(rf"{re.escape(self.dev_ip)}:\d+ mac=30aea4041d8c tcpboot: complete: 100000 bytes")
        # Another MAC from the same interface: refused, held, both named.
        self.assertRegex(self.tcpboot(self.dev_ns, self.gw_ip, OTHER_MAC, image, False), "ok=0 failed=1")
        g.wait_log(rf"mac=30aea4041d99 tcpboot: refused: MAC not proven by the link layer: {re.escape(self.dev_ip)} "
                   rf"has link-layer address 30:ae:a4:04:1d:8c but claims MAC 30:ae:a4:04:1d:99 in [\d.]+ s; held open")
        # Its real MAC, but behind a router: nothing to check, refused.
        out = self.tcpboot(self.far_ns, f"10.{self.gw_ip.split('.')[1]}.2.1", DEVICE_MAC, image, False)
        self.assertRegex(out, "ok=0 failed=1")
        g.wait_log(rf"refused: MAC not proven by the link layer: {re.escape(self.far_ip)} \(claiming MAC "
                   rf"30:ae:a4:04:1d:8c\) is not on a directly attached network \(behind a router\)")
        # Unless the operator names that network as one to believe.
        g.write_config(open(g.config).read().replace("[tcpboot]\n", f"[tcpboot]\nverify_mac_exempt = 10.{self.gw_ip.split('.')[1]}.3.0/24\n"))
        g.send(signal.SIGHUP)
        g.wait_log(r"reloaded: ")
        self.assertRegex(self.tcpboot(self.far_ns, f"10.{self.gw_ip.split('.')[1]}.2.1", DEVICE_MAC, image, True),
                         "ok=1 failed=0")
        # A malformed list is refused with its file and line; the running list stays.
        g.write_config(open(g.config).read().replace("verify_mac_exempt = ", "verify_mac_exempt = 10.0.0.0/40 "))
        g.send(signal.SIGHUP)
        g.wait_log(r"otad\.ini:\d+: tcpboot\.verify_mac_exempt: '10\.0\.0\.0/40': the prefix length must be 0\.\.32")
        # Loopback proves nothing either.
        p = subprocess.run([SIM, "tcpboot", "--port", str(g.port), "--devices", "1", "--mac-base", "30aea4041d8c",
                            "--timeout", "2"], capture_output=True, text=True)
        self.assertIn("ok=0 failed=1", p.stdout)
        g.wait_log(r"127\.0\.0\.1 is this host \(loopback\): no link layer proves the MAC 30aea4041d8c")
        # And the device is still served after all that.
        self.assertRegex(self.tcpboot(self.dev_ns, self.gw_ip, DEVICE_MAC, image, True), "ok=1 failed=0")

    def test_plain_http_claims_are_checked_the_same_way(self):
        self.g = g = self.gateway_on_all_addresses(http=True)
        image = g.add_image(size=4096)
        g.start()

        def get(mac):
            p = self.ns(self.dev_ns, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                        f"x-ESP32-STA-MAC: {mac.upper()}", f"http://{self.gw_ip}:{g.http_port}/firmware/demo.bin")
            return p.stdout

        self.assertEqual(get(DEVICE_MAC), "200")
        self.assertEqual(get(OTHER_MAC), "403")
        g.wait_log(r"mac=30aea4041d99 http: GET /firmware/demo\.bin -> 403.*MAC not proven by the link layer: "
                   rf"{re.escape(self.dev_ip)} has link-layer address 30:ae:a4:04:1d:8c but claims MAC 30:ae:a4:04:1d:99")
        del image

    def test_tcpboot_asks_hostapd_who_the_station_logged_in_as(self):
        ctrl = FakeHostapd()
        self.addCleanup(ctrl.close)
        self.g = g = self.gateway_on_all_addresses(mode="hostapd", extra=f"[wpa2]\nhostapd_ctrl = {ctrl.path}\n")
        image = g.add_image(size=100000)
        g.start()
        # Not a station of this access point at all.
        self.assertRegex(self.tcpboot(self.dev_ns, self.gw_ip, DEVICE_MAC, image, False), "ok=0 failed=1")
        g.wait_log(r"refused: MAC not proven by the Wi-Fi login: hostapd has no station 30:ae:a4:04:1d:8c")
        # Logged in, but as someone else.
        ctrl.identities[DEVICE_MAC] = "guest"
        time.sleep(2.1)  # otad keeps hostapd's answers 2 s
        self.assertRegex(self.tcpboot(self.dev_ns, self.gw_ip, DEVICE_MAC, image, False), "ok=0 failed=1")
        g.wait_log(r"logged in to the Wi-Fi as 'guest', not as its MAC")
        # Logged in over 802.1X as its MAC: served.
        ctrl.identities[DEVICE_MAC] = "30aea4041d8c"
        time.sleep(2.1)
        self.assertRegex(self.tcpboot(self.dev_ns, self.gw_ip, DEVICE_MAC, image, True), "ok=1 failed=0")
        self.assertIn(f"STA {DEVICE_MAC}", ctrl.queries)
        # The link layer is still checked first: another MAC from the same
        # interface never reaches hostapd.
        n = len(ctrl.queries)
        self.assertRegex(self.tcpboot(self.dev_ns, self.gw_ip, OTHER_MAC, image, False), "ok=0 failed=1")
        g.wait_log(r"mac=30aea4041d99 tcpboot: refused: MAC not proven by the link layer")
        self.assertEqual(len(ctrl.queries), n)

    def test_a_silent_hostapd_is_a_refusal_not_a_hang(self):
        ctrl = FakeHostapd()
        ctrl.running = False  # bound, never answers
        ctrl.thread.join()
        self.addCleanup(ctrl.close)
        self.g = g = self.gateway_on_all_addresses(mode="hostapd", extra=f"[wpa2]\nhostapd_ctrl = {ctrl.path}\n")
        image = g.add_image(size=4096)
        g.start()
        self.assertRegex(self.tcpboot(self.dev_ns, self.gw_ip, DEVICE_MAC, image, False), "ok=0 failed=1")
        g.wait_log(r"refused: MAC not proven by the Wi-Fi login: hostapd did not answer")


if __name__ == "__main__":
    unittest.main()
