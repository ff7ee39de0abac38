"""The hidden sheet that lets a workbook come back: which deal, which version of its file, and the base values.

`dealbook import` must know, without git and whatever the rep did to the visible sheets,
which deal a workbook belongs to, whether the deal file has changed since the workbook was
made (the file's sha256), and what the importable fields were then (the base of the
three-way merge). A hidden sheet holds all of it as plain cells, which Excel and LibreOffice
keep when they save; document properties would not do (Excel cuts their text at 255
characters). The sheet is found by the marker in A1, never by its (translated) name or position.

It also holds every visible cell as made (`made`: texts, numbers, and which cells held a
formula) with the names on each sheet, so that import can name each cell a rep changed that
it does not take (`Summary!B8: 'Stage' is not imported; change it in deals/x.yml`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..diagnostics import Worded, worded

if TYPE_CHECKING:
    from ..model.merge import Fields
    from . import book
    from .reader import Book

MARKER = "dealbook-workbook"
VERSION = 1
DEAL, SCORECARD = "deal", "scorecard"
CHUNK = 8000  # characters per cell for the base values (a cell holds at most 32,767)
BASE_ROW = 6
MADE_ROW = 7  # the visible cells as made, JSON in chunks like the base
MAX_JSON = 2 * 2**20  # characters of the base or the made record that import reads
# Workbook-level names of the areas `dealbook import` reads; names follow the cells when rows are inserted.
DEAL_ID_NAME = "DealId"
SCORES_NAME = "FactorScores"
PEOPLE_NAME = "StakeholderRows"
TERMS_NAME = "NegotiationRows"
PLAN_NAME = "PlanRows"  # the Plan sheet's milestones (absent in a workbook made before it, or for an audience without)


@dataclass(frozen=True)
class Made:
    """A visible sheet as made: its title, the names on it (name, row, column) and its cells (row, column, value);
    a value is a text, a number (dates as day numbers) or "=" for a formula."""

    title: str
    anchors: list[tuple[str, int, int]]
    cells: list[tuple[int, int, object]]

    def describe(self, row: int, col: int) -> Worded | str:
        """What a cell is, from the texts around it as made: its row's label and its column's heading
        (texts of the workbook, in its language; the words around them are worded by the caller)."""
        texts = {(r, c): v for r, c, v in self.cells if isinstance(v, str) and v != "="}
        label = texts.get((row, 1)) if col > 1 else None
        numbered = any(r == row and c == 1 and not isinstance(v, str) for r, c, v in self.cells)
        if label is None and col > 2 and numbered:
            label = texts.get((row, 2))  # a numbered row (the Stages sheet): its name
        heading = texts.get((2, col)) if row > 2 else None
        if heading and label and heading != label:
            return worded("import_cell_of", heading=shown(heading), label=shown(label))
        if label or heading:
            return shown(label or heading)
        return Worded("import_this_cell")


@dataclass(frozen=True)
class Meta:
    kind: str  # DEAL or SCORECARD
    deal_id: str
    fingerprint: str  # sha256 of the deal file the workbook was made from; "" for a blank scorecard
    factors: list[str]  # the factor keys of the score cells, in order
    base: Fields | None  # the importable fields of that deal file; None for a blank scorecard
    made: list[Made] | None = None  # the visible sheets as made; None in a workbook made before it was recorded


def write_meta(wb: book.Workbook, title: str, meta: Meta) -> None:
    """The hidden sheet of what `dealbook import` needs, at the end of a workbook being written."""
    made = _made(wb)  # before the hidden sheet exists
    ws = wb.add_sheet(title, hidden=True)
    base = "" if meta.base is None else json.dumps([[list(k), v] for k, v in meta.base.items()],
                                                  ensure_ascii=False, separators=(",", ":"))
    rows = [(MARKER, str(VERSION)), ("kind", meta.kind), ("deal_id", meta.deal_id),
            ("fingerprint", meta.fingerprint), ("factors", ",".join(meta.factors))]
    for row, (key, value) in enumerate(rows, start=1):
        _text(ws, row, 1, key)
        _text(ws, row, 2, value)
    for row, key, value in ((BASE_ROW, "base", base), (MADE_ROW, "made", made)):
        _text(ws, row, 1, key)
        for index in range(0, len(value), CHUNK):
            _text(ws, row, 2 + index // CHUNK, value[index:index + CHUNK])


def _made(wb: book.Workbook) -> str:
    """The visible sheets' cells as written (texts, numbers and which cells hold a formula), as JSON."""
    by_sheet: dict[str, list[list]] = {}
    for name, ref in wb.names:
        found = parse_ref(ref)
        if found:
            by_sheet.setdefault(found[0], []).append([name, found[1], found[2]])
    sheets = []
    for ws in wb.sheets:
        if ws.hidden:
            continue
        cells: list[list] = []
        for row in sorted(ws.rows):
            cells_of_row = ws.rows[row]
            for col in sorted(cells_of_row):
                cell = cells_of_row[col]
                kind = cell.kind
                if kind == "f":
                    cells.append([row, col, "="])
                elif kind == "s":
                    cells.append([row, col, cell.value])
                elif kind == "n":
                    value = cell.value
                    cells.append([row, col, int(value) if float(value).is_integer() else value])
        sheets.append({"title": ws.title, "anchors": by_sheet.get(ws.title, []), "cells": cells})
    return json.dumps(sheets, ensure_ascii=False, separators=(",", ":"))


