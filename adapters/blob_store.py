"""Content-addressed blobs (raw mail, attachments) as files named by their sha256."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ledgerdesk.domain.values import SHA256_PATTERN


class FileBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, digest: str) -> Path:
        if not SHA256_PATTERN.match(digest):
            raise ValueError(f"{digest!r} is not a sha256 hex digest")
        return self.root / digest[:2] / digest[2:4] / digest

    def put(self, data: bytes) -> str:
        return self.put_many([data])[0]

    def put_many(self, items: Sequence[bytes]) -> list[str]:
        """Store many blobs and wait for the disk once for all of them (one syncfs)."""
        digests, written = [], []
        for data in items:
            digest = hashlib.sha256(data).hexdigest()
            digests.append(digest)
            path = self._path(digest)
            if not path.exists():
                written.append(self._write(path, data, sync=len(items) == 1))
        if len(items) > 1 and written:
            _sync_filesystem(self.root, written)
        return digests

    @staticmethod
    def _write(path: Path, data: bytes, *, sync: bool) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a reader never sees half a blob.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                if sync:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def get(self, digest: str) -> bytes:
        return self._path(digest).read_bytes()

    def exists(self, digest: str) -> bool:
        return self._path(digest).exists()


def _sync_filesystem(root: Path, paths: list[Path]) -> None:
    """Flush the blob store's file system: syncfs(2) on Linux, else each file's fsync."""
    syncfs = _syncfs()
    if syncfs is not None:
        fd = os.open(root, os.O_RDONLY)
        try:
            if syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@functools.cache
def _syncfs() -> Any:
    libc_name = ctypes.util.find_library("c")
    return getattr(ctypes.CDLL(libc_name, use_errno=True), "syncfs", None) if libc_name else None
