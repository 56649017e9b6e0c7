"""The text rules in isolation: what a name refuses, and how server-built text is made storable."""

from __future__ import annotations

import pytest

from edgedock.text import check_text, clean_name, scrub, truncate


@pytest.mark.parametrize(
    "value", ["a\u200bb", "a\u202eb", "a\u2066b", "a\u2028b", "\ufeffa", "a\x7fb", "a\ud800"]
)
def test_clean_name_refuses_invisible_characters_without_repeating_them(value):
    with pytest.raises(ValueError) as refused:
        clean_name(value, what="label", max_length=100)
    assert value not in str(refused.value)


def test_clean_name_keeps_visible_unicode_and_inner_spaces():
    assert (
        clean_name("  Café Ünïcode 東京 ✓  ", what="name", max_length=100) == "Café Ünïcode 東京 ✓"
    )


def test_clean_name_bounds_the_folded_key():
    with pytest.raises(ValueError, match="normalised"):
        clean_name("\ufdfa" * 30, what="name", max_length=100)
    assert clean_name("\ufdfa" * 30, what="name", max_length=100, key_max_length=None)


def test_check_text_keeps_line_breaks_and_refuses_nul_and_surrogates():
    assert check_text("line one\nline two\ttab") == "line one\nline two\ttab"
    for bad in ("a\x00b", "a\udfffb"):
        with pytest.raises(ValueError):
            check_text(bad)


def test_scrub_makes_any_string_storable_and_bounded():
    cleaned = scrub("x\x00y\ud800" + "z" * 100, 10)
    assert cleaned == "xy?zzzzzz…"
    cleaned.encode("utf-8")


def test_truncate_marks_only_what_was_cut():
    assert truncate("short", 10) == "short"
    assert truncate("a" * 11, 10) == "a" * 9 + "…"
