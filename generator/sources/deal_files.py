"""Deal files: read, validate, and turn them into `Deal` objects; the `Deal` dataclasses."""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from .deal_format import ID_PATTERN, deal_spec
from .spec import Checker
from .yaml_nodes import read_bytes, read_yaml

if TYPE_CHECKING:
    from ..cache import Cache
    from ..diagnostics import Problems
    from .stage_model import StageModel

DEAL_SUFFIXES = (".yml", ".yaml")


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
    probability: float | None = None
    grade: str | None = None
    qualification: dict[str, int] = field(default_factory=dict)
    stakeholders: list[Stakeholder] = field(default_factory=list)
    exits: dict[int, Exit] = field(default_factory=dict)
    next_steps: list[NextStep] = field(default_factory=list)
    competitors: list[Competitor] = field(default_factory=list)
    negotiation: list[NegotiationTerm] = field(default_factory=list)
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


def shown_path(path: Path, root: Path | None) -> str:
    """How a file is named to people: relative to the project when it is inside it."""
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return str(path)


def deal_files(deals_dir: Path) -> list[Path]:
    return sorted(p for p in deals_dir.iterdir() if p.suffix in DEAL_SUFFIXES and p.is_file()) \
        if deals_dir.is_dir() else []


class DealLoader:
    """Reads deal files against one stage model; the spec is built once and reused."""

    def __init__(self, model: StageModel, root: Path | None, cache: Cache):
        self.model = model
        self.root = root
        self.spec = deal_spec(model)
        # Parsing is most of a warm build's reading time; a file whose bytes, name and stage
        # model are unchanged gives the same Deal (with this code), so it is kept, pickled.
        self.cache = cache
        self.model_key = repr(model)
        self.used: set[str] = set()

    def load(self, path: Path, problems: Problems) -> Deal | None:
        shown = shown_path(path, self.root)
        stem = path.stem
        if not re.fullmatch(ID_PATTERN, stem):
            problems.error(shown, 1, 1, "", f"bad file name: the deal id '{stem}' may only use a-z, 0-9 and '-'",
                           f"rename the file to {suggested_id(stem)}{path.suffix}")
            return None
        data = read_bytes(path, shown, problems)
        if data is None:
            return None
        key = self.cache.key("deal", self.model_key, shown, data)
        self.used.add(key)
        cached = self.cache.get("deals", key)
        if cached is not None:
            try:
                return pickle.loads(cached)
            except Exception:  # noqa: BLE001 - verified but unreadable (another Python): parse it again
                pass
        node = read_yaml(path, shown, problems, data)
        if node is None:
            return None
        c = Checker(shown, problems)
        raw = self.spec.check(node, "", c)
        if c.failed or raw is None:
            return None
        deal = self._build(stem, shown, raw, c.marks)
        self.cache.put("deals", key, pickle.dumps(deal, protocol=pickle.HIGHEST_PROTOCOL))
        return deal

    def _build(self, deal_id: str, shown: str, raw: dict, marks: dict) -> Deal:
        return Deal(
            id=deal_id, path=shown, title=raw["title"], account=raw["account"], owner=raw["owner"],
            stage=raw["stage"], status=raw["status"], amount=raw["amount"],
            currency=raw.get("currency", self.model.currency), expected_close=raw["expected_close"],
            lost_reason=raw.get("lost_reason", ""), summary=raw.get("summary", ""),
            probability=raw.get("probability"), grade=raw.get("grade"),
            qualification=dict(raw.get("qualification", {})),
            stakeholders=[Stakeholder(**s) for s in raw.get("stakeholders", [])],
            exits={n: Exit(**e) for n, e in raw.get("exits", {}).items()},
            next_steps=[NextStep(**s) for s in raw.get("next_steps", [])],
            competitors=[Competitor(**s) for s in raw.get("competitors", [])],
            negotiation=[NegotiationTerm(**t) for t in raw.get("negotiation", {}).get("terms", [])],
            marks=marks,
        )

    def load_all(self, paths: list[Path], problems: Problems) -> list[Deal]:
        """Load every file; two files with the same id are an error."""
        deals: list[Deal] = []
        first: dict[str, str] = {}
        for path in paths:
            deal = self.load(path, problems)
            if deal is None:
                continue
            if deal.id in first:
                problems.error(deal.path, 1, 1, "", f"deal id '{deal.id}' is also used by {first[deal.id]}",
                               "rename one of the files; ids must be unique")
                continue
            first[deal.id] = deal.path
            deals.append(deal)
        return deals

    def prune_cache(self) -> None:
        """After reading every deal: forget the parses of file versions that are gone."""
        self.cache.prune("deals", self.used)
