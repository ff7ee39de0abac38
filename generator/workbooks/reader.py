"""Read back what a rep filled into a deal workbook or a blank scorecard.

Sheets are found through the workbook-level names Dealbook defines (FactorScores,
StakeholderRows, NegotiationRows, DealId) and the hidden data sheet's marker, never by
their titles, which are translated (and may be renamed): names follow their cells when a
rep renames a sheet, moves it or inserts rows. Rows a rep adds below a table are read too.

Every cell that cannot be taken is one problem naming its sheet and cell
(`Scorecard!E7: score 7 is not from 1 to 5`); the caller writes nothing when there is any.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from ..labels import LANGUAGES, Labels
from ..model.merge import PERSON_FIELDS, TERM_FIELDS, clean, person_key
from .meta import DEAL, DEAL_ID_NAME, PEOPLE_NAME, SCORES_NAME, TERMS_NAME, Meta, NotDealbook, read_meta

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.cell.cell import Cell

    from ..sources.stage_model import StageModel

PEOPLE_COLUMNS = ("name", "title", "role", "influence", "stance", "last_contact", "notes")
TERM_COLUMNS = ("topic", *TERM_FIELDS)
CHOICES = {"role": "roles", "influence": "influence", "stance": "stance"}  # column → vocabulary


@dataclass
class Row:
    """One stakeholder or negotiation row: the n-th row of this name or topic, and its cleaned values."""

    key: str  # the stakeholder's name (as matched) or the topic key
    n: int
    values: dict[str, object]


@dataclass
class Filled:
    meta: Meta
    deal_id: str
    deal_id_cell: str  # where the deal id is shown, for messages
    scores: dict[str, int | None] = field(default_factory=dict)
    people: list[Row] = field(default_factory=list)
    terms: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "Sheet!A1: what is wrong"


def read_filled(path: Path, model: StageModel) -> Filled:
    """What the workbook at `path` holds; raises NotDealbook when it is not a Dealbook workbook at all."""
    try:
        wb = openpyxl.load_workbook(path, data_only=True)  # the values a spreadsheet last computed or a rep typed
    except (OSError, zipfile.BadZipFile, InvalidFileException, KeyError, ValueError) as exc:
        raise NotDealbook(f"it cannot be read as an .xlsx workbook ({exc.__class__.__name__})") from None
    meta = read_meta(wb)
    id_cell = _named_cells(wb, DEAL_ID_NAME)[0]
    typed_id = clean(id_cell.value)
    filled = Filled(meta, meta.deal_id if meta.kind == DEAL else str(typed_id or ""), _at(id_cell))
    if meta.kind == DEAL and typed_id is not None and str(typed_id) != meta.deal_id:
        filled.problems.append(f"{_at(id_cell)}: this workbook is for deal '{meta.deal_id}', not '{typed_id}' "
                               "(a deal workbook cannot be moved to another deal; use the blank scorecard)")
    _scores(wb, model, meta, filled)
    _people(wb, model, filled)
    _terms(wb, model, filled)
    return filled


def _named_cells(wb: Workbook, name: str) -> list[Cell]:
    """The cells a workbook-level name points to, row by row."""
    if name not in wb.defined_names:
        raise NotDealbook(f"the name {name} is missing (was the workbook made by Dealbook?)")
    destinations = list(wb.defined_names[name].destinations)
    if len(destinations) != 1 or destinations[0][0] not in wb.sheetnames:
        raise NotDealbook(f"the name {name} no longer points to one range")
    sheet, ref = destinations[0]
    found = wb[sheet][ref.replace("$", "")]
    if not isinstance(found, tuple):
        return [found]
    return [c for row in found for c in (row if isinstance(row, tuple) else (row,))]


def _at(cell: Cell) -> str:
    return f"{cell.parent.title}!{cell.coordinate}"


def _shown(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"'{value}'" if isinstance(value, str) else str(value)


def _scores(wb: Workbook, model: StageModel, meta: Meta, filled: Filled) -> None:
    ev = model.evaluation
    cells = _named_cells(wb, SCORES_NAME)
    keys = meta.factors or [f.key for f in ev.factors]
    if len(cells) != len(keys):
        filled.problems.append(f"{_at(cells[0])}: the score cells were changed ({len(cells)} cells for "
                               f"{len(keys)} factors); use a fresh workbook")
        return
    bounds = f"from {ev.scale_min} to {ev.scale_max}"
    for key, cell in zip(keys, cells, strict=True):
        value = cell.value
        if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
            value = int(value)  # a number typed as text
        if value is None or value == "" or (isinstance(value, str) and not value.strip()):
            filled.scores[key] = None
        elif isinstance(value, bool) or not isinstance(value, int | float):
            filled.problems.append(f"{_at(cell)}: score {_shown(value)} is not a number {bounds}")
        elif not float(value).is_integer():
            filled.problems.append(f"{_at(cell)}: score {_shown(value)} is not a whole number {bounds}")
        elif not ev.scale_min <= value <= ev.scale_max:
            filled.problems.append(f"{_at(cell)}: score {_shown(value)} is not {bounds}")
        else:
            filled.scores[key] = int(value)


def _choice_keys(model: StageModel, vocabulary: str) -> dict[str, str]:
    """Every way a rep may write a vocabulary term (its key, or its label in either language) → the key."""
    keys: dict[str, str] = {}
    for language in LANGUAGES:
        labels = Labels(language)
        for term in model.vocabularies[vocabulary]:
            keys[labels.pick(term, "label").casefold()] = term.key
    for term in model.vocabularies[vocabulary]:
        keys[term.key.casefold()] = term.key
    return keys


def _table(wb: Workbook, name: str, width: int) -> list[tuple[Cell, ...]]:
    """The rows of a named table, from its first row down to the last row of its sheet."""
    first = _named_cells(wb, name)[0]
    ws = first.parent
    return [tuple(ws.cell(row, first.column + i) for i in range(width)) for row in range(first.row, ws.max_row + 1)]


def _people(wb: Workbook, model: StageModel, filled: Filled) -> None:
    choices = {column: _choice_keys(model, vocabulary) for column, vocabulary in CHOICES.items()}
    seen: dict[str, int] = {}
    for cells in _table(wb, PEOPLE_NAME, len(PEOPLE_COLUMNS)):
        values: dict[str, object] = {}
        for column, cell in zip(PEOPLE_COLUMNS, cells, strict=True):
            value = _cell_value(cell, column, choices.get(column), filled)
            if value is not None:
                values[column] = value
        name = values.pop("name", None)
        if name is None:
            if values:
                filled.problems.append(f"{_at(cells[0])}: this stakeholder row has no name (the name is how "
                                       "people are matched with the deal file)")
            continue
        key = person_key(str(name))
        n = seen[key] = seen.get(key, -1) + 1
        filled.people.append(Row(key, n, {"name": str(name), **values}))
    # Every attribute of a shown row is known, blank or not: a blank one is a value to remove.
    for row in filled.people:
        for attribute in ("title", "role", *PERSON_FIELDS):
            row.values.setdefault(attribute, None)


def _terms(wb: Workbook, model: StageModel, filled: Filled) -> None:
    topics = _choice_keys(model, "topics")
    seen: dict[str, int] = {}
    for cells in _table(wb, TERMS_NAME, len(TERM_COLUMNS)):
        label = clean(cells[0].value)
        values = {column: _cell_value(cell, column, None, filled) for column, cell in zip(TERM_FIELDS, cells[1:],
                                                                                          strict=True)}
        if label is None:
            if any(v is not None for v in values.values()):
                filled.problems.append(f"{_at(cells[0])}: this negotiation row has no topic")
            continue
        topic = topics.get(str(label).casefold())
        if topic is None:
            filled.problems.append(f"{_at(cells[0])}: '{label}' is not a negotiation topic "
                                   f"(one of: {', '.join(model.keys('topics'))})")
            continue
        n = seen[topic] = seen.get(topic, -1) + 1
        filled.terms.append(Row(topic, n, values))


def _cell_value(cell: Cell, column: str, choices: dict[str, str] | None, filled: Filled) -> object:
    """A cell as the deal file would hold it: a vocabulary key, an ISO date or a text; None when blank."""
    value = cell.value
    if column == "last_contact":
        return _date(cell, filled)
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 2027 typed into a text column is the text "2027", not "2027.0"
    if isinstance(value, datetime | date):
        value = value.isoformat()[:10]
    value = clean(value if value is None or isinstance(value, str) else str(value))
    if value is None or choices is None:
        return value
    key = choices.get(str(value).casefold())
    if key is None:
        allowed = ", ".join(dict.fromkeys(choices.values()))
        filled.problems.append(f"{_at(cell)}: {column} '{value}' is not one of {allowed}")
    return key


def _date(cell: Cell, filled: Filled) -> str | None:
    value = cell.value
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    filled.problems.append(f"{_at(cell)}: last contact {_shown(value)} is not a date (write it as YYYY-MM-DD)")
    return None