def _text(ws: book.Worksheet, row: int, col: int, value: str) -> None:
    if value:
        # Ids, hex digests, factor keys and JSON (which escapes control characters): text Excel can store,
        # written as a string (never taken for a formula or an error value).
        ws.put_text(row, col, value)


class NotDealbook(Exception):
    """The workbook has no (readable) Dealbook sheet; `worded` says why, worded in the reader's language
    by `dealbook import` (`str()` is English)."""

    def __init__(self, why: Worded):
        super().__init__(str(why))
        self.worded = why


def read_meta(book: Book) -> Meta:
    sheet = next((s for s in book.sheets if s.get(1, 1).value == MARKER), None)
    if sheet is None:
        raise NotDealbook(Worded("import_no_data_sheet"))
    values = {str(sheet.get(r, 1).value): sheet.get(r, 2).value for r in range(2, BASE_ROW)}
    if str(sheet.get(1, 2).value) != str(VERSION) or values.get("kind") not in (DEAL, SCORECARD):
        raise NotDealbook(Worded("import_other_version"))
    base = _json_row(sheet, BASE_ROW, "base")
    made = _json_row(sheet, MADE_ROW, "made")
    try:
        fields = {tuple(k): v for k, v in base} if base is not None else None
        sheets = None if made is None else [
            Made(str(s["title"]), [(str(n), int(r), int(c)) for n, r, c in s["anchors"]],
                 [(int(r), int(c), v) for r, c, v in s["cells"]]) for s in made]
    except (ValueError, TypeError, KeyError):
        raise NotDealbook(Worded("import_data_changed")) from None
    if fields is not None and not all(_plain_key(k) and _plain(v) for k, v in fields.items()):
        raise NotDealbook(Worded("import_data_changed"))
    if sheets is not None and not all(_plain(v) for s in sheets for _, _, v in s.cells):
        raise NotDealbook(Worded("import_cells_changed"))
    factors = str(_string(values.get("factors")) or "")
    return Meta(str(values["kind"]), str(_string(values.get("deal_id")) or ""),
                str(_string(values.get("fingerprint")) or ""), factors.split(",") if factors else [],
                fields if values["kind"] == DEAL else None, sheets)


def _string(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


def _json_row(sheet, row: int, key: str) -> list | None:
    if sheet.get(row, 1).value != key:
        return None
    parts = []
    size = 0
    for col in range(2, 2 + MAX_JSON // CHUNK + 2):
        value = sheet.get(row, col).value
        if value is None:
            break
        parts.append(str(value))
        size += len(parts[-1])
        if size > MAX_JSON:
            raise NotDealbook(worded("import_record_too_long", key=key))
    text = "".join(parts)
    if not text:
        return None
    try:
        found = json.loads(text)
    except (ValueError, RecursionError):
        raise NotDealbook(worded("import_record_unreadable", key=key)) from None
    if not isinstance(found, list):
        raise NotDealbook(worded("import_record_unreadable", key=key))
    return found


def _plain(value: object) -> bool:
    return value is None or isinstance(value, str | int | float) and not isinstance(value, bool) \
        and len(str(value)) <= 32_767


def _plain_key(key: tuple) -> bool:
    return 2 <= len(key) <= 4 and all(isinstance(k, str | int) and not isinstance(k, bool) for k in key)


# --- References and how values are shown in messages ------------------------------------------

_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^'!:\s]+))!\$?([A-Z]{1,3})\$?([1-9][0-9]{0,6})"
                  r"(?::\$?([A-Z]{1,3})\$?([1-9][0-9]{0,6}))?$")


def parse_ref(text: str) -> tuple[str, int, int, int, int] | None:
    """`'Sheet'!$A$3:$G$12` → (sheet, first row, first column, last row, last column); None for anything else."""
    match = _REF.match(text.strip())
    if match is None:
        return None
    title = match[1].replace("''", "'") if match[1] is not None else match[2]
    r1, c1 = int(match[4]), _column(match[3])
    r2, c2 = (int(match[6]), _column(match[5])) if match[5] else (r1, c1)
    return title, min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def _column(letters: str) -> int:
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return col


def cell_name(row: int, col: int) -> str:
    letters = ""
    while col > 0:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row}"


def shown(value: object, quote: bool = True, limit: int = 60) -> str:
    """A value from a workbook, safe to print on one line: control characters escaped, long texts cut."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    text = "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)
    return f"'{text}'" if quote and isinstance(value, str) else text
