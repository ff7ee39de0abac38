"""The fields a workbook may change, flattened, and the three-way merge that imports them.

A workbook may change a deal's factor scores; its stakeholders' influence, stance, last
contact and notes (stakeholders matched by name, new names added); its negotiation
terms per topic; and its plan milestones' side, owner, due date, done and stage (matched by
the milestone's text, new ones added). Each of these is one *field*, keyed by a tuple:

    ("qualification", factor)
    ("stakeholders", name, n, attribute)   # the n-th stakeholder of that name (0-based)
    ("negotiation", topic, n, attribute)   # the n-th term on that topic
    ("plan", milestone, n, attribute)      # the n-th milestone of that text

("stakeholders", name, n, "name"), ("negotiation", topic, n, "topic") and ("plan", milestone,
n, "milestone") record that the row exists, so that a new one is told from an edited one.
Values are plain JSON values — whole numbers for scores and stages, ISO dates, texts, "true"
for a milestone done (not done is no field, as in a file without `done:`) — so the base a
workbook was made from can be stored in the workbook itself and no git lookup is needed.

The merge compares three versions of every field: the base (in the deal file the workbook
was made from), the deal file now, and the workbook. A field changed on one side only takes
that side's value; changed on both sides to different values, it is a conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..sources.deal_files import Deal

Key = tuple  # ("qualification", "funding"), ("stakeholders", "Ann", 0, "stance"), …
Value = int | str
Fields = dict[Key, Value]  # what a deal file sets
Changes = dict[Key, Value | None]  # what a workbook shows, or what to write: None is a blank, a field to remove

PERSON_FIELDS = ("influence", "stance", "last_contact", "notes")  # importable for a known stakeholder
NEW_PERSON_FIELDS = ("title", "role", *PERSON_FIELDS)  # and, for a new one, what the workbook says of them
TERM_FIELDS = ("opening", "target", "walk_away", "customer_position", "concessions")
PLAN_FIELDS = ("side", "owner", "due", "done", "stage")  # a milestone's, known or new
DONE = "true"  # a milestone done, as a field value (JSON plain, as the hidden sheet stores values)
ROWS = ("stakeholders", "negotiation", "plan")  # fields kept in rows of a list, keyed (kind, key, n, attribute)


def clean(value: object) -> Value | None:
    """A field value as compared: dates as ISO text, texts without trailing blanks or CR; blank is None."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").rstrip()
    return text or None


def person_key(name: str) -> str:
    """Stakeholders are matched by name, as typed, without surrounding blanks."""
    return " ".join(name.split())


def deal_fields(deal: Deal) -> Fields:
    """Every importable field that the deal sets."""
    fields: Fields = {}
    for factor, score in deal.qualification.items():
        fields[("qualification", factor)] = score
    seen: dict[str, int] = {}
    for person in deal.stakeholders:
        name = person_key(person.name)
        n = seen[name] = seen.get(name, -1) + 1
        fields[("stakeholders", name, n, "name")] = person.name
        for attribute in PERSON_FIELDS:
            value = clean(getattr(person, attribute))
            if value is not None:
                fields[("stakeholders", name, n, attribute)] = value
    topics: dict[str, int] = {}
    for term in deal.negotiation:
        n = topics[term.topic] = topics.get(term.topic, -1) + 1
        fields[("negotiation", term.topic, n, "topic")] = term.topic
        for attribute in TERM_FIELDS:
            value = clean(getattr(term, attribute))
            if value is not None:
                fields[("negotiation", term.topic, n, attribute)] = value
    milestones: dict[str, int] = {}
    for m in deal.plan:
        key = person_key(m.milestone)
        n = milestones[key] = milestones.get(key, -1) + 1
        fields[("plan", key, n, "milestone")] = m.milestone
        for attribute in PLAN_FIELDS:
            value = (DONE if m.done else None) if attribute == "done" else clean(getattr(m, attribute))
            if value is not None:
                fields[("plan", key, n, attribute)] = value
    return fields


@dataclass(frozen=True)
class Conflict:
    key: Key
    base: Value | None
    theirs: Value | None  # the deal file now
    mine: Value | None  # the workbook


@dataclass
class Merged:
    changes: Changes  # field → its new value (None: remove it)
    conflicts: list[Conflict]


def merge(base: Fields | None, theirs: Fields, mine: Changes, filled_only: bool = False) -> Merged:
    """What to write into the deal file (changes) and what cannot be decided (conflicts).

    `mine` holds every field of every row the workbook shows: a row's blank cell is a field
    to remove. With `filled_only` (a blank scorecard, made from no deal file) only filled
    cells count and the deal file now is the base: they fill in or overwrite, never remove.
    Rows (people, terms) that the workbook does not show are left alone.
    """
    if filled_only or base is None:
        base = theirs
        mine = {k: v for k, v in mine.items() if v is not None}
    changes: Changes = {}
    conflicts: list[Conflict] = []
    for key, new in mine.items():
        old, now = base.get(key), theirs.get(key)
        if new == old or new == now:
            continue
        if now == old:
            changes[key] = new
        else:
            conflicts.append(Conflict(key, old, now, new))
    # A row that is gone from the deal file since, but edited in the workbook, cannot be placed.
    for key in list(changes):
        row = _row(key)
        if row is not None and row in _rows(base) and row not in _rows(theirs):
            conflicts.append(Conflict(key, base.get(key), None, changes.pop(key)))
    return Merged(changes, conflicts)


def _row(key: Key) -> tuple | None:
    return key[:3] if key[0] in ROWS else None


def _rows(fields: Fields) -> set[tuple]:
    return {key[:3] for key in fields if key[0] in ROWS}


def describe(key: Key) -> str:
    """A field as a rep reads it: `qualification.funding`, `stakeholders[Ann].stance`, `negotiation[price].target`,
    `plan[Demo scoring].due`."""
    if key[0] == "qualification":
        return f"qualification.{key[1]}"
    which = key[1] if key[2] == 0 else f"{key[1]} #{key[2] + 1}"
    return f"{key[0]}[{which}].{key[3]}"
