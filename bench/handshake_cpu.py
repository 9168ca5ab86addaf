"""Server CPU per full TLS 1.2 ECDHE-ECDSA handshake: otad built against
mbedTLS 2.28 (Debian bookworm; the server key re-typed as ECDSA so its table
of base-point multiples is built once and kept, src/tls/server_cert.cc)
beside otad built against mbedTLS 3.6 (OpenWrt's; no such re-typing, 3.x
keeps its own tables), same fleet simulator, same certificate, one run.
Each device makes one connection with one HEAD; the server's utime+stime
over the run is divided by the handshakes. Server pinned to core 0,
simulator to core 1.

    python3 bench/handshake_cpu.py --build build --build36 build-mbedtls36 [--devices 400] [--runs 3]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import cpu_s, free_port, pinned, wait_port  # noqa: E402

SUITE = "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256"


def measure(build, sim, work, devices):
    os.makedirs(work, exist_ok=True)
    port = free_port()
    conf = os.path.join(work, "otad.ini")
    with open(conf, "w") as f:
        f.write(f"[server]\nmax_connections = 256\nmax_per_address = 65536\n[catalog]\ndir = {work}/catalog\n[devices]\nfile = {work}/d.ini\n"
                f"[tcpboot]\nenabled = no\n[https]\nenabled = yes\nlisten = 127.0.0.1\nport = {port}\nauth = none\nmax_handshakes_per_address = 65536\n"
                f"cert_file = {work}/tls/server.crt\nkey_file = {work}/tls/server.key\n"
                f"client_ca_file = {work}/tls/ca.crt\ntls_versions = 1.2\n")
    ctl = os.path.join(build, "otactl")
    subprocess.run([ctl, "--config", conf, "ca", "init"], check=True, capture_output=True)
    img = os.path.join(work, "demo.bin")
    subprocess.run([ctl, "image", "make", "-o", img, "--chip", "esp32", "--project", "demo", "--version", "1.0.0",
                    "--size", "4096"], check=True, capture_output=True)
    subprocess.run([ctl, "--config", conf, "image", "add", img, "--platform", "demo"], check=True,
                   capture_output=True)
    proc = subprocess.Popen(pinned([os.path.join(build, "otad"), "--config", conf], 0), stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        before = cpu_s([proc.pid])
        p = subprocess.run(pinned([sim, "https", "--port", str(port), "--path", "/firmware/demo.bin",
                                   "--devices", str(devices), "--head-only", "--suite", SUITE,
                                   "--ca", f"{work}/tls/ca.crt"], 1), capture_output=True, text=True, timeout=600)
        used = cpu_s([proc.pid]) - before
        ok = int(re.search(r"ok=(\d+)", p.stdout).group(1))
        if ok != devices:
            raise SystemExit(f"{build}: only {ok} of {devices} handshakes succeeded:\n{p.stdout}{p.stderr[-500:]}")
        return used / devices * 1000
    finally:
        proc.terminate()
        proc.wait(30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--build36", default="build-mbedtls36")
    ap.add_argument("--devices", type=int, default=400)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    sim = os.path.join(a.build, "otad-sim")
    work = tempfile.mkdtemp(prefix="otad-hs-")
    try:
        res = {"2.28": [], "3.6": []}
        for r in range(a.runs):  # interleaved, so drift hits both alike
            res["2.28"].append(measure(a.build, sim, f"{work}/a{r}", a.devices))
            res["3.6"].append(measure(a.build36, sim, f"{work}/b{r}", a.devices))
        med = {k: sorted(v)[len(v) // 2] for k, v in res.items()}
        for k, v in res.items():
            print(f"otad + mbedTLS {k}: {med[k]:.2f} ms server CPU per ECDHE-ECDSA handshake "
                  f"(runs {', '.join(f'{x:.2f}' for x in v)}; {a.devices} handshakes each)")
        print(f"ratio 3.6 / 2.28: {med['3.6'] / med['2.28']:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
