"""Uploads over the admin API, side by side with the disk: a 4 MiB image
POSTed to otad (received, hashed, inspected, fsynced, renamed, listed)
against `cp` + `sync` of the same file onto the same disk, in one run; then
otad's peak RSS while 10 uploads run at once. Prints the figures and ratios.
Usage: bench/upload.py [--build DIR] [--reps N]"""
import argparse
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(key + r":\s+(\d+) kB", f.read()).group(1))


def post(port, token, data, query):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("POST", "/api/images" + query, body=data, headers={"Authorization": "Bearer " + token})
    r = c.getresponse()
    r.read()
    c.close()
    return r.status


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    otad, otactl = os.path.join(a.build, "otad"), os.path.join(a.build, "otactl")
    root = tempfile.mkdtemp(prefix="otad-upload-bench-", dir=os.environ.get("BENCH_DIR", "/var/tmp"))
    try:
        port = free_port()
        cfg = os.path.join(root, "otad.ini")
        with open(cfg, "w") as f:
            f.write(f"[server]\npid_file = {root}/otad.pid\n[catalog]\ndir = {root}/catalog\n"
                    f"[devices]\nfile = {root}/devices.ini\n[tcpboot]\nenabled = no\n[http]\nenabled = yes\nport = {free_port()}\n"
                    f"[admin]\nenabled = yes\nport = {port}\ntoken_file = {root}/tokens\nmax_uploads = 10\n")
        token = subprocess.run([otactl, "--config", cfg, "admin", "token", "add", "bench"], capture_output=True,
                               text=True, check=True).stdout.splitlines()[0]
        images = []
        for i in range(a.reps + 10):
            path = os.path.join(root, f"img{i}.bin")
            subprocess.run([otactl, "image", "make", "-o", path, "--project", "bench", "--version", f"1.0.{i}",
                            "--size", str(4 << 20)], check=True, capture_output=True)
            images.append(path)
        log = open(os.path.join(root, "otad.log"), "w")
        proc = subprocess.Popen([otad, "--config", cfg], stdout=log, stderr=log)
        time.sleep(0.5)
        os.makedirs(os.path.join(root, "copies"))
        api_s, cp_s = [], []
        for i in range(a.reps):
            data = open(images[i], "rb").read()
            t = time.perf_counter()
            assert post(port, token, data, "") == 201
            api_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            subprocess.run(["cp", images[i], os.path.join(root, "copies", f"c{i}.bin")], check=True)
            subprocess.run(["sync"], check=True)
            cp_s.append(time.perf_counter() - t)
        before = status_kib(proc.pid, "VmRSS")
        datas = [open(p, "rb").read() for p in images[a.reps:a.reps + 10]]
        peak = [0]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], status_kib(proc.pid, "VmRSS"))
                time.sleep(0.005)

        s = threading.Thread(target=sample)
        s.start()
        codes = []
        ts = [threading.Thread(target=lambda d=d: codes.append(post(port, token, d, ""))) for d in datas]
        t = time.perf_counter()
        for x in ts:
            x.start()
        for x in ts:
            x.join()
        wall = time.perf_counter() - t
        done.set()
        s.join()
        hwm = status_kib(proc.pid, "VmHWM")
        # Token checks: no header, a wrong token and the right one, each asked
        # 300 times, interleaved, each on a new connection (a 401 closes it).
        lat = {"none": [], "wrong": [], "right": []}
        for _ in range(300):
            for kind, hdr in (("none", {}), ("wrong", {"Authorization": "Bearer " + "0" * 64}),
                              ("right", {"Authorization": "Bearer " + token})):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                t = time.perf_counter()
                c.request("HEAD", "/api/status", headers=hdr)
                c.getresponse().read()
                lat[kind].append(time.perf_counter() - t)
                c.close()
        proc.terminate()
        proc.wait()
        mb = 4.0
        api, cp = statistics.median(api_s), statistics.median(cp_s)
        print(f"4 MiB image, median of {a.reps}; disk under {root}")
        print(f"| path                         | seconds | MB/s  |")
        print(f"|------------------------------|---------|-------|")
        print(f"| otad admin API (POST, 201)   | {api:7.3f} | {mb / api:5.0f} |")
        print(f"| cp + sync                    | {cp:7.3f} | {mb / cp:5.0f} |")
        print(f"ratio otad/cp+sync throughput: {cp / api:.2f}")
        print(f"10 concurrent uploads (max_uploads = 10): statuses {sorted(codes)}, {10 * mb / wall:.0f} MB/s overall; "
              f"otad RSS {before} KiB before, {peak[0]} KiB sampled peak, VmHWM {hwm} KiB "
              f"(+{peak[0] - before} KiB for 40 MiB in flight)")
        med = {k: statistics.median(v) * 1e6 for k, v in lat.items()}
        print(f"token check, median request time over 300 each: no token {med['none']:.0f} us, wrong token "
              f"{med['wrong']:.0f} us, right token {med['right']:.0f} us (HEAD, a new connection each)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
