#!/usr/bin/env python3
"""otad's memory as a router sees it: peak during start (VmHWM), idle RSS
and private dirty memory (smaps_rollup) after start, and the private memory
each stalled tcpboot, plain-HTTP and TLS download costs, from the slope
between 100 and 500 such connections (and the total with 500 TLS downloads).
A stalled download holds its slot, its buffers and, for TLS, its context,
the worst case for memory. --run-prefix runs otad under an emulator
(qemu-user maps the guest's memory into its own, so slopes are the guest's;
absolute figures then include the emulator).

Usage: bench/footprint.py --otad PATH --otactl PATH [--run-prefix "qemu-arm-static -L /usr/arm-linux-gnueabihf"]
"""
import argparse
import os
import shlex
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

CONFIG = """[server]
max_connections = 1200
max_per_address = 65536
log_level = warn
pid_file = {d}/otad.pid
send_buffer = 16384
[catalog]
dir = {d}/catalog
default_platform = demo
[tcpboot]
listen = 127.0.0.1
port = {tcp}
[http]
enabled = yes
listen = 127.0.0.1
port = {http}
[https]
enabled = yes
listen = 127.0.0.1
port = {https}
auth = none
cert_file = {d}/tls/server.crt
key_file = {d}/tls/server.key
client_ca_file = {d}/tls/ca.crt
max_tls_connections = 600
max_handshakes = 64
max_handshakes_per_address = 65536
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mem(pid):
    """(VmHWM, VmRSS, Private_Dirty) in KiB."""
    st = {l.split(":")[0]: int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith(("VmHWM", "VmRSS"))}
    pd = sum(int(l.split()[1]) for l in open(f"/proc/{pid}/smaps_rollup") if l.startswith("Private_Dirty"))
    return st["VmHWM"], st["VmRSS"], pd


def stall(kind, ports, n, ctx):
    """n connections downloading the 1 MiB image without reading it."""
    socks = []
    for i in range(n):
        if kind == "tcpboot":
            s = socket.create_connection(("127.0.0.1", ports["tcp"]))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"%012x" % (0x240000000000 + i))
        else:
            s = socket.create_connection(("127.0.0.1", ports[kind]))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            if kind == "https":
                s = ctx.wrap_socket(s, server_hostname="localhost")
            s.sendall(b"GET /firmware/demo.bin HTTP/1.1\r\nHost: gw\r\n\r\n")
        socks.append(s)
    return socks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--otad", required=True)
    ap.add_argument("--otactl", required=True)
    ap.add_argument("--run-prefix", default="")
    a = ap.parse_args()
    prefix = shlex.split(a.run_prefix)
    d = tempfile.mkdtemp(prefix="otad-fp-")
    try:
        ports = {"tcp": free_port(), "http": free_port(), "https": free_port()}
        cfg = os.path.join(d, "otad.ini")
        with open(cfg, "w") as f:
            f.write(CONFIG.format(d=d, **ports))
        # otactl is the host's: it only writes the files otad reads.
        ctl = [a.otactl, "--config", cfg]
        img = os.path.join(d, "demo.bin")
        subprocess.run([a.otactl, "image", "make", "-o", img, "--project", "demo", "--version", "1.0.0",
                                 "--size", "1048576"], check=True, capture_output=True)
        subprocess.run(ctl + ["image", "add", img], check=True, capture_output=True)
        subprocess.run(ctl + ["ca", "init"], check=True, capture_output=True)
        subprocess.run(["sync"])  # freshly written pages read as dirty until written back
        log = open(os.path.join(d, "otad.log"), "wb")
        p = subprocess.Popen(prefix + [a.otad, "--config", cfg], stdout=log, stderr=log)
        for _ in range(600):
            if os.path.exists(os.path.join(d, "otad.pid")):
                break
            time.sleep(0.05)
        time.sleep(2)
        hwm, rss, pd = mem(p.pid)
        print(f"start peak (VmHWM) {hwm} KiB; idle RSS {rss} KiB; idle private dirty {pd} KiB")
        ctx = ssl.create_default_context(cafile=os.path.join(d, "tls/ca.crt"))
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # as the fleet's ESP32/ESP8266 devices
        for kind in ("tcpboot", "http", "https"):
            at = {}
            for n in (100, 500):
                socks = stall(kind, {"tcp": ports["tcp"], "http": ports["http"], "https": ports["https"]}, n, ctx)
                time.sleep(1.5)
                at[n] = mem(p.pid)
                for s in socks:
                    s.close()
                time.sleep(1.5)
            per = (at[500][2] - at[100][2]) * 1024 / 400
            print(f"{kind:8} private per connection {per:8.0f} bytes; with 500: RSS {at[500][1]} KiB, "
                  f"private dirty {at[500][2]} KiB")
        p.terminate()
        p.wait(30)
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
