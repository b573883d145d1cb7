"""Content-addressed blobs (raw mail, attachments) as files named by their sha256."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ledgerdesk.domain.values import SHA256_PATTERN


class FileBlobStore:
    """`<root>/ab/abcdef…`: 256 folders (file systems index big folders well; creating tens of
    thousands of small ones cost more than writing the blobs). Blobs written under the older
    two-level layout (`ab/cd/abcd…`) are still found."""

    def __init__(self, root: Path, *, durable: bool = True) -> None:
        self.root = root
        self._root = str(root)  # paths as strings: pathlib cost more than the writes
        # Durable: wait for the disk before returning (fsync / syncfs), as the event store does
        # with PostgreSQL or SQLite `synchronous=full`. Otherwise a blob survives a process
        # crash but maybe not a power cut, like an embedded SQLite commit in `normal` mode.
        self.durable = durable
        self._folders: set[str] = set()
        self._unsynced: list[Path] = []
        self._lock = threading.Lock()

    def _path(self, digest: str) -> Path:
        if not SHA256_PATTERN.match(digest):
            raise ValueError(f"{digest!r} is not a sha256 hex digest")
        return self.root / digest[:2] / digest

    def _old_path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest[2:4] / digest

    def put(self, data: bytes) -> str:
        return self.put_many([data])[0]

    def put_many(self, items: Sequence[bytes], *, defer_sync: bool = False) -> list[str]:
        """Store many blobs and wait for the disk once for all of them (one syncfs); with
        `defer_sync`, not before `flush()`, so one wait can cover several calls."""
        digests = []
        for data in items:
            digest = hashlib.sha256(data).hexdigest()
            digests.append(digest)
            if not self.exists(digest):
                path = self._write(digest, data)
            elif self.durable and os.path.exists(f"{self._root}/{digest[:2]}/{digest}"):
                # Maybe written by another thread or process and not yet synced: wait for it too.
                path = Path(f"{self._root}/{digest[:2]}/{digest}")
            else:
                continue
            with self._lock:
                self._unsynced.append(path)
        if not defer_sync:
            self.flush()
        return digests

    def flush(self) -> None:
        """Wait until every blob written so far is on disk (when the store is durable)."""
        # Held while syncing: a thread whose blobs another thread is syncing waits for it.
        with self._lock:
            written, self._unsynced = self._unsynced, []
            if not (self.durable and written):
                return
            if len(written) == 1:
                _fsync(written[0])
                _fsync(written[0].parent)  # its name in the folder, too
            else:
                _sync_filesystem(self.root, written)

    def get(self, digest: str) -> bytes:
        try:
            return self._path(digest).read_bytes()
        except FileNotFoundError:
            return self._old_path(digest).read_bytes()

    def exists(self, digest: str) -> bool:
        if not SHA256_PATTERN.match(digest):
            raise ValueError(f"{digest!r} is not a sha256 hex digest")
        folder = f"{self._root}/{digest[:2]}"
        return os.path.exists(f"{folder}/{digest}") or os.path.exists(
            f"{folder}/{digest[2:4]}/{digest}"
        )

    def _write(self, digest: str, data: bytes) -> Path:
        folder = f"{self._root}/{digest[:2]}"
        path = f"{folder}/{digest}"
        if digest[:2] not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(digest[:2])
        # Write then rename, so a reader never sees half a blob; the temporary name is unique
        # per process and thread, and the same content twice renames onto itself harmlessly.
        tmp = f"{folder}/.tmp-{digest[:16]}-{os.getpid()}-{threading.get_ident()}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        try:
            try:
                fd = os.open(tmp, flags, 0o644)
            except FileNotFoundError:  # the folder went away since we made it: make it again
                os.makedirs(folder, exist_ok=True)
                fd = os.open(tmp, flags, 0o644)
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return Path(path)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


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
        _fsync(path)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@functools.cache
def _syncfs() -> Any:
    libc_name = ctypes.util.find_library("c")
    return getattr(ctypes.CDLL(libc_name, use_errno=True), "syncfs", None) if libc_name else None
