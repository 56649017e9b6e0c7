"""The operator CLI's HTTP client for the REST API: EDGEDOCK_URL and EDGEDOCK_TOKEN."""

from __future__ import annotations

import os
import re
from typing import Any

import httpx

from edgedock.cli.output import fail


class ApiClient:
    def __init__(self, url: str, token: str, *, transport: httpx.BaseTransport | None = None):
        self._http = httpx.Client(
            base_url=url.rstrip("/") + "/api/v1",
            headers={"Authorization": f"Bearer {token}", "User-Agent": "edgedock-cli"},
            timeout=30.0,
            transport=transport,
        )

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            fail(f"cannot reach the edgedock server at {self._http.base_url}: {type(exc).__name__}")
        if response.status_code >= 400:
            fail(_error_message(response))
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def attempt(self, method: str, path: str, **kwargs: Any) -> tuple[Any, str | None]:
        """Like `request`, but an error answer comes back as its message instead of exiting:
        for commands that go on with the next item (``(body, None)`` or ``(None, message)``)."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            fail(f"cannot reach the edgedock server at {self._http.base_url}: {type(exc).__name__}")
        if response.status_code >= 400:
            return None, _error_message(response)
        if response.status_code == 204 or not response.content:
            return None, None
        return response.json(), None

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def paginate(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        params = dict(params or {})
        items: list[Any] = []
        while True:
            page = self.get(path, params=params)
            items.extend(page["items"])
            if not page.get("next_cursor"):
                return items
            params["cursor"] = page["next_cursor"]


_API_REPLACE = re.compile(r"\(POST /api/v1/image-credentials/([0-9a-f-]+)/replace\)")


def cli_words(message: str) -> str:
    """The API's advice in the CLI's words: its flags and commands, not query strings and URLs."""
    message = message.replace("with force=true", "with --force")
    return _API_REPLACE.sub(r"(edgedock credentials replace \1 --with NEW)", message)


def _error_message(response: httpx.Response) -> str:
    try:
        error = response.json()["error"]
        text = cli_words(error["message"])
        message = f"{text} ({response.status_code} {error['code']})"
        for ref in error.get("references", []):
            message += f"\n  used by {ref['application']} {ref['version']} / {ref['container']}"
        for other in error.get("errors", [])[1:]:  # the first one is in the message already
            message += f"\n  {other['field']}: {other['message']}"
        return message
    except (ValueError, KeyError, TypeError):
        return f"the server answered {response.status_code}"


def from_environment() -> ApiClient:
    url = os.environ.get("EDGEDOCK_URL", "http://127.0.0.1:8000")
    token = os.environ.get("EDGEDOCK_TOKEN")
    if not token:
        fail("EDGEDOCK_TOKEN is not set: create one with `edgedock tokens create --tenant SLUG`")
    return ApiClient(url, token)
