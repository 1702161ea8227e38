#!/usr/bin/python3
"""Scripted OAuth 2.0 token endpoint over HTTPS (loopback only), for tests/integration/oauth_*.

Binds, prints "READY <port>" on stdout, then answers POSTs until SIGTERM/SIGINT. Each request is
one JSON line appended to --log (no secrets in it): {"n", "grant", "result", "refresh_token_ok"},
written just before its answer (a "hang" request: when it starts hanging).
The behaviour is the JSON object in --script, read again at each request (tests rewrite it):

  mode          "ok" (default) | "invalid_grant" | "invalid_client" | "unauthorized_client" |
                "invalid_scope" | "status500" | "hang" | "malformed" | "huge" | "redirect" |
                "no_expires" | "echo_secrets" (a 400 whose description repeats the form body)
  expires_in    seconds in a success (default 3600)
  delay_ms      wait before answering (concurrency tests)
  rotate        true: each success returns a new refresh token and refuses the old one
                (invalid_grant, AADSTS70000), as Microsoft does
  refresh_token the refresh token accepted at start (default: any)
  client_secret when set, another secret is invalid_client (AADSTS7000215)
  jwt           {"public_key": PEM file, "issuer", "subject", "audience", "scope"}: a jwt-bearer
                grant's assertion is verified (RS256 signature, claims, exp - iat == 3600) with
                python3-jwt and python3-cryptography; a failure is invalid_grant.
  token_prefix  access tokens are this prefix and the request's number (default "at-"): a test
                can make them canaries it searches for.

--issued FILE: each access token issued is appended to FILE as one JSON line
{"token", "expires_at"} (Unix seconds), written before the answer leaves, for
aiosmtpd_server.py --oauth-issued (an SMTP peer that accepts only tokens this endpoint issued).
"""
import argparse
import json
import os
import signal
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt  # python3-jwt

