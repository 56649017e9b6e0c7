"""Shared rules for every text field that reaches a column: names people type, text devices send.

Two classes of text, two rules:

- *Names* (labels, usernames, device and application names, token names) are shown side by
  side in pickers and lists, so two that look the same must not coexist. They refuse every
  control, format and separator character (Unicode categories Cc, Cf, Zl, Zp: NUL, U+200B…U+200F,
  U+202A…U+202E, U+2028/2029, U+2060…U+2064, U+FEFF …) and lone surrogates, and their folded key
  (NFKC + casefold, which can grow a character into 18) must fit its column.
- *Free text* (descriptions, status messages, event kinds, engine names) may hold line breaks,
  but never NUL (PostgreSQL refuses it in text) nor a lone surrogate (no database or JSON
  encoder can store it). It is bounded by length like everything else.

Pure (no I/O, only pydantic): the device agent imports it through `wire.py`.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StrictStr

# The size of the `*_key` columns holding folded names.
NAME_KEY_MAX = 400
_NAME_FORBIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def has_control_chars(value: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in value)


def has_lone_surrogate(value: str) -> bool:
    """True when `value` cannot be encoded as UTF-8 (JSON lets `"\\ud800"` through)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def has_invisible_chars(value: str) -> bool:
    """Control, format (zero-width, bidi) or line/paragraph separator characters, or surrogates."""
    return any(unicodedata.category(ch) in _NAME_FORBIDDEN for ch in value)


def check_text(value: str) -> str:
    """Free text: anything printable or white space, but no NUL and no lone surrogate."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if has_lone_surrogate(value):
        raise ValueError("must be valid Unicode text (it holds a lone surrogate)")
    return value


def clean_name(
    value: str, *, what: str, max_length: int, key_max_length: int | None = NAME_KEY_MAX
) -> str:
    """Trim surrounding white space and refuse empty, over-long or invisible-character input.

    Messages never repeat the value: a password pasted into the wrong field stays unseen.
    `key_max_length` bounds the folded key stored beside the name (None: no key is stored).
    """
    value = value.strip()
    if not value:
        raise ValueError(f"{what} must not be empty")
    if len(value) > max_length:
        raise ValueError(f"{what} must be at most {max_length} characters")
    if has_lone_surrogate(value):
        raise ValueError(f"{what} must be valid Unicode text (it holds a lone surrogate)")
    if has_invisible_chars(value):
        raise ValueError(f"{what} must not contain control, invisible or text-direction characters")
    if key_max_length is not None and len(fold(value)) > key_max_length:
        raise ValueError(
            f"{what} is too long once normalised for comparison "
            f"(at most {key_max_length} characters after Unicode folding)"
        )
    return value


def fold(value: str) -> str:
    """The case-insensitive key under which names are unique."""
    return unicodedata.normalize("NFKC", value).casefold()


def truncate(value: str, max_length: int, *, marker: str = "…") -> str:
    """`value` cut to `max_length` characters, ending with `marker` when something was cut."""
    if len(value) <= max_length:
        return value
    return value[: max(0, max_length - len(marker))] + marker[:max_length]


def scrub(value: str, max_length: int) -> str:
    """Make any string storable: NUL dropped, lone surrogates replaced, length bounded.

    For text built by the server itself (audit summaries) or passed on by the agent from an
    engine, which must never be the reason an operation fails.
    """
    if "\x00" in value:
        value = value.replace("\x00", "")
    if has_lone_surrogate(value):
        value = value.encode("utf-8", "replace").decode("utf-8")
    return truncate(value, max_length)


# Free text as a pydantic field type; add `Field(max_length=…)` beside it for the bound.
FreeText = Annotated[StrictStr, AfterValidator(check_text)]
