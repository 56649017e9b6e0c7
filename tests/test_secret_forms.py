"""The forms of a registry login that a check removes from what a registry says."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

from edgedock import secret_forms

PASSWORD = 'p?a>s~s+w/o=r&d"\\é'


def test_every_echoed_form_of_a_login_is_removed():
    basic = f"robot:{PASSWORD}"
    echoes = [
        PASSWORD,
        quote(PASSWORD, safe=""),
        quote_plus(PASSWORD),
        json.dumps(PASSWORD)[1:-1],
        json.dumps(PASSWORD, ensure_ascii=False)[1:-1],
        base64.b64encode(basic.encode()).decode(),
        base64.urlsafe_b64encode(basic.encode()).decode().rstrip("="),
        base64.b64encode(PASSWORD.encode()).decode(),
        quote(basic, safe=""),
    ]
    forms = secret_forms.login_forms("robot", PASSWORD)
    for echo in echoes:
        text = secret_forms.scrub(f"the registry said: {echo} (end)", forms)
        assert text == "the registry said: [redacted] (end)", echo


def test_a_very_short_password_still_loses_its_basic_forms_but_not_every_letter():
    forms = secret_forms.login_forms("robot", "ab")
    said = "unauthorized: a basic " + base64.b64encode(b"robot:ab").decode()
    assert secret_forms.scrub(said, forms) == "unauthorized: a basic [redacted]"
