#!/usr/bin/python3
"""How many authenticated SMTP sessions can clients of /probe cause? (issue 24, finding 2)

The real binary with two credentialed modules side by side, in one run:
  before  min_interval = "0s", max_sessions_per_minute = 0: what every module was until finding 2
          (only max_concurrent = 4 bounded it);
  after   the defaults of a module with [module.NAME.auth] (min_interval 30 s, 20 sessions/min).
N clients (default 16) send /probe requests as fast as they are answered for SECONDS each
(default 60), every request naming one of 64 targets (127.0.0.2-65 on one port, all allowed by
allowed_cidrs), so that the per-target min_interval alone cannot hold them. The SMTP peer is a
scripted responder on those loopback addresses that accepts AUTH PLAIN and counts every AUTH it
receives: the figure is what the account and the egress IP would see. Prints per phase: AUTH
sessions, AUTH sessions per minute, /probe answers by status. Asserts nothing.

Usage: bench/probe_rate.py [--build build] [--clients 16] [--seconds 60]
"""
import argparse
import asyncio
import collections
import http.client
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time

ADDRESSES = [f"127.0.0.{i}" for i in range(2, 66)]


class Peer(threading.Thread):
    """An SMTP responder on every address of ADDRESSES (one port): 220, EHLO with AUTH PLAIN,
    235 to any AUTH, 221 to QUIT. Counts AUTH commands."""

    def __init__(self):
        super().__init__(daemon=True)
        self.auths = 0
        self.port = 0
        self.ready = threading.Event()

    async def session(self, reader, writer):
        try:
            writer.write(b"220 bench.test ESMTP\r\n")
            while True:
                line = await asyncio.wait_for(reader.readline(), 10)
                if not line:
                    break
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    writer.write(b"250-bench.test\r\n250 AUTH PLAIN\r\n")
                elif verb == b"AUTH":
                    self.auths += 1
                    writer.write(b"235 2.7.0 accepted\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    await writer.drain()
                    break
                else:
                    writer.write(b"250 ok\r\n")
                await writer.drain()
        except (asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    def run(self):
        asyncio.run(self.main())

    async def main(self):
        probe = socket.socket()
        probe.bind((ADDRESSES[0], 0))
        self.port = probe.getsockname()[1]
        probe.close()
        servers = [await asyncio.start_server(self.session, a, self.port) for a in ADDRESSES]
        self.ready.set()
        await asyncio.gather(*(s.serve_forever() for s in servers))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def flood(port, module, peer_port, clients, seconds):
    codes = collections.Counter()
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client():
        rng = random.Random()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        while time.monotonic() < stop:
            target = f"{rng.choice(ADDRESSES)}:{peer_port}"
            try:
                conn.request("GET", f"/probe?module={module}&target={target}")
                r = conn.getresponse()
                r.read()
                status = r.status
            except (OSError, http.client.HTTPException):
                status = "error"
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
            with lock:
                codes[status] += 1
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    binary = os.path.abspath(os.path.join(args.build, "smtp_exporter"))

    peer = Peer()
    peer.start()
    if not peer.ready.wait(10):
        sys.exit("peer did not start")
    work = tempfile.mkdtemp(prefix="probe_rate.")
    secret = os.path.join(work, "secret")
    with open(secret, "w") as f:
        f.write("bench-password\n")
    module = f"""tls = "none"
allow_plaintext = true
probes = ["banner", "auth"]
timeout = "5s"
allowed_cidrs = ["127.0.0.0/8"]
allowed_ports = [{peer.port}]
max_concurrent = 4
"""
    auth = f'username = "monitor@bench.test"\npassword_file = "{secret}"\n'
    config = os.path.join(work, "config.toml")
    with open(config, "w") as f:
        f.write(f"[module.before]\n{module}min_interval = \"0s\"\nmax_sessions_per_minute = 0\n"
                f"[module.before.auth]\n{auth}\n[module.after]\n{module}[module.after.auth]\n{auth}")
    port = free_port()
    exporter = subprocess.Popen([binary, "--config.file", config, "--web.listen-address",
                                 f"127.0.0.1:{port}", "--log.level", "warn"],
                                stderr=open(os.path.join(work, "exporter.err"), "w"))
    try:
        for _ in range(100):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                c.request("GET", "/-/ready")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            sys.exit("exporter did not become ready")
        print(f"{args.clients} clients, {args.seconds:.0f} s per module, {len(ADDRESSES)} targets, "
              f"max_concurrent = 4")
        for name in ("before", "after"):
            start_auths = peer.auths
            codes = flood(port, name, peer.port, args.clients, args.seconds)
            auths = peer.auths - start_auths
            answers = ", ".join(f"{k}: {v}" for k, v in sorted(codes.items(), key=str))
            print(f"{name:6}  AUTH sessions {auths:6d}  per minute {auths * 60 / args.seconds:9.1f}"
                  f"  /probe answers {sum(codes.values())} ({answers})")
    finally:
        exporter.terminate()
        exporter.wait(10)


if __name__ == "__main__":
    main()
