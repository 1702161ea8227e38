#!/usr/bin/python3
"""A DNS server for zone data in the openspf test-suite format (loopback only), on python3-dnslib.

Serves every YAML document of every --zones file on a port of its own (UDP, and TCP on the same
port number for answers that do not fit 512 bytes), so one process serves a whole suite and a
scenario's resolver simply points at its document's port. Writes the ports, one per document in
order, to --ports-file, then prints "READY <first port>" and answers until SIGTERM/SIGINT. Every
query is logged on stderr as "QUERY <port> <name> <type>".

Zone data (a document's `zonedata`, as in tests/conformance/spf/rfc7208-tests.yml):
  name:
    - A: 192.0.2.1            AAAA, PTR, CNAME likewise; MX: [preference, exchange]
    - TXT: "text"             or a list of strings (one record, strings glued by the reader)
    - TXT: NONE               no TXT record, and no TXT made from SPF entries
    - SPF: "v=spf1 ..."       served as TXT when the name has no TXT entry (the suite's
                              convention: RFC 7208 dropped type SPF)
    - TIMEOUT                 a query of a type with no record before this entry gets no answer
    - SERVFAIL                (this server's addition) every query for the name gets SERVFAIL
Names are matched without case; a name not in the zone is NXDOMAIN; a CNAME is followed (10
links at most, loops end the chain) with its records added to the answer, as a resolver does.
"""
import argparse
import os
import selectors
import signal
import socket
import struct
import sys

import yaml
from dnslib import AAAA, CNAME, MX, PTR, QTYPE, RCODE, RR, TXT, A, DNSRecord

TIMEOUT = object()
SERVFAIL = object()


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def text_strings(value):
    """A TXT value as the list of its byte strings, each at most 255 bytes."""
    if isinstance(value, list):
        return [str(s).encode("utf-8") for s in value]
    data = str(value).encode("utf-8")
    return [data[i:i + 255] for i in range(0, len(data), 255)] or [b""]


def load_zone(zonedata):
    """name -> list of (type, value) entries, TIMEOUT or SERVFAIL, in the suite's order."""
    zone = {}
    for name, entries in (zonedata or {}).items():
        out, generated, has_txt = [], [], False
        for entry in entries or []:
            if entry == "TIMEOUT":
                out.append(TIMEOUT)
                continue
            if entry == "SERVFAIL":
                out.append(SERVFAIL)
                continue
            for rtype, value in entry.items():
                if rtype == "TXT":
                    has_txt = True
                elif rtype == "SPF":
                    generated.append(("TXT", value))
                if value != "NONE":
                    out.append((rtype, value))
        if not has_txt:
            out.extend(generated)
        zone[str(name).lower().rstrip(".")] = out
    return zone


def rdata(rtype, value):
    if rtype == "A":
        return A(value)
    if rtype == "AAAA":
        return AAAA(value)
    if rtype in ("TXT", "SPF"):
        return TXT(text_strings(value))
    if rtype == "PTR":
        return PTR(value)
    if rtype == "CNAME":
        return CNAME(value)
    if rtype == "MX":
        return MX(value[1] or ".", value[0])
    raise ValueError(f"unknown record type {rtype}")


def lookup(zone, name, qtype):
    """(records, cname, status) for one name: status is None, TIMEOUT, SERVFAIL or NXDOMAIN."""
    entries = zone.get(name)
    if entries is None:
        return [], None, "NXDOMAIN"
    found, cname = [], None
    for entry in entries:
        if entry is SERVFAIL:
            return [], None, SERVFAIL
        if entry is TIMEOUT:
            return (found, cname, None) if found else ([], None, TIMEOUT)
        rtype, value = entry
        if rtype == qtype:
            found.append(value)
        elif rtype == "CNAME" and cname is None:
            cname = value
    return found, cname, None


def text_name(label):
    """A DNSLabel as the zone spells it: raw label bytes joined by dots (str() would escape a
    space as \\032)."""
    return b".".join(label.label).decode("utf-8", "replace").lower()


