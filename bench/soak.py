#!/usr/bin/python3
"""Soak: the real smtp_exporter with 1,000 targets for a long run (issue 13, section 4).

The targets are spread over well-behaved and misbehaving loopback peers (tests/peers/): aiosmtpd
plain and with STARTTLS and AUTH, scripted servers that stall (tarpit, STARTTLS then silence),
send garbage, cut a reply, refuse with 554, a port that drops SYNs and one that refuses. The
config is rewritten and reloaded (POST /-/reload) every --reload-every seconds, alternating two
versions that differ in 10% of the targets (renamed) and another 10% (relabelled, so restarted).
/metrics is scraped every second.

Reports, after a warm-up:
  - the exporter's RSS: start, after warm-up, end, and the slope of a least-squares line through
    the per-second samples after warm-up (goal: flat within 2 MB over the run);
  - probes past their deadline: runs whose smtp_probe_duration_seconds exceeded the target's
    timeout by more than --tolerance (goal: none), and targets whose last run is older than
    3 intervals + timeout (stalled);
  - scrapes (all 200? slowest), reloads (all 200?), open descriptors.

Loopback only. Not a ctest: bench/README.md has the figures.
Usage: bench/soak.py --binary build/smtp_exporter [--minutes 30] [--targets 1000]
"""
import argparse
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS = os.path.join(ROOT, "tests", "peers")
PY = "/usr/bin/python3"


