"""A content-keyed file cache under `.cache/`: one file per key, written atomically."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger("mkdocs.plugins.dealbook")


def digest(*parts: str | bytes) -> str:
    """sha256 of the parts, each length-prefixed so that no two lists of parts collide."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little") + data)
    return h.hexdigest()


def source_salt(*files: Path) -> str:
    """A digest of source files whose change must invalidate what was cached from them."""
    return digest(*(f.name.encode() + b"\0" + f.read_bytes() for f in files))


class ContentCache:
    """`<dir>/<key><suffix>`; a crashed build leaves no half-written file, and a read-only
    checkout still builds, just without the cache."""

    def __init__(self, directory: Path, suffix: str):
        self.directory = directory
        self.suffix = suffix

    def path_for(self, key: str) -> Path:
        return self.directory / f"{key}{self.suffix}"

    def has(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def get(self, key: str) -> bytes | None:
        try:
            return self.path_for(key).read_bytes()
        except OSError:
            return None

    def put(self, key: str, data: bytes) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=self.suffix)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, self.path_for(key))
        except OSError as exc:
            log.warning("dealbook: cannot cache in %s: %s", self.directory, exc)

    def prune(self, keep: set[str]) -> None:
        """Drop entries this build did not use, so the cache does not grow forever."""
        if not self.directory.is_dir():
            return
        for path in self.directory.glob(f"*{self.suffix}"):
            if path.name[: -len(self.suffix)] not in keep:
                path.unlink(missing_ok=True)
