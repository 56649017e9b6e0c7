"""Container image references, parsed and normalized the way the Docker engine does it.

The server stores what an operator typed, the agent pulls what the engine would pull and the
credentials lookup needs the registry domain; all three must agree with the engine, so this
module follows `distribution/reference` and Docker's normalization (see
`shared/conformance/image-references.jsonl`) rather than a home-grown approximation.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
# The hosts Docker Hub is also written as: in `docker login` keys and pull endpoints.
DOCKER_HUB_ALIASES = frozenset({LEGACY_DEFAULT_DOMAIN, "registry-1.docker.io"})
REGISTRY_MAX_LENGTH = 255
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
PATH_MAX_LENGTH = 255

# Character classes are spelled out instead of using \w or \d: Python's are Unicode-aware,
# the Go grammar's are ASCII only.
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_DOMAIN_RE = re.compile(rf"{_HOST}(?::[0-9]+)?")
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# Only sha256 is in scope; the engine's other algorithms are not used by registries we target.
_DIGEST_RE = re.compile(r"sha256:[a-f0-9]{64}")
_IMAGE_ID_RE = re.compile(r"[a-f0-9]{64}")


class InvalidReference(ValueError):
    """An image reference the engine would refuse; `reason` says what is wrong with it."""

    def __init__(self, reference: str, reason: str) -> None:
        super().__init__(f"invalid image reference {reference!r}: {reason}")
        self.reference = reference
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ImageReference:
    """A normalized reference: `domain` is never empty and Docker Hub paths carry `library/`."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        return f"{self.domain}/{self.path}"

    @property
    def canonical(self) -> str:
        return self.repository + self._suffix()

    @property
    def familiar(self) -> str:
        """The short form a person types: Docker Hub's domain and `library/` left out."""
        name = self.repository
        if self.domain == DEFAULT_DOMAIN:
            name = self.path
            short = name.removeprefix(OFFICIAL_REPO_PREFIX)
            if short != name and "/" not in short:
                name = short
        return name + self._suffix()

    def with_default_tag(self) -> ImageReference:
        """Add `latest` when neither a tag nor a digest pins the image."""
        if self.tag is None and self.digest is None:
            return dataclasses.replace(self, tag=DEFAULT_TAG)
        return self

    def _suffix(self) -> str:
        suffix = f":{self.tag}" if self.tag is not None else ""
        return suffix + (f"@{self.digest}" if self.digest is not None else "")

    def __str__(self) -> str:
        return self.canonical


def parse(text: str) -> ImageReference:
    """Parse what a user typed and fill in Docker Hub's defaults, without adding a tag."""
    if not text:
        raise InvalidReference(text, "reference is empty")
    if _IMAGE_ID_RE.fullmatch(text):
        raise InvalidReference(text, "a 64-character hexadecimal image ID is not a reference")
    domain, remainder = _split_domain(text)
    if not _DOMAIN_RE.fullmatch(domain):
        raise InvalidReference(text, f"invalid registry domain {domain!r}")
    name, _, digest = remainder.partition("@")
    path, _, tag = name.partition(":")
    if not path:
        raise InvalidReference(text, "repository name is missing")
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_REPO_PREFIX + path
    if path.lower() != path:
        raise InvalidReference(text, "repository name must be lowercase")
    if not _PATH_RE.fullmatch(path):
        raise InvalidReference(text, "invalid repository name")
    if len(path) > PATH_MAX_LENGTH:
        raise InvalidReference(
            text, f"repository name must not be longer than {PATH_MAX_LENGTH} characters"
        )
    if ":" in name and not _TAG_RE.fullmatch(tag):
        raise InvalidReference(text, "invalid tag")
    if "@" in remainder and not _DIGEST_RE.fullmatch(digest):
        raise InvalidReference(text, "invalid digest (expected sha256: and 64 lower-case hex)")
    return ImageReference(
        domain=domain,
        path=path,
        tag=tag if ":" in name else None,
        digest=digest if "@" in remainder else None,
    )


def pull_reference(text: str) -> ImageReference:
    """What the engine pulls for `text`: `latest` when unpinned, the digest alone when pinned.

    The engine ignores a tag given together with a digest (the digest is what gets pulled), so
    it is dropped here too and the result names exactly one image.
    """
    reference = parse(text)
    if reference.digest is not None:
        return dataclasses.replace(reference, tag=None)
    return reference.with_default_tag()


def _split_domain(text: str) -> tuple[str, str]:
    """Docker's rule: the first component is a registry only if it looks like a host name."""
    first, slash, rest = text.partition("/")
    is_host = any(c in first for c in ".:") or first == "localhost" or first.lower() != first
    if not slash or not is_host:
        domain, remainder = DEFAULT_DOMAIN, text
    else:
        domain, remainder = first, rest
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    return domain, remainder


def normalize_registry(text: str) -> str:
    """A registry host as engines write it (`docker.io` for Docker Hub), from what people type.

    Follows the docker CLI's `ConvertToHostname`: a scheme and any path are dropped, so the
    keys of a `config.json` (`https://index.docker.io/v1/`) work as they are; Docker Hub's
    other host names fold to `docker.io`, and host names are case-insensitive. Raises
    `ValueError` naming the problem, never echoing more than the host.
    """
    host = text.strip()
    for scheme in ("https://", "http://"):
        if host.lower().startswith(scheme):
            host = host[len(scheme) :]
    host = host.split("/", 1)[0].lower()
    if not host:
        raise ValueError("registry must be a host name such as ghcr.io or localhost:5000")
    if len(host) > REGISTRY_MAX_LENGTH:
        raise ValueError(f"registry must be at most {REGISTRY_MAX_LENGTH} characters")
    if not _DOMAIN_RE.fullmatch(host):
        raise ValueError("registry must be a host name such as ghcr.io or localhost:5000")
    return DEFAULT_DOMAIN if host in DOCKER_HUB_ALIASES else host


def registry_of(domain: str) -> str:
    """The registry of an image's (already parsed) domain, comparable with a normalized one."""
    host = domain.lower()
    return DEFAULT_DOMAIN if host in DOCKER_HUB_ALIASES else host
