"""HTTP and HTTPS side by side: otad, nginx (worker_processes 1, sendfile,
OpenSSL) and lighttpd with mod_mbedtls (the same TLS library as otad), same
1 MiB image, same certificate, same fleet simulator, one run.

Scenarios: plain HTTP GET (also with the server held to 2% of a core by a cgroup
CPU quota, so that it and not the client sets the pace); HTTPS GET with TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256
(server certificate only, what all three can do); HTTPS GET with TLS-PSK (otad
only: neither peer does per-device PSK); both again with the simulator counting
the body's TLS records without decrypting them (sizes checked, content not); the esp_https_ota pattern (HEAD, then
64 KiB ranges on one keep-alive connection) over HTTPS; and handshakes per
second (one HEAD per connection). Server pinned to core 0, simulator to core 1.
"""
import argparse
import hashlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import cpu_s, free_port, hwm_kib, pinned, proc_tree, run_sim, start_nginx, wait_port  # noqa: E402

ECDSA = "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256"
PSK = "TLS-PSK-WITH-AES-128-GCM-SHA256"
# What curl offers: AES-GCM alone (every server pays the same cipher), or
# both AEADs in OpenSSL's own order, leaving the choice to the server.
CURL_AES = "ECDHE-ECDSA-AES128-GCM-SHA256"
CURL_BOTH = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305"


class Server:
    def __init__(self, work, tls):
        self.work, self.tls = work, tls
        os.makedirs(work, exist_ok=True)

    def pids(self):
        return proc_tree(self.proc.pid)

    def docroot(self, image):
        """For the peers: the image as a static file at /firmware/demo.bin."""
        os.makedirs(os.path.join(self.work, "www/firmware"), exist_ok=True)
        shutil.copy(image, os.path.join(self.work, "www/firmware/demo.bin"))


class Otad(Server):
    name = "otad"

    def __init__(self, work, b, image, tls):
        super().__init__(work, tls)
        self.b = b
        self.conf = os.path.join(work, "otad.ini")
        self.write(1, 2, "none")
        subprocess.run([os.path.join(b, "otactl"), "--config", self.conf, "image", "add", image], check=True,
                       capture_output=True)

    def write(self, http_port, https_port, auth):
        t = self.tls
        with open(self.conf, "w") as f:
            # log_level stays at its default, info: one line per download, as
            # nginx writes its access log.
            f.write(f"[server]\nmax_connections = 1100\nlisten_backlog = 4096\nmax_per_address = 65536\n"
                    f"[catalog]\ndir = {self.work}/catalog\ndefault_platform = demo\n"
                    f"[devices]\nfile = {t['devices']}\n[tcpboot]\nenabled = no\n"
                    f"[http]\nenabled = yes\nlisten = 127.0.0.1\nport = {http_port}\n"
                    f"[https]\nenabled = yes\nlisten = 127.0.0.1\nport = {https_port}\nauth = {auth}\nmax_handshakes_per_address = 65536\n"
                    f"cert_file = {t['crt']}\nkey_file = {t['key']}\nclient_ca_file = {t['ca']}\n"
                    f"max_tls_connections = 600\nhandshake_timeout = 60\n")

    def start(self, auth="none"):
        self.http, self.https = free_port(), free_port()
        self.write(self.http, self.https, auth)
        self.log = open(os.path.join(self.work, "otad.log"), "a")
        self.proc = subprocess.Popen(pinned([os.path.join(self.b, "otad"), "--config", self.conf], 0),
                                     stderr=self.log)
        wait_port(self.https)
        time.sleep(0.1)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        self.log.close()


class Nginx(Server):
    name = "nginx"

    def __init__(self, work, image, tls):
        super().__init__(work, tls)
        self.docroot(image)
        os.makedirs(os.path.join(work, "tmp"), exist_ok=True)

    def start(self, auth="none"):
        w, t = self.work, self.tls
        self.http, self.https = free_port(), free_port()
        self.proc = start_nginx(w, f"""  server {{ listen 127.0.0.1:{self.http} backlog=4096; root {w}/www; }}
  server {{ listen 127.0.0.1:{self.https} ssl backlog=4096; root {w}/www;
           ssl_certificate {t['crt']}; ssl_certificate_key {t['key']}; ssl_protocols TLSv1.2;
           ssl_session_cache shared:SSL:1m; }}""")
        wait_port(self.https)
        time.sleep(0.1)

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        self.proc.wait(30)


