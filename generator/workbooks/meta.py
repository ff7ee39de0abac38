"""The hidden sheet that lets a workbook come back: which deal, which version of its file, and the base values.

`dealbook import` must know, without git and whatever the rep did to the visible sheets,
which deal a workbook belongs to, whether the deal file has changed since the workbook was
made (the file's sha256), and what the importable fields were then (the base of the
three-way merge). A hidden sheet holds all of it as plain cells, which Excel and LibreOffice
keep when they save; document properties would not do (Excel cuts their text at 255
characters). The sheet is found by the marker in A1, never by its (translated) name or position.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

    from ..model.merge import Fields
    from . import xlsx

MARKER = "dealbook-workbook"
VERSION = 1
DEAL, SCORECARD = "deal", "scorecard"
CHUNK = 8000  # characters per cell for the base values (a cell holds at most 32,767)
BASE_ROW = 6
# Workbook-level names of the areas `dealbook import` reads; names follow the cells when rows are inserted.
DEAL_ID_NAME = "DealId"
SCORES_NAME = "FactorScores"
PEOPLE_NAME = "StakeholderRows"
TERMS_NAME = "NegotiationRows"


@dataclass(frozen=True)
class Meta:
    kind: str  # DEAL or SCORECARD
    deal_id: str
    fingerprint: str  # sha256 of the deal file the workbook was made from; "" for a blank scorecard
    factors: list[str]  # the factor keys of the score cells, in order
    base: Fields | None  # the importable fields of that deal file; None for a blank scorecard


def write_meta(wb: xlsx.Workbook, title: str, meta: Meta) -> None:
    """The hidden sheet of what `dealbook import` needs, at the end of a workbook being written."""
    ws = wb.add_sheet(title, hidden=True)
    base = "" if meta.base is None else json.dumps([[list(k), v] for k, v in meta.base.items()],
                                                  ensure_ascii=False, separators=(",", ":"))
    rows = [(MARKER, str(VERSION)), ("kind", meta.kind), ("deal_id", meta.deal_id),
            ("fingerprint", meta.fingerprint), ("factors", ",".join(meta.factors))]
    for row, (key, value) in enumerate(rows, start=1):
        _text(ws, row, 1, key)
        _text(ws, row, 2, value)
    _text(ws, BASE_ROW, 1, "base")
    for index in range(0, len(base), CHUNK):
        _text(ws, BASE_ROW, 2 + index // CHUNK, base[index:index + CHUNK])


def _text(ws: xlsx.Worksheet, row: int, col: int, value: str) -> None:
    if value:
        # Ids, hex digests, factor keys and JSON (which escapes control characters): text Excel can store,
        # written as a string (never taken for a formula or an error value).
        ws.put_text(row, col, value)


class NotDealbook(Exception):
    """The workbook has no (readable) Dealbook sheet."""


def find_meta_sheet(wb: Workbook) -> Worksheet | None:
    return next((ws for ws in wb.worksheets if ws.cell(1, 1).value == MARKER), None)


def read_meta(wb: Workbook) -> Meta:
    ws = find_meta_sheet(wb)
    if ws is None:
        raise NotDealbook("it has no Dealbook data sheet")
    values = {str(ws.cell(r, 1).value): ws.cell(r, 2).value for r in range(2, BASE_ROW)}
    if str(ws.cell(1, 2).value) != str(VERSION) or values.get("kind") not in (DEAL, SCORECARD):
        raise NotDealbook("its Dealbook data sheet is from another version of Dealbook")
    base_text = "".join(str(c.value) for c in ws[BASE_ROW][1:] if c.value is not None)
    try:
        base = {tuple(k): v for k, v in json.loads(base_text)} if base_text else None
    except (ValueError, TypeError):
        raise NotDealbook("its Dealbook data sheet was changed (the base values cannot be read)") from None
    factors = str(values.get("factors") or "")
    return Meta(str(values["kind"]), str(values.get("deal_id") or ""), str(values.get("fingerprint") or ""),
                factors.split(",") if factors else [], base if values["kind"] == DEAL else None)
