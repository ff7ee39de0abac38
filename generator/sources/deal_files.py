"""Deal files: read, validate, and turn them into `Deal` objects; the `Deal` dataclasses."""

from __future__ import annotations

import hashlib
import os
import pickle
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from ..cache import Bundle
from ..diagnostics import Problem, Problems, Worded, problem, worded
from .cjk_text import join_folded_lines, join_soft_breaks
from .deal_format import ID_PATTERN, deal_spec, shown_texts
from .project_files import entry_name, shown_path, unreadable
from .spec import Checker
from .yaml_nodes import read_bytes, read_yaml

if TYPE_CHECKING:
    from ..cache import Cache
    from .stage_model import StageModel

DEAL_SUFFIXES = (".yml", ".yaml")
# Fewer files than this are parsed in one process: forking costs more than it saves.
PARALLEL_MIN = 200
# How a reader gets a second process (`build.fork_part`: process handling is the build's, not the sources'):
# `fork(work)` starts `work` in it and returns the wait for its value, which is None when that process failed;
# `fork` itself returns None when no second process would help (no fork, one core).
Fork = Callable[[Callable[[], dict]], Callable[[], dict | None] | None]


@dataclass(frozen=True)
class Stakeholder:
    name: str
    last_contact: date | None = None
    title: str = ""
    role: str = ""
    influence: str = ""
    stance: str = ""
    notes: str = ""


@dataclass(frozen=True)
class Exit:
    date: date | None = None
    evidence: str = ""


@dataclass(frozen=True)
class NextStep:
    action: str
    owner: str = ""
    due: date | None = None
    done: bool = False


@dataclass(frozen=True)
class Milestone:
    """A milestone of the mutual action plan: who does what by when, on which side (`customer` or `us`)."""

    milestone: str
    side: str
    owner: str
    due: date
    done: bool = False
    stage: int | None = None  # the stage whose exit it achieves


@dataclass(frozen=True)
class Competitor:
    name: str
    strengths: str = ""
    weaknesses: str = ""


@dataclass(frozen=True)
class NegotiationTerm:
    topic: str
    opening: str = ""
    target: str = ""
    walk_away: str = ""
    customer_position: str = ""
    concessions: str = ""


@dataclass
class Deal:
    id: str
    path: str  # as shown to people, relative to the project
    title: str
    account: str
    owner: str
    stage: int
    status: str
    amount: float
    currency: str
    expected_close: date
    lost_reason: str = ""
    summary: str = ""
    # The deal spec's shown texts (`deal_format.SHOWN_TEXTS`) by name, in its order, each "" when not given.
    texts: dict[str, str] = field(default_factory=dict)
    probability: float | None = None
    forecast: str | None = None  # the rep's forecast category, overriding the stage's (open deals only)
    grade: str | None = None
    qualification: dict[str, int] = field(default_factory=dict)
    stakeholders: list[Stakeholder] = field(default_factory=list)
    exits: dict[int, Exit] = field(default_factory=dict)
    next_steps: list[NextStep] = field(default_factory=list)
    competitors: list[Competitor] = field(default_factory=list)
    negotiation: list[NegotiationTerm] = field(default_factory=list)
    plan: list[Milestone] = field(default_factory=list)  # the mutual action plan, in file order
    share: bool = False  # the customer build gives the buyer a page of the plan
    # sha256 of the file's bytes: a workbook records it, so `dealbook import` knows whether the file changed since.
    fingerprint: str = ""
    marks: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False)

    def mark(self, where: str) -> tuple[int, int]:
        """Line and column of a field, or of the nearest enclosing one that was given."""
        while where:
            if where in self.marks:
                return self.marks[where]
            where = where.rsplit(".", 1)[0] if "." in where else re.sub(r"\[\d+\]$", "", where) \
                if where.endswith("]") else ""
        return (1, 1)


def suggested_id(stem: str) -> str:
    cleaned = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    return cleaned or "my-deal"


def deal_files(deals_dir: Path) -> list[Path]:
    """Every entry of the folder named like a deal file, whatever it is.

    Entries that are not regular files (a folder, a FIFO, a link that is broken, loops or leads
    out of the project) are listed too, so that the loader reports them instead of a deal
    vanishing from the site without a word.
    """
    return sorted(p for p in deals_dir.iterdir() if p.suffix in DEAL_SUFFIXES) if deals_dir.is_dir() else []


