#!/usr/bin/python3
"""Debian's pyspf (python3-spf, over python3-dns) as the reference for the SPF differential test.

Reads the scenarios of a zone file in the openspf suite's format (each document's `tests`) and,
for each, asks pyspf's check2() with pyspf's DNS pointed at the document's port of
tests/peers/zone_dns.py (given with --ports, in document order). Prints "<scenario> <result>"
per line. Loopback only; every lookup has pyspf's timeout. With --timing, prints the wall and CPU
seconds of the evaluations alone (interpreter start and imports excluded) on stderr as
"TIMING <wall> <cpu>" (bench/bench_sender.cpp compares them side by side).
"""
import argparse
import sys
import time

import DNS
import spf
import yaml


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--zones", required=True)
    parser.add_argument("--ports", type=int, nargs="+", required=True)
    parser.add_argument("--timeout", type=float, default=1)
    parser.add_argument("--timing", action="store_true")
    args = parser.parse_args()
    with open(args.zones, encoding="utf-8") as f:
        documents = list(yaml.safe_load_all(f))
    if len(documents) != len(args.ports):
        print(f"{len(documents)} documents, {len(args.ports)} ports", file=sys.stderr)
        sys.exit(2)
    DNS.defaults["server"] = ["127.0.0.1"]
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for document, port in zip(documents, args.ports):
        DNS.defaults["port"] = port
        for name, t in (document.get("tests") or {}).items():
            result, _ = spf.check2(i=t["host"], s=t["mailfrom"], h=t["helo"],
                                   timeout=args.timeout, querytime=0)
            print(f"{name} {result}", flush=True)
    if args.timing:
        print(f"TIMING {time.perf_counter() - wall0} {time.process_time() - cpu0}", file=sys.stderr)


if __name__ == "__main__":
    main()
