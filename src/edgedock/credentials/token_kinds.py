"""Recognising what kind of token a password is, and when it expires. Pure, no I/O.

Only facts the token itself carries are read; nothing is verified or sent anywhere.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class TokenFacts:
    kind: str | None
    expires_at: datetime | None


def _b64json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
        return json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: deeply nested JSON ("[[[[…") is no token we know; treat it as opaque.
        return None


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _jwt_expiry(password: str) -> TokenFacts | None:
    parts = password.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        return None
    header, claims = _b64json(parts[0]), _b64json(parts[1])
    if not isinstance(header, dict) or "alg" not in header or not isinstance(claims, dict):
        return None
    return TokenFacts("jwt", _timestamp(claims.get("exp")))


def _ecr_expiry(password: str) -> TokenFacts | None:
    # `aws ecr get-login-password` prints base64 of a JSON envelope holding `expiration`.
    if len(password) < 64 or not password.startswith("eyJ"):
        return None
    document = _b64json(password)
    if not isinstance(document, dict) or "payload" not in document or "datakey" not in document:
        return None
    return TokenFacts("aws_ecr", _timestamp(document.get("expiration")))


def inspect(password: str) -> TokenFacts:
    if password.startswith("dckr_pat_"):
        return TokenFacts("docker_hub_pat", None)
    if password.startswith(("ghp_", "github_pat_")):
        return TokenFacts("github_pat", None)
    return _ecr_expiry(password) or _jwt_expiry(password) or TokenFacts(None, None)
