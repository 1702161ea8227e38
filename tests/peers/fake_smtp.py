#!/usr/bin/python3
"""Scriptable fake SMTP server for integration tests (loopback only).

Binds, prints "READY <port>" on stdout, then runs the JSON script from the
start for every accepted connection until SIGTERM/SIGINT. See README.md.
"""
import argparse
import asyncio
import json
import signal
import socket
import ssl
import struct
import sys

STEP_KEYS = {"send", "send_partial", "expect", "read_line", "read_data", "sleep", "close",
             "hang", "starttls", "reset"}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def load_script(args):
    script = json.loads(args.script_inline) if args.script_inline is not None \
        else json.load(open(args.script, encoding="utf-8"))
    if not isinstance(script, list):
        raise ValueError("script must be a JSON list of steps")
    for i, step in enumerate(script):
        if not isinstance(step, dict) or len(step) != 1 or not step.keys() <= STEP_KEYS:
            raise ValueError(f"step {i}: want one of {sorted(STEP_KEYS)}, got {step!r}")
        if "starttls" in step and not args.tls_cert:
            raise ValueError(f"step {i}: starttls needs --tls-cert/--tls-key")
    return script


class Connection:
    def __init__(self, reader, writer, script, tls_ctx):
        self.reader, self.writer = reader, writer
        self.script, self.tls_ctx = script, tls_ctx

    async def send(self, text):
        self.writer.write(text.encode("utf-8"))
        await self.writer.drain()

    async def read_line(self):
        """One client line up to LF (b"" on EOF), logged as "C: ..."."""
        line = await self.reader.readline()
        if line:
            log("C: " + line.rstrip(b"\r\n").decode("utf-8", "backslashreplace"))
        return line

    async def run(self):
        """Run the script; return False if the connection is finished."""
        for step in self.script:
            (op, arg), = step.items()
            if op in ("send", "send_partial"):
                await self.send(arg)
            elif op == "expect":
                line = await self.read_line()
                if not line:
                    return False
                if not line.decode("utf-8", "replace").upper().startswith(arg.upper()):
                    await self.send("500 unexpected\r\n")
                    return False
            elif op == "read_line":
                if not await self.read_line():
                    return False
            elif op == "read_data":  # a message after DATA's 354, up to its "." line
                while True:
                    line = await self.read_line()
                    if not line:
                        return False
                    if line.rstrip(b"\r\n") == b".":
                        break
            elif op == "sleep":
                await asyncio.sleep(float(arg))
            elif op == "close":
                return False
            elif op == "reset":  # abortive close: the client sees RST
                sock = self.writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.writer.transport.abort()
                return False
            elif op == "hang":
                while await self.read_line():
                    pass
                return False
            elif op == "starttls":
                await self.writer.start_tls(self.tls_ctx)
        return True

    async def after_script(self):
        while line := await self.read_line():
            if line.strip().upper() == b"QUIT":
                await self.send("221 bye\r\n")
                return
            await self.send("250 ok\r\n")


async def main(args):
    script = load_script(args)
    tls_ctx = None
    if args.tls_cert:
        tls_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls_max_version:
            tls_ctx.maximum_version = getattr(ssl.TLSVersion, args.tls_max_version)
        if args.tls_tickets is not None:
            tls_ctx.num_tickets = args.tls_tickets

    async def handle(reader, writer):
        peer = writer.get_extra_info("peername")
        log(f"* connect {peer}")
        if args.nagle:  # asyncio turns Nagle off on every socket; postfix leaves it on
            writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)
        conn = Connection(reader, writer, script, tls_ctx)
        try:
            if await conn.run():
                await conn.after_script()
        except Exception as e:  # any per-connection failure: log it, drop the client
            log(f"* error {peer}: {e!r}")
        finally:
            writer.close()
            log(f"* close {peer}")

    server = await asyncio.start_server(
        handle, args.host, args.port, ssl=tls_ctx if args.implicit_tls else None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
    await stop.wait()
    server.close()  # asyncio.run() then cancels the per-connection tasks


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--script", help="JSON file: list of steps")
    src.add_argument("--script-inline", help="the JSON list itself")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--implicit-tls", action="store_true", help="TLS right after accept")
    p.add_argument("--tls-max-version", choices=["TLSv1_2", "TLSv1_3"],
                   help="highest TLS version the server accepts")
    p.add_argument("--tls-tickets", type=int, choices=range(0, 9), metavar="N",
                   help="TLS 1.3 session tickets sent after the handshake (OpenSSL default: 2)")
    p.add_argument("--nagle", action="store_true",
                   help="keep Nagle's algorithm on (TCP_NODELAY off), as postfix does")
    args = p.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if args.implicit_tls and not args.tls_cert:
        p.error("--implicit-tls needs --tls-cert/--tls-key")
    return args


if __name__ == "__main__":
    args = parse_args()
    try:
        asyncio.run(main(args))
    except (OSError, ValueError) as e:
        log(f"fake_smtp: {e}")
        sys.exit(2)
