"""A stand-in for a registry's token service (Docker's token auth spec), for Bearer registries.

The real Debian registry, started with ``auth: token:`` (``tests.support.registry.TokenAuth``),
sends clients here and trusts the ES256 tokens this issuer signs: their ``x5c`` header carries a
self-signed certificate that is the registry's ``rootcertbundle``. Users log in with Basic auth
against ``users``; a token grants the intersection of the scope asked for and ``grants``
(user → repository → actions), as real token services do. A wrong login answers 401.

Stdlib HTTP server in a thread on a free loopback port; stop it with ``running_token_issuer``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from tests.support.registry import TokenAuth

SERVICE = "edgedock-test-registry"
ISSUER = "edgedock-test-token-issuer"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


@dataclass
class SigningKey:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @classmethod
    def generate(cls) -> SigningKey:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edgedock test token issuer")])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(key, certificate)

    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def sign(self, claims: dict[str, object]) -> str:
        """A compact ES256 JWS: the signature is r‖s, 32 bytes each, not DER."""
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(der).decode()]}
        signing_input = (
            _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        )
        r, s = decode_dss_signature(
            self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        )
        return signing_input + "." + _b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


@dataclass
class TokenIssuer:
    url: str  # http://127.0.0.1:PORT
    users: dict[str, str]
    grants: dict[str, dict[str, set[str]]]
    signing: SigningKey
    requests: list[dict[str, list[str]]] = field(default_factory=list)  # query of each request

    @property
    def realm(self) -> str:
        return f"{self.url}/token"

    def token_auth(self, bundle: Path) -> TokenAuth:
        bundle.write_bytes(self.signing.pem())
        return TokenAuth(realm=self.realm, service=SERVICE, issuer=ISSUER, rootcertbundle=bundle)

    def issue(self, username: str, scopes: list[str]) -> dict[str, object]:
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            allowed = self.grants.get(username, {}).get(name, set())
            granted = [a for a in actions.split(",") if a in allowed]
            access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": username,
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        token = self.signing.sign(claims)
        return {"token": token, "access_token": token, "expires_in": 300}


def _handler(issuer: TokenIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            issuer.requests.append(query)
            user = self._login()
            if user is None:
                self._answer(401, {"details": "incorrect username or password"})
                return
            self._answer(200, issuer.issue(user, query.get("scope", [])))

        def _login(self) -> str | None:
            scheme, _, value = self.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "basic":
                return None
            try:
                username, _, password = base64.b64decode(value).decode().partition(":")
            except ValueError:
                return None
            known = issuer.users.get(username)
            if known is None or not secrets.compare_digest(known, password):
                return None
            return username

        def _answer(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return  # quiet: the requests are kept in `issuer.requests`

    return Handler


@contextmanager
def running_token_issuer(
    users: dict[str, str], grants: dict[str, dict[str, set[str]]]
) -> Iterator[TokenIssuer]:
    issuer = TokenIssuer(url="", users=users, grants=grants, signing=SigningKey.generate())
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(issuer))
    issuer.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
