"""Every committed version of every deal file, parsed once each: the one reading of the deals' history.

Two `git log --raw -z` passes over the deals folder: one lists every commit that touched it (its
day, its author, which deal files it added, changed or deleted, and the git blob id of each new
version), the other which of those changes touch a field the history reads (`-G`), the only
versions worth parsing. The versions not seen before are read in one `git cat-file --batch` and
parsed by `facts()`, a scan of the few top-level fields the history needs, with the YAML reader
as the fallback for anything the scan cannot read with certainty. Parses are kept in one cache
entry, a table keyed by blob id, so a new commit costs only its own new versions; the joined
result is cached per HEAD, so a rebuild at the same commit does not start git at all beyond `locate`.

Everything that shows the past reads it from here: the deal pages' timelines (`history.read_history`),
the history pages and `/history.json` (`model.movement`). Only the first-parent line is read: it is
the history of the branch being built, so a deal edited on a side branch changed, for the site, on
the day the branch was merged. Days are UTC. With `history_since` (mkdocs.yml), the commits before
it are not history: a deal whose file was there then starts on that day as it stood then, as if
created that day, and a deal deleted before it is not seen at all (see `_read_log`). A version that
cannot be read, or holds a value no deal file may hold (an amount of `inf` or `1e400`, a stage of
5,000 digits), is left out and listed in `skipped`, for one warning each: a bad commit never stops a
build, and fixing the file is enough.
"""

from __future__ import annotations

import math
import pickle
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import yaml

from ..diagnostics import Problems
from .git_repo import git as _git
from .git_repo import locate
from .spec import LIMIT
from .yaml_nodes import MAX_BYTES, read_yaml

if TYPE_CHECKING:
    from ..cache import Cache


class Facts(NamedTuple):
    """What one version of a deal file says, as far as the history needs it."""

    stage: int
    status: str
    amount: float
    currency: str | None  # None: the file names none, the stage model's default applies
    expected_close: date | None
    probability: float | None
    owner: str = ""
    lost_reason: str = ""
    competitors: tuple[str, ...] = ()


class Unread(NamedTuple):
    """Why a version is left out: the field at fault ("" for the whole file), what is wrong, where."""

    field: str
    why: str  # a catalog key: history_why_unreadable, history_why_missing, history_why_number, history_why_stage
    value: str = ""  # the value as written, shortened
    line: int = 1
    col: int = 1


class Version(NamedTuple):
    """A commit that changed a deal file: its day (UTC, see `_read_log`) and what the file said then."""

    date: date
    facts: Facts | None  # None: the file was deleted in this commit
    commit: str = ""  # the commit's id
    author: str = ""


class Skipped(NamedTuple):
    """A committed version of a deal file that the history leaves out, and why: one warning each."""

    commit: str  # the commit's short id
    file: str  # the file's name in the deals folder
    unread: Unread


@dataclass
class DealVersions:
    """Per deal id, its versions oldest first; `reason` (a label key) says why there are none.

    `last_updated`: the day each deal's file last changed, whatever changed in it (notes too).
    `skipped`: the versions left out because they cannot be read or hold values out of bounds.
    """

    deals: dict[str, list[Version]] = field(default_factory=dict)
    reason: str = ""
    last_updated: dict[str, date] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    since: date | None = None  # the day `history_since` starts the history on, when it is set

    @property
    def available(self) -> bool:
        return not self.reason


_BLOB_MODES = ("100644", "100755")
# The version table is kept whole in one entry: one entry per blob would be 20,000 small files at
# 1,000 deals × 20 commits, and writing them costs more than parsing the blobs again.
_TABLE = "version-table"
# The commits git lists for a file: those whose diff adds or removes a line of a field the history
# reads. A commit that only edits notes or next steps changes no fact, so its version is not read.
_FIELDS_CHANGED = r"^(stage|status|amount|currency|expected_close|probability|owner|lost_reason)[[:blank:]]*:"

Stored = tuple  # a Facts as a plain tuple, dates as ordinals: pickles several times faster than NamedTuples
# One version as listed: (day as an ordinal, blob id or "" for a deletion, commit, author, file name).
Listed = tuple[int, str, str, str, str]


