"""Publish a build atomically: build into a new folder beside `site_dir`, swap it in when all of it is done.

mkdocs 1.6.1 empties `site_dir` ("Cleaning site directory", `mkdocs/commands/build.py`) right after
the `on_pre_build` event and writes the site into it page by page, so a build that fails or is
killed leaves no site, or a part of one. The plugin points `site_dir` at a staging folder in the
same parent instead (`<site>.building-<pid>`, so that the final rename cannot cross file systems),
and exchanges it with the real folder only once every language and every workbook is written.
A failed build removes its staging folder; a killed one leaves it, and the next build removes it.

Used by the plugin only; nothing here knows about mkdocs.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import re
import shutil
from pathlib import Path

_STAGING = "building"
_REPLACED = "replaced"  # the old site, between the two renames of the fallback swap
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux `renameat2(RENAME_EXCHANGE)`); False where not available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # a file system or kernel without it: the two-rename fallback
    raise OSError(code, os.strerror(code), str(b))


def _remove(path: Path) -> None:
    """Remove a folder and what it holds, or a file, as far as possible (what stays, the next build removes)."""
    if path.is_symlink() or path.is_file():
        with contextlib.suppress(OSError):
            path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Publish:
    """One build's staging folder for `target`, and the swap that publishes it."""

    def __init__(self, target: Path, staging: Path) -> None:
        self.target = target
        self.staging = staging
        self.owner = os.getpid()  # a process forked from the build (a deal reader) shares it: only the owner acts

    @classmethod
    def begin(cls, site_dir: str, *, keep_current: bool, exclusive: bool) -> Publish | None:
        """Make the staging folder for `site_dir` (with a copy of the current site for a dirty build).

        `exclusive`: this process holds the build lock, so every staging folder left beside the site
        is a killed build's; otherwise only those of processes no longer running are removed.
        None where the swap cannot work (the site folder is a mount point, or its parent cannot be
        written): the site is then built in place, as mkdocs does.
        """
        target = Path(os.path.realpath(site_dir))  # a symlinked site folder: its real folder is swapped
        if os.path.ismount(target):
            return None
        _remove_leftovers(target, exclusive)
        staging = target.with_name(f"{target.name}.{_STAGING}-{os.getpid()}")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            _remove(staging)
            if keep_current and target.is_dir():
                # `--dirty` rewrites only what changed: it starts from a copy of the site, never the site.
                shutil.copytree(target, staging, symlinks=True)
            else:
                staging.mkdir()
        except OSError:
            _remove(staging)
            return None
        return cls(target, staging)

    def commit(self) -> None:
        """Put the staging folder in the site's place, in one step, and remove the old site."""
        if os.getpid() != self.owner:
            return
        if not self.target.exists():
            os.rename(self.staging, self.target)
            return
        if _exchange(self.staging, self.target):
            _remove(self.staging)  # it now holds the old site
            return
        # Without an exchange: two renames; a build killed between them leaves the old site under
        # the `replaced` name, which the next build puts back before anything else.
        old = self.target.with_name(f"{self.target.name}.{_REPLACED}-{os.getpid()}")
        os.rename(self.target, old)
        os.rename(self.staging, self.target)
        _remove(old)

    def abandon(self) -> None:
        """The build failed: remove what it wrote; the site stays as it was."""
        if os.getpid() == self.owner:
            _remove(self.staging)


class WarningCount(logging.Handler):
    """The warnings and errors logged under the engine's logger while a build runs: what `--strict` counts.

    A strict build with any is not published. Counted by a handler of our own, with the logging module's
    public API, because neither engine says whether a strict build will fail: mkdocs 1.6.1 fails it after
    the last `on_post_build` on the counts of a handler it adds to the "mkdocs" logger, ProperDocs 1.6.7
    on one it adds to the "properdocs" logger, which it makes the parent of "mkdocs" (checked on both).
    """

    def __init__(self, logger_name: str) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        self._logger = logging.getLogger(logger_name)
        self._logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1

    def detach(self) -> None:
        self._logger.removeHandler(self)


def _remove_leftovers(target: Path, exclusive: bool) -> None:
    pattern = re.compile(rf"{re.escape(target.name)}\.({_STAGING}|{_REPLACED})-(\d+)")
    try:
        names = os.listdir(target.parent)
    except OSError:
        return
    leftovers = [(m[1], int(m[2]), target.parent / name) for name in names if (m := pattern.fullmatch(name))]
    for kind, pid, path in sorted(leftovers, key=lambda item: item[0] != _REPLACED):
        if pid == os.getpid() or (not exclusive and _alive(pid)):
            continue
        if kind == _REPLACED and not target.exists():
            with contextlib.suppress(OSError):  # never removed while it may be the only copy of the site
                os.rename(path, target)  # killed between the two renames: the last good site, back
            continue
        _remove(path)
