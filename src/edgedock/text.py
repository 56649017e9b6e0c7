"""Small, shared rules for the text fields people type (labels, names, usernames)."""

from __future__ import annotations

import unicodedata


def has_control_chars(value: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in value)


def clean_name(value: str, *, what: str, max_length: int) -> str:
    """Trim surrounding white space and refuse empty, over-long or control-character input.

    Messages never repeat the value: a password pasted into the wrong field stays unseen.
    """
    value = value.strip()
    if not value:
        raise ValueError(f"{what} must not be empty")
    if len(value) > max_length:
        raise ValueError(f"{what} must be at most {max_length} characters")
    if has_control_chars(value):
        raise ValueError(f"{what} must not contain control characters")
    return value


def fold(value: str) -> str:
    """The case-insensitive key under which names are unique."""
    return unicodedata.normalize("NFKC", value).casefold()