class Lighttpd(Server):
    name = "lighttpd+mbedtls"

    def __init__(self, work, image, tls):
        super().__init__(work, tls)
        self.docroot(image)

    def start(self, auth="none"):
        w, t = self.work, self.tls
        self.http, self.https = free_port(), free_port()
        conf = os.path.join(w, "lighttpd.conf")
        with open(conf, "w") as f:
            f.write(f"""server.modules = ("mod_mbedtls")
server.document-root = "{w}/www"
server.bind = "127.0.0.1"
server.port = {self.http}
server.errorlog = "{w}/error.log"
server.max-fds = 8192
server.max-connections = 4096
server.listen-backlog = 4096
server.pid-file = "{w}/lighttpd.pid"
$SERVER["socket"] == "127.0.0.1:{self.https}" {{
  ssl.engine = "enable"
  ssl.pemfile = "{t['crt']}"
  ssl.privkey = "{t['key']}"
}}
""")
        self.proc = subprocess.Popen(pinned(["lighttpd", "-D", "-f", conf], 0), stderr=subprocess.DEVNULL)
        wait_port(self.https)
        time.sleep(0.1)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)


def negotiated(port, ca, ciphers):
    """The suite a server picks from this offer (one openssl handshake)."""
    p = subprocess.run(["openssl", "s_client", "-tls1_2", "-cipher", ciphers, "-CAfile", ca,
                        "-connect", f"127.0.0.1:{port}"], input=b"", capture_output=True, timeout=20)
    m = re.search(rb"Cipher is (\S+)", p.stdout)
    return m.group(1).decode() if m else "?"


def cipher_of(suite):
    """The otad-cipher-speed key for a negotiated suite ("" when the client offered AES-GCM only)."""
    return "chacha20poly1305" if "CHACHA" in suite else "aes128gcm"


def run_curl(port, n, ca, conns=None, ciphers=CURL_AES):
    """A server-bound client: one curl process, n parallel HTTPS transfers,
    OpenSSL (AES-NI) doing the client's crypto far faster than any server
    here does its own. Checks status and size of every transfer (hashes are
    verified by the otad-sim scenarios)."""
    url = f"https://127.0.0.1:{port}/firmware/demo.bin?n=[1-{n}]"
    t0 = time.time()
    p = subprocess.run(pinned(["curl", "-s", "--parallel", "--parallel-immediate", "--parallel-max", str(conns or n),
                               "--tlsv1.2", "--tls-max", "1.2", "--ciphers", ciphers,
                               "--cacert", ca, "-o", "/dev/null", "-w", "%{http_code} %{size_download}\n", url], 1),
                       capture_output=True, text=True, timeout=600)
    wall = time.time() - t0
    rows = [l.split() for l in p.stdout.splitlines() if l.strip()]
    ok = sum(1 for r in rows if r == ["200", str(1 << 20)])
    if ok != n:
        raise SystemExit(f"curl: {ok} of {n} transfers complete\n{p.stderr[-500:]}")
    return {"throughput_MBps": n * (1 << 20) / 1e6 / wall, "conn_per_s": n / wall, "p99_ms": wall * 1000,
            "bytes": n * (1 << 20)}


class CpuCap:
    """A cgroup holding the server to a fraction of one core: a router's CPU
    budget, applied to every server alike, so that the server and not the
    client sets the pace. cgroup v1 (cpu controller) or v2; None if neither
    can be written here."""

    def __init__(self, percent):
        name = f"otad-bench-{os.getpid()}"
        quota = int(100000 * percent / 100)
        for root, limit, value in (("/sys/fs/cgroup/cpu", "cpu.cfs_quota_us", str(quota)),
                                   ("/sys/fs/cgroup", "cpu.max", f"{quota} 100000")):
            d = os.path.join(root, name)
            try:
                os.makedirs(d, exist_ok=True)
                with open(os.path.join(d, limit), "w") as f:
                    f.write(value)
                self.dir = d
                return
            except OSError:
                try:
                    os.rmdir(d)
                except OSError:
                    pass
        raise OSError("no writable cgroup cpu controller")

    def add(self, pids):
        for pid in pids:
            with open(os.path.join(self.dir, "cgroup.procs"), "w") as f:
                f.write(str(pid))

    def remove(self):
        for _ in range(50):
            try:
                os.rmdir(self.dir)
                return
            except OSError:
                time.sleep(0.1)


