#!/usr/bin/python3
"""Holds many TCP connections open to a web port, the way a client that locks a server out does.

Half of them (--trickle-fraction) send one byte of a request line every --byte-interval seconds,
the rest send nothing. A connection the server closes is opened again after --reconnect-delay.
With --non-reading-fraction, that share of the connections (taken first) instead sends --pipeline
requests for --path at once, with a 4 KiB receive buffer, never reads, and is closed and opened
again after --hold seconds (it cannot see the server close it without reading).
Prints "READY <open>" once the first --connections connects were attempted, then runs until
SIGTERM/SIGINT and writes its counters to stderr ("stats ..."). Loopback only.
"""
import argparse
import resource
import selectors
import signal
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--trickle-fraction", type=float, default=0.5)
    ap.add_argument("--byte-interval", type=float, default=10.0)
    ap.add_argument("--reconnect-delay", type=float, default=0.05)
    ap.add_argument("--non-reading-fraction", type=float, default=0.0)
    ap.add_argument("--pipeline", type=int, default=10)
    ap.add_argument("--hold", type=float, default=5.0)
    ap.add_argument("--path", default="/metrics")
    args = ap.parse_args()
    if not args.host.startswith("127.") and args.host != "::1":
        print("loopback only", file=sys.stderr)
        return 2

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.connections + 64
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            print(f"RLIMIT_NOFILE hard limit {hard} < {need}", file=sys.stderr)
            return 2
        resource.setrlimit(resource.RLIMIT_NOFILE, (need if hard == resource.RLIM_INFINITY
                                                    else hard, hard))

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    sel = selectors.DefaultSelector()
    stats = {"connects": 0, "connect_errors": 0, "closed_by_server": 0, "bytes_sent": 0,
             "max_open": 0}
    stats["non_reading_opened"] = 0
    # slot -> [socket or None, trickles, next_action_time, bytes_of_request_sent, non_reading]
    slots = []
    request = b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
    pipelined = f"GET {args.path} HTTP/1.1\r\nHost: x\r\n\r\n".encode() * args.pipeline
    n_non_reading = int(args.connections * args.non_reading_fraction)
    n_trickle = int((args.connections - n_non_reading) * args.trickle_fraction)
    for i in range(args.connections):
        slots.append([None, n_non_reading <= i < n_non_reading + n_trickle, 0.0, 0,
                      i < n_non_reading])

    def open_slot(i, now):
        non_reading = slots[i][4]
        s = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET,
                          socket.SOCK_STREAM)
        try:
            if non_reading:
                # Connected before it sends its requests; never read from.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.settimeout(1.0)
                s.connect((args.host, args.port))
                s.setblocking(False)
                s.send(pipelined)
            else:
                s.setblocking(False)
                s.connect_ex((args.host, args.port))
        except OSError:
            stats["connect_errors"] += 1
            s.close()
            slots[i][2] = now + args.reconnect_delay
            return
        stats["connects"] += 1
        slots[i][0] = s
        if non_reading:
            stats["non_reading_opened"] += 1
            slots[i][2] = now + args.hold
            return
        # A trickling connection sends its first byte at once, then one every --byte-interval.
        slots[i][2] = now if slots[i][1] else now + args.byte_interval
        slots[i][3] = 0
        sel.register(s, selectors.EVENT_READ, i)

    def close_slot(i, now):
        s = slots[i][0]
        if s is None:
            return
        if not slots[i][4]:
            sel.unregister(s)
        s.close()
        slots[i][0] = None
        slots[i][2] = now + args.reconnect_delay

    now = time.monotonic()
    for i in range(args.connections):
        open_slot(i, now)
    print(f"READY {sum(1 for s in slots if s[0] is not None)}", flush=True)

    while not stopping:
        now = time.monotonic()
        for key, _ in sel.select(timeout=0.05):
            i = key.data
            try:
                data = slots[i][0].recv(65536)
            except OSError:
                data = b""
            if not data:
                stats["closed_by_server"] += 1
                close_slot(i, now)
        now = time.monotonic()
        open_count = 0
        for i, slot in enumerate(slots):
            if slot[0] is None:
                if now >= slot[2]:
                    open_slot(i, now)
            elif slot[4] and now >= slot[2]:
                close_slot(i, now)
                open_slot(i, now)
            elif slot[1] and now >= slot[2]:
                k = slot[3] % len(request)
                try:
                    slot[0].send(request[k:k + 1])
                    stats["bytes_sent"] += 1
                    slot[3] += 1
                except OSError:
                    pass
                slot[2] = now + args.byte_interval
            if slot[0] is not None:
                open_count += 1
        stats["max_open"] = max(stats["max_open"], open_count)
    print("stats " + " ".join(f"{k}={v}" for k, v in stats.items()), file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
