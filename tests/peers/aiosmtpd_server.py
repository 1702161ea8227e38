#!/usr/bin/python3
"""Real SMTP server (aiosmtpd) for integration tests (loopback only).

Binds, prints "READY <port>" on stdout, accepts and discards mail until
SIGTERM/SIGINT. Optional STARTTLS and AUTH (PLAIN, LOGIN, CRAM-MD5, XOAUTH2).
See README.md.
"""
import argparse
import asyncio
import hmac
import json
import logging
import signal
import ssl
import sys
import time
from base64 import b64decode, b64encode

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword

log = logging.getLogger("peer")
MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2")


class Server(SMTP):
    """aiosmtpd's SMTP plus CRAM-MD5 and XOAUTH2 (auth_A__B is mechanism A-B)."""

    async def auth_CRAM__MD5(self, _, args):
        if len(args) != 1:
            await self.push("501 5.5.4 CRAM-MD5 takes no initial response")
            return AuthResult(success=False, handled=True)
        challenge = f"<{time.time_ns()}@{self.hostname}>".encode()
        response = await self.challenge_auth(challenge)
        if response is MISSING:
            return AuthResult(success=False, handled=True)
        user, _, digest = response.partition(b" ")
        return self._authenticate("CRAM-MD5", (user, digest, challenge))

    async def auth_XOAUTH2(self, _, args):
        if len(args) == 1:
            blob = await self.challenge_auth("")
            if blob is MISSING:
                return AuthResult(success=False, handled=True)
        else:
            try:
                blob = b64decode(args[1], validate=True)
            except ValueError:
                await self.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        fields = dict(f.partition(b"=")[::2] for f in blob.split(b"\x01") if f)
        token = fields.get(b"auth", b"")
        token = token[7:] if token[:7].lower() == b"bearer " else b""
        result = self._authenticate("XOAUTH2", LoginPassword(fields.get(b"user", b""), token))
        if not result.success:  # Gmail style: error challenge, client answers empty, 535
            error = {"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"}
            await self.push("334 " + b64encode(json.dumps(error).encode()).decode())
            await self._reader.readline()
        return result


class Handler:
    # No attribute here may start with "auth_": aiosmtpd would offer it as a mechanism.
    def __init__(self, user, password_file, offer_auth):
        self.user, self.password_file = user, password_file
        self.offer_auth = offer_auth

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname  # aiosmtpd leaves this to the hook
        if not self.offer_auth:
            responses = [r for r in responses if not r.startswith("250-AUTH")]
        return responses

    async def handle_DATA(self, server, session, envelope):
        log.info("%r message from %s to %s, %d bytes, discarded", session.peer,
                 envelope.mail_from, envelope.rcpt_tos, len(envelope.content or b""))
        return "250 2.0.0 OK discarded"

    def authenticate(self, server, session, envelope, mechanism, data):
        with open(self.password_file, "rb") as f:  # re-read at every attempt
            password = f.read().rstrip(b"\r\n")
        if mechanism == "CRAM-MD5":
            user, digest, challenge = data
            expected = hmac.new(password, challenge, "md5").hexdigest().encode()
            ok = hmac.compare_digest(digest.lower(), expected)
        else:
            user = data.login
            ok = hmac.compare_digest(data.password, password)
        ok = ok and user == self.user.encode()
        log.info("%r AUTH %s user=%r: %s", session.peer, mechanism, user,
                 "success" if ok else "failure")
        return AuthResult(success=ok, auth_data=user if ok else None, handled=False)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    p.add_argument("--port", type=int, default=0, help="0 = ephemeral")
    p.add_argument("--hostname", default="aiosmtpd.test", help="name in greeting/EHLO")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--require-starttls", action="store_true")
    p.add_argument("--auth-user")
    p.add_argument("--auth-password-file", help="secret (password or XOAUTH2 token)")
    p.add_argument("--auth-require-tls", action="store_true",
                   help="offer/accept AUTH only after STARTTLS")
    p.add_argument("--mechanisms", default="PLAIN,LOGIN",
                   help=f"comma list from {','.join(MECHANISMS)}")
    p.add_argument("--verbose", action="store_true", help="also log server replies")
    args = p.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if args.require_starttls and not args.tls_cert:
        p.error("--require-starttls needs --tls-cert/--tls-key")
    if bool(args.auth_user) != bool(args.auth_password_file):
        p.error("--auth-user and --auth-password-file go together")
    args.mechanisms = [m.strip().upper() for m in args.mechanisms.split(",") if m.strip()]
    if not args.mechanisms or set(args.mechanisms) - set(MECHANISMS):
        p.error(f"--mechanisms: choose from {','.join(MECHANISMS)}")
    return args


async def main(args):
    loop = asyncio.get_running_loop()
    tls_ctx = None
    if args.tls_cert:
        tls_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_ctx.load_cert_chain(args.tls_cert, args.tls_key)
    handler = Handler(args.auth_user, args.auth_password_file, bool(args.auth_user))

    def factory():
        return Server(
            handler, hostname=args.hostname, enable_SMTPUTF8=True, loop=loop,
            tls_context=tls_ctx, require_starttls=args.require_starttls,
            authenticator=handler.authenticate if args.auth_user else None,
            auth_require_tls=args.auth_require_tls,
            auth_exclude_mechanism=[m for m in MECHANISMS if m not in args.mechanisms])

    # Not aiosmtpd.controller.Controller: in 1.4.3 it keeps port=0 and its
    # start() self-test then connects to port 0 and fails.
    server = await loop.create_server(factory, args.host, args.port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    port = server.sockets[0].getsockname()[1]
    log.info("listening on %s port %d", args.host, port)
    print(f"READY {port}", flush=True)
    await stop.wait()
    server.close()  # asyncio.run() then cancels the session tasks


if __name__ == "__main__":
    args = parse_args()
    logging.basicConfig(stream=sys.stderr, format="%(name)s: %(message)s",
                        level=logging.DEBUG if args.verbose else logging.INFO)
    logging.getLogger("asyncio").setLevel(logging.WARNING)
    try:
        asyncio.run(main(args))
    except OSError as e:
        log.error("%s", e)
        sys.exit(2)