# What may sit in deals/ beside the deal files without being one: the schema editors read, git's own
# files, a folder's README, and what file managers leave in every folder they open.
NOT_DEALS = frozenset({"deal.schema.json", ".gitkeep", ".gitignore", ".gitattributes", "readme.md", "readme",
                       "readme.txt", ".ds_store", "thumbs.db", "desktop.ini"})
# `.x.yml.k3j2_a9`: a file written beside a deal and renamed over it (`dealbook import`, editors), left
# behind when the writer was killed.
TEMPORARY = re.compile(r"\.(?P<deal>[^/]+\.ya?ml)\.[A-Za-z0-9_~-]+")
# `x.yml~`, `#x.yml#`, `.x.yml.swp`, `x.yml.bak`, `x.yml.orig`…: an editor's or a merge tool's copy.
BACKUP = re.compile(r"[.#]?(?P<deal>[^/]+?\.ya?ml)(?:~|#|\.~\d+~|\.(?:swp|swo|swx|bak|orig|rej|tmp|old|save))")


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def stray_entries(deals_dir: Path, root: Path | None) -> list[Problem]:
    """A warning for each entry of the deal folder that is neither a deal file nor meant to be there.

    A temporary file left by a killed import, an editor's backup or a `notes.txt` is never read as a
    deal, so nothing else would say it is there — until `git add deals` commits it. Looked at by name
    and `lstat` only: nothing is opened or followed (a FIFO or a looping link is named like a file).
    """
    try:
        with os.scandir(deals_dir) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError:  # no folder (or not one): the commands say so themselves
        return []
    out = []
    for entry in entries:
        name = entry.name
        if Path(name).suffix in DEAL_SUFFIXES or name.lower() in NOT_DEALS:
            continue  # a deal file, or a wrong one, which the loader reports
        temporary = TEMPORARY.fullmatch(name)
        backup = BACKUP.fullmatch(name)
        if backup is not None:
            message, hint = worded("stray_backup", deal=backup["deal"]), Worded("stray_backup_hint")
        elif temporary is not None:
            message, hint = (worded("stray_temporary", deal=temporary["deal"]),
                             worded("stray_temporary_hint", deal=temporary["deal"]))
        elif _is_folder(entry):
            message, hint = Worded("stray_folder"), Worded("stray_folder_hint")
        else:
            message, hint = Worded("stray_file"), Worded("stray_file_hint")
        out.append(problem(entry_name(Path(entry.path), root), 1, 1, "warning", "", message, hint))
    return out


# The hints for an entry that is not a file (for a folder; for a FIFO or a device), worded for what it should hold.
class FolderResolver:
    """`Path.resolve` for many files in a few folders: each folder is resolved once, a file that is
    not a link is its resolved folder plus its name (one `lstat`), instead of an `lstat` of every
    part of its path, three times per deal. Lives for one reading of the deals: folders may change
    into links between builds."""

    def __init__(self) -> None:
        self.known: dict[Path, Path] = {}

    def __call__(self, path: Path) -> Path:
        known = self.known.get(path)
        if known is not None:
            return known
        if path.name in ("", ".", "..") or os.path.islink(path):
            real = path.resolve()
        else:
            real = self(path.parent) / path.name
        self.known[path] = real
        return real


