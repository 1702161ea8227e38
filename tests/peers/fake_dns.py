#!/usr/bin/python3
"""Scripted DNS server for the DNSBL tests (loopback UDP only), on python3-dnslib.

Binds, prints "READY <port>" on stdout, then answers each query from the JSON rules until
SIGTERM/SIGINT. Every query is logged on stderr as "QUERY <name> <type>". See README.md.

Rules (a JSON list, first match wins):
  {"name": "7.113.0.203.bl.test", "type": "A", "answer": ["127.0.0.2"], "ttl": 300}
  {"name": "*.bl.test", "rcode": "NXDOMAIN"}          # "*." matches any name below
  {"name": "...", "type": "TXT", "answer": ["listed: see https://example.test/"]}
  {"name": "...", "rcode": "SERVFAIL" | "REFUSED" | "NXDOMAIN" | "NOERROR"}
  {"name": "...", "drop": true}                       # never answers (a timeout)
"type" defaults to any type; an unmatched query gets NXDOMAIN. The rules file is read again
when it changes (tests rewrite it to change an answer, e.g. the egress IP).
"""
import argparse
import json
import os
import signal
import socket
import sys

from dnslib import AAAA, A, DNSRecord, QTYPE, RCODE, RR, TXT


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def matches(pattern, name):
    pattern = pattern.lower().rstrip(".")
    if pattern.startswith("*."):
        return name.endswith(pattern[1:])
    return name == pattern


def answer(rules, data):
    query = DNSRecord.parse(data)
    name = str(query.q.qname).lower().rstrip(".")
    qtype = QTYPE[query.q.qtype]
    log(f"QUERY {name} {qtype}")
    reply = query.reply()
    for rule in rules:
        if not matches(rule["name"], name):
            continue
        if "type" in rule and rule["type"] != qtype:
            continue
        if rule.get("drop"):
            return None
        if "rcode" in rule:
            reply.header.rcode = getattr(RCODE, rule["rcode"])
            return reply.pack()
        ttl = int(rule.get("ttl", 60))
        for value in rule.get("answer", []):
            rdata = {"A": A, "AAAA": AAAA, "TXT": TXT}[qtype](value)
            reply.add_answer(RR(query.q.qname, query.q.qtype, rdata=rdata, ttl=ttl))
        return reply.pack()
    reply.header.rcode = RCODE.NXDOMAIN
    return reply.pack()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rules", required=True, help="JSON file of rules")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if not (args.host.startswith("127.") or args.host == "::1"):
        log("loopback addresses only")
        sys.exit(2)
    try:
        rules = json.load(open(args.rules, encoding="utf-8"))
        loaded_at = os.stat(args.rules).st_mtime_ns
        family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.bind((args.host, args.port))
    except (OSError, ValueError) as e:
        log(f"cannot start: {e}")
        sys.exit(2)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"READY {sock.getsockname()[1]}", flush=True)
    try:
        while True:
            data, peer = sock.recvfrom(4096)
            try:
                if os.stat(args.rules).st_mtime_ns != loaded_at:
                    loaded_at = os.stat(args.rules).st_mtime_ns
                    rules = json.load(open(args.rules, encoding="utf-8"))
                reply = answer(rules, data)
            except Exception as e:  # a malformed query must not stop the server
                log(f"bad query: {e}")
                continue
            if reply is not None:
                sock.sendto(reply, peer)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
