"""Push a tiny image (one config blob, one layer) to a registry over its HTTP API, no engine.

Faster than building with an engine when a test needs only a manifest to exist: the
credentials check never pulls layers. `authorization` is a ready header value (Basic or
Bearer), so it works on htpasswd and token registries alike.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import httpx


def _tiny_layer() -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        data = b"hello from edgedock tests\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _upload(client: httpx.Client, path: str, data: bytes) -> None:
    started = client.post(f"/v2/{path}/blobs/uploads/")
    assert started.status_code == 202, started.text
    location = started.headers["location"]
    # The location carries the upload's state in its query: add the digest, keep the rest.
    done = client.put(
        httpx.URL(location).copy_add_param("digest", _digest(data)),
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert done.status_code == 201, done.text


def push_tiny_image(registry_url: str, path: str, tag: str, *, authorization: str) -> str:
    """Returns the manifest's digest."""
    layer = _tiny_layer()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {
                "type": "layers",
                "diff_ids": [_digest(gzip.decompress(layer))],
            },
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": len(config),
                "digest": _digest(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": len(layer),
                    "digest": _digest(layer),
                }
            ],
        }
    ).encode()
    with httpx.Client(
        base_url=registry_url,
        headers={"Authorization": authorization},
        timeout=10,
        trust_env=False,
    ) as client:
        _upload(client, path, config)
        _upload(client, path, layer)
        put = client.put(
            f"/v2/{path}/manifests/{tag}",
            content=manifest,
            headers={"Content-Type": "application/vnd.docker.distribution.manifest.v2+json"},
        )
        assert put.status_code == 201, put.text
    return _digest(manifest)
