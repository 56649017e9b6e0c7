"""Every form of a pull's secret that an engine might echo, and their removal from a message.

An engine's error text passes through logs and status reports to the server's timeline and
audit trail, so nothing of the credentials may survive in it. Engines do not echo a password
verbatim only: Docker writes JSON with Go's escaping (`\\"`, `\\\\`, `\\u003c` for `<`, …), an
error may quote the X-Registry-Auth header it was sent (in either base64 alphabet, with or
without padding), and an HTTP layer may show the `user:password` basic form or its base64.
Pure: no I/O, so every form can be tested with awkward passwords.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re

from edgedock import registry_auth

REDACTED = "[redacted]"
# A shorter secret would blank out ordinary words of the message; its forms are still removed.
_MIN_SECRET = 4
_SECRET_FIELDS = ("password", "identitytoken", "registrytoken")
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


def _base64_forms(raw: bytes) -> set[str]:
    forms: set[str] = set()
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        forms.update((text, text.rstrip("=")))
    return forms


def _json_forms(secret: str) -> set[str]:
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


def secret_forms(x_registry_auth: str) -> list[str]:
    """The strings to remove from anything an engine says about a pull with this header.

    Longest first, so that a form containing another is removed whole.
    """
    forms = {x_registry_auth, x_registry_auth.strip()}
    with contextlib.suppress(ValueError):
        text = x_registry_auth.strip().rstrip("=").replace("-", "+").replace("_", "/")
        forms |= _base64_forms(base64.b64decode(text + "=" * (-len(text) % 4)))
    fields: dict[str, str] = {}
    with contextlib.suppress(ValueError):
        fields = registry_auth.decode(x_registry_auth)
    username = fields.get("username", "")
    for key in _SECRET_FIELDS:
        secret = fields.get(key, "")
        if not secret:
            continue
        basic = f"{username}:{secret}"
        forms |= {basic} | _json_forms(basic) | _base64_forms(basic.encode("utf-8"))
        if len(secret) >= _MIN_SECRET:
            forms |= {secret} | _json_forms(secret)
    return sorted((f for f in forms if f), key=len, reverse=True)


def redact(message: str, x_registry_auth: str | None) -> str:
    """``message`` with every form of the header's secret replaced by ``[redacted]``."""
    if x_registry_auth is None:
        return message
    for form in secret_forms(x_registry_auth):
        message = message.replace(form, REDACTED)
    return message
