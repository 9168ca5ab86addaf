#!/usr/bin/env python3
"""A fleet reboot, side by side: 1,000 devices ask for their update at the
same instant (a power cut ends), over tcpboot and over HTTP (the Arduino
/update endpoint), against otad with [admission] max_downloads = 50 and
against the same otad with no cap. HTTP devices that get 503 come back after
the Retry-After they were given; tcpboot devices are held open and served
in turn. Prints, per protocol and setting: time until every device has its
image (each verified by SHA-1), the server's peak RSS (VmHWM), the number of
503s and the server's CPU; then the ratios capped/uncapped, and the
decision's cost per request (otad-decide-cost: 10,000 registered devices,
100 images) against the server CPU one download costs.

Usage: bench/fleet_reboot.py --build DIR [--devices N] [--size BYTES] [--reps R]
"""
import argparse
import asyncio
import hashlib
import os
import resource
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

CONFIG = """[server]
max_connections = {conns}
max_per_address = 65536
log_level = warn
pid_file = {dir}/otad.pid
send_buffer = {send_buffer}
[catalog]
dir = {dir}/catalog
default_platform = demo
[devices]
file = {dir}/devices.ini
[tcpboot]
listen = 127.0.0.1
port = {tcp_port}
[http]
enabled = yes
listen = 127.0.0.1
port = {http_port}
max_requests = 1
[admission]
max_downloads = {cap}
retry_after = {retry_after}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_figures(pid):
    with open(f"/proc/{pid}/status") as f:
        hwm = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return hwm, cpu


async def read_sha1(r, n, what):
    """Reads n body bytes; their SHA-1."""
    h = hashlib.sha1()
    while n:
        chunk = await r.read(min(n, 1 << 16))
        if not chunk:
            raise RuntimeError(f"{what}: closed early")
        h.update(chunk)
        n -= len(chunk)
    return h.hexdigest()


async def tcpboot_device(port, mac, want_sha1, stats):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(mac)
    await w.drain()
    head = await r.readexactly(24)
    got = await read_sha1(r, struct.unpack("<I", head[:4])[0], "tcpboot")
    if got != want_sha1 or head[4:24].hex() != want_sha1:
        raise RuntimeError("tcpboot: wrong bytes")
    w.close()
    stats["served"] += 1


async def http_device(port, mac, want_sha1, stats):
    while True:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write((f"GET /update HTTP/1.1\r\nHost: gw\r\nUser-Agent: ESP32-http-Update\r\n"
                 f"x-ESP32-STA-MAC: {mac}\r\nx-ESP32-version: 0.9.0\r\nConnection: close\r\n\r\n").encode())
        await w.drain()
        head = await r.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:] if l)}
        if status == 503:
            stats["503"] += 1
            w.close()
            await asyncio.sleep(float(hdrs.get("retry-after", "1")))
            continue
        if status != 200:
            raise RuntimeError(f"http: {status}")
        got = await read_sha1(r, int(hdrs["content-length"]), "http")
        w.close()
        if got != want_sha1:
            raise RuntimeError("http: wrong bytes")
        stats["served"] += 1
        return


async def fleet(proto, port, n, want_sha1):
    stats = {"served": 0, "503": 0}
    devs = []
    for i in range(n):
        mac = "24%010x" % i
        if proto == "tcpboot":
            devs.append(tcpboot_device(port, mac.encode(), want_sha1, stats))
        else:
            devs.append(http_device(port, mac, want_sha1, stats))
    t0 = time.monotonic()
    await asyncio.gather(*devs)
    return time.monotonic() - t0, stats


def one_run(args, proto, cap, image_path, want_sha1):
    d = tempfile.mkdtemp(prefix="otad-fleet-bench-")
    try:
        tcp_port, http_port = free_port(), free_port()
        cfg = os.path.join(d, "otad.ini")
        with open(cfg, "w") as f:
            f.write(CONFIG.format(dir=d, conns=args.devices + 100, tcp_port=tcp_port, http_port=http_port, cap=cap,
                                  retry_after=args.retry_after, send_buffer=args.send_buffer))
        ctl = os.path.join(args.build, "otactl")
        subprocess.run([ctl, "--config", cfg, "image", "add", image_path, "--platform", "demo", "--version", "1.0.0"],
                       check=True, capture_output=True)
        log = open(os.path.join(d, "otad.log"), "wb")
        p = subprocess.Popen(["taskset", "-c", "0", os.path.join(args.build, "otad"), "--config", cfg],
                             stderr=log, stdout=log)
        for _ in range(200):
            if os.path.exists(os.path.join(d, "otad.pid")):
                break
            time.sleep(0.02)
        elapsed, stats = asyncio.run(fleet(proto, tcp_port if proto == "tcpboot" else http_port, args.devices,
                                           want_sha1))
        hwm, cpu = proc_figures(p.pid)
        p.terminate()
        p.wait(30)
        log.close()
        if stats["served"] != args.devices:
            raise RuntimeError(f"{stats['served']} of {args.devices} served")
        return {"s": elapsed, "rss": hwm, "503": stats["503"], "cpu": cpu}
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--size", type=int, default=1 << 20)
    ap.add_argument("--cap", type=int, default=50)
    ap.add_argument("--retry-after", type=int, default=2)
    ap.add_argument("--send-buffer", type=int, default=65536)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    work = tempfile.mkdtemp(prefix="otad-fleet-img-")
    image = os.path.join(work, "demo.bin")
    subprocess.run([os.path.join(args.build, "otactl"), "image", "make", "-o", image, "--size", str(args.size),
                    "--project", "demo", "--version", "1.0.0"], check=True, capture_output=True)
    want = hashlib.sha1(open(image, "rb").read()).hexdigest()
    print(f"{args.devices} devices at once, {args.size} byte image, every image verified (SHA-1); "
          f"median of {args.reps} runs; otad pinned to core 0; send_buffer {args.send_buffer}; "
          f"retry_after {args.retry_after} s (jittered +-50%).\n")
    rows = {}
    for proto in ("tcpboot", "http"):
        for cap in (args.cap, 0):
            runs = []
            for _ in range(args.reps):
                runs.append(one_run(args, proto, cap, image, want))
            rows[(proto, cap)] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print("| protocol | max_downloads | all served s | peak RSS KiB | 503s | server CPU s |")
    print("|----------|---------------|--------------|--------------|------|--------------|")
    for (proto, cap), r in rows.items():
        print(f"| {proto:8} | {cap if cap else 'no cap':>13} | {r['s']:12.2f} | {r['rss']:12} | {int(r['503']):4} | "
              f"{r['cpu']:12.2f} |")
    print("\nRatios capped/uncapped (time, RSS, CPU):")
    for proto in ("tcpboot", "http"):
        a, b = rows[(proto, args.cap)], rows[(proto, 0)]
        print(f"  {proto:8} time {a['s'] / b['s']:.2f}  peak RSS {a['rss'] / b['rss']:.2f}  CPU "
              f"{(a['cpu'] / b['cpu']) if b['cpu'] else float('nan'):.2f}")
    out = subprocess.run([os.path.join(args.build, "otad-decide-cost"), "10000", "1000000"], check=True,
                         capture_output=True, text=True).stdout
    cost = dict(l.split() for l in out.splitlines())
    per_download_us = rows[("http", 0)]["cpu"] / args.devices * 1e6
    print(f"\nDecision per request: {float(cost['decision_us']):.2f} us (with the fleet's bookkeeping "
          f"{float(cost['decision_with_state_us']):.2f} us), 10,000 registered devices, 100 images.")
    print(f"Server CPU per {args.size} byte HTTP download (uncapped run): {per_download_us:.0f} us; "
          f"decision/download = {float(cost['decision_with_state_us']) / per_download_us:.4f}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
