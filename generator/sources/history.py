"""Deal history from git: when each deal's stage and status changed, and when it last changed.

Builds read it off every committed version of the deal files (`deal_versions`): the same
first-parent, UTC reading as the history pages and `/history.json`, so a deal's page and those
can never tell two stories. Without usable history (no git, a shallow clone), callers fall back
to the deal files' own dates and are told why, once: `History.reason` is the catalog key of the reason.

`dealbook check` needs less: whether a deal is stale depends only on the date its file last
changed and on whether its stage or status differs from the committed one. `read_latest` gives
that from the list of commits and one `git grep` of the committed files, without parsing any
past version (most of the time of a check with an empty cache).
"""

from __future__ import annotations

import pickle
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ..diagnostics import Problem, Worded, problem, worded
from .git_repo import git as _git
from .git_repo import locate

if TYPE_CHECKING:
    from ..cache import Cache
    from .deal_versions import DealVersions, Skipped

# A stage of a few digits (a longer run of digits is no stage, and Python refuses to read 5,000 of them).
_STAGE = re.compile(r"stage:[ \t]*([0-9]{1,3})[ \t]*(?:#.*)?$")
_STATUS = re.compile(r"status:[ \t]*['\"]?([a-z]+)['\"]?[ \t]*(?:#.*)?$")


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
    """Per deal id, its history; `reason` (a label key) says why there is none (then `deals` is empty)."""

    deals: dict[str, DealHistory]
    reason: str = ""
    skipped: tuple[Skipped, ...] = ()  # past versions left out, one warning each (see `skipped_warnings`)

    @property
    def available(self) -> bool:
        return not self.reason


def read_history(deals_dir: Path, cache: Cache, kept: dict | None = None, since: int | None = None) -> History:
    """Read the history of every deal file under `deals_dir` from the repository containing it.

    The result is cached per commit: rebuilds while editing (HEAD unchanged) do not read the
    log again. Uncommitted edits are not part of it; see `timeline`. `kept` (a live preview's session):
    the history last read, kept there for the next call at the same commit. `since`:
    `history_since` as a UTC timestamp, as the history pages read it (`deal_versions._read_log`).
    """
    def read(top: Path, head: str, folder: str) -> History:
        from .deal_versions import VersionsSource, versions_key

        return from_versions(VersionsSource(deals_dir, cache, key=versions_key(cache, head, folder, since), top=top,
                                            folder=folder, since=since).load())

    return _read_cached(deals_dir, cache, "history", read, kept, str(since))


def read_latest(deals_dir: Path, cache: Cache) -> History:
    """Like `read_history`, with only the committed version of each deal as its one change.

    Each deal's `last_updated` and its latest stage and status are those `read_history` gives,
    so staleness comes out the same; when the deal entered its stage does not (not asked for).
    """
    return _read_cached(deals_dir, cache, "latest history", _read_latest)


def _read_cached(deals_dir: Path, cache: Cache, kind: str, read: Callable[[Path, str, str], History],
                 kept: dict | None = None, since: str = "None") -> History:
    repo = locate(deals_dir)
    if isinstance(repo, str):
        return History({}, repo)
    top, head, folder = repo
    key = cache.key(kind, head, folder, since)
    # `kept` holds the history last read, by its cache, kind and key (the commit, which names the whole history
    # before it, and the deals folder): a live preview's rebuild at the same commit does not even unpickle it.
    where = (str(cache.directory), kind, key)
    if kept is not None and where in kept:
        return kept[where]
    history = None
    cached = cache.get(kind, key)
    if cached is not None:
        try:
            history = pickle.loads(cached)
        except Exception:  # noqa: BLE001 - verified but unreadable (another Python): read the log again
            pass
    if history is None:
        history = read(top, head, folder)
        cache.put(kind, key, pickle.dumps(history, protocol=pickle.HIGHEST_PROTOCOL))
        cache.prune(kind, {key})
    if kept is not None:
        kept.clear()
        kept[where] = history
    return history


def _read_latest(top: Path, head: str, folder: str) -> History:
    from .deal_versions import last_changed

    last = last_changed(top, folder)
    # One thread: the lines are few and the deal files are being parsed on the other core.
    try:
        found = _git(top, "grep", "--threads=1", "-z", "-I", "-E", "^(stage|status):", head, "--", folder)
    except subprocess.CalledProcessError as exc:
        if exc.returncode != 1:  # 1: no line matched
            raise
        found = b""
    stages: dict[str, tuple[int | None, str | None]] = {}
    ids = _DealIds(folder)
    for line in found.decode("utf-8", "replace").splitlines():
        name, _, text = line.partition("\0")
        deal_id = ids[name.removeprefix(f"{head}:")]
        if deal_id is None or deal_id not in last:
            continue
        stage, status = stages.get(deal_id, (None, None))
        # As in the replay of the diffs, a later line wins.
        if text.startswith("stage:"):
            match = _STAGE.match(text)
            stage = int(match.group(1)) if match else None
        else:
            match = _STATUS.match(text)
            status = match.group(1) if match else None
        stages[deal_id] = (stage, status)
    deals = {deal_id: DealHistory(last_updated=when) for deal_id, when in last.items()}
    for deal_id, (stage, status) in stages.items():
        deals[deal_id].changes.append(Change(last[deal_id], stage, status, ""))
    return History(deals)


def from_versions(versions: DealVersions) -> History:
    """Each deal's stage and status changes, read off its versions: a version is a change when its
    stage or status differs from the one before; a deleted file starts afresh if it comes back."""
    if not versions.available:
        return History({}, versions.reason)
    deals: dict[str, DealHistory] = {}
    for deal_id, listed in versions.deals.items():
        history = DealHistory()
        for version in listed:
            facts = version.facts
            if facts is None:
                history = DealHistory()
                continue
            last = history.changes[-1] if history.changes else None
            if last is None or (last.stage, last.status) != (facts.stage, facts.status):
                history.changes.append(Change(version.date, facts.stage, facts.status, version.author,
                                              last.stage if last else None))
        if history.changes:
            deals[deal_id] = history
    for deal_id, when in versions.last_updated.items():
        deals.setdefault(deal_id, DealHistory()).last_updated = when
    return History(deals, skipped=tuple(versions.skipped))


def skipped_warnings(history: History, shown: Callable[[str], str]) -> list[Problem]:
    """One warning per past version left out: `shown` gives a file's path as printed."""
    out = []
    for skipped in history.skipped:
        unread = skipped.unread
        why = worded(unread.why, field=unread.field, value=unread.value)
        out.append(problem(shown(skipped.file), unread.line, unread.col, "warning", unread.field,
                           worded("w_history_skipped", commit=skipped.commit, why=why),
                           Worded("w_history_skipped_hint")))
    return out


def _deal_id(path: str, folder: str) -> str | None:
    name = PurePosixPath(path)
    if name.suffix in (".yml", ".yaml") and name.parent.as_posix() == folder:
        return name.stem
    return None


class _DealIds(dict):
    """`_deal_id` of each path, worked out once: every commit names the same few files again."""

    def __init__(self, folder: str):
        super().__init__()
        self.folder = folder

    def __missing__(self, path: str) -> str | None:
        deal_id = self[path] = _deal_id(path, self.folder)
        return deal_id
