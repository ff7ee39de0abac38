"""The one content cache: parsed deals, rendered pages, workbooks and git history under `.cache/`.

An entry is found by a key computed from its inputs plus `fingerprint()`: the bytes of every
file of this package and the versions of the libraries whose output ends up in the site. No
list of files is kept by hand, so editing any module or template invalidates what it made.

Each entry carries a checksum of its key and payload and is verified when read: a truncated,
bit-flipped or foreign entry (another entry's bytes copied over it) is treated as missing,
rebuilt and overwritten, never published. A cache folder that is missing, read-only or
unwritable makes the build slower, not broken.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sys
import tempfile
from functools import lru_cache
from importlib import metadata
from pathlib import Path

log = logging.getLogger("mkdocs.plugins.dealbook")

PACKAGE_DIR = Path(__file__).parent
# Libraries whose behaviour shapes cached output (pages, search text, workbook bytes).
# ProperDocs: the other engine, when installed; nh3: the sanitised rep Markdown in cached pages; XlsxWriter: the
# workbooks' bytes.
LIBRARIES = ("mkdocs", "properdocs", "mkdocs-material", "jinja2", "openpyxl", "pyyaml", "markdown", "markupsafe", "nh3",
             "xlsxwriter")
MAGIC = b"dealbook-cache-1\n"
_CHECKSUM = 32


def digest(*parts: str | bytes) -> str:
    """sha256 of the parts, each length-prefixed so that no two lists of parts collide."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little") + data)
    return h.hexdigest()


@lru_cache
def fingerprint() -> str:
    """A digest of this package's own files and the versions of the libraries it builds with."""
    parts: list[str | bytes] = [sys.version]
    for name in LIBRARIES:
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} -")
    for path in sorted(PACKAGE_DIR.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            parts += [path.relative_to(PACKAGE_DIR).as_posix(), path.read_bytes()]
    return digest(*parts)


def _checksum(key: str, payload: bytes) -> bytes:
    return hashlib.sha256(key.encode() + b"\0" + payload).digest()


class Cache:
    """`<directory>/<kind>/<key>`: entries written atomically, verified when read.

    `Cache(None)` caches nothing, for callers that want no files written.
    """

    def __init__(self, directory: Path | None):
        self.directory = directory
        self.writable = directory is not None and self._probe(directory)
        self.damaged = 0  # entries found damaged and ignored in this run

    @staticmethod
    def _probe(directory: Path) -> bool:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=directory, prefix=".probe-")
            os.close(fd)
            os.unlink(name)
            return True
        except OSError as exc:
            log.info("dealbook: cannot write the cache folder %s (%s): building without it, which is slower",
                     directory, exc.strerror or exc)
            return False

    def key(self, *parts: str | bytes) -> str:
        """The key of an entry made from `parts` by this version of the code (and the project's own catalogs)."""
        from .labels import project_catalogs_digest  # imported here: the cache stays a leaf of the import graph

        words = project_catalogs_digest()
        return digest(fingerprint(), words, *parts) if words else digest(fingerprint(), *parts)

    def path(self, kind: str, key: str) -> Path:
        assert self.directory is not None
        return self.directory / kind / key

    def get(self, kind: str, key: str) -> bytes | None:
        """The payload stored under `key`, or None when there is none or it does not verify."""
        if self.directory is None:
            return None
        try:
            data = self.path(kind, key).read_bytes()
        except OSError:
            return None
        head = len(MAGIC) + _CHECKSUM
        payload = data[head:]
        if len(data) < head or not data.startswith(MAGIC) or data[len(MAGIC):head] != _checksum(key, payload):
            self.damaged += 1
            return None
        return payload

    def put(self, kind: str, key: str, payload: bytes) -> None:
        if not self.writable:
            return
        folder = self.path(kind, key).parent
        try:
            try:
                fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
            except FileNotFoundError:  # made for the first entry of its kind, not asked for every entry
                folder.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(MAGIC + _checksum(key, payload) + payload)
            os.replace(tmp, self.path(kind, key))
        except OSError as exc:
            self.writable = False  # said once; the rest of the build goes on without caching
            log.info("dealbook: cannot write to the cache folder %s (%s): building without it, which is slower",
                     folder, exc.strerror or exc)

    def prune(self, kind: str, keep: set[str]) -> None:
        """Drop the entries of `kind` this build did not use, so the cache does not grow forever."""
        if not self.writable:
            return
        folder = self.path(kind, "x").parent
        try:
            names = [p for p in folder.iterdir() if p.name not in keep]
        except OSError:
            return
        for path in names:
            try:
                path.unlink()
            except OSError:
                return


class Bundle:
    """Many small entries of one kind kept in one cache entry, read on first use and written once.

    Creating a file is what costs on some file systems, most of all right after a folder of a few
    thousand files was deleted (`rm -rf .cache`, or mkdocs emptying `site/`): a thousand entries of
    parsed deals can cost more than parsing the deals, and one file of the same bytes far less.
    Verified as a whole, like any entry.
    """

    NAME = "bundle"

    def __init__(self, cache: Cache, kind: str):
        self.cache = cache
        self.kind = kind
        self._entries: dict[str, bytes] | None = None
        self.added: dict[str, bytes] = {}  # put since it was read

    @property
    def entries(self) -> dict[str, bytes]:
        if self._entries is None:
            self._entries = {}
            data = self.cache.get(self.kind, self.NAME)
            if data is not None:
                try:
                    entries = pickle.loads(data)
                except Exception:  # noqa: BLE001 - verified but unreadable (another Python): start afresh
                    entries = None
                if isinstance(entries, dict):
                    self._entries = entries
        return self._entries

    def get(self, key: str) -> bytes | None:
        return self.entries.get(key)

    def put(self, key: str, payload: bytes) -> None:
        if self.cache.writable:
            self.entries[key] = payload
            self.added[key] = payload

    def save(self, keep: set[str] | None = None) -> None:
        """Write the bundle if it changed, keeping only the entries in `keep` (all when None)."""
        if not self.cache.writable or self._entries is None:
            return
        dropped = [k for k in self._entries if k not in keep] if keep is not None else []
        if not self.added and not dropped:
            return
        for key in dropped:
            del self._entries[key]
        self.cache.put(self.kind, self.NAME, pickle.dumps(self._entries, protocol=pickle.HIGHEST_PROTOCOL))
        self.cache.prune(self.kind, {self.NAME})  # and the entries of the one-file-each layout before it
        self.added = {}
