#!/usr/bin/python3
"""Real SMTP server (aiosmtpd) for integration tests (loopback only).

Binds, prints "READY <port>" on stdout, accepts and discards mail until
SIGTERM/SIGINT. Optional STARTTLS and AUTH (PLAIN, LOGIN, CRAM-MD5, XOAUTH2,
OAUTHBEARER). See README.md.

--oauth-issued FILE: XOAUTH2 and OAUTHBEARER accept only an access token listed in FILE (JSON
lines {"token", "expires_at"}, as token_endpoint.py --issued writes them, re-read at each AUTH)
that has not expired, for --auth-user when given. Another token is answered as Gmail does: 334
with a base64 JSON error, then, after the client's answer (an empty line, or ^A), 535 5.7.8.
--basic-disabled: AUTH PLAIN and LOGIN are answered as Exchange Online answers them once
passwords are off: 535 5.7.139. Each AUTH is logged with its mechanism, user and outcome (never
the secret).
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
MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER")
GMAIL_ERROR = {"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"}
BASIC_DISABLED = "535 5.7.139 Authentication unsuccessful, basic authentication is disabled"


def unescape_saslname(name):
    """RFC 5801: "=2C" is ",", "=3D" is "="."""
    return name.replace(b"=2C", b",").replace(b"=3D", b"=")


class Server(SMTP):
    """aiosmtpd's SMTP plus CRAM-MD5, XOAUTH2 and OAUTHBEARER (auth_A__B is mechanism A-B)."""

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

    async def _initial_response(self, args):
        """The client's first message: the AUTH line's initial response, or after an empty 334."""
        if len(args) == 1:
            blob = await self.challenge_auth("")
            return None if blob is MISSING else blob
        try:
            return b64decode(args[1], validate=True)
        except ValueError:
            await self.push("501 5.5.2 Can't decode base64")
            return None

    async def _bearer(self, mechanism, user, auth):
        token = auth[7:] if auth[:7].lower() == b"bearer " else b""
        result = self._authenticate(mechanism, LoginPassword(user, token))
        if not result.success:  # Gmail style: error challenge, the client's answer, then 535
            await self.push("334 " + b64encode(json.dumps(GMAIL_ERROR).encode()).decode())
            answer = await self._reader.readline()
            log.info("%r AUTH %s answer to the error challenge: %s", self.session.peer, mechanism,
                     "empty" if answer.strip() == b"" else
                     "^A" if answer.strip() == b"AQ==" else "other")
        return result

    async def auth_XOAUTH2(self, _, args):
        blob = await self._initial_response(args)
        if blob is None:
            return AuthResult(success=False, handled=True)
        fields = dict(f.partition(b"=")[::2] for f in blob.split(b"\x01") if f)
        return await self._bearer("XOAUTH2", fields.get(b"user", b""), fields.get(b"auth", b""))

    async def auth_OAUTHBEARER(self, _, args):
        # RFC 7628: gs2-header ("n,a=USER,") ^A key=value ^A ... ^A ^A
        blob = await self._initial_response(args)
        if blob is None:
            return AuthResult(success=False, handled=True)
        gs2, _, rest = blob.partition(b"\x01")
        parts = gs2.split(b",")
        if len(parts) != 3 or parts[0] not in (b"n", b"y") or not rest.endswith(b"\x01\x01"):
            await self.push("501 5.5.2 Malformed OAUTHBEARER message")
            return AuthResult(success=False, handled=True)
        user = unescape_saslname(parts[1][2:]) if parts[1].startswith(b"a=") else b""
        fields = dict(f.partition(b"=")[::2] for f in rest.split(b"\x01") if f)
        self.session.oauthbearer_where = (fields.get(b"host", b""), fields.get(b"port", b""))
        return await self._bearer("OAUTHBEARER", user, fields.get(b"auth", b""))


