"""The hand-made pause image: a valid OCI layout with the right name; the forwarder's rules."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from noa_ops.cluster import forward, images, render


def test_pause_image_layout(tmp_path: Path) -> None:
    binary = tmp_path / "pause"
    binary.write_bytes(b"\x7fELF fake")
    out = tmp_path / "pause.tar"
    digest = images.pause_image_tar(binary, out)
    with tarfile.open(out) as tar:
        names = tar.getnames()
        index = json.loads(tar.extractfile("index.json").read())  # type: ignore[union-attr]
        manifest_blob = tar.extractfile(f"blobs/sha256/{digest.split(':')[1]}").read()  # type: ignore[union-attr]
        manifest = json.loads(manifest_blob)
        layer = tar.extractfile(f"blobs/sha256/{manifest['layers'][0]['digest'].split(':')[1]}")
        assert layer is not None
        layer_bytes = layer.read()
    assert "oci-layout" in names
    assert hashlib.sha256(manifest_blob).hexdigest() == digest.split(":")[1]
    assert index["manifests"][0]["annotations"]["io.containerd.image.name"] == render.PAUSE_IMAGE
    with tarfile.open(fileobj=io.BytesIO(layer_bytes)) as inner:
        member = inner.getmember("pause")
        assert member.mode == 0o755 and member.mtime == 0
    # Reproducible: the same binary gives the same digest.
    assert images.pause_image_tar(binary, tmp_path / "again.tar") == digest


def test_forward_rules() -> None:
    listen, target = forward.parse_rule("host:127.0.0.1:16443=ns:10.250.0.2:6443")
    assert (listen.side, listen.host, listen.port) == ("host", "127.0.0.1", 16443)
    assert (target.side, target.host, target.port) == ("ns", "10.250.0.2", 6443)
    with pytest.raises(ValueError):
        forward.parse_rule("vm:1.2.3.4:1=ns:1.2.3.4:2")
