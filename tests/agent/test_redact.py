"""Redaction of a pull's secret from engine messages, in every form an engine may echo it.

The echoed forms are written out by hand below (not computed with the code under test), the
way Docker, Podman or an HTTP layer would print them.
"""

from __future__ import annotations

import base64
import json

import pytest

from edgedock import registry_auth
from edgedock.agent.redact import REDACTED, redact

PASSWORD = 'p"a\\ss<w>&d-é€?>~'
USERNAME = "robot"
HEADER = registry_auth.encode(username=USERNAME, password=PASSWORD, serveraddress="localhost:5055")
RAW_HEADER = base64.urlsafe_b64decode(HEADER)

# What an engine could print, form by form. None of these may survive redaction.
ECHOES = {
    "raw": PASSWORD,
    "json escaped, unicode kept": 'p\\"a\\\\ss<w>&d-é€?>~',
    "json escaped, ascii only": 'p\\"a\\\\ss<w>&d-\\u00e9\\u20ac?>~',
    "go escaped (docker)": 'p\\"a\\\\ss\\u003cw\\u003e\\u0026d-é€?\\u003e~',
    "go escaped, ascii only": 'p\\"a\\\\ss\\u003cw\\u003e\\u0026d-\\u00e9\\u20ac?\\u003e~',
    "go escaped, upper-case hex": 'p\\"a\\\\ss\\u003Cw\\u003E\\u0026d-\\u00E9\\u20AC?\\u003E~',
    "header as sent": HEADER,
    "header unpadded": HEADER.rstrip("="),
    "header in the standard alphabet": base64.b64encode(RAW_HEADER).decode(),
    "header standard, unpadded": base64.b64encode(RAW_HEADER).decode().rstrip("="),
    "basic form": f"{USERNAME}:{PASSWORD}",
    "basic form in base64": base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode(),
    "basic form in base64, unpadded": base64.b64encode(f"{USERNAME}:{PASSWORD}".encode())
    .decode()
    .rstrip("="),
    "basic form in urlsafe base64": base64.urlsafe_b64encode(
        f"{USERNAME}:{PASSWORD}".encode()
    ).decode(),
}


def test_password_fixture_has_every_awkward_character() -> None:
    # The base64 forms differ between alphabets and paddings only if the bytes make them.
    assert set('"\\<>&') <= set(PASSWORD) and not PASSWORD.isascii()
    assert base64.b64encode(RAW_HEADER) != base64.urlsafe_b64encode(RAW_HEADER)
    assert HEADER.endswith("=")


@pytest.mark.parametrize("form", sorted(ECHOES))
def test_redact_removes_each_echoed_form_of_the_secret(form: str) -> None:
    message = f'initializing source: Error response: {{"detail": "{ECHOES[form]}"}} denied'

    redacted = redact(message, HEADER)

    assert ECHOES[form] not in redacted
    assert REDACTED in redacted
    assert redacted.startswith("initializing source: Error response:")
    assert redacted.endswith("denied")


def test_redact_removes_the_password_inside_a_docker_json_config() -> None:
    # How Docker writes a config holding the password (Go's escaping of < > &).
    config = json.dumps({"auth": PASSWORD}, ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        config = config.replace(char, escape)

    redacted = redact(f"cannot pull: {config}", HEADER)

    assert "ss\\u003cw" not in redacted and "ss<w" not in redacted
    assert redacted == f'cannot pull: {{"auth": "{REDACTED}"}}'


def test_redact_leaves_a_message_without_secrets_alone() -> None:
    message = "reading manifest 1.0 in localhost:5055/team/app: unauthorized"
    assert redact(message, HEADER) == message
    assert redact(message, None) == message


def test_redact_does_not_blank_ordinary_words_for_a_short_password() -> None:
    header = registry_auth.encode(username="u", password="ab", serveraddress="r.example")

    redacted = redact("manifest ab unknown; sent u:ab", header)

    assert redacted == f"manifest ab unknown; sent {REDACTED}"


def test_redact_tolerates_a_header_that_does_not_decode() -> None:
    assert redact("error near not-base64!", "not-base64!") == f"error near {REDACTED}"