def answer(zone, data):
    query = DNSRecord.parse(data)
    asked = query.q.qname
    qtype = QTYPE.get(query.q.qtype, str(query.q.qtype))
    reply = query.reply()
    name, owner, seen = text_name(asked), asked, set()
    for _ in range(11):
        records, cname, status = lookup(zone, name, qtype)
        if status is TIMEOUT:
            return None
        if status is SERVFAIL:
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        if status == "NXDOMAIN":
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        for value in records:
            reply.add_answer(RR(owner, query.q.qtype, rdata=rdata(qtype, value), ttl=300))
        if records or cname is None or qtype == "CNAME":
            return reply
        seen.add(name)
        reply.add_answer(RR(owner, QTYPE.CNAME, rdata=CNAME(cname), ttl=300))
        name, owner = cname.lower().rstrip("."), cname
        if name in seen:
            return reply
    return reply


def wire(reply, limit):
    """The reply's bytes; truncated to its header and question with TC when over `limit`."""
    data = reply.pack()
    if len(data) <= limit:
        return data
    reply.rr, reply.auth, reply.ar = [], [], []
    reply.header.tc = 1
    return reply.pack()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--zones", action="append", required=True, help="YAML file")
    parser.add_argument("--ports-file", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    if not (args.host.startswith("127.") or args.host == "::1"):
        log("loopback addresses only")
        sys.exit(2)
    selector = selectors.DefaultSelector()
    ports = []
    try:
        family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
        for path in args.zones:
            with open(path, encoding="utf-8") as f:
                documents = list(yaml.safe_load_all(f))
            for document in documents:
                zone = load_zone((document or {}).get("zonedata"))
                for _ in range(20):  # a TCP port of the same number may be taken; try another
                    udp = socket.socket(family, socket.SOCK_DGRAM)
                    udp.bind((args.host, 0))
                    port = udp.getsockname()[1]
                    tcp = socket.socket(family, socket.SOCK_STREAM)
                    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    try:
                        tcp.bind((args.host, port))
                        break
                    except OSError:
                        udp.close()
                        tcp.close()
                tcp.listen(16)
                selector.register(udp, selectors.EVENT_READ, ("udp", zone, port))
                selector.register(tcp, selectors.EVENT_READ, ("tcp", zone, port))
                ports.append(port)
        with open(args.ports_file + ".new", "w", encoding="utf-8") as f:
            f.write("".join(f"{p}\n" for p in ports))
        os.rename(args.ports_file + ".new", args.ports_file)
    except (OSError, ValueError, yaml.YAMLError) as e:
        log(f"cannot start: {e}")
        sys.exit(2)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"READY {ports[0] if ports else 0}", flush=True)

    def respond(zone, port, data):
        try:
            query = DNSRecord.parse(data)
            log(f"QUERY {port} {text_name(query.q.qname)} "
                f"{QTYPE.get(query.q.qtype, query.q.qtype)}")
            return answer(zone, data)
        except Exception as e:  # a malformed query must not stop the server
            log(f"bad query: {e}")
            return None

    try:
        while True:
            for key, _ in selector.select():
                kind, zone, port = key.data
                sock = key.fileobj
                if kind == "udp":
                    data, peer = sock.recvfrom(4096)
                    reply = respond(zone, port, data)
                    if reply is not None:
                        sock.sendto(wire(reply, 512), peer)
                    continue
                conn, _ = sock.accept()
                conn.settimeout(2)
                try:
                    header = conn.recv(2, socket.MSG_WAITALL)
                    if len(header) == 2:
                        data = conn.recv(struct.unpack("!H", header)[0], socket.MSG_WAITALL)
                        reply = respond(zone, port, data)
                        if reply is not None:
                            out = wire(reply, 65535)
                            conn.sendall(struct.pack("!H", len(out)) + out)
                except OSError as e:
                    log(f"tcp: {e}")
                finally:
                    conn.close()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
