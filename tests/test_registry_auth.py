"""X-Registry-Auth values agree with the conformance vectors byte for byte."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from edgedock import registry_auth
from edgedock.references import InvalidReference, parse

CONFORMANCE = Path(__file__).resolve().parent / "conformance"


def load_rows(name: str) -> list[dict[str, Any]]:
    table = CONFORMANCE / name
    if not table.is_file():
        # A missing table must fail the run: skipping would pass with nothing checked.
        pytest.fail(f"conformance table not found: {table}", pytrace=False)
    lines = table.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


VECTORS = load_rows("registry-auth.jsonl")
VECTOR_IDS = [vector["image"][:60] for vector in VECTORS]
CREDENTIALS = {"username": "u", "password": "a?b>~", "serveraddress": "localhost:5000"}


def standard_b64(data: dict[str, str], *, padded: bool = True) -> str:
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    value = base64.b64encode(raw).decode("ascii")
    return value if padded else value.rstrip("=")


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_server_address_matches_vector_for_image_domain(vector: dict[str, Any]) -> None:
    domain = parse(vector["image"]).domain
    assert registry_auth.server_address(domain) == vector["serveraddress"]


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_encode_matches_vector_byte_for_byte(vector: dict[str, Any]) -> None:
    value = registry_auth.encode(
        username=vector["username"],
        password=vector["password"],
        serveraddress=vector["serveraddress"],
    )
    assert value == vector["x_registry_auth"]


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_decode_round_trips_vector(vector: dict[str, Any]) -> None:
    assert registry_auth.decode(vector["x_registry_auth"]) == {
        "username": vector["username"],
        "password": vector["password"],
        "serveraddress": vector["serveraddress"],
    }


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_for_image_matches_vector(vector: dict[str, Any]) -> None:
    result = registry_auth.for_image(
        vector["image"], username=vector["username"], password=vector["password"]
    )
    assert result == (vector["x_registry_auth"], vector["serveraddress"])


def test_conformance_vectors_cover_both_alphabets_and_padding() -> None:
    values = [vector["x_registry_auth"] for vector in VECTORS]
    assert any("-" in value or "_" in value for value in values)
    assert any(value.endswith("=") for value in values)


def test_server_address_is_hub_key_when_legacy_hub_domain() -> None:
    assert registry_auth.server_address("index.docker.io") == "https://index.docker.io/v1/"


def test_for_image_raises_when_reference_invalid() -> None:
    with pytest.raises(InvalidReference):
        registry_auth.for_image("docker/Docker", username="u", password="p")


def test_decode_accepts_standard_alphabet_when_password_needs_it() -> None:
    value = standard_b64(CREDENTIALS)
    assert "+" in value or "/" in value
    assert registry_auth.decode(value) == CREDENTIALS


@pytest.mark.parametrize("urlsafe", [True, False], ids=["urlsafe", "standard"])
def test_decode_accepts_value_when_padding_missing(urlsafe: bool) -> None:
    value = standard_b64(CREDENTIALS, padded=False)
    if urlsafe:
        value = value.replace("+", "-").replace("/", "_")
    assert not value.endswith("=")
    assert registry_auth.decode(value) == CREDENTIALS


def test_decode_lowercases_keys_when_sent_in_other_case() -> None:
    value = standard_b64({"Username": "u", "PASSWORD": "p", "ServerAddress": "ghcr.io"})
    assert registry_auth.decode(value) == {
        "username": "u",
        "password": "p",
        "serveraddress": "ghcr.io",
    }


@pytest.mark.parametrize(
    "value",
    [
        "not base64!",
        "abcde",
        base64.urlsafe_b64encode(b"\xff\xfehunter2-secret").decode(),
        base64.urlsafe_b64encode(b'{"password": "hunter2-secret"').decode(),
        base64.urlsafe_b64encode(b'["hunter2-secret"]').decode(),
        base64.urlsafe_b64encode(b'{"password": ["hunter2-secret"]}').decode(),
        base64.urlsafe_b64encode(b'{"hunter2-secret": 1}').decode(),
        base64.urlsafe_b64encode(b'{"password": "hunter2-secret", "Password": "x"}').decode(),
    ],
    ids=["alphabet", "length", "utf8", "json", "array", "list-value", "int-value", "dup-key"],
)
def test_decode_error_hides_password_when_value_malformed(value: str) -> None:
    with pytest.raises(ValueError) as caught:
        registry_auth.decode(value)
    message = str(caught.value)
    assert message.startswith("X-Registry-Auth")
    for fragment in ("hunter", "secret", value):
        assert fragment not in message
    # A chained cause (UnicodeDecodeError, JSONDecodeError) would carry the decoded bytes.
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__
