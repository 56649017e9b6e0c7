"""Token-shaped passwords for expiry tests: AWS ECR's envelope and a JWT, expiring when asked."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime


def ecr(expires: datetime) -> str:
    """The shape `aws ecr get-login-password` prints: base64 of a JSON envelope with `expiration`."""
    document = {
        "payload": secrets.token_hex(100),
        "datakey": secrets.token_hex(50),
        "version": "2",
        "type": "DATA_KEY",
        "expiration": int(expires.timestamp()),
    }
    return base64.b64encode(json.dumps(document).encode()).decode()


def jwt(expires: datetime) -> str:
    def enc(d: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    claims = {"sub": secrets.token_hex(4), "exp": int(expires.timestamp())}
    return f"{enc({'alg': 'RS256', 'typ': 'JWT'})}.{enc(claims)}.c2lnbmF0dXJl"
