"""How long the reactor stalls while a reload hashes a new image: a client
asks for a small answer (a 404) back to back on one keep-alive connection and
records each round trip, first with nothing else going on, then while
`otactl image add` of a SIZE-byte image makes otad reload and hash it (a
slice of about 5 ms at a time). Prints both distributions and their ratio.

    python3 bench/reload_stall.py --build build [--size 16777216]
"""
import argparse
import http.client
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import free_port, wait_port  # noqa: E402


def round_trips(port, stop, out):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while not stop.is_set():
        t = time.perf_counter()
        c.request("GET", "/nothing-here")
        c.getresponse().read()
        out.append(time.perf_counter() - t)


def summary(ts):
    ts = sorted(ts)
    return ts[len(ts) // 2] * 1000, ts[int(len(ts) * 0.999) - 1] * 1000, ts[-1] * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--size", type=int, default=16 << 20)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="otad-reload-")
    port = free_port()
    conf = os.path.join(work, "otad.ini")
    with open(conf, "w") as f:
        f.write(f"[server]\npid_file = {work}/otad.pid\nlog_level = info\n[catalog]\ndir = {work}/catalog\n"
                f"max_image_size = {max(a.size, 1 << 20)}\n[devices]\nfile = {work}/d.ini\n"
                f"[tcpboot]\nenabled = no\n[http]\nenabled = yes\nlisten = 127.0.0.1\nport = {port}\n")
    ctl = os.path.join(a.build, "otactl")
    img = os.path.join(work, "big.bin")
    subprocess.run([ctl, "image", "make", "-o", img, "--chip", "esp32", "--project", "demo", "--version", "2.0.0",
                    "--size", str(a.size)], check=True, capture_output=True)
    log = open(os.path.join(work, "otad.log"), "w")
    otad = subprocess.Popen([os.path.join(a.build, "otad"), "--config", conf], stderr=log)
    try:
        wait_port(port)
        time.sleep(0.3)
        base, during = [], []
        stop = threading.Event()
        t = threading.Thread(target=round_trips, args=(port, stop, base))
        t.start()
        time.sleep(3)
        stop.set()
        t.join()
        stop = threading.Event()
        t = threading.Thread(target=round_trips, args=(port, stop, during))
        t.start()
        time.sleep(0.5)
        subprocess.run([ctl, "--config", conf, "image", "add", img, "--platform", "demo"], check=True,
                       capture_output=True)
        time.sleep(0.5)
        stop.set()
        t.join()
        text = open(os.path.join(work, "otad.log")).read()
        hashed = re.search(r"catalog: hashed in ([\d.]+) s", text)
        b, d = summary(base), summary(during)
        print(f"image of {a.size} bytes; otad hashed it in {hashed.group(1) if hashed else '?'} s, a slice at a time")
        print(f"{'':22} {'p50 ms':>8} {'p99.9 ms':>9} {'max ms':>8} {'requests':>9}")
        print(f"{'idle':22} {b[0]:8.3f} {b[1]:9.3f} {b[2]:8.3f} {len(base):9}")
        print(f"{'during the reload':22} {d[0]:8.3f} {d[1]:9.3f} {d[2]:8.3f} {len(during):9}")
        print(f"ratio (reload / idle): max {d[2] / b[2]:.2f}, p99.9 {d[1] / b[1]:.2f}")
        if "reloaded:" not in text:
            sys.exit("otad did not report the reload")
    finally:
        otad.terminate()
        otad.wait()


if __name__ == "__main__":
    main()
