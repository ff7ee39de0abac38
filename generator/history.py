"""Deal history from git: when each deal's stage and status changed, and when it last changed.

One `git log` over the deals folder lists every version of every deal file,
and one `git cat-file --batch` reads those versions; nothing starts a git
process per deal. Without usable history (no git, a shallow clone), callers
fall back to the deal files' own dates and are told why, once.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePosixPath

_STAGE = re.compile(rb"^stage:[ \t]*([0-9]+)[ \t]*(?:#.*)?$", re.M)
_STATUS = re.compile(rb"^status:[ \t]*['\"]?([a-z]+)['\"]?[ \t]*(?:#.*)?$", re.M)
_SEP = "\x1f"


@dataclass(frozen=True)
class Change:
    """A version of a deal in which its stage or status changed (or its first version)."""

    date: date
    stage: int | None
    status: str | None
    author: str
    from_stage: int | None = None


@dataclass
class DealHistory:
    changes: list[Change] = field(default_factory=list)  # oldest first
    last_updated: date | None = None


@dataclass
class History:
    """Per deal id, its history; `reason` says why there is none (then `deals` is empty)."""

    deals: dict[str, DealHistory]
    reason: str = ""

    @property
    def available(self) -> bool:
        return not self.reason


def _git(root: Path, *args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run(["git", "-C", str(root), *args], input=stdin, capture_output=True, check=True,
                          timeout=120).stdout


def read_history(root: Path, deals_dir: Path) -> History:
    """Read the history of every deal file under `deals_dir` from the repository containing it."""
    try:
        top = Path(_git(deals_dir, "rev-parse", "--show-toplevel").decode().strip())
    except FileNotFoundError:
        return History({}, "git is not installed")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return History({}, "the project is not in a git repository")
    try:
        if _git(top, "rev-parse", "--is-shallow-repository").strip() == b"true":
            return History({}, "the repository is a shallow clone (fetch the full history, e.g. "
                               "`git fetch --unshallow`, or `fetch-depth: 0` in GitHub Actions)")
        _git(top, "rev-parse", "--verify", "-q", "HEAD")
    except subprocess.CalledProcessError:
        return History({}, "the repository has no commits yet")
    folder = deals_dir.resolve().relative_to(top.resolve()).as_posix()
    log = _git(top, "log", "--reverse", "--no-renames", "--raw", "--no-abbrev", "-z",
               "--format=%x1e%cI%x1f%an", "--", folder)
    versions = _parse_log(log, folder)  # [(deal id, date, author, blob)]
    blobs = _read_blobs(top, sorted({blob for *_, blob in versions if blob}))
    deals: dict[str, DealHistory] = {}
    for deal_id, when, author, blob in versions:
        history = deals.setdefault(deal_id, DealHistory())
        if blob is None:  # deleted: a later re-creation starts again
            deals[deal_id] = DealHistory()
            continue
        content = blobs.get(blob, b"")
        stage_match, status_match = _STAGE.search(content), _STATUS.search(content)
        stage = int(stage_match.group(1)) if stage_match else None
        status = status_match.group(1).decode() if status_match else None
        last = history.changes[-1] if history.changes else None
        if last is None or last.stage != stage or last.status != status:
            history.changes.append(Change(when, stage, status, author, last.stage if last else None))
        history.last_updated = when
    return History(deals)


def _parse_log(log: bytes, folder: str) -> list[tuple[str, date, str, str | None]]:
    """(deal id, commit date, author, blob or None when deleted) for every deal file version."""
    out = []
    for record in log.split(b"\x1e")[1:]:
        header, _, raw = record.partition(b"\x00")
        when_text, _, author = header.decode("utf-8", "replace").partition(_SEP)
        when = datetime.fromisoformat(when_text.strip()).date()
        fields = raw.strip(b"\x00\n").split(b"\x00")
        # -z --raw: ":mode mode old new status" NUL path NUL, repeated
        for meta, path in zip(fields[0::2], fields[1::2], strict=False):
            parts = meta.decode().lstrip(":").split()
            if len(parts) < 5:
                continue
            name = PurePosixPath(path.decode("utf-8", "replace"))
            if name.suffix not in (".yml", ".yaml") or name.parent.as_posix() != folder:
                continue
            new_blob = parts[3]
            out.append((name.stem, when, author, None if parts[4].startswith("D") else new_blob))
    return out


def _read_blobs(top: Path, blobs: list[str]) -> dict[str, bytes]:
    if not blobs:
        return {}
    data = _git(top, "cat-file", "--batch", stdin=("\n".join(blobs) + "\n").encode())
    out: dict[str, bytes] = {}
    position = 0
    for blob in blobs:
        end = data.index(b"\n", position)
        header = data[position:end].split()
        size = int(header[2])
        out[blob] = data[end + 1:end + 1 + size]
        position = end + 1 + size + 1
    return out
