#!/usr/bin/python3
"""Driver of bench/compare_blackbox.sh (run that, not this): paces smtp_exporter and
prometheus-blackbox-exporter against one postfix STARTTLS port and prints the figures."""
import argparse
import http.client
import os
import re
import resource
import socket
import ssl
import statistics
import subprocess
import threading
import time

TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def status_mib(pid, field):
    """VmHWM (peak RSS) or RssAnon (private memory, without shared library pages)."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def http_get(port, path, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


def wait_http(port, path, deadline=20):
    end = time.time() + deadline
    while time.time() < end:
        try:
            if http_get(port, path, timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"nothing answered on 127.0.0.1:{port}{path}")


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float("nan")


SERIES = re.compile(r'^(\w+)\{([^}]*)\} (\S+)$', re.M)


def series(text, name):
    for m in SERIES.finditer(text):
        if m.group(1) == name:
            yield dict(re.findall(r'(\w+)="([^"]*)"', m.group(2))), float(m.group(3))


def launch_local(a, cfg, port):
    """The exporter binary a.exporter as a child process: (pid, stop)."""
    proc = subprocess.Popen([a.exporter, "--config.file", cfg, "--web.listen-address",
                             f"127.0.0.1:{port}", "--log.level", "warn"],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(a.work, "exporter.log"), "w"))

    def stop():
        proc.terminate()
        proc.wait(10)
    return proc.pid, stop


def run_exporter(a, launch=launch_local, name="smtp_exporter"):
    """Paces the exporter at a.rate STARTTLS sessions/s (rate x 5 targets, interval 5 s) and
    measures its CPU and memory over a.seconds. launch(a, cfg, port) starts it with config file
    cfg and web port port and returns (pid of the exporter process, stop)."""
    interval = 5
    targets = a.rate * interval
    toml = [f'[defaults]\ninterval = "{interval}s"\ntimeout = "5s"\n']
    for i in range(targets):
        toml.append(f'[[target]]\nname = "t{i:04d}"\nhost = "127.0.0.1"\nport = {a.port}\n'
                    f'probes = ["banner", "tls"]\n[target.tls]\nmode = "starttls"\n'
                    f'server_name = "mx.test"\nca_file = "{a.pki}/root.pem"\n')
    cfg = os.path.join(a.work, "exporter.toml")
    open(cfg, "w").write("\n".join(toml))
    port = free_port()
    pid, stop = launch(a, cfg, port)
    try:
        wait_http(port, "/metrics")
        time.sleep(interval + 1)  # every target has run once: caches and arenas are warm

        def runs(text):
            return sum(v for l, v in series(text, "smtp_probe_runs_total") if l["probe"] == "tls")
        text = http_get(port, "/metrics")[1]
        c0, r0, t0 = cpu_seconds(pid), runs(text), time.time()
        walls, ehlo, seen, failures = [], [], set(), 0
        while time.time() - t0 < a.seconds:
            time.sleep(min(interval, a.seconds - (time.time() - t0)))
            text = http_get(port, "/metrics")[1]
            last = {l["target"]: v for l, v in series(text, "smtp_probe_last_run_timestamp_seconds")
                    if l["probe"] == "tls"}
            for l, v in series(text, "smtp_probe_duration_seconds"):
                key = (l["target"], last.get(l["target"]))
                if key not in seen:
                    seen.add(key)
                    walls.append(v)
            for l, v in series(text, "smtp_probe_phase_duration_seconds"):
                if l["phase"] == "ehlo":
                    ehlo.append(v)
            failures = sum(1 for l, v in series(text, "smtp_probe_success") if v != 1)
        c1, r1, t1 = cpu_seconds(pid), runs(text), time.time()
        return dict(name=name, sessions=r1 - r0, cpu=c1 - c0, secs=t1 - t0,
                    rss=status_mib(pid, "VmHWM"), anon=status_mib(pid, "RssAnon"),
                    walls=walls, failures=failures,
                    note=f"{targets} targets, interval {interval}s; ehlo phase p50 "
                         f"{statistics.median(ehlo) * 1000:.2f} ms")
    finally:
        stop()


def run_blackbox(a):
    cfg = os.path.join(a.work, "blackbox.yml")
    open(cfg, "w").write(f"""modules:
  smtp_starttls:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
      query_response:
        - expect: "^220 "
        - send: "EHLO prober\\r"
        - expect: "^250-STARTTLS"
        - expect: "^250 "
        - send: "STARTTLS\\r"
        - expect: "^220"
        - starttls: true
        - send: "EHLO prober\\r"
        - expect: "^250 "
        - send: "QUIT\\r"
        - expect: "^221"
      tls_config:
        ca_file: {a.pki}/root.pem
        server_name: mx.test