lock = threading.Lock()
state = {"n": 0, "refresh_token": None, "issued": 0}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Handler(BaseHTTPRequestHandler):
    server_version = "token-endpoint"

    def log_message(self, fmt, *args):
        log(fmt % args)

    def answer(self, status, body, headers=()):
        # Logged before the answer leaves: a client that has read it finds its request counted.
        if not self.entry.get("logged"):
            write_log(self.server.log_path, self.entry)
            self.entry["logged"] = True
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def oauth_error(self, status, error, description, codes=None):
        body = {"error": error, "error_description": description}
        if codes:
            body["error_codes"] = codes
        self.answer(status, body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
        field = lambda k: form.get(k, [""])[0]
        with open(self.server.script_path) as f:
            script = json.load(f)
        grant = field("grant_type")
        with lock:
            state["n"] += 1
            n = state["n"]
            if state["refresh_token"] is None:
                state["refresh_token"] = script.get("refresh_token", "")
        entry = {"n": n, "grant": grant, "refresh_token_ok": None, "result": "ok"}
        self.entry = entry
        try:
            self.serve(script, form, field, grant, n, entry)
        finally:
            if not entry.get("logged"):
                write_log(self.server.log_path, entry)

    def serve(self, script, form, field, grant, n, entry):
        time.sleep(script.get("delay_ms", 0) / 1000)
        mode = script.get("mode", "ok")
        entry["result"] = mode
        if mode == "hang":
            write_log(self.server.log_path, entry)  # counted now: it never answers
            entry["logged"] = True
            time.sleep(60)
            return
        if mode == "redirect":
            self.answer(302, b"", [("Location", "https://127.0.0.1:1/elsewhere")])
            return
        if mode == "status500":
            self.answer(500, b"<html>internal error</html>")
            return
        if mode == "malformed":
            self.answer(200, b'{"access_token": "at-x", "expires_in": ')
            return
        if mode == "huge":
            self.answer(200, {"access_token": "at-big", "expires_in": 3600, "pad": "x" * 70000})
            return
        if mode == "echo_secrets":
            self.oauth_error(400, "invalid_request", "bad request: " + urllib.parse.urlencode(
                {k: v[0] for k, v in form.items()}) + " raw " + " ".join(v[0] for v in form.values()))
            return
        if mode in ("invalid_grant", "unauthorized_client", "invalid_scope"):
            codes = {"invalid_grant": [700082]}.get(mode)
            self.oauth_error(400, mode, f"AADSTS700082: The refresh token has expired due to "
                             "inactivity.\r\nTrace ID: 1\r\nTimestamp: 2026" if codes else mode,
                             codes)
            return
        if mode == "invalid_client":
            self.oauth_error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.",
                             [7000215])
            return
        expected_secret = script.get("client_secret")
        if expected_secret is not None and field("client_secret") != expected_secret:
            entry["result"] = "invalid_client"
            self.oauth_error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.",
                             [7000215])
            return
        refresh = None
        if grant == "refresh_token":
            with lock:
                ok = not state["refresh_token"] or field("refresh_token") == state["refresh_token"]
                entry["refresh_token_ok"] = ok
                if ok and script.get("rotate"):
                    refresh = f"rt-{n}-rotated"
                    state["refresh_token"] = refresh
            if not ok:
                entry["result"] = "invalid_grant"
                self.oauth_error(400, "invalid_grant", "AADSTS70000: The provided grant is invalid "
                                 "or has been used.", [70000])
                return
        elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            problem = verify_jwt(script.get("jwt", {}), field("assertion"))
            if problem:
                entry["result"] = "invalid_grant"
                entry["jwt_problem"] = problem
                self.oauth_error(400, "invalid_grant", "Invalid JWT: " + problem)
                return
        elif grant != "client_credentials":
            entry["result"] = "unsupported_grant_type"
            self.oauth_error(400, "unsupported_grant_type", "grant " + grant)
            return
        token = f"{script.get('token_prefix', 'at-')}{n}"
        if self.server.issued_path:
            lifetime = 3600 if mode == "no_expires" else script.get("expires_in", 3600)
            with lock, open(self.server.issued_path, "a") as f:
                f.write(json.dumps({"token": token, "expires_at": time.time() + lifetime}) + "\n")
        body = {"access_token": token, "token_type": "Bearer",
                "scope": field("scope") or "https://mail.google.com/"}
        if mode != "no_expires":
            body["expires_in"] = script.get("expires_in", 3600)
        if refresh:
            body["refresh_token"] = refresh
        self.answer(200, body)


def write_log(path, entry):
    with lock, open(path, "a") as f:
        f.write(json.dumps({k: v for k, v in entry.items() if k != "logged"}) + "\n")


def verify_jwt(expect, assertion):
    try:
        with open(expect["public_key"], "rb") as f:
            key = f.read()
        claims = jwt.decode(assertion, key, algorithms=["RS256"], audience=expect["audience"],
                            issuer=expect["issuer"], options={"require": ["exp", "iat", "iss", "aud"]})
    except Exception as e:  # noqa: BLE001 - the reason goes back to the test
        return f"{type(e).__name__}: {e}"
    header = jwt.get_unverified_header(assertion)
    if header.get("alg") != "RS256" or header.get("typ") != "JWT":
        return f"header {header}"
    if claims.get("sub") != expect.get("subject"):
        return f"sub {claims.get('sub')!r}"
    if claims.get("scope") != expect.get("scope"):
        return f"scope {claims.get('scope')!r}"
    if claims["exp"] - claims["iat"] != 3600 or abs(claims["iat"] - time.time()) > 60:
        return f"iat {claims['iat']} exp {claims['exp']}"
    return None


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def finish_request(self, request, client_address):
        # The handshake in the request's own thread: a client that stalls it holds only itself.
        request.settimeout(30)
        try:
            tls = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            log(f"handshake failed: {e}")
            return
        super().finish_request(tls, client_address)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--script", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--issued", help="append each issued access token here (JSON lines)")
    args = parser.parse_args()
    try:
        server = Server(("127.0.0.1", args.port), Handler)
        server.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.tls.load_cert_chain(args.cert, args.key)
    except (OSError, ssl.SSLError) as e:
        log(f"cannot start: {e}")
        sys.exit(2)
    server.script_path = args.script
    server.log_path = args.log
    server.issued_path = args.issued
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
