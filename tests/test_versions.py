"""Semver precedence (an application's highest release) and the next patch version."""

from __future__ import annotations

import pytest

from edgedock import versions


def test_versions_sort_by_semver_precedence() -> None:
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.2.0",
        "1.10.0",
        "2.0.0",
    ]
    shuffled = list(reversed(ordered))
    assert sorted(shuffled, key=versions.precedence) == ordered


def test_build_metadata_does_not_change_precedence() -> None:
    assert versions.precedence("1.0.0+build.7") == versions.precedence("1.0.0")


def test_a_string_that_is_no_version_sorts_lowest() -> None:
    assert versions.precedence("latest") < versions.precedence("0.0.0-0")


@pytest.mark.parametrize(
    ("version", "following"),
    [
        ("1.4.2", "1.4.3"),
        ("0.0.9", "0.0.10"),
        ("10.20.99", "10.20.100"),
        ("2.0.0-rc.1", None),
        ("1.0.0+build", None),
        ("01.2.3", None),
    ],
)
def test_next_patch(version: str, following: str | None) -> None:
    assert versions.next_patch(version) == following
