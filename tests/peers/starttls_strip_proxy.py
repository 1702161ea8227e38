#!/usr/bin/python3
"""A STARTTLS-stripping middlebox for integration tests (a downgrade attack, issue 24).

Listens on --host/--port, connects each client to --upstream HOST:PORT, and copies bytes both
ways, except that STARTTLS is removed from the server's EHLO replies: the line goes, and when it
was the last one the line before it becomes the last ("250-" -> "250 "). Some firewalls' "SMTP
inspection" does exactly this. Prints "READY <port>" once bound; logs to stderr one line per
connection and one "* stripped STARTTLS" per reply it changed. Stdlib only; loopback or the
test's own namespaces only.
"""
import argparse
import asyncio
import signal
import sys


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def strip_reply(lines):
    """`lines`: one complete reply (bytes lines with CRLF). Returns (lines, stripped?)."""
    kept = [l for l in lines if l[4:].strip().upper() != b"STARTTLS"]
    if len(kept) == len(lines) or not kept:
        return lines, False
    last = kept[-1]
    kept[-1] = last[:3] + b" " + last[4:]
    return kept, True


async def server_to_client(reader, writer):
    reply = []
    while True:
        line = await reader.readline()
        if not line:
            break
        reply.append(line)
        if len(line) >= 4 and line[3:4] == b"-":
            continue  # more lines of this reply follow
        lines, stripped = strip_reply(reply)
        if stripped:
            log("* stripped STARTTLS")
        writer.write(b"".join(lines))
        await writer.drain()
        reply = []
    writer.close()


async def client_to_server(reader, writer):
    while True:
        data = await reader.read(4096)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()


async def main(args):
    up_host, _, up_port = args.upstream.rpartition(":")

    async def handle(c_reader, c_writer):
        log("* connect")
        try:
            s_reader, s_writer = await asyncio.open_connection(up_host.strip("[]"), int(up_port))
        except OSError as e:
            log(f"* upstream error {e}")
            c_writer.close()
            return
        await asyncio.gather(server_to_client(s_reader, c_writer),
                             client_to_server(c_reader, s_writer), return_exceptions=True)
        log("* close")

    server = await asyncio.start_server(handle, args.host, args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--upstream", required=True, help="HOST:PORT of the real server")
    try:
        asyncio.run(main(p.parse_args()))
    except OSError as e:
        log(str(e))
        sys.exit(2)
