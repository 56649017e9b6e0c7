"""`WWW-Authenticate` challenges (RFC 9110 §11.6.1), as a registry's `GET /v2/` sends them.

Several challenges may share one header (`Bearer realm="…",service="…", Basic realm="…"`),
values may be quoted with commas and escaped quotes inside, and scheme and parameter names are
case-insensitive. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_SPACE = re.compile(r"[ \t]*")
_BARE = re.compile(r'[^\s,"]+')


@dataclass(frozen=True, slots=True)
class Challenge:
    scheme: str  # lower-cased
    params: dict[str, str] = field(default_factory=dict)  # names lower-cased


def parse_challenges(headers: list[str]) -> list[Challenge]:
    """Every challenge of every header value; a malformed rest of a header is dropped."""
    found: list[Challenge] = []
    for header in headers:
        found.extend(_parse(header))
    return found


def _parse(text: str) -> list[Challenge]:
    challenges: list[Challenge] = []
    pos = 0
    current: Challenge | None = None
    while pos < len(text):
        pos = _skip(text, pos, ", \t")
        token = _TOKEN.match(text, pos)
        if token is None:
            break
        after = _SPACE.match(text, token.end())
        assert after is not None
        if after.end() < len(text) and text[after.end()] == "=" and current is not None:
            # a parameter: name = token / quoted-string
            value, pos = _value(text, _SPACE.match(text, after.end() + 1).end())  # type: ignore[union-attr]
            if value is None:
                break
            current.params.setdefault(token.group().lower(), value)
            continue
        if after.end() < len(text) and text[after.end()] == "=":
            break  # a parameter before any scheme
        current = Challenge(token.group().lower())
        challenges.append(current)
        pos = after.end()
    return challenges


def _skip(text: str, pos: int, chars: str) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _value(text: str, pos: int) -> tuple[str | None, int]:
    if pos < len(text) and text[pos] == '"':
        out: list[str] = []
        pos += 1
        while pos < len(text):
            char = text[pos]
            if char == "\\" and pos + 1 < len(text):
                out.append(text[pos + 1])
                pos += 2
                continue
            if char == '"':
                return "".join(out), pos + 1
            out.append(char)
            pos += 1
        return None, pos  # an unterminated quote
    # Unquoted: RFC 9110 allows a token only, but servers send `realm=https://…` too.
    bare = _BARE.match(text, pos)
    if bare is None or not bare.group():
        return None, pos
    return bare.group(), bare.end()