def start_peer(args, log_path):
    log = open(log_path, "w")
    p = subprocess.Popen([PY] + args, stdout=subprocess.PIPE, stderr=log, text=True)
    line = p.stdout.readline()
    if not line.startswith("READY "):
        raise RuntimeError(f"peer {args} did not start: {line!r}")
    return p, int(line.split()[1])


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def blackhole():
    """A listener whose accept queue is full: SYNs are dropped, connects time out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
    return listener, fillers, port


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def slope_per_second(samples):
    n = len(samples)
    if n < 2:
        return 0.0
    mx = sum(t for t, _ in samples) / n
    my = sum(v for _, v in samples) / n
    sxx = sum((t - mx) ** 2 for t, _ in samples)
    sxy = sum((t - mx) * (v - my) for t, v in samples)
    return sxy / sxx if sxx else 0.0


def http(method, url, timeout=5.0):
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except Exception as e:  # noqa: BLE001 - a failed scrape is a figure, not a crash
        return 0, str(e)


SERIES = re.compile(r'^(\w+)(?:\{([^}]*)\})? (\S+)$')


def parse(text):
    out = {}
    for line in text.splitlines():
        m = SERIES.match(line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out.setdefault(m.group(1), []).append((labels, float(m.group(3))))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "smtp_exporter"))
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--warmup-minutes", type=float, default=None,
                    help="default: a fifth of the run, at least 1 minute")
    ap.add_argument("--targets", type=int, default=1000)
    ap.add_argument("--interval", default="15s")
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--reload-every", type=float, default=30)
    ap.add_argument("--tolerance", type=float, default=1.0,
                    help="seconds past the timeout that still count as on time")
    args = ap.parse_args()
    warmup = (args.warmup_minutes if args.warmup_minutes is not None
              else max(1.0, args.minutes / 5)) * 60
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    work = tempfile.mkdtemp(prefix="smtp_soak_")
    procs = []
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=soak.test",
                        "-keyout", f"{work}/key.pem", "-out", f"{work}/cert.pem"],
                       check=True, capture_output=True)
        with open(f"{work}/server.pw", "w") as f:
            f.write("soak-password")
        kinds = []  # (name, port, tls mode, probes, extra toml)

        p, port = start_peer([f"{PEERS}/aiosmtpd_server.py"], f"{work}/aiosmtpd.log")
        procs.append(p)
        kinds.append(("good", port, "none", '["banner"]', ""))
        p, port = start_peer([f"{PEERS}/aiosmtpd_server.py", "--tls-cert", f"{work}/cert.pem",
                              "--tls-key", f"{work}/key.pem", "--auth-user", "alice",
                              "--auth-password-file", f"{work}/server.pw", "--auth-require-tls"],
                             f"{work}/aiosmtpd-tls.log")
        procs.append(p)
        kinds.append(("tls_auth", port, "starttls", '["banner", "tls", "auth"]',
                      f'[target.tls]\nmode = "starttls"\ninsecure_skip_verify = true\n'
                      f'[target.auth]\nusername = "alice"\npassword_file = "{work}/server.pw"\n'))
        for script in ("tarpit", "garbage_greeting", "close_mid_reply", "greeting_554",
                       "multiline_greeting", "ehlo_rejected_helo_ok"):
            p, port = start_peer([f"{PEERS}/fake_smtp.py", "--script",
                                  f"{PEERS}/scripts/{script}.json"], f"{work}/{script}.log")
            procs.append(p)
            kinds.append((script, port, "none", '["banner"]', ""))
        p, port = start_peer([f"{PEERS}/fake_smtp.py", "--script",
                              f"{PEERS}/scripts/starttls_stall.json"], f"{work}/starttls_stall.log")
        procs.append(p)
        kinds.append(("starttls_stall", port, "starttls", '["banner", "tls"]',
                      '[target.tls]\nmode = "starttls"\ninsecure_skip_verify = true\n'))
        _bh_listener, _bh_fillers, bh_port = blackhole()
        kinds.append(("dropped_syn", bh_port, "none", '["banner"]', ""))
        kinds.append(("refused", free_port(), "none", '["banner"]', ""))

        def config(version):
            out = [f'[defaults]\ninterval = "{args.interval}"\ntimeout = "{args.timeout:g}s"\n']
            for i in range(args.targets):
                kind, port, tls, probes, extra = kinds[i % len(kinds)]
                renamed = i % 10 == 0 and version == 1
                relabelled = i % 10 == 1
                name = f"t{i:05d}-{kind}" + ("-b" if renamed else "")
                labels = f'labels = {{ generation = "{version}" }}\n' if relabelled else ""
                table = ("" if tls != "none" else f'tls = "none"\n')
                out.append(f'[[target]]\nname = "{name}"\nhost = "127.0.0.1"\nport = {port}\n'
                           f"probes = {probes}\n{table}{labels}{extra}\n")
            return "".join(out)

        cfg = f"{work}/smtp_exporter.toml"
        with open(cfg, "w") as f:
            f.write(config(0))
        web_port = free_port()
        exporter_log = open(f"{work}/exporter.log", "w")
        exporter = subprocess.Popen([args.binary, "--config.file", cfg, "--web.listen-address",
                                     f"127.0.0.1:{web_port}"], stderr=exporter_log)
        procs.append(exporter)
        base = f"http://127.0.0.1:{web_port}"
        for _ in range(100):
            if http("GET", base + "/-/ready", 1)[0] == 200:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("exporter did not become ready")

        interval_s = float(args.interval.rstrip("s"))
        start = time.monotonic()
        end = start + args.minutes * 60
        next_reload = start + args.reload_every
        version = 0
        rss = []          # (t, KiB)
        fds = []
        scrapes = 0
        scrape_fail = 0
        scrape_worst = 0.0
        scrape_times = []
        reloads = 0
        reload_fail = 0
        late = {}         # (target, last_run_ts) -> duration
        stalled = set()
        in_flight_max = 0
        print(f"soak: {args.targets} targets over {len(kinds)} peers, {args.minutes:g} min, "
              f"warm-up {warmup / 60:g} min, work dir {work}", flush=True)
        while True:
            now = time.monotonic()
            if now >= end:
                break
            tick = now
            if now >= next_reload:
                version ^= 1
                with open(cfg, "w") as f:
                    f.write(config(version))
                status, body = http("POST", base + "/-/reload", 30)
                reloads += 1
                if status != 200:
                    reload_fail += 1
                    print(f"reload failed: {status} {body[:200]}", flush=True)
                next_reload += args.reload_every
            t0 = time.monotonic()
            status, body = http("GET", base + "/metrics", 10)
            took = time.monotonic() - t0
            scrapes += 1
            scrape_times.append(took)
            scrape_worst = max(scrape_worst, took)
            if status != 200:
                scrape_fail += 1
            else:
                m = parse(body)
                for labels, v in m.get("smtp_exporter_probes_in_flight", []) or []:
                    in_flight_max = max(in_flight_max, v)
                last = {(l["target"]): v for l, v in m.get("smtp_probe_last_run_timestamp_seconds", [])
                        if l.get("probe") == "banner"}
                for labels, d in m.get("smtp_probe_duration_seconds", []):
                    if d > args.timeout + args.tolerance:
                        late[(labels["target"], last.get(labels["target"]))] = d
                if now - start > warmup:
                    wall = time.time()
                    for target, ts in last.items():
                        if wall - ts > 3 * interval_s + args.timeout + 5:
                            stalled.add(target)
            elapsed = time.monotonic() - start
            rss.append((elapsed, rss_kib(exporter.pid)))
            fds.append(open_fds(exporter.pid))
            if int(elapsed) % 60 == 0 and elapsed - int(elapsed) < 1.0:
                print(f"  t={elapsed:5.0f}s rss={rss[-1][1] / 1024:.1f} MiB fds={fds[-1]} "
                      f"scrapes={scrapes} ({scrape_fail} failed, worst {scrape_worst:.3f}s) "
                      f"reloads={reloads} ({reload_fail} failed) late={len(late)}", flush=True)
            if exporter.poll() is not None:
                raise RuntimeError(f"exporter exited with {exporter.returncode}")
            time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))

        after = [(t, v) for t, v in rss if t > warmup]
        slope = slope_per_second(after)  # KiB per second
        duration = rss[-1][0] if rss else 0
        scrape_times.sort()
        p99 = scrape_times[int(len(scrape_times) * 0.99) - 1] if scrape_times else 0
        report = {
            "duration_s": round(duration),
            "warmup_s": round(warmup),
            "targets": args.targets,
            "rss_mib": {"start": round(rss[0][1] / 1024, 1),
                        "after_warmup": round(after[0][1] / 1024, 1) if after else None,
                        "end": round(rss[-1][1] / 1024, 1),
                        "max_after_warmup": round(max(v for _, v in after) / 1024, 1) if after else None,
                        "min_after_warmup": round(min(v for _, v in after) / 1024, 1) if after else None},
            "rss_slope_mib_per_hour": round(slope * 3600 / 1024, 2),
            "rss_growth_over_run_after_warmup_mib": round(slope * (duration - warmup) / 1024, 2),
            "open_fds": {"min": min(fds), "max": max(fds), "end": fds[-1]},
            "scrapes": scrapes, "scrapes_failed": scrape_fail,
            "scrape_seconds": {"p99": round(p99, 3), "max": round(scrape_worst, 3)},
            "reloads": reloads, "reloads_failed": reload_fail,
            "probes_in_flight_max": in_flight_max,
            "runs_past_deadline": len(late),
            "worst_past_deadline_s": round(max(late.values()), 3) if late else 0,
            "stalled_targets": len(stalled),
        }
        print(json.dumps(report, indent=2), flush=True)
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    sys.exit(main())
