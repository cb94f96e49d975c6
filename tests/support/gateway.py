"""What the gateway tests put around a real Envoy: upstreams that echo what reached them,
a JWKS server, and tokens signed with an RSA key made for the test."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from Crypto.Hash import HMAC, SHA256, SHA384
from Crypto.PublicKey import RSA
from Crypto.Signature import pkcs1_15

# Headers the test sends to tell an echo upstream how to misbehave.
FAIL_ONCE = "x-test-fail-once"  # answer 503 the first time this value is seen
DELAY = "x-test-delay"  # seconds to wait before answering


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json_b64(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


@dataclass
class SigningKey:
    """An RSA key as an issuer would hold it: tokens signed RS256 and its public JWKS."""

    kid: str = "test-key"
    key: RSA.RsaKey = field(default_factory=lambda: RSA.generate(2048))

    def jwks(self) -> dict[str, Any]:
        jwk = {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid}
        return {"keys": [jwk | {"n": _number(self.key.n), "e": _number(self.key.e)}]}

    def token(self, claims: dict[str, Any], *, alg: str = "RS256", kid: str | None = None) -> str:
        """`claims` signed with `alg`: RS256 or RS384 with the key; HS256 with the public
        key as the secret (a forgery); `none` unsigned."""
        header = {"alg": alg, "typ": "JWT", "kid": kid or self.kid}
        signing_input = f"{_json_b64(header)}.{_json_b64(claims)}".encode()
        if alg == "none":
            return signing_input.decode() + "."
        if alg == "HS256":
            secret = RSA.construct((self.key.n, self.key.e)).export_key()
            signature = HMAC.new(secret, signing_input, SHA256).digest()
        elif alg == "RS384":
            signature = pkcs1_15.new(self.key).sign(SHA384.new(signing_input))
        else:
            signature = pkcs1_15.new(self.key).sign(SHA256.new(signing_input))
        return f"{signing_input.decode()}.{b64url(signature)}"


def _number(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def claims(issuer: str, audience: str, subject: str, ttl: float = 300.0) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": issuer, "aud": audience, "sub": subject, "iat": now, "exp": int(now + ttl)}


@dataclass
class EchoUpstream:
    """An HTTP server answering every request with what it received, as JSON."""

    name: str
    port: int
    replica: int = 1
    failed_once: set[str] = field(default_factory=set)  # shared by a service's replicas
    received: Counter[str] = field(default_factory=Counter)
    server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), _echo_handler(self))
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def _echo_handler(upstream: EchoUpstream) -> type[BaseHTTPRequestHandler]:
    class Echo(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_any(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            if self.path == "/readyz":
                self.answer(200, {"ready": True})
                return
            upstream.received[f"{self.command} {self.path}"] += 1
            fail = self.headers.get(FAIL_ONCE)
            if fail and fail not in upstream.failed_once:
                upstream.failed_once.add(fail)
                self.answer(503, {"failing": fail})
                return
            if self.headers.get(DELAY):
                time.sleep(float(self.headers[DELAY]))  # the upstream is slow (not the test)
            headers = {key.lower(): value for key, value in self.headers.items()}
            echo = {"service": upstream.name, "replica": upstream.replica}
            echo |= {"method": self.command, "path": self.path}
            self.answer(200, echo | {"headers": headers, "body": body})

        do_GET = do_POST = do_any

    return Echo


@contextmanager
def jwks_server(port: int, jwks: dict[str, Any]) -> Iterator[str]:
    """Serve `jwks` at http://127.0.0.1:`port`/jwks.json while the block runs."""
    data = json.dumps(jwks).encode()

    class Jwks(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", port), Jwks)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}/jwks.json"
    finally:
        server.shutdown()
        server.server_close()
