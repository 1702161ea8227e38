#!/usr/bin/python3
# Memory of the exporter while clients ask for a plain-text /metrics and never read it (one new
# client every 100 ms). Prints the size of /metrics, the exporter's RSS before, and its RSS, peak
# RSS, /-/healthy latency and smtp_exporter_http_connections_dropped_total after. Loopback only:
# the targets point at 127.0.0.1:1, which refuses. Figures only; it asserts nothing.
#
#   /usr/bin/python3 bench/response_memory.py build/smtp_exporter [targets=3000] [clients=100]

import os, shutil, socket, subprocess, sys, tempfile, time, urllib.request

exe = sys.argv[1]; n = int(sys.argv[2]) if len(sys.argv) > 2 else 3000; clients = int(sys.argv[3]) if len(sys.argv) > 3 else 100
work = tempfile.mkdtemp(prefix="response_memory.")
cfg = os.path.join(work, "exporter.toml")
with open(cfg, "w") as f:
    f.write('[defaults]\ninterval = "60s"\ntimeout = "2s"\n')
    for i in range(n):
        f.write(f'[[target]]\nname = "t{i:05d}"\nhost = "127.0.0.1"\nport = 1\nprobes = ["banner"]\ntls = "none"\n')
with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0)); port = probe.getsockname()[1]
p = subprocess.Popen([exe, "--config.file", cfg, "--web.listen-address", f"127.0.0.1:{port}", "--log.level", "error", "--probe.startup-window", "2s"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
def st(field):
    for l in open(f"/proc/{p.pid}/status"):
        if l.startswith(field + ":"): return int(l.split()[1]) / 1024
try:
    time.sleep(5)
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read()
    print(f"/metrics plain {len(body)/1e6:.1f} MB; RSS before {st('VmRSS'):.1f} MiB")
    socks = []
    for i in range(clients):
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", port)); s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"); socks.append(s)
        time.sleep(0.1)
    time.sleep(1)
    t0 = time.time(); ok = urllib.request.urlopen(f"http://127.0.0.1:{port}/-/healthy", timeout=5).status
    m = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    dropped = [l for l in m.splitlines() if l.startswith("smtp_exporter_http_connections_dropped_total")]
    print(f"{clients} clients that never read: RSS {st('VmRSS'):.1f} MiB, peak {st('VmHWM'):.1f} MiB; healthy {ok} in {time.time()-t0:.3f}s; {dropped}")
    for s in socks: s.close()
finally:
    p.terminate(); p.wait()
    shutil.rmtree(work, ignore_errors=True)