class DealLoader:
    """Reads deal files against one stage model; the spec is built once and reused."""

    def __init__(self, model: StageModel, root: Path | None, cache: Cache, reserved: Collection[str] = (),
                 remembered: dict[tuple, tuple[str, Deal]] | None = None):
        self.model = model
        self.root = root
        # Ids whose page or workbook would take the place of a generated file; the caller knows the
        # site's layout (this layer does not), so it hands them in.
        self.reserved = frozenset(reserved)
        self.spec = deal_spec(model)
        self._shown = shown_texts(self.spec)
        # Parsing is most of a warm build's reading time; a file whose bytes, name and stage
        # model are unchanged gives the same Deal (with this code), so it is kept, pickled.
        self.cache = cache
        self.bundle = Bundle(cache, "deals")
        self.model_key = repr(model)
        self.used: set[str] = set()
        self.resolve = FolderResolver()
        # While serving, kept from one rebuild to the next: (path, file signature) → (cache key, Deal),
        # so that a rebuild reads only the files that changed since the last one.
        self.remembered = remembered
        self._seen: set[tuple] = set()
        # (where its part of the files starts, the wait for the other process's reading of them)
        self._helper: tuple[int, Callable[[], dict | None]] | None = None

    def load(self, path: Path, problems: Problems) -> Deal | None:
        signature = self._signature(path) if self.remembered is not None else None
        if signature is not None:
            self._seen.add(signature)
            known = self.remembered.get(signature)  # type: ignore[union-attr]
            if known is not None:
                self.used.add(known[0])
                return known[1]
        errors = len(problems.errors)
        deal, key = self._read(path, problems)
        self._remember(signature, deal, key, len(problems.errors) == errors)
        return deal

    def _remember(self, signature: tuple | None, deal: Deal | None, key: str, clean: bool) -> None:
        if signature is not None and deal is not None and clean:
            self.remembered[signature] = (key, deal)  # type: ignore[index]

    def _signature(self, path: Path) -> tuple | None:
        try:
            info = os.stat(path)
        except OSError:
            return None
        return (str(path), info.st_mtime_ns, info.st_size, info.st_ino, info.st_ctime_ns, self.model_key)

    def _read(self, path: Path, problems: Problems) -> tuple[Deal | None, str]:
        # Problems with the entry itself are named by the entry (`deals/x.yml`), not by where a link leads.
        named = entry_name(path, self.root, self.resolve)
        why = unreadable(path, self.root, self.resolve)
        if why is not None:
            problems.error(named, 1, 1, "", *why)
            return None, ""
        stem = path.stem
        if not re.fullmatch(ID_PATTERN, stem):
            problems.error(named, 1, 1, "", worded("bad_name", id=f"'{stem}'"),
                           worded("rename_to", name=f"{suggested_id(stem)}{path.suffix}"))
            return None, ""
        if stem in self.reserved:
            problems.error(named, 1, 1, "", worded("reserved", id=f"'{stem}'"),
                           worded("rename_eg", name=f"{stem}-deal{path.suffix}"))
            return None, ""
        shown = shown_path(path, self.root, self.resolve)
        data = read_bytes(path, shown, problems)
        if data is None:
            return None, ""
        return self._parse(path, stem, shown, data, problems)

    def load_data(self, name: str, shown: str, data: bytes, problems: Problems,
                  keys: set[str] | None = None) -> Deal | None:
        """A deal file's bytes as read elsewhere (a past commit's blob); `name` is its file name. `keys` is given
        the cache key of its parse (see `keep`)."""
        stem = name.rpartition(".")[0]
        if not re.fullmatch(ID_PATTERN, stem) or stem in self.reserved:
            return None
        deal, key = self._parse(Path(name), stem, shown, data, problems)
        if keys is not None and key:
            keys.add(key)
        return deal

    def keep(self, keys: set[str]) -> None:
        """Keep these parses in the cache though nothing read them this time (a snapshot remembered whole)."""
        self.used |= keys

    def _parse(self, path: Path, stem: str, shown: str, data: bytes, problems: Problems) -> tuple[Deal | None, str]:
        key = self.cache.key("deal", self.model_key, shown, data)
        self.used.add(key)
        cached = self.bundle.get(key)
        if cached is not None:
            try:
                return pickle.loads(cached), key
            except Exception:  # noqa: BLE001 - verified but unreadable (another Python): parse it again
                pass
        errors = len(problems.errors)
        node = read_yaml(path, shown, problems, data)
        if node is None:
            return None, ""
        # Read as UTF-8 without a BOM, as read_yaml did: the node's line and column marks match it.
        join_folded_lines(node, data.decode("utf-8").removeprefix("\ufeff"))
        c = Checker(shown, problems)
        raw = self.spec.check(node, "", c)
        # Reading may refuse a part of the file (a tag, say) and go on to report more: such a file is
        # never a deal, nor cached as one, or the next run would find it fine.
        if c.failed or raw is None or len(problems.errors) > errors:
            return None, ""
        deal = self._build(stem, shown, raw, c.marks, hashlib.sha256(data).hexdigest())
        self.bundle.put(key, pickle.dumps(deal, protocol=pickle.HIGHEST_PROTOCOL))
        return deal, key

    def _build(self, deal_id: str, shown: str, raw: dict, marks: dict, fingerprint: str) -> Deal:
        return Deal(
            id=deal_id, path=shown, title=raw["title"], account=raw["account"], owner=raw["owner"],
            stage=raw["stage"], status=raw["status"], amount=raw["amount"],
            currency=raw.get("currency", self.model.currency), expected_close=raw["expected_close"],
            lost_reason=raw.get("lost_reason", ""), summary=join_soft_breaks(raw.get("summary", "")),
            texts={name: raw.get(name, "") for name in self._shown},
            probability=raw.get("probability"), forecast=raw.get("forecast"), grade=raw.get("grade"),
            qualification=dict(raw.get("qualification", {})),
            stakeholders=[Stakeholder(**s) for s in raw.get("stakeholders", [])],
            exits={n: Exit(**e) for n, e in raw.get("exits", {}).items()},
            next_steps=[NextStep(**s) for s in raw.get("next_steps", [])],
            competitors=[Competitor(**s) for s in raw.get("competitors", [])],
            negotiation=[NegotiationTerm(**t) for t in raw.get("negotiation", {}).get("terms", [])],
            plan=[Milestone(**m) for m in raw.get("plan", [])], share=raw.get("share", False),
            fingerprint=fingerprint, marks=marks,
        )

    def start(self, paths: list[Path], fork: Fork | None = None) -> None:
        """Before `load_all` (and before any thread is started): when most files are not in the cache,
        have `fork` read the second half of them in a second process, so that parsing uses two cores. (A
        live preview's rebuilds, which remember what they read, parse only the files that changed.)"""
        if (len(paths) < PARALLEL_MIN or self.remembered or fork is None
                or len(self.bundle.entries) * 2 > len(paths)):
            return
        split = len(paths) // 2
        wait = fork(lambda: self._read_part(paths[split:]))
        if wait is not None:
            self._helper = (split, wait)

    def _read_part(self, paths: list[Path]) -> dict:
        """In the forked reader: what the parent needs to take these files as if it had read them."""
        problems = Problems()
        read = []
        for path in paths:
            errors = len(problems.errors)
            deal, key = self._read(path, problems)
            payload = None
            if deal is not None:  # pickled already when it was put in the cache (or found there)
                payload = self.bundle.get(key) or pickle.dumps(deal, protocol=pickle.HIGHEST_PROTOCOL)
            read.append((key, payload, len(problems.errors) == errors))
        return {"problems": problems, "read": read, "added": set(self.bundle.added)}

    def load_all(self, paths: list[Path], problems: Problems) -> list[Deal]:
        """Load every file; two files with the same id are an error."""
        helper, self._helper = self._helper, None
        split = helper[0] if helper is not None else len(paths)
        loaded = [self.load(path, problems) for path in paths[:split]]
        if helper is not None:
            loaded += self._take_part(helper[1], paths[split:], problems)
        deals: list[Deal] = []
        first: dict[str, str] = {}
        for deal in loaded:
            if deal is None:
                continue
            if deal.id in first:
                problems.error(deal.path, 1, 1, "", worded("id_used", id=f"'{deal.id}'", other=first[deal.id]),
                               Worded("unique_ids"))
                continue
            first[deal.id] = deal.path
            deals.append(deal)
        return deals

    def _take_part(self, wait: Callable[[], dict | None], paths: list[Path], problems: Problems) -> list[Deal | None]:
        part = wait()
        if part is None:  # the other process failed: read them here instead; any error will show again
            return [self.load(path, problems) for path in paths]
        problems.extend(part["problems"])
        loaded: list[Deal | None] = []
        for path, (key, payload, clean) in zip(paths, part["read"], strict=True):
            if key:
                self.used.add(key)
            deal = pickle.loads(payload) if payload is not None else None
            if key in part["added"]:
                self.bundle.put(key, payload)
            self._remember(self._signature(path) if self.remembered is not None else None, deal, key, clean)
            loaded.append(deal)
        return loaded

    def save_cache(self, prune: bool) -> None:
        """After reading: keep what was parsed; `prune`, after reading every deal: forget the parses of file
        versions that are gone."""
        self.bundle.save(keep=self.used if prune else None)
        if not prune:
            return
        if self.remembered is not None:  # files that are gone, or changed: forget what was read from them
            for signature in set(self.remembered) - self._seen:
                del self.remembered[signature]