@dataclass
class VersionsSource:
    """Where the versions come from: `key` names them (HEAD and folder), `load()` reads them.

    Finding HEAD is three quick git commands; reading the versions is not, so a build that finds
    everything it makes from them already cached never calls `load()`.
    """

    deals_dir: Path
    cache: Cache
    reason: str = ""
    key: str = ""
    top: Path | None = None
    folder: str = ""
    since: int | None = None  # `history_since` as a UTC timestamp: commits before it are not read as history
    _loaded: DealVersions | None = field(default=None, repr=False)

    def load(self) -> DealVersions:
        if self._loaded is None:
            self._loaded = self._read() if not self.reason else DealVersions(reason=self.reason)
        return self._loaded

    def _read(self) -> DealVersions:
        cache, key, table_key = self.cache, self.key, self.cache.key(_TABLE)
        cached = cache.get("versions", key)
        if cached is not None:
            try:
                return _unpack(pickle.loads(cached))
            except Exception:  # noqa: BLE001 - verified but unreadable (another Python): read the log again
                pass
        table: dict[str, Stored | Unread] = {}
        stored = cache.get("versions", table_key)
        if stored is not None:
            try:
                table = pickle.loads(stored)
            except Exception:  # noqa: BLE001 - as above: parse every version again
                table = {}
        assert self.top is not None
        try:
            log, last = _read_log(self.top, self.folder, self.since)
            wanted = {listed[1] for changes in log.values() for listed in changes if listed[1]}
            missing = sorted(wanted - table.keys())
            if missing:
                for blob, data in _cat_blobs(self.top, missing).items():
                    parsed = facts(data)
                    table[blob] = _pack(parsed) if isinstance(parsed, Facts) else parsed
        except (subprocess.SubprocessError, OSError, ValueError, UnicodeError):
            # A repository git cannot walk (a broken object, a time-out) leaves the history pages empty,
            # saying so; it never stops the build.
            return DealVersions(reason="history_failed")
        packed: dict[str, list[tuple[int, Stored | None, str, str]]] = {}
        skipped: list[Skipped] = []
        for deal_id, changes in log.items():
            kept = packed[deal_id] = []
            for when, blob, commit, author, name in changes:
                value = table.get(blob) if blob else None
                if blob and not isinstance(value, tuple) or isinstance(value, Unread):
                    # A version that cannot be read, or holds what no deal may (an amount of 1e400, a stage
                    # of 5,000 digits), changes nothing: left out, and said once, naming the commit and file.
                    skipped.append(Skipped(commit[:7], name, value if isinstance(value, Unread)
                                           else Unread("", "history_why_unreadable")))
                    continue
                kept.append((when, value, commit, author))
        result = {"deals": packed, "last": last, "skipped": skipped,
                  "since": _day(self.since) if self.since is not None else None}
        if missing:
            # Only the blobs this history still names are kept, so a rewritten history does not grow the table.
            cache.put("versions", table_key, pickle.dumps({b: table.get(b) for b in wanted},
                                                          protocol=pickle.HIGHEST_PROTOCOL))
        cache.put("versions", key, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
        cache.prune("versions", {key, table_key})
        return _unpack(result)


def open_versions(deals_dir: Path, cache: Cache, since: int | None = None) -> VersionsSource:
    """The source of the versions of every deal file in `deals_dir`, in the repository that holds it;
    `since`: `history_since` as a UTC timestamp."""
    repo = locate(deals_dir)
    if isinstance(repo, str):
        return VersionsSource(deals_dir, cache, reason=repo)
    top, head, folder = repo
    return VersionsSource(deals_dir, cache, key=versions_key(cache, head, folder, since), top=top, folder=folder,
                          since=since)


def versions_key(cache: Cache, head: str, folder: str, since: int | None = None) -> str:
    return cache.key("versions", head, folder, str(since))


def read_versions(deals_dir: Path, cache: Cache, since: int | None = None) -> DealVersions:
    return open_versions(deals_dir, cache, since).load()


def _day(stamp: int) -> date:
    """The UTC day of a timestamp."""
    return datetime.fromtimestamp(stamp, tz=UTC).date()


# --- history_since -------------------------------------------------------------------------------

SINCE_HINT = ("write the day the history starts as YYYY-MM-DD, e.g. 2026-11-27, "
              "or a moment in UTC as 2026-11-27T04:10:00Z")
_SINCE_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SINCE_MOMENT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?(Z|[+-][0-9]{2}:[0-9]{2})?")
# The option's line in mkdocs.yml, for the error's position; a value YAML reads as a date starts with digits.
_SINCE_LINE = re.compile(r"^([ \t]*history_since[ \t]*:[ \t]*)(.*?)[ \t]*(?:#.*)?$", re.M)


def since_stamp(value: object) -> int | None:
    """`history_since` as a UTC timestamp (a day counts from its start, in UTC); None when it is not set.

    ValueError when it is no date: mkdocs.yml's YAML gives a date, a date-time or, quoted, a string.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif isinstance(value, str) and (_SINCE_DAY.fullmatch(value.strip()) or _SINCE_MOMENT.fullmatch(value.strip())):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value.strip()!r} is not a date") from None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    else:
        raise ValueError(f"{str(value)[:40]!r} is not a date")
    return int(moment.timestamp())


def since_problem(config_file: Path, value: object = None, *, raw: bool = False) -> str | None:
    """The one error line for a `history_since` in `config_file` that is no date, or None.

    `raw`: check the value as written in the file, before YAML reads it (`dealbook build` does, so that
    `2026-02-30`, which YAML's date reading refuses with a traceback, is one line too); otherwise `value`
    is the value mkdocs read.
    """
    try:
        text = config_file.read_text(encoding="utf-8")
    except (OSError, UnicodeError):
        text = ""
    found = _SINCE_LINE.search(text)
    if raw:
        written = found.group(2) if found else ""
        if not re.match(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}", written):
            return None  # not set, or not something YAML reads as a date: mkdocs and the plugin see it
        # YAML reads 2026-2-3 as the date 2026-02-03; a date-time of another form is left to it.
        value = _padded(written) if re.fullmatch(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}", written) else written
    try:
        since_stamp(value)
        return None
    except ValueError as exc:
        line, col = (text.count("\n", 0, found.start()) + 1, len(found.group(1)) + 1) if found else (1, 1)
        what = f"{written!r} is not a date" if raw else str(exc)
        try:
            shown = config_file.resolve().relative_to(Path.cwd().resolve()).as_posix()
        except ValueError:
            shown = config_file.as_posix()
        return f"{shown}:{line}:{col}: error: history_since: {what} ({SINCE_HINT})"


def _padded(text: str) -> str:
    """2026-2-3 as YAML reads it (a date, 2026-02-03)."""
    year, month, day = text.split("-")
    return f"{year}-{int(month):02d}-{int(day):02d}"


def _pack(parsed: Facts) -> Stored:
    close = parsed.expected_close.toordinal() if parsed.expected_close else None
    return tuple(parsed._replace(expected_close=close))


def _unpack(result: dict) -> DealVersions:
    made: dict[int, Facts] = {}  # a version shared by several commits (a revert) is made once

    def one(stored: Stored) -> Facts:
        found = made.get(id(stored))
        if found is None:
            close = stored[4]
            found = made[id(stored)] = Facts._make(stored)._replace(
                expected_close=date.fromordinal(close) if close is not None else None)
        return found

    deals = {deal_id: [Version(date.fromordinal(when), one(stored) if stored is not None else None, commit, author)
                       for when, stored, commit, author in changes]
             for deal_id, changes in result["deals"].items()}
    return DealVersions(deals, last_updated={deal_id: date.fromordinal(day) for deal_id, day in result["last"].items()},
                        skipped=list(result["skipped"]), since=result.get("since"))


# Control characters in an author's name (git keeps them) are shown as spaces: they are no separators here.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _commits(out: bytes, header: int) -> Iterator[tuple[list[str], list[tuple[str, str]]]]:
    """(header fields, raw lines as (meta, path)) of each commit of a `git log -z --raw` whose format is
    `header` fields separated by %x00.

    Everything is split at NUL bytes, which no author, message or path can hold, and read by position:
    the header's fields, then pairs of a raw line (":<modes> <ids> <status>") and its path until the next
    commit's id. So an author named like a date or a raw line is only ever an author.
    """
    tokens = out.decode("utf-8", "replace").split("\0")
    position, end = 0, len(tokens)
    while position + header <= end:
        fields = tokens[position:position + header]
        position += header
        if not fields[0].strip():  # the empty tail after the last commit
            break
        raws = []
        while position + 1 < end and tokens[position].lstrip("\n").startswith(":"):
            raws.append((tokens[position].lstrip("\n"), tokens[position + 1]))
            position += 2
        yield [fields[0].strip(), *fields[1:]], raws


def _read_log(top: Path, folder: str, since: int | None = None) -> tuple[dict[str, list[Listed]], dict[str, int]]:
    """Per deal id, its versions (see `Listed`) oldest first; and the day each deal's files last changed.

    One reading for every page: the first-parent line only (the history of the branch being built: a
    deal edited on a side branch changed, for the site, on the day the branch was merged), days in
    UTC from the committer's timestamp, and no day earlier than the commit's before it on that line
    (a back-dated commit takes the day of the one before it), so the order of the days is the order
    of the commits.

    `since` (`history_since`, a UTC timestamp): the commits before it (by that same timestamp, so the
    cut is one point of the line) only say which files were there and what they held. Each deal file
    there at that moment gets one version dated the day of `since`, as it stood then (its commit and
    author those of its last change): the deal counts from that day, as if created then, with the
    stage and amount it had. A deal deleted before it, and every change before it, is not history.
    """
    common = ("log", "--first-parent", "-m", "--reverse", "--no-renames", "--raw", "--no-abbrev", "-z",
              "--no-color")
    # Every commit that touched the folder: the days, the authors, the files each commit changed.
    every = _git(top, *common, "--format=%H%x00%ct%x00%an", "--", folder)
    # Among them, the files whose diff touches a field the history reads (-G, without --pickaxe-all):
    # the only versions worth reading.
    touched = {(fields[0], path) for fields, raws in _commits(_git(top, *common, "-G", _FIELDS_CHANGED,
                                                                    "--format=%H", "--", folder), 1)
               for _, path in raws}
    prefix = "" if folder == "." else folder + "/"
    deals: dict[str, list[Listed]] = {}
    last: dict[str, int] = {}
    live: dict[str, dict[str, str]] = {}  # deal id → its files in the tree (x.yml and x.yaml) → blob id
    authors: dict[str, str] = {}  # one string object per author: the cache entry pickles it once
    made_by: dict[str, tuple[str, str]] = {}  # before `since`: deal id → (commit, author) of its last change
    started = since is None

    def start() -> None:
        # The deals as they stood at `since`: one version each, dated that day.
        assert since is not None
        day = _day(since).toordinal()
        for stem, files in live.items():
            if files:
                name, blob = next(reversed(files.items()))
                deals[stem] = [(day, blob, *made_by[stem], name)]

    latest = 0
    for (commit, stamp, author), raws in _commits(every, 3):
        latest = max(latest, int(stamp))
        if not started and latest >= since:  # type: ignore[operator]
            started = True
            start()
        when = datetime.fromtimestamp(latest, tz=UTC).date().toordinal()
        author = authors.setdefault(author, " ".join(_CONTROLS.sub(" ", author).split()))
        for meta, path in raws:
            fields = meta.split()
            # A deal file: directly in the folder, named <id>.yml or <id>.yaml (as `history._deal_id`, without
            # building a path object for each of thousands of lines).
            name = path[len(prefix):] if path.startswith(prefix) else ""
            stem, dot, suffix = name.rpartition(".")
            if len(fields) < 5 or not stem or "/" in name or suffix not in ("yml", "yaml") or not dot:
                continue
            new_mode, new_blob, change = fields[1], fields[3], fields[4][:1]
            files = live.setdefault(stem, {})
            last[stem] = when
            if not started:  # before `since`: only which files are there, and what they hold
                if change == "D" or new_mode not in _BLOB_MODES:
                    files.pop(name, None)
                else:
                    files.pop(name, None)  # re-inserted last: the newest file of twins is the one that counts
                    files[name] = new_blob
                    made_by[stem] = (commit, author)
                continue
            if change == "D" or new_mode not in _BLOB_MODES:
                # Deleted (or now a link or a submodule, which is no deal: the loader says so for the work tree).
                if files.pop(name, None) is None:
                    continue
                if not files:
                    deals.setdefault(stem, []).append((when, "", commit, author, name))
                else:
                    # A twin (x.yaml beside x.yml) went; the deal lives on in the other file.
                    other, blob = next(iter(files.items()))
                    deals.setdefault(stem, []).append((when, blob, commit, author, other))
            else:
                files[name] = new_blob
                if (commit, path) in touched:
                    deals.setdefault(stem, []).append((when, new_blob, commit, author, name))
    if not started:  # every commit is before `since`: the deals as they stand then
        start()
    if since is not None:
        # A deal gone before `since` is not seen at all: not even when its file last changed.
        last = {stem: day for stem, day in last.items() if stem in deals}
    return deals, last


def last_changed(top: Path, folder: str) -> dict[str, date]:
    """The day each deal's files last changed, as `_read_log` dates it (`dealbook check` needs no more)."""
    out = _git(top, "log", "--first-parent", "-m", "--reverse", "--no-renames", "--raw", "--no-abbrev", "-z",
               "--no-color", "--format=%H%x00%ct", "--", folder)
    prefix = "" if folder == "." else folder + "/"
    last: dict[str, date] = {}
    latest = 0
    for (_, stamp), raws in _commits(out, 2):
        latest = max(latest, int(stamp))
        when = datetime.fromtimestamp(latest, tz=UTC).date()
        for _, path in raws:
            name = path[len(prefix):] if path.startswith(prefix) else ""
            stem, dot, suffix = name.rpartition(".")
            if stem and dot and "/" not in name and suffix in ("yml", "yaml"):
                last[stem] = when
    return last


def commit_on(deals_dir: Path, day: date) -> tuple[Path, str, str] | None:
    """The last first-parent commit of HEAD made on or before `day` (UTC, committer dates, as the history reads
    them), as (the repository's top, the deals folder in it, the commit); None without a usable history or a
    commit that early. For the dashboard's snapshot of the quarter's start."""
    repo = locate(deals_dir)
    if isinstance(repo, str):
        return None
    top, _, folder = repo
    end = int(datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC).timestamp())
    try:
        commit = subprocess.run(["git", "-C", str(top), "rev-list", "-1", "--first-parent", f"--before={end}",
                                 "HEAD"], capture_output=True, check=True, timeout=120).stdout.decode().strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (top, folder, commit) if commit else None


def files_at(found: tuple[Path, str, str]) -> list[tuple[str, bytes]] | None:
    """The deal files of a commit `commit_on` found: [(file name, bytes)], sorted; None if git fails."""
    top, folder, commit = found
    try:
        listed = subprocess.run(["git", "-C", str(top), "ls-tree", "-z", commit, "--", f"{folder}/"],
                                capture_output=True, check=True, timeout=120).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    names: list[tuple[str, str]] = []  # (file name, blob): two files may hold the same bytes
    for entry in listed.split(b"\0"):
        meta, _, path = entry.partition(b"\t")
        parts = meta.split()
        name = path.decode("utf-8", "replace").rpartition("/")[2]
        if len(parts) == 3 and parts[1] == b"blob" and name.endswith((".yml", ".yaml")):
            names.append((name, parts[2].decode()))
    blobs = _cat_blobs(top, sorted({blob for _, blob in names})) if names else {}
    return sorted((name, blobs[blob]) for name, blob in names if blob in blobs)


def _cat_blobs(top: Path, blobs: list[str]) -> dict[str, bytes]:
    """The bytes of each blob, read by one `git cat-file --batch`."""
    done = subprocess.run(["git", "-C", str(top), "cat-file", "--batch"], input="\n".join(blobs).encode() + b"\n",
                          capture_output=True, check=True, timeout=300)
    data, out, pos = done.stdout, {}, 0
    while pos < len(data):
        end = data.index(b"\n", pos)
        header = data[pos:end].split()
        pos = end + 1
        if len(header) != 3:  # "<blob> missing"
            continue
        size = int(header[2])
        out[header[0].decode()] = data[pos:pos + size]
        pos += size + 1
    return out


# --- reading one version -----------------------------------------------------------------------

_SCALARS = ("stage", "status", "amount", "currency", "expected_close", "probability", "owner", "lost_reason")
# The text is scanned with a newline before it and after it, and the patterns start with that
# newline: a literal first character lets the regex engine jump from line to line.
# The keys the history reads, at the start of a line, then ":" and a space or the line's end.
_WANTED = re.compile(r"\n(" + "|".join(_SCALARS) + r"|competitors)[ \t]*:([ \t][^\n]*)?(?=\n)")
# Any line that starts with something else than a key, an indent, a list item, a comment or nothing:
# the scan stops trusting itself (flow mappings, `---`, directives, quoted keys); the YAML reader decides.
_ODD = re.compile(r"\n(?![A-Za-z_][A-Za-z0-9_]*[ \t]*:[ \t\n]|[ \t\n#]|-[ \t\n]|\Z)")
# A top-level value that opens a quote or a flow collection: if it goes on over several lines, one
# of them could look like a key; such versions are checked key by key.
_OPENS = re.compile(r"\n[A-Za-z_][A-Za-z0-9_]*[ \t]*:[ \t]+[\"'\[{]")
_ANY_KEY = re.compile(r"\n[A-Za-z_][A-Za-z0-9_]*[ \t]*:([ \t][^\n]*)?(?=\n)")
_NEXT_KEY = re.compile(r"\n(?=[^ \t\n#-])")
_CONTINUED = re.compile(r"[ \t]+[^ \t\n#]")
_COMPETITOR_LINE = re.compile(r"[ \t]*(?:-[ \t]+)?(name|strengths|weaknesses)[ \t]*:(?:[ \t]+(.*?))?[ \t]*")
_SINGLE = re.compile(r"'((?:[^']|'')*)'[ \t]*(?:#.*)?")
_DOUBLE = re.compile(r'"([^"\\]*)"[ \t]*(?:#.*)?')
_NULLS = ("", "~", "null", "Null", "NULL")
_CLOSED = ("won", "lost", "abandoned")


class _Unsure(Exception):
    """The scan cannot read this with certainty: the YAML reader reads the whole version."""


def facts(data: bytes) -> Facts | Unread:
    """The history's fields of one version of a deal file, or why it cannot be read as a deal."""
    if len(data) > MAX_BYTES:
        return Unread("", "history_why_unreadable")
    try:
        text = data.decode("utf-8").removeprefix("\ufeff").replace("\r\n", "\n")
    except UnicodeDecodeError:
        return Unread("", "history_why_unreadable")
    try:
        raw, competitors = _scan(text)
    except _Unsure:
        read = _read_nodes(text)
        if read is None:
            return Unread("", "history_why_unreadable")
        raw, competitors = read
    made = _to_facts(raw, competitors)
    if isinstance(made, Unread) and made.field:
        # Where the field is in that version, for the warning (the first line that starts with it).
        found = re.search(rf"^{made.field}[ \t]*:[ \t]*", text, re.M)
        if found:
            line = text.count("\n", 0, found.start()) + 1
            made = made._replace(line=line, col=found.end() - found.start() + 1)
    return made


def _scan(text: str) -> tuple[dict[str, str | None], tuple[str, ...]]:
    """Top-level scalars by a scan that looks only at the lines starting with a key the history reads."""
    text = "\n" + text + "\n"
    if _ODD.search(text):
        raise _Unsure
    if _OPENS.search(text):
        for match in _ANY_KEY.finditer(text):
            value = (match.group(1) or "").strip(" \t")
            if value[:1] in ("'", '"'):
                _value(value)  # raises _Unsure when the quote does not close on its line
            elif value[:1] in ("[", "{") and value[-1:] not in ("]", "}"):
                raise _Unsure
    raw: dict[str, str | None] = {}
    block = None
    for match in _WANTED.finditer(text):
        name, value = match.group(1), (match.group(2) or "").strip(" \t")
        if name == "competitors":
            block = match
            continue
        raw[name] = _value(value)
        if _CONTINUED.match(text, match.end() + 1):
            raise _Unsure  # an indented line after a scalar: a value over several lines
    competitors: tuple[str, ...] = ()
    # Who the deal was up against matters only for how it ended: most versions are open, and skip this.
    if block is not None and raw.get("status") in _CLOSED:
        after = _NEXT_KEY.search(text, block.end())
        competitors = _competitors((block.group(2) or "").strip(" \t"),
                                   text[block.end():after.start() if after else len(text)])
    return raw, competitors


def _value(value: str) -> str | None:
    """A scalar as YAML reads it, for the simple cases; `_Unsure` for the others."""
    if not value or value.startswith("#"):
        return None
    first = value[0]
    if first == "'":
        match = _SINGLE.fullmatch(value)
        if match is None:
            raise _Unsure
        return match.group(1).replace("''", "'")
    if first == '"':
        match = _DOUBLE.fullmatch(value)
        if match is None:
            raise _Unsure  # escapes, or a string that goes on over the next line
        return match.group(1)
    for mark in (" #", "\t#"):
        cut = value.find(mark)
        if cut >= 0:
            value = value[:cut]
    value = value.rstrip()
    if first in "[]{}&*!|>%@`,?:-" or ": " in value or value.endswith(":"):
        raise _Unsure
    return None if value in _NULLS else value


def _competitors(value: str, block: str) -> tuple[str, ...]:
    if value.strip() == "[]":
        return ()
    if value and not value.startswith("#"):
        raise _Unsure
    names = []
    for line in block.split("\n"):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _COMPETITOR_LINE.fullmatch(line)
        if match is None:
            raise _Unsure
        if match.group(1) == "name":
            name = _value(match.group(2) or "")
            if name:
                names.append(name)
        elif match.group(2):
            _value(match.group(2))  # only to be sure the line is as simple as it looks
    return tuple(names)


def _read_nodes(text: str) -> tuple[dict[str, str | None], tuple[str, ...]] | None:
    """The same fields through the deal files' own YAML reader (no aliases bombs, no tags), for odd versions."""
    node = read_yaml(Path("version.yml"), "version.yml", Problems(), text.encode("utf-8"))
    if not isinstance(node, yaml.MappingNode):
        return None
    raw: dict[str, str | None] = {}
    competitors: tuple[str, ...] = ()
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        if key.value in _SCALARS:
            if not isinstance(value, yaml.ScalarNode):
                return None
            raw[key.value] = None if value.tag.endswith(":null") else value.value
        elif key.value == "competitors" and isinstance(value, yaml.SequenceNode):
            names = []
            for item in value.value:
                if isinstance(item, yaml.MappingNode):
                    names += [v.value for k, v in item.value if isinstance(k, yaml.ScalarNode) and k.value == "name"
                              and isinstance(v, yaml.ScalarNode) and v.value]
            competitors = tuple(names)
    return raw, competitors


def _to_facts(raw: dict[str, str | None], competitors: tuple[str, ...]) -> Facts | Unread:
    """The facts, when every one is within what a deal file may hold (`dealbook check`'s bounds)."""
    for name in ("stage", "status", "amount"):
        if not raw.get(name):
            return Unread(name, "history_why_missing")
    stage, amount, probability = _int(raw.get("stage")), _number(raw.get("amount")), _number(raw.get("probability"))
    if stage is None:
        return Unread("stage", "history_why_stage", _shortened(raw["stage"]))
    if amount is None or not 0 <= amount <= LIMIT:
        # Not a number, or one no deal may hold: inf, nan, 1e400, or 1e308 (finite, but not once converted).
        return Unread("amount", "history_why_number", _shortened(raw["amount"]))
    if raw.get("probability") is not None and (probability is None or not 0 <= probability <= 1):
        return Unread("probability", "history_why_number", _shortened(raw["probability"]))
    status = raw["status"]
    assert status is not None
    return Facts(stage=stage, status=status, amount=amount, currency=raw.get("currency") or None,
                 expected_close=_date(raw.get("expected_close")), probability=probability,
                 owner=raw.get("owner") or "", lost_reason=raw.get("lost_reason") or "", competitors=competitors)


def _shortened(text: str | None, most: int = 24) -> str:
    text = text or ""
    return text if len(text) <= most else text[:most - 1] + "…"


def _int(text: str | None) -> int | None:
    # A stage is a small whole number: more digits than any stage model has stages is no stage (and Python
    # refuses to turn 5,000 digits into an int).
    return int(text) if text is not None and text.isascii() and text.isdigit() and len(text) <= 3 \
        and int(text) >= 1 else None


def _number(text: str | None) -> float | None:
    """A finite number, or None: `nan`, `inf` and `1e400` (which is inf) are not numbers to add up."""
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    # Whole numbers stay int, as YAML reads `amount: 1000`: equal either way, but the JSON shows 1000, not 1000.0.
    return int(number) if number.is_integer() and text.lstrip("+-").isdigit() else number


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text and len(text) == 10 else None
    except ValueError:
        return None
