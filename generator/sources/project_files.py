"""Which files of the project may be read, and how they are named to people.

Deal files and the team file follow the same rules (only a regular file inside the project;
a folder, a FIFO or a link leading out of it is one error line, and is never opened: opening
a FIFO blocks until something writes to it). Kept apart from the deal format, so that a reader
of any project file can use the rules without importing the deals' spec.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

from ..diagnostics import Worded, worded

Resolve = Callable[[Path], Path]


def shown_path(path: Path, root: Path | None, resolve: Resolve = Path.resolve) -> str:
    """How a file is named to people: relative to the project when it is inside it.

    `resolve` is `Path.resolve` or one that gives the same answers faster (`FolderResolver`).
    """
    if root is not None:
        try:
            return resolve(path).relative_to(resolve(root)).as_posix()
        except ValueError:
            pass
    return str(path)


def entry_name(path: Path, root: Path | None, resolve: Resolve = Path.resolve) -> str:
    """How a folder entry is named to people without following it: `deals/x.yml` even when that is a link
    that loops or leads out of the project (where `shown_path` would fail or show the target)."""
    try:
        folder = shown_path(path.parent, root, resolve)
    except (OSError, RuntimeError):  # the folder itself is a link that loops
        folder = str(path.parent)
    return (Path(folder) / path.name).as_posix()


DEAL_FILE_HINTS = (Worded("folder_hint"), Worded("ordinary_file"))


def unreadable(path: Path, root: Path | None, resolve: Resolve = Path.resolve,
               hints: tuple[Worded, Worded] = DEAL_FILE_HINTS) -> tuple[Worded, Worded | str] | None:
    """Why `path` may not be read as a deal file (or the team file, with its own `hints`), as
    (message, hint); None when it may.

    Only regular files inside the project are read. This looks with `os.stat` and never opens
    the path: opening a FIFO blocks until something writes to it, i.e. the build hangs.
    """
    try:
        info = os.stat(path)  # follows links, as reading would
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Worded("loops"), Worded("fix_loop")
        if os.path.islink(path):
            return Worded("broken_link"), worded("fix_broken", target=os.readlink(path))
        return worded("cannot_read", why=exc.strerror), ""
    if root is not None:
        # Resolved first, so that a link or a `..` cannot publish a file from elsewhere on the machine.
        # (The stat above succeeded, so resolving cannot meet a loop: the same path as os.path.realpath.)
        real = resolve(path)
        if not real.is_relative_to(resolve(root)):
            return worded("outside", target=str(real)), Worded("copy_in")
    if stat.S_ISDIR(info.st_mode):
        return Worded("folder"), hints[0]
    if stat.S_ISFIFO(info.st_mode):
        return Worded("fifo"), hints[1]
    if not stat.S_ISREG(info.st_mode):
        return Worded("not_regular"), hints[1]
    return None
