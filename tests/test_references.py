"""Image references agree with the conformance table, row by row."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edgedock import references
from edgedock.references import ImageReference, InvalidReference, parse, pull_reference

CONFORMANCE = Path(__file__).resolve().parent / "conformance"
FIELDS = ("domain", "path", "tag", "digest", "canonical", "familiar")
OPS: dict[str, Callable[[str], ImageReference]] = {
    "normalize": parse,
    "pull_reference": pull_reference,
}
DIGEST = "sha256:" + "f" * 64


def load_rows(name: str) -> list[dict[str, Any]]:
    table = CONFORMANCE / name
    if not table.is_file():
        # A missing table must fail the run: skipping would pass with nothing checked.
        pytest.fail(f"conformance table not found: {table}", pytrace=False)
    lines = table.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def row_id(row: dict[str, Any]) -> str:
    text = row["input"]
    if len(text) > 72:
        text = f"{text[:40]}...({len(text)} chars)"
    return f"{row['op']}:{text}"


ROWS = load_rows("image-references.jsonl")


@pytest.mark.parametrize("row", ROWS, ids=[row_id(row) for row in ROWS])
def test_reference_matches_conformance_row(row: dict[str, Any]) -> None:
    op = OPS[row["op"]]
    if not row["valid"]:
        with pytest.raises(InvalidReference):
            op(row["input"])
        return
    reference = op(row["input"])
    assert {field: getattr(reference, field) for field in FIELDS} == {
        field: row[field] for field in FIELDS
    }


def test_conformance_table_covers_both_ops() -> None:
    assert {row["op"] for row in ROWS} == set(OPS)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "reference is empty"),
        ("docker/Docker", "repository name must be lowercase"),
        (":justtag", "repository name is missing"),
        ("docker///docker", "invalid repository name"),
        ("a" * 256, "repository name must not be longer than 255 characters"),
        ("repo:-tag", "invalid tag"),
        ("repo@sha256:" + "F" * 64, "invalid digest"),
        ("bad_host.com:80/app", "invalid registry domain 'bad_host.com:80'"),
        ("f" * 64, "64-character hexadecimal image ID"),
    ],
)
def test_parse_error_names_problem_when_invalid(text: str, reason: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse(text)
    assert reason in caught.value.reason
    assert reason in str(caught.value)
    assert repr(text) in str(caught.value)


def test_invalid_reference_is_value_error_when_caught_generically() -> None:
    with pytest.raises(ValueError, match="invalid tag"):
        parse("repo:.tag")


def test_with_default_tag_adds_latest_when_unpinned() -> None:
    assert parse("debian").with_default_tag().canonical == "docker.io/library/debian:latest"


@pytest.mark.parametrize("text", ["debian:12", f"debian@{DIGEST}", f"debian:12@{DIGEST}"])
def test_with_default_tag_keeps_reference_when_pinned(text: str) -> None:
    reference = parse(text)
    assert reference.with_default_tag() == reference


def test_repository_joins_domain_and_path_without_tag_or_digest() -> None:
    assert parse(f"ghcr.io/org/app:1@{DIGEST}").repository == "ghcr.io/org/app"


def test_pull_reference_drops_tag_when_digest_given() -> None:
    reference = pull_reference(f"ghcr.io/org/app:1@{DIGEST}")
    assert (reference.tag, reference.digest) == (None, DIGEST)


@pytest.mark.parametrize(
    ("text", "registry"),
    [
        ("ghcr.io", "ghcr.io"),
        ("GHCR.IO", "ghcr.io"),
        ("https://index.docker.io/v1/", "docker.io"),
        ("http://registry-1.docker.io", "docker.io"),
        ("index.docker.io", "docker.io"),
        ("localhost:5055", "localhost:5055"),
        ("[::1]:5000", "[::1]:5000"),
        ("registry.example.com:5000/v2/", "registry.example.com:5000"),
    ],
)
def test_normalize_registry_writes_hosts_as_engines_do(text: str, registry: str) -> None:
    assert references.normalize_registry(text) == registry


@pytest.mark.parametrize("text", ["", "https://", "a b", "host:port", "x" * 256, "-a.io"])
def test_normalize_registry_refuses_what_is_no_host(text: str) -> None:
    with pytest.raises(ValueError, match="registry"):
        references.normalize_registry(text)


def test_registry_of_an_image_domain_folds_docker_hub_and_case() -> None:
    assert references.registry_of(references.parse("debian:12").domain) == "docker.io"
    assert references.registry_of("index.docker.io") == "docker.io"
    assert references.registry_of("GHCR.io") == "ghcr.io"
