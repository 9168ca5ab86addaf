"""Harness for loopback tests: starts the real otad with a generated config in
a temp directory and talks to it the way devices do. No mocks."""
import hashlib
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

OTAD = os.environ.get("OTAD_BIN", "../../build/otad")
OTACTL = os.environ.get("OTACTL_BIN", "../../build/otactl")
SIM = os.environ.get("OTAD_SIM_BIN", "../../build/otad-sim")


def _mbedtls_version():
    """The mbedTLS otad runs with, from otad --version: (major, minor)."""
    out = subprocess.run([OTAD, "--version"], capture_output=True, text=True).stdout
    m = re.search(r"mbedTLS (\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


MBEDTLS = _mbedtls_version()
# Cross-built and run under qemu-user (contrib/cross.sh): memory figures are
# the emulator's, and it does not hand madvise(MADV_DONTNEED) to the host.
EMULATED = os.environ.get("OTAD_EMULATED") == "1"
TLS13 = "TLS 1.2, 1.3" in subprocess.run([OTAD, "--version"], capture_output=True, text=True).stdout
SOURCE = os.environ.get("OTAD_SOURCE_DIR", "../..")
FIXTURES = os.environ.get("OTAD_FIXTURES", "../../../shared/fixtures/firmware")
OTAD, OTACTL, SIM, SOURCE, FIXTURES = map(os.path.abspath, (OTAD, OTACTL, SIM, SOURCE, FIXTURES))


def _instrumented(path):
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


# A build with -fsanitize=address (contrib/test.sh's second pass): its memory
# accounting is not otad's, so tests that measure RSS skip themselves.
ASAN = _instrumented(OTAD)
SANITIZER_REPORT = re.compile(r"ERROR: (?:AddressSanitizer|LeakSanitizer)|runtime error:")


_PORTS_GIVEN = set()


def free_port():
    """A port otad can listen on a moment later. Not one the kernel hands out
    for port 0: those come from the ephemeral range, where the simulators'
    thousands of client connections (in tests running side by side) take
    their local ports too, so one could occupy it before otad binds. Below
    that range only another test's random pick can collide, and the bind
    check makes that rare. Never the same port twice in one test process:
    the listeners of one config are picked before otad binds any of them,
    so the bind check cannot tell them apart ("two listeners on port N")."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        lo = int(f.read().split()[0])
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(10000, max(lo, 10001))
        if port in _PORTS_GIVEN:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _PORTS_GIVEN.add(port)
        return port
    raise OSError("no free port below the ephemeral range")


def run(*args, check=True, **kw):
    p = subprocess.run(list(args), capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} exited {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def sha1(b):
    return hashlib.sha1(b).hexdigest()


def eventually(what, probe, timeout=10):
    """Polls probe() until it returns something true, and returns it. For a
    state otad reaches on its own time (a transfer begun, a close seen, a
    snapshot written): a fixed sleep is a race on a slow or loaded machine."""
    end = time.time() + timeout
    while True:
        got = probe()
        if got or time.time() >= end:
            break
        time.sleep(0.02)
    if not got:
        raise AssertionError(f"not within {timeout} s: {what}")
    return got


BASE_CONFIG = """[server]
max_connections = {max_connections}
max_per_address = {max_per_address}
shutdown_grace = {shutdown_grace}
log_level = {log_level}
pid_file = {dir}/otad.pid
[catalog]
dir = {dir}/catalog
default_platform = {default_platform}
unknown_devices = {unknown_devices}
[devices]
file = {dir}/devices.ini
[tcpboot]
listen = 127.0.0.1
port = {port}
read_timeout = {read_timeout}
send_timeout = {send_timeout}
hold_refused = {hold_refused}
"""


class Gateway:
    """A temp directory with a config, a catalog and a running otad."""

    def __init__(self, **overrides):
        self.dir = tempfile.mkdtemp(prefix="otad-it-")
        self.port = free_port()
        # Every simulated device connects from 127.0.0.1, where a LAN gives
        # each its own address: the per-address cap is the attack tests' to set.
        self.settings = dict(max_connections=1024, max_per_address=1024, shutdown_grace=30, log_level="info",
                             default_platform="demo", unknown_devices="serve", read_timeout=2,
                             send_timeout=10, hold_refused=0, port=self.port, dir=self.dir)
        self.settings.update(overrides)
        self.config = os.path.join(self.dir, "otad.ini")
        self.write_config()
        self.proc = None
        self.logf = None
        self.log_path = None

    def write_config(self, text=None):
        with open(self.config, "w") as f:
            f.write(text if text is not None else BASE_CONFIG.format(**self.settings))

    def ctl(self, *args, check=True):
        return run(OTACTL, "--config", self.config, *args, check=check)

    def add_image(self, platform="demo", version="1.0.0", size=65536, chip="esp32"):
        path = os.path.join(self.dir, f"{platform}-{version}.bin")
        run(OTACTL, "image", "make", "-o", path, "--chip", chip, "--project", platform,
            "--version", version, "--size", str(size))
        self.ctl("image", "add", path, "--platform", platform, "--version", version)
        with open(path, "rb") as f:
            return f.read()

    def start(self, wait=True):
        self.log_path = os.path.join(self.dir, "otad.log")
        readies = len(re.findall(r"ready:", self.log())) if os.path.exists(self.log_path) else 0
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([OTAD, "--config", self.config], stderr=self.logf,
                                     stdout=self.logf, cwd=self.dir)
        if wait:
            self.wait_log(r"ready:", 10, count=readies + 1)  # this run's, after any earlier run's
        return self

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_log(self, pattern, timeout=10, count=1):
        end = time.time() + timeout
        while time.time() < end:
            if len(re.findall(pattern, self.log())) >= count:
                return
            if self.proc and self.proc.poll() is not None:
                raise AssertionError(f"otad exited {self.proc.returncode} waiting for {pattern!r}:\n{self.log()}")
            time.sleep(0.02)
        raise AssertionError(f"no {count}x {pattern!r} in log within {timeout}s:\n{self.log()[-4000:]}")

    def send(self, sig):
        self.proc.send_signal(sig)

    def stats(self):
        """Asks for a stats line (SIGUSR1) and parses it."""
        n = len(re.findall(r"stats \(SIGUSR1\)", self.log()))
        self.send(signal.SIGUSR1)
        self.wait_log(r"stats \(SIGUSR1\)", count=n + 1)
        line = re.findall(r"stats \(SIGUSR1\): (.*)", self.log())[-1]
        return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.logf:
            self.logf.close()
            self.logf = None
        return self.proc.returncode if self.proc else None

    def cleanup(self, test=None):
        self.stop()
        # A sanitizer build reports to stderr, which is this log; whatever the
        # test asserted, such a report fails it.
        text = self.log() if self.log_path and os.path.exists(self.log_path) else ""
        result = getattr(getattr(test, "_outcome", None), "result", None)
        failed = result is not None and any(t is test for t, _ in result.failures + result.errors)
        if text and failed:
            # A failed test shows what otad said: CI keeps nothing else.
            sys.stderr.write(f"\n--- otad log (last 4000 bytes) of the failed {test.id()}\n{text[-4000:]}\n---\n")
        report = SANITIZER_REPORT.search(text)
        shutil.rmtree(self.dir, ignore_errors=True)
        if report:
            raise AssertionError("otad's sanitizer report:\n" + text[max(0, report.start() - 200):][:6000])

    def sim(self, *args, check=True, timeout=120):
        return run(SIM, "tcpboot", "--port", str(self.port), *args, check=check, timeout=timeout)


def recv_until(s, done=lambda data: False):
    """Reads until the peer closes or done(data) holds. A reset counts as a
    close: a server that closes with unread bytes of ours resets."""
    data = bytearray()
    while not done(data):
        try:
            d = s.recv(1 << 16)
        except ConnectionResetError:
            break
        if not d:
            break
        data += d
    return data


def tcpboot_fetch(port, mac=b"30aea4041d8c", chunks=None, pause=0.0, timeout=10):
    """Talks tcpboot like the ESP32 network bootloader. Returns (size, sha1_hex, body)
    or (None, None, raw) when the gateway closed without a whole reply."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if chunks is None:
            s.sendall(mac)
        else:
            for i in range(0, len(mac), chunks):
                s.sendall(mac[i:i + chunks])
                time.sleep(pause)
        data = recv_until(s, lambda d: len(d) >= 24 and len(d) >= 24 + struct.unpack("<I", d[:4])[0])
        if len(data) < 24:
            return None, None, bytes(data)
        size = struct.unpack("<I", data[:4])[0]
        return size, data[4:24].hex(), bytes(data[24:])
    finally:
        s.close()


class GatewayTest(unittest.TestCase):
    def gateway(self, **kw):
        g = Gateway(**kw)
        self.addCleanup(g.cleanup, self)
        return g
