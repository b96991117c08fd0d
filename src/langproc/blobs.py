"""Blob storage for uploads and audio: a small interface, a filesystem implementation."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import Protocol

import anyio


class BlobStore(Protocol):
    async def put(self, data: bytes, suffix: str = "") -> str: ...

    async def get(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None: ...

    def path(self, key: str) -> Path: ...


class FilesystemBlobStore:
    """Content-addressed files under a directory: writing the same bytes twice is one file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        if "/" in key or key.startswith("."):
            raise ValueError(f"bad blob key {key!r}")
        return self.root / key[:2] / key

    async def put(self, data: bytes, suffix: str = "") -> str:
        key = hashlib.sha256(data).hexdigest() + suffix
        await anyio.to_thread.run_sync(self._write, key, data)
        return key

    def _write(self, key: str, data: bytes) -> None:
        target = self.path(key)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)

    async def get(self, key: str) -> bytes:
        return await anyio.Path(self.path(key)).read_bytes()

    async def delete(self, key: str) -> None:
        await anyio.Path(self.path(key)).unlink(missing_ok=True)
