"""The forms a secret takes when something echoes it back, and their removal from text.

Shared by the agent (what an engine says about a pull) and the server (what a registry says
about a credentials check): a registry or engine may quote the password raw, JSON-escaped,
URL-encoded, or inside the `user:password` basic form and its base64. Pure and stdlib only,
so the agent can import it without the server's dependencies.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
# A shorter secret would blank out ordinary words of the message; its forms are still removed.
MIN_SECRET = 4
# Go's encoding/json escapes these for HTML safety; Docker writes its JSON that way.
_GO_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
# Some encoders write the hex digits of \uXXXX in upper case.
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-f]{4})")


def base64_forms(raw: bytes) -> set[str]:
    """Both alphabets, with and without padding."""
    forms: set[str] = set()
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        forms.update((text, text.rstrip("=")))
    return forms


def json_forms(secret: str) -> set[str]:
    """The secret as it appears inside a JSON string, escaped the ways encoders escape it."""
    forms: set[str] = set()
    for ensure_ascii in (True, False):
        escaped = json.dumps(secret, ensure_ascii=ensure_ascii)[1:-1]
        forms.add(escaped)
        go = escaped
        for char, escape in _GO_ESCAPES.items():
            go = go.replace(char, escape)
        forms.add(go)
        forms.add(_UNICODE_ESCAPE.sub(lambda m: "\\u" + m.group(1).upper(), go))
    return forms


def url_forms(secret: str) -> set[str]:
    return {quote(secret, safe=""), quote_plus(secret), quote(secret)}


def login_forms(username: str, password: str) -> list[str]:
    """Every form of a registry login to remove from what a registry says: longest first."""
    basic = f"{username}:{password}"
    forms = {basic} | json_forms(basic) | base64_forms(basic.encode("utf-8")) | url_forms(basic)
    forms |= base64_forms(password.encode("utf-8"))
    if len(password) >= MIN_SECRET:
        forms |= {password} | json_forms(password) | url_forms(password)
    return ordered(forms)


def ordered(forms: Iterable[str]) -> list[str]:
    """Longest first, so that a form containing another is removed whole."""
    return sorted({f for f in forms if f}, key=len, reverse=True)


def scrub(text: str, forms: Iterable[str]) -> str:
    for form in forms:
        text = text.replace(form, REDACTED)
    return text
