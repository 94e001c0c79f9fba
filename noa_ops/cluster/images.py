"""The pod sandbox image, built here: no registry can be pulled from. An OCI image layout tar
holding one layer with our static `pause` binary, named render.PAUSE_IMAGE for `ctr import`."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

from noa_ops.cluster.render import PAUSE_IMAGE


def _blob(tar: tarfile.TarFile, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    _add(tar, f"blobs/sha256/{digest}", data)
    return f"sha256:{digest}"


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 0
    tar.addfile(info, io.BytesIO(data))


def layer_tar(pause_binary: bytes) -> bytes:
    """An uncompressed layer with /pause (0755, root-owned, mtime 0: reproducible)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, "pause", pause_binary, mode=0o755)
    return buffer.getvalue()


def pause_image_tar(pause_binary: Path, out: Path, name: str = PAUSE_IMAGE) -> str:
    """Write the OCI layout tar to `out`; returns the manifest digest."""
    layer = layer_tar(pause_binary.read_bytes())
    layer_digest = f"sha256:{hashlib.sha256(layer).hexdigest()}"
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Entrypoint": ["/pause"], "User": "65535:65535"},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
    }, sort_keys=True).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, "oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
        config_digest = _blob(tar, config)
        _blob(tar, layer)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": layer_digest, "size": len(layer)}],
        }, sort_keys=True).encode()
        manifest_digest = _blob(tar, manifest)
        index = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "digest": manifest_digest, "size": len(manifest),
                           "platform": {"architecture": "amd64", "os": "linux"},
                           "annotations": {"io.containerd.image.name": name,
                                           "org.opencontainers.image.ref.name": name.rsplit(":", 1)[1]}}],
        }, sort_keys=True).encode()
        _add(tar, "index.json", index)
    out.write_bytes(buffer.getvalue())
    return manifest_digest
