"""The repository's copy of the conformance tables is the one beside the project.

The tests read ``tests/conformance/`` so that a clone tests on its own; where the shared folder
exists (``../shared/conformance/``), a table that grew or changed there fails here until the copy
is brought up to date.
"""

from __future__ import annotations

from pathlib import Path

import pytest

COPY = Path(__file__).resolve().parent / "conformance"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "conformance"
TABLES = ("image-references.jsonl", "registry-auth.jsonl")


@pytest.mark.parametrize("name", TABLES)
def test_the_copy_holds_the_table(name: str) -> None:
    lines = [line for line in (COPY / name).read_text(encoding="utf-8").splitlines() if line]
    assert lines, f"tests/conformance/{name} is empty"


@pytest.mark.skipif(not SHARED.is_dir(), reason="no ../shared/conformance beside this clone")
@pytest.mark.parametrize("name", TABLES)
def test_the_copy_matches_the_shared_table(name: str) -> None:
    shared = (SHARED / name).read_bytes()
    copy = (COPY / name).read_bytes()
    assert copy == shared, (
        f"tests/conformance/{name} differs from ../shared/conformance/{name}: "
        f"copy the shared table into the repository"
    )