def cipher_speed(b, secs):
    """Single-core mbedTLS AES-128-GCM and ChaCha20-Poly1305 MB/s on the server's core."""
    out = subprocess.run(pinned([os.path.join(b, "otad-cipher-speed"), str(secs)], 0), capture_output=True,
                         text=True).stdout
    speeds = {k: float(v) for k, v in re.findall(r"(\w+)_MBps=([\d.]+)", out)}
    if "aes128gcm" not in speeds:
        raise SystemExit("otad-cipher-speed did not run (build it: bench/run.sh https)")
    return speeds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--n", type=int, nargs="*", default=[100, 500])
    ap.add_argument("--only", default="", help="run only scenarios whose name contains this")
    a = ap.parse_args()
    for tool in ("nginx", "lighttpd"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found (bench/run.sh installs it)")
    work = tempfile.mkdtemp(prefix="otad-bench-https-")
    try:
        b = os.path.abspath(a.build)
        otactl, sim = os.path.join(b, "otactl"), os.path.join(b, "otad-sim")
        image = os.path.join(work, "demo.bin")
        subprocess.run([otactl, "image", "make", "-o", image, "--size", str(1 << 20)], check=True, capture_output=True)
        with open(image, "rb") as f:
            sha1 = hashlib.sha1(f.read()).hexdigest()
        # One CA and server certificate for all three servers; one PSK device for otad.
        tconf = os.path.join(work, "tls.ini")
        tls = {"ca": f"{work}/tls/ca.crt", "crt": f"{work}/tls/server.crt", "key": f"{work}/tls/server.key",
               "devices": f"{work}/devices.ini"}
        with open(tconf, "w") as f:
            f.write(f"[devices]\nfile = {tls['devices']}\n[https]\ncert_file = {tls['crt']}\n"
                    f"key_file = {tls['key']}\nclient_ca_file = {tls['ca']}\n")
        subprocess.run([otactl, "--config", tconf, "ca", "init"], check=True, capture_output=True)
        out = subprocess.run([otactl, "--config", tconf, "device", "add", "30aea4041d8c", "--psk"], check=True,
                             capture_output=True, text=True).stdout
        psk = re.search(r"key:\s+([0-9a-f]+)", out).group(1)
        speeds = cipher_speed(b, 1.0)

        servers = [Otad(f"{work}/otad", b, image, tls), Nginx(f"{work}/nginx", image, tls),
                   Lighttpd(f"{work}/lighttpd", image, tls)]
        path = ["--path", "/firmware/demo.bin", "--expect-sha1", sha1]
        ecdsa = ["--ca", tls["ca"], "--suite", ECDSA]
        scenarios = []
        for n in a.n:
            scenarios.append((f"HTTP GET", n, "http", ["--devices", str(n), *path], servers, "none"))
        # With sendfile the servers hardly work and the client's SHA-1 sets the
        # pace above. Capped at 2% of a core, with a client that drops bodies
        # in the kernel, each server's own cost per download decides.
        for n in a.n:
            scenarios.append((f"HTTP GET, server at 2% CPU", n, "http-capped",
                              ["--devices", str(n), "--path", "/firmware/demo.bin", "--verify", "discard"], servers,
                              "none"))
        # Server CPU per plain download (1,000 devices, client discarding),
        # from the kernel's nanosecond run-time count.
        scenarios.append(("HTTP GET, CPU per download", 1000, "http",
                          ["--devices", "1000", "--path", "/firmware/demo.bin", "--verify", "discard"], servers,
                          "none"))
        for n in a.n:
            scenarios.append(("HTTPS ECDHE-ECDSA GET", n, "https", ["--devices", str(n), *path, *ecdsa], servers, "none"))
        for n in a.n:
            scenarios.append((f"HTTPS PSK GET", n, "https",
                              ["--devices", str(n), *path, "--psk-identity", "30aea4041d8c", "--psk", psk,
                               "--suite", PSK], servers[:1], "psk"))
        # The same two with a client that counts the body's records without
        # decrypting them: the simulator's mbedTLS decrypts no faster than the
        # server encrypts, so above it, not the server, sets the pace.
        for n in a.n:
            scenarios.append(("HTTPS ECDHE-ECDSA, discard", n, "https",
                              ["--devices", str(n), "--path", "/firmware/demo.bin", "--expect-size", str(1 << 20),
                               "--verify", "discard", *ecdsa], servers, "none"))
        for n in a.n:
            scenarios.append(("HTTPS PSK, discard", n, "https",
                              ["--devices", str(n), "--path", "/firmware/demo.bin", "--expect-size", str(1 << 20),
                               "--verify", "discard", "--psk-identity", "30aea4041d8c", "--psk", psk,
                               "--suite", PSK], servers[:1], "psk"))
        for n in a.n:
            scenarios.append(("HTTPS GET, curl client", n, "curl", [], servers, "none"))
        # The encrypted data path with handshakes amortised: 10 keep-alive
        # connections carry 300 downloads (a few seconds of steady state, so
        # client start-up and the last stragglers weigh little).
        scenarios.append(("HTTPS sustained, 10 conns, curl", 300, "curl10", [], servers, "none"))
        # The same with curl offering AES-GCM and ChaCha20-Poly1305, as
        # clients do: each server picks by its own rule (otad: the cipher it
        # timed faster at start; nginx: the client's order; lighttpd: its list).
        scenarios.append(("HTTPS sustained, server picks", 300, "curl10-both", [], servers, "none"))
        scenarios.append(("HTTPS esp_https_ota 64K ranges", 100, "https",
                          ["--devices", "100", *path, *ecdsa, "--ranges", "65536"], servers, "none"))
        scenarios.append(("HTTPS handshakes (HEAD)", 300, "https",
                          ["--devices", "300", "--path", "/firmware/demo.bin", "--head-only", *ecdsa], servers, "none"))
        # Devices that take no tickets (BearSSL) and resume by session ID: one
        # device's session, saved right after the server starts, offered by
        # all 300 (the server's work per resumption is the same whoever asks).
        sess = os.path.join(work, "session.bin")
        scenarios.append(("HTTPS resumed by session ID", 300, "https-resume",
                          ["--devices", "300", "--path", "/firmware/demo.bin", "--head-only", *ecdsa,
                           "--session-in", sess], servers, "none"))
        results = []
        picked = {}  # (scenario, server) -> suite negotiated, where the server chose
        scenarios = [sc for sc in scenarios if a.only in sc[0]]
        for name, n, scheme, args, who, auth in scenarios:
            reps = {s.name: [] for s in who}
            for _ in range(a.reps):
                for s in who:
                    # otad's HTTPS runs are set against the cipher's speed measured
                    # on the same core just before and just after, not at start-up.
                    paired = s.name == "otad" and name.startswith("HTTPS")
                    offer = CURL_BOTH if scheme == "curl10-both" else CURL_AES
                    before = cipher_speed(b, 0.5) if paired else {}
                    s.start(auth)
                    if scheme == "curl10-both":
                        picked[(name, s.name)] = negotiated(s.https, tls["ca"], offer)
                    # The cipher this run's data went through, for the ratio.
                    cipher = cipher_of(picked.get((name, s.name), ""))
                    pids = s.pids()
                    cap = None
                    if scheme == "http-capped":
                        try:
                            cap = CpuCap(2)
                        except OSError as e:
                            raise SystemExit(f"{name}: {e} (run as root, or leave it out with --only)")
                        cap.add(pids)
                    if scheme == "https-resume":
                        run_sim(sim, ["https", "--port", str(s.https), "--devices", "1", "--path", "/firmware/demo.bin",
                                      "--head-only", *ecdsa, "--session-out", sess])
                    c0 = cpu_s(pids)
                    port = s.https if scheme.startswith(("https", "curl")) else s.http
                    if scheme.startswith("curl"):
                        m = run_curl(port, n, tls["ca"], 10 if scheme.startswith("curl10") else None, offer)
                    else:
                        m = run_sim(sim, [scheme.split("-")[0], "--port", str(port), *args], timeout=900)
                    m["cpu_s"] = cpu_s(pids) - c0
                    m["rss_kib"] = hwm_kib(pids)
                    s.stop()
                    if cap:
                        cap.remove()
                    if paired:
                        m["cipher_MBps"] = (before[cipher] + cipher_speed(b, 0.5)[cipher]) / 2
                        m["of_cipher"] = m["throughput_MBps"] / m["cipher_MBps"]
                    reps[s.name].append(m)
            for s in who:
                r = reps[s.name]
                med = {k: statistics.median(x[k] for x in r) for k in r[0]}
                if "of_cipher" in med:
                    med["of_cipher_range"] = (min(x["of_cipher"] for x in r), max(x["of_cipher"] for x in r))
                med["cipher"] = cipher_of(picked.get((name, s.name), ""))
                results.append((name, n, s.name, med))
        print(f"\n1 MiB image, every download verified (SHA-1); median of {a.reps} runs; server on core 0, "
              f"simulator on core 1.\nSingle-core mbedTLS here: AES-128-GCM {speeds.get('aes128gcm', 0):.0f} MB/s, "
              f"ChaCha20-Poly1305 {speeds.get('chacha20poly1305', 0):.0f} MB/s.\n")
        print(f"| {'scenario':<31} | {'N':>4} | {'server':<16} | {'MB/s':>7} | {'conn/s':>7} | {'p99 ms':>8} | "
              f"{'peak RSS KiB':>12} | {'CPU s':>6} |")
        print("|" + "-" * 33 + "|------|" + "-" * 18 + "|---------|---------|----------|--------------|--------|")
        for name, n, who, r in results:
            print(f"| {name:<31} | {n:>4} | {who:<16} | {r['throughput_MBps']:>7.1f} | {r['conn_per_s']:>7.1f} | "
                  f"{r['p99_ms']:>8.0f} | {r['rss_kib']:>12.0f} | {r['cpu_s']:>6.2f} |")
        print("\nRatios (otad / peer):\n")
        print(f"| {'scenario':<31} | {'N':>4} | {'peer':<16} | {'MB/s':>6} | {'conn/s':>6} | {'RSS':>6} | "
              f"{'CPU':>6} |")
        print("|" + "-" * 33 + "|------|" + "-" * 18 + "|--------|--------|--------|--------|")
        by = {(nm, n, w): r for nm, n, w, r in results}
        for name, n, who, r in results:
            if who == "otad" or (name, n, "otad") not in by:
                continue
            o = by[(name, n, "otad")]
            q = lambda k: o[k] / r[k] if r[k] else float("nan")  # noqa: E731
            print(f"| {name:<31} | {n:>4} | {who:<16} | {q('throughput_MBps'):>6.2f} | {q('conn_per_s'):>6.2f} | "
                  f"{q('rss_kib'):>6.2f} | {q('cpu_s'):>6.2f} |")
        for name, n, who, r in results:
            if "resumed" in r:
                print(f"{name}: {who} resumed {r['resumed']:.0f} of {n} handshakes")
        for (name, who), suite in picked.items():
            print(f"{name}: {who} chose {suite} from curl's offer {CURL_BOTH}")
        # What one core can reach at best when every 1 MiB download pays a full
        # ECDHE-ECDSA handshake: cipher time / (cipher time + handshake time).
        for name, n, who, r in results:
            if name == "HTTP GET, CPU per download":
                print(f"{who}: {r['cpu_s'] / n * 1e6:.0f} µs of server CPU per plain 1 MiB download")
        hs = by.get(("HTTPS handshakes (HEAD)", 300, "otad"))
        hs_ms = hs["cpu_s"] / 300 * 1000 if hs else None
        if hs_ms:
            print(f"otad: {hs_ms:.1f} ms of server CPU per ECDHE-ECDSA handshake (HEAD scenario)")
        for name, n, who, r in results:
            if "of_cipher" in r and r.get("bytes"):
                lo, hi = r["of_cipher_range"]
                cname = {"aes128gcm": "AES-128-GCM", "chacha20poly1305": "ChaCha20-Poly1305"}[r["cipher"]]
                print(f"otad {name} N={n}: {r['of_cipher']:.2f} of single-core {cname} speed (runs "
                      f"{lo:.2f}-{hi:.2f}, cipher {r['cipher_MBps']:.0f} MB/s alongside); server CPU "
                      f"{r['cpu_s'] / (r['bytes'] / 1e6) * 1000:.1f} ms per MB, handshakes included")
                # (Not for curl: it shares TLS sessions between its transfers, so
                # most of its connections resume without the ECDSA and ECDHE work.)
                if hs_ms and "ECDHE-ECDSA" in name:
                    data_ms = (1 << 20) / 1e6 / r["cipher_MBps"] * 1000
                    print(f"    a full handshake per 1 MiB download caps one core at "
                          f"{data_ms / (data_ms + hs_ms):.2f} of cipher speed")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
