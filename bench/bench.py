"""otad vs nginx, same image, same fleet simulator, same machine, one run.

For each N, each server is started fresh (so its peak RSS belongs to that N),
otad-sim runs N concurrent devices that each download and verify the 1 MiB
image, and the server's peak RSS (VmHWM, all its processes) and CPU seconds
are read from /proc before it stops. Each cell is the median of --reps runs.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_tree(pid):
    out = [pid]
    try:
        kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    except FileNotFoundError:
        kids = []
    for k in kids:
        out += proc_tree(int(k))
    return out


def hwm_kib(pids):
    total = 0
    for p in pids:
        with open(f"/proc/{p}/status") as f:
            total += int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))
    return total


def cpu_s(pids):
    """CPU seconds used so far by these processes, all their threads: from
    schedstat (nanoseconds) where the kernel has it, else utime + stime in
    clock ticks (10 ms each, too coarse for a cheap server's work)."""
    total = 0.0
    for p in pids:
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/schedstat") as f:
                    total += int(f.read().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise SystemExit(f"nothing listening on {port}")


def pinned(cmd, cpu):
    """Server on one core, simulator on the other: on a 2-core machine this keeps
    the two from stealing each other's time, for both servers alike."""
    if shutil.which("taskset") and os.cpu_count() >= 2:
        return ["taskset", "-c", str(cpu), *cmd]
    return cmd


def run_sim(sim, args, timeout=600):
    p = subprocess.run(pinned([sim, *args], 1), capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise SystemExit(f"simulator failed: {' '.join(args)}\n{p.stdout}\n{p.stderr[-2000:]}")
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", p.stdout)}


class Otad:
    name = "otad (tcpboot)"

    def __init__(self, b, work, image):
        self.b, self.work = b, work
        self.catalog = os.path.join(work, "catalog")
        self.conf = os.path.join(work, "otad.ini")
        subprocess.run([os.path.join(b, "otactl"), "--config", self.write_conf(0), "image", "add", image],
                       check=True, capture_output=True)

    def write_conf(self, port):
        with open(self.conf, "w") as f:
            f.write(f"[server]\nmax_connections = 1100\nlisten_backlog = 4096\nmax_per_address = 65536\n"
                    f"[catalog]\ndir = {self.catalog}\ndefault_platform = demo\n"
                    f"[devices]\nfile = {self.work}/devices.ini\n"
                    f"[tcpboot]\nlisten = 127.0.0.1\nport = {port or 1}\n")
        return self.conf

    def start(self):
        self.port = free_port()
        self.write_conf(self.port)
        self.log = open(os.path.join(self.work, "otad.log"), "w")
        self.proc = subprocess.Popen(pinned([os.path.join(self.b, "otad"), "--config", self.conf], 0),
                                     stderr=self.log)
        wait_port(self.port)
        # Our probe connection must not count as a device.
        time.sleep(0.1)

    def sim_args(self, n, sha1):
        return ["tcpboot", "--port", str(self.port), "--devices", str(n), "--expect-sha1", sha1]

    def pids(self):
        return [self.proc.pid]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        self.log.close()


def start_nginx(w, servers):
    """Writes w/nginx.conf (one worker, sendfile, our temp paths) with the given
    server blocks and starts nginx on core 0; returns the process."""
    conf = os.path.join(w, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""daemon off; master_process on; worker_processes 1; user root;
pid {w}/nginx.pid; error_log {w}/error.log; worker_rlimit_nofile 8192;
events {{ worker_connections 4096; }}
http {{
  access_log {w}/access.log; sendfile on; tcp_nopush on;
  client_body_temp_path {w}/tmp; proxy_temp_path {w}/tmp; fastcgi_temp_path {w}/tmp;
  uwsgi_temp_path {w}/tmp; scgi_temp_path {w}/tmp;
{servers}
}}
""")
    return subprocess.Popen(pinned(["nginx", "-c", conf, "-p", w], 0), stderr=subprocess.DEVNULL)


class Nginx:
    name = "nginx (HTTP)"

    def __init__(self, b, work, image):
        self.work = work
        os.makedirs(os.path.join(work, "www"), exist_ok=True)
        os.makedirs(os.path.join(work, "tmp"), exist_ok=True)
        shutil.copy(image, os.path.join(work, "www", "demo.bin"))

    def start(self):
        self.port = free_port()
        w = self.work
        self.proc = start_nginx(w, f"  server {{ listen 127.0.0.1:{self.port} backlog=4096; root {w}/www; }}")
        wait_port(self.port)
        time.sleep(0.1)

    def sim_args(self, n, sha1):
        return ["http", "--port", str(self.port), "--path", "/demo.bin", "--devices", str(n),
                "--expect-sha1", sha1]

    def pids(self):
        return proc_tree(self.proc.pid)

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        self.proc.wait(30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--size", type=int, default=1 << 20)
    ap.add_argument("n", nargs="*", type=int, default=[100, 500, 1000])
    a = ap.parse_args()
    if not shutil.which("nginx"):
        raise SystemExit("nginx not found (apt-get install nginx-light)")
    work = tempfile.mkdtemp(prefix="otad-bench-")
    try:
        image = os.path.join(work, "demo.bin")
        subprocess.run([os.path.join(a.build, "otactl"), "image", "make", "-o", image, "--size", str(a.size)],
                       check=True, capture_output=True)
        import hashlib
        with open(image, "rb") as f:
            sha1 = hashlib.sha1(f.read()).hexdigest()
        sim = os.path.join(a.build, "otad-sim")
        os.makedirs(os.path.join(work, "otad"))
        servers = [Otad(a.build, os.path.join(work, "otad"), image),
                   Nginx(a.build, os.path.join(work, "nginx"), image)]
        results = {}
        for n in a.n:
            # Reps alternate between the servers so that drifting load on the
            # host hits both alike.
            reps = {s.name: [] for s in servers}
            for _ in range(a.reps):
                for s in servers:
                    s.start()
                    pids = s.pids()
                    cpu0 = cpu_s(pids)
                    m = run_sim(sim, s.sim_args(n, sha1))
                    m["cpu_s"] = cpu_s(pids) - cpu0
                    m["rss_kib"] = hwm_kib(pids)
                    s.stop()
                    reps[s.name].append(m)
            for s in servers:
                r = reps[s.name]
                results[(s.name, n)] = {k: statistics.median(x[k] for x in r) for k in r[0]}
                results[(s.name, n)]["spread"] = (min(x["throughput_MBps"] for x in r),
                                                  max(x["throughput_MBps"] for x in r))
        print(f"\n{a.size} byte image, every download verified (SHA-1); median of {a.reps} runs; "
              f"server pinned to core 0, simulator to core 1.\n")
        hdr = (f"| {'server':<15} | {'N':>5} | {'MB/s':>7} | {'MB/s min-max':>13} | {'p50 ms':>7} | "
               f"{'p99 ms':>7} | {'peak RSS KiB':>12} | {'CPU s':>6} |")
        print(hdr)
        print("|" + "|".join("-" * (len(c)) for c in hdr.split("|")[1:-1]) + "|")
        for n in a.n:
            for s in servers:
                r = results[(s.name, n)]
                lo, hi = r["spread"]
                print(f"| {s.name:<15} | {n:>5} | {r['throughput_MBps']:>7.1f} | {lo:>6.0f}-{hi:<6.0f} | {r['p50_ms']:>7.1f} | "
                      f"{r['p99_ms']:>7.1f} | {r['rss_kib']:>12.0f} | {r['cpu_s']:>6.2f} |")
        print("\nRatios otad/nginx (throughput >1 is better; RSS, CPU and times <1 are better):\n")
        print(f"| {'N':>5} | {'throughput':>10} | {'p50':>6} | {'p99':>6} | {'peak RSS':>8} | {'CPU':>6} |")
        print("|-------|------------|--------|--------|----------|--------|")
        o, x = servers[0].name, servers[1].name
        for n in a.n:
            ro, rx = results[(o, n)], results[(x, n)]
            q = lambda k: ro[k] / rx[k] if rx[k] else float("nan")  # noqa: E731
            print(f"| {n:>5} | {q('throughput_MBps'):>10.2f} | {q('p50_ms'):>6.2f} | {q('p99_ms'):>6.2f} | "
                  f"{q('rss_kib'):>8.2f} | {q('cpu_s'):>6.2f} |")
        if 100 in a.n and 1000 in a.n:
            for s in servers:
                slope = (results[(s.name, 1000)]["rss_kib"] - results[(s.name, 100)]["rss_kib"]) * 1024 / 900
                print(f"\n{s.name}: memory per connection (RSS slope N=100..1000): {slope:.0f} bytes")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