class Handler:
    # No attribute here may start with "auth_": aiosmtpd would offer it as a mechanism.
    def __init__(self, user, password_file, offer_auth, issued_file=None, basic_disabled=False):
        self.user, self.password_file = user, password_file
        self.offer_auth = offer_auth
        self.issued_file, self.basic_disabled = issued_file, basic_disabled

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname  # aiosmtpd leaves this to the hook
        if not self.offer_auth:
            responses = [r for r in responses if not r.startswith("250-AUTH")]
        return responses

    async def handle_DATA(self, server, session, envelope):
        log.info("%r message from %s to %s, %d bytes, discarded", session.peer,
                 envelope.mail_from, envelope.rcpt_tos, len(envelope.content or b""))
        # The headers a test asks about (the delivery probe's), one log line each.
        head = (envelope.content or b"").split(b"\r\n\r\n", 1)[0]
        for line in head.split(b"\r\n"):
            if line.lower().startswith((b"subject:", b"x-smtp-exporter-probe:", b"message-id:")):
                log.info("header %s", line.decode("ascii", "replace"))
        return "250 2.0.0 OK discarded"

    def issued_token_problem(self, token):
        """None when `token` is listed in the issued file and not expired, else why not."""
        now = time.time()
        with open(self.issued_file) as f:  # re-read at every attempt
            for line in f:
                entry = json.loads(line)
                if hmac.compare_digest(entry["token"].encode(), token):
                    return None if entry["expires_at"] > now else "expired token"
        return "unknown token"

    def authenticate(self, server, session, envelope, mechanism, data):
        if self.basic_disabled and mechanism in ("PLAIN", "LOGIN"):
            log.info("%r AUTH %s user=%r: refused, basic authentication disabled", session.peer,
                     mechanism, data.login)
            return AuthResult(success=False, handled=False, message=BASIC_DISABLED)
        if self.issued_file and mechanism in ("XOAUTH2", "OAUTHBEARER"):
            user = data.login
            problem = self.issued_token_problem(data.password)
            if problem is None and self.user and user != self.user.encode():
                problem = "user mismatch"
            where = getattr(session, "oauthbearer_where", None) if mechanism == "OAUTHBEARER" else None
            log.info("%r AUTH %s user=%r%s: %s", session.peer, mechanism, user,
                     f" host={where[0]!r} port={where[1]!r}" if where else "",
                     "success" if problem is None else "failure (" + problem + ")")
            ok = problem is None
            return AuthResult(success=ok, auth_data=user if ok else None, handled=False)
        if not self.password_file:
            log.info("%r AUTH %s: failure (no password configured)", session.peer, mechanism)
            return AuthResult(success=False, handled=False)
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
    p.add_argument("--oauth-issued", help="XOAUTH2/OAUTHBEARER accept the tokens listed here")
    p.add_argument("--basic-disabled", action="store_true",
                   help="answer AUTH PLAIN/LOGIN with 535 5.7.139 (passwords off)")
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
    if args.auth_password_file and not args.auth_user:
        p.error("--auth-password-file needs --auth-user")
    if args.auth_user and not (args.auth_password_file or args.oauth_issued or args.basic_disabled):
        p.error("--auth-user needs --auth-password-file, --oauth-issued or --basic-disabled")
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
    offer_auth = bool(args.auth_user or args.oauth_issued or args.basic_disabled)
    if args.oauth_issued:
        # Microsoft's access tokens run to kilobytes, and so does the AUTH response line carrying
        # one; Exchange Online and Gmail take it. aiosmtpd's default limit is 1001.
        Server.line_length_limit = 16384
    handler = Handler(args.auth_user, args.auth_password_file, offer_auth, args.oauth_issued,
                      args.basic_disabled)

    def factory():
        return Server(
            handler, hostname=args.hostname, enable_SMTPUTF8=True, loop=loop,
            tls_context=tls_ctx, require_starttls=args.require_starttls,
            authenticator=handler.authenticate if offer_auth else None,
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