""")
    port = free_port()
    proc = subprocess.Popen(["/usr/bin/prometheus-blackbox-exporter", "--config.file", cfg,
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(a.work, "blackbox.log"), "w"))
    path = f"/probe?target=127.0.0.1:{a.port}&module=smtp_starttls"
    try:
        wait_http(port, "/metrics")
        results, lock = [], threading.Lock()

        def one():
            try:
                status, body = http_get(port, path)
                d = dict((m.group(1), float(m.group(2)))
                         for m in re.finditer(r'^(probe_\w+) (\S+)$', body, re.M))
                with lock:
                    results.append((d.get("probe_success", 0), d.get("probe_duration_seconds", 0)))
            except OSError:
                with lock:
                    results.append((0, 0))

        def paced(seconds):
            threads, start = [], time.time()
            for i in range(int(seconds * a.rate)):
                delay = start + i / a.rate - time.time()
                if delay > 0:
                    time.sleep(delay)
                t = threading.Thread(target=one)
                t.start()
                threads.append(t)
            for t in threads:
                t.join(15)
        paced(2)  # warm-up
        results.clear()
        c0, t0 = cpu_seconds(proc.pid), time.time()
        paced(a.seconds)
        c1, t1 = cpu_seconds(proc.pid), time.time()
        return dict(name="blackbox_exporter", sessions=len(results), cpu=c1 - c0, secs=t1 - t0,
                    rss=status_mib(proc.pid, "VmHWM"), anon=status_mib(proc.pid, "RssAnon"),
                    walls=[w for _, w in results],
                    failures=sum(1 for s, _ in results if s != 1),
                    note="tcp prober, query_response with starttls, driven over /probe")
    finally:
        proc.terminate()
        proc.wait(10)


def python_floor(a, paced, sessions=200):
    """The same dialogue with Python's ssl module, TCP_NODELAY + TCP_QUICKACK, one session at a
    time: back to back (hot caches), or paced at the rate (a wake-up per session, as the
    exporters run)."""
    ctx = ssl.create_default_context(cafile=f"{a.pki}/root.pem")

    def reply(f):
        while (line := f.readline())[3:4] == b"-":
            pass
        return line

    def send(s, data):
        s.sendall(data)
        s.setsockopt(socket.IPPROTO_TCP, 12, 1)  # TCP_QUICKACK, re-armed after each write

    walls = []
    cpu = 0.0
    start = time.time()
    for i in range(sessions):
        if paced and (delay := start + i / a.rate - time.time()) > 0:
            time.sleep(delay)
        c0 = time.thread_time()
        t = time.perf_counter()
        s = socket.create_connection(("127.0.0.1", a.port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        f = s.makefile("rb")
        reply(f)
        send(s, b"EHLO prober\r\n"); reply(f)
        send(s, b"STARTTLS\r\n"); reply(f)
        ss = ctx.wrap_socket(s, server_hostname="mx.test")
        ss.setsockopt(socket.IPPROTO_TCP, 12, 1)
        f = ss.makefile("rb")
        send(ss, b"EHLO prober\r\n"); reply(f)
        send(ss, b"QUIT\r\n"); reply(f)
        ss.close()
        walls.append(time.perf_counter() - t)
        cpu += time.thread_time() - c0
    return dict(name="python ssl " + ("paced" if paced else "back2back"), sessions=sessions,
                cpu=cpu, secs=sum(walls), rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                anon=status_mib(os.getpid(), "RssAnon"), walls=walls, failures=0,
                note="the floor: same dialogue, same OpenSSL, in the driver's process")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rate", type=int, default=50)
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--exporter", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pki", required=True)
    p.add_argument("--work", required=True)
    a = p.parse_args()
    print(f"rate {a.rate} sessions/s for {a.seconds} s against postfix 127.0.0.1:{a.port} "
          f"(STARTTLS, TLS 1.3, tickets on, EC P-256 chain of two)")
    print(f"load average before: {open('/proc/loadavg').read().split()[:3]}")
    rows = [run_exporter(a), run_blackbox(a), python_floor(a, True), python_floor(a, False)]
    print(f"{'':20} {'sessions':>8} {'fail':>5} {'CPU ms/session':>15} {'peak RSS MiB':>13} "
          f"{'anon MiB':>9} {'wall p50 ms':>12} {'wall p99 ms':>12}")
    for r in rows:
        r["cpu_per"] = r["cpu"] / max(1, r["sessions"]) * 1000
        print(f"{r['name']:20} {r['sessions']:8.0f} {r['failures']:5d} {r['cpu_per']:15.3f} "
              f"{r['rss']:13.1f} {r['anon']:9.1f} {pct(r['walls'], 50) * 1000:12.2f} {pct(r['walls'], 99) * 1000:12.2f}"
              f"   ({r['note']})")
    e, b, fp, fs = rows
    print(f"ratios exporter/blackbox: CPU per session {e['cpu_per'] / b['cpu_per']:.2f}, "
          f"peak RSS {e['rss'] / b['rss']:.2f}, anon {e['anon'] / b['anon']:.2f}, "
          f"wall p50 {pct(e['walls'], 50) / pct(b['walls'], 50):.2f}")
    print(f"exporter vs python paced: CPU per session {e['cpu_per'] / fp['cpu_per']:.2f}, "
          f"wall p50 {(pct(e['walls'], 50) - pct(fp['walls'], 50)) * 1000:+.2f} ms")
    print(f"load average after: {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    main()
