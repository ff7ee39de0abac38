"""Read back what a rep filled into a deal workbook or a blank scorecard.

Sheets are found through the workbook-level names Dealbook defines (FactorScores,
StakeholderRows, NegotiationRows, PlanRows, DealId) and the hidden data sheet's marker, never by
their titles, which are translated (and may be renamed): names follow their cells when a
rep renames a sheet, moves it or inserts rows. Rows a rep adds below a table are read too.

Every cell that cannot be taken is one problem naming its sheet and cell
(`Scorecard!E7: score 7 is not from 1 to 5`); the caller writes nothing when there is any.

Why not openpyxl: a workbook comes from outside (mail, a share), and openpyxl builds every
cell of a sheet's used range, reads names over whole sheets and parses without limits, so a
small file could take minutes and gigabytes, and a formula saved without its result read as a
blank cell (which deleted the field). `open_book` reads only what import needs, bounded before
anything is parsed: the file's size, each zip part's uncompressed size (from the zip
directory, then enforced while inflating), the rows, columns and cells of each sheet, the
ranges of the names read, and the length of every text; XML is parsed by defusedxml with DTDs
(so entities, billion laughs and external entities) refused. Every failure is `Unreadable`,
one line naming the part or the `sheet!cell`.
"""

from __future__ import annotations

import io
import math
import os
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from ..diagnostics import Worded, worded
from ..labels import Labels, catalog, languages
from ..model.merge import DONE, PERSON_FIELDS, PLAN_FIELDS, TERM_FIELDS, clean, person_key
from ..sources.deal_format import ID_PATTERN, PLAN_SIDES
from .meta import (
    DEAL,
    DEAL_ID_NAME,
    MARKER,
    PEOPLE_NAME,
    PLAN_NAME,
    SCORES_NAME,
    TERMS_NAME,
    Made,
    Meta,
    NotDealbook,
    cell_name,
    parse_ref,
    read_meta,
    shown,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from ..sources.stage_model import StageModel

# Limits, each far above what a workbook Dealbook makes (under 1 MB, a few hundred cells) even after
# Excel or LibreOffice has saved it, and far below what would take a noticeable time or memory.
MAX_FILE_BYTES = 10 * 2**20  # the .xlsx file
MAX_PART_BYTES = 20 * 2**20  # one part of it, uncompressed
MAX_TOTAL_BYTES = 50 * 2**20  # all its parts, uncompressed
MAX_PARTS = 1_000
MAX_SHEETS = 64
MAX_NAMES = 2_000  # defined names
MAX_ROWS = 10_000  # rows of a sheet (Excel has 1,048,576)
MAX_COLUMNS = 256  # columns of a sheet (Excel has 16,384)
MAX_CELLS = 50_000  # cells of all sheets together
MAX_NAME_CELLS = 20_000  # cells a name that import reads may cover
MAX_TEXT = 32_767  # characters of one text: Excel's own limit of a cell
MAX_STRINGS = 200_000  # entries of the shared-strings table
MAX_TABLE_ROWS = 1_000  # rows of the stakeholder, negotiation or plan table
MAX_NUMBER_CHARS = 40  # a number's text, as a spreadsheet stores it (repr of a double is at most 24)

PEOPLE_COLUMNS = ("name", "title", "role", "influence", "stance", "last_contact", "notes")
TERM_COLUMNS = ("topic", *TERM_FIELDS)
PLAN_COLUMNS = ("milestone", *PLAN_FIELDS)
CHOICES = {"role": "roles", "influence": "influence", "stance": "stance"}  # column → vocabulary

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CELL_REF = re.compile(r"([A-Z]{1,3})([1-9][0-9]{0,6})")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
# Excel's built-in number formats that show a date (14-22; 27-36 and 50-58 in East Asian versions; 45-47 are times).
_DATE_FORMATS = {*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)}


class Unreadable(Exception):
    """The file cannot be read within the limits: one line, naming the part or the `sheet!cell` (`at`), what
    is wrong a `Worded`, worded in the reader's language by `dealbook import` (`str()` is English)."""

    def __init__(self, why: Worded, at: str = ""):
        super().__init__(f"{at}: {why}" if at else str(why))
        self.worded, self.at = why, at


@dataclass(slots=True)
class XCell:
    """A cell as stored: its value, and whether it holds a formula and whether a value is stored at all."""

    value: str | float | bool | None = None
    formula: bool = False
    stored: bool = True  # False: a formula, or a typed cell, without its value
    is_date: bool = False  # a number shown with a date format (`value` is then its ISO date)
    number: float | None = None  # a number as stored, dates included
    error: str | None = None  # an error value (#N/A …)


@dataclass
class Sheet:
    title: str
    hidden: bool
    cells: dict[tuple[int, int], XCell] = field(default_factory=dict)

    def get(self, row: int, col: int) -> XCell:
        return self.cells.get((row, col)) or XCell()

    def last_row(self) -> int:
        return max((r for (r, _), c in self.cells.items() if c.value is not None or c.formula), default=0)


@dataclass
class Book:
    sheets: list[Sheet]
    names: dict[str, str]  # workbook-level defined names → their text
    date1904: bool = False

    def sheet(self, title: str) -> Sheet | None:
        return next((s for s in self.sheets if s.title == title), None)

    def named(self, name: str) -> tuple[Sheet, int, int, int, int]:
        """The sheet and (first row, first column, last row, last column) a workbook-level name points to."""
        if name not in self.names:
            raise NotDealbook(worded("import_name_missing", name=name))
        found = parse_ref(self.names[name])
        sheet = self.sheet(found[0]) if found else None
        if found is None or sheet is None:
            raise NotDealbook(worded("import_name_moved", name=name))
        _, r1, c1, r2, c2 = found
        if r2 > MAX_ROWS or c2 > MAX_COLUMNS or (r2 - r1 + 1) * (c2 - c1 + 1) > MAX_NAME_CELLS:
            raise Unreadable(worded("xlsx_name_too_large", name=name, ref=shown(self.names[name]),
                                    rows=f"{MAX_ROWS:,}", columns=MAX_COLUMNS, cells=f"{MAX_NAME_CELLS:,}"))
        return sheet, r1, c1, r2, c2


# --- The bounded .xlsx reader ------------------------------------------------------------------

def open_book(path: Path) -> Book:
    """The sheets, cells and names of the .xlsx at `path`, within the limits above; raises Unreadable."""
    size = os.stat(path).st_size
    if size > MAX_FILE_BYTES:
        raise Unreadable(worded("xlsx_file_too_big", size=f"{size:,}", limit=MAX_FILE_BYTES // 2**20))
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:  # no zip directory at all: words of our own, not the library's English
        raise Unreadable(Worded("xlsx_not_zip")) from None
    except (zlib.error, EOFError, RuntimeError, NotImplementedError, ValueError) as exc:
        raise Unreadable(worded("xlsx_not_xlsx", reason=_reason(exc))) from None
    try:
        with zf:
            return _Package(zf).book()
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, ValueError) as exc:
        raise Unreadable(worded("xlsx_not_xlsx", reason=_reason(exc))) from None


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:120]
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


class _Package:
    def __init__(self, zf: zipfile.ZipFile):
        self.zf = zf
        infos = zf.infolist()
        if len(infos) > MAX_PARTS:
            raise Unreadable(worded("xlsx_too_many_parts", n=f"{len(infos):,}", limit=f"{MAX_PARTS:,}"))
        total = 0
        for info in infos:
            total += info.file_size
            if info.flag_bits & 0x1:
                raise Unreadable(Worded("xlsx_encrypted"), _part(info.filename))
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise Unreadable(worded("xlsx_compression", method=info.compress_type), _part(info.filename))
            if info.file_size > MAX_PART_BYTES:
                raise Unreadable(worded("xlsx_part_too_big", size=f"{info.file_size:,}",
                                        limit=MAX_PART_BYTES // 2**20), _part(info.filename))
        if total > MAX_TOTAL_BYTES:
            raise Unreadable(worded("xlsx_parts_too_big", size=f"{total:,}", limit=MAX_TOTAL_BYTES // 2**20))
        self.parts = {info.filename: info for info in infos}
        self.cells = 0

    def read(self, name: str) -> bytes | None:
        info = self.parts.get(name)
        if info is None:
            return None
        try:
            with self.zf.open(info) as part:
                data = part.read(MAX_PART_BYTES + 1)  # the directory's size is checked too, while inflating
        except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, OSError) as exc:
            raise Unreadable(worded("xlsx_part_unreadable", reason=_reason(exc)), _part(name)) from None
        if len(data) > MAX_PART_BYTES:
            raise Unreadable(worded("xlsx_part_over_limit", limit=MAX_PART_BYTES // 2**20), _part(name))
        return data

    def events(self, name: str, data: bytes) -> Iterator[tuple[str, object]]:
        """(event, element) of a part's XML, with DTDs refused: no entity is ever expanded, nothing is fetched."""
        try:
            yield from iterparse(io.BytesIO(data), events=("start", "end"), forbid_dtd=True)
        except DefusedXmlException as exc:
            raise Unreadable(worded("xlsx_dtd", reason=exc.__class__.__name__), _part(name)) from None
        except ParseError as exc:
            raise Unreadable(worded("xlsx_not_xml", reason=str(exc)), _part(name)) from None
        except RecursionError:
            raise Unreadable(Worded("xlsx_too_deep"), _part(name)) from None

    def book(self) -> Book:
        root = self._relationship_target("_rels/.rels", "/officeDocument", "") or "xl/workbook.xml"
        data = self.read(root)
        if data is None:
            raise Unreadable(Worded("xlsx_no_workbook_part"))
        rels = self._rels(_rels_path(root), _folder(root))
        sheets: list[tuple[str, bool, str]] = []
        names: dict[str, str] = {}
        date1904 = False
        name: str | None = None
        for event, element in self.events(root, data):
            tag = element.tag
            if event == "start":
                if tag == _MAIN + "definedName":
                    name = element.get("name") if element.get("localSheetId") is None else None
                continue
            if tag == _MAIN + "sheet":
                if len(sheets) >= MAX_SHEETS:
                    raise Unreadable(worded("xlsx_too_many_sheets", limit=MAX_SHEETS), root)
                target = rels.get(element.get(_REL + "id") or "")
                if target is not None:
                    sheets.append((str(element.get("name") or ""), element.get("state", "visible") != "visible",
                                   target))
            elif tag == _MAIN + "definedName":
                if len(names) >= MAX_NAMES:
                    raise Unreadable(worded("xlsx_too_many_names", limit=f"{MAX_NAMES:,}"), root)
                if name is not None:
                    names[name] = element.text or ""
                element.clear()
            elif tag == _MAIN + "workbookPr":
                date1904 = element.get("date1904") in ("1", "true")
        strings = self._strings(rels)
        dates = self._date_styles(rels)
        book = Book([], names, date1904)
        for title, hidden, target in sheets:
            book.sheets.append(self._sheet(title, hidden, target, strings, dates, date1904))
        return book

    def _relationship_target(self, rels_name: str, kind: str, folder: str) -> str | None:
        found = [t for t, k in self._rel_list(rels_name, folder) if k.endswith(kind)]
        return found[0] if found else None

    def _rel_list(self, rels_name: str, folder: str) -> list[tuple[str, str]]:
        data = self.read(rels_name)
        if data is None:
            return []
        found = []
        for event, element in self.events(rels_name, data):
            if event == "end" and element.tag == _PKG_REL + "Relationship":
                if len(found) >= MAX_PARTS:
                    raise Unreadable(worded("xlsx_too_many_relationships", limit=f"{MAX_PARTS:,}"), rels_name)
                target = element.get("Target") or ""
                if element.get("TargetMode") != "External":
                    found.append((_resolve(folder, target), f"{element.get('Type') or ''}#{element.get('Id') or ''}"))
        return found

    def _rels(self, rels_name: str, folder: str) -> dict[str, str]:
        """Relationship id → part name; with "#type" keys for the workbook's strings and styles."""
        out: dict[str, str] = {}
        for target, kind in self._rel_list(rels_name, folder):
            kind, _, rid = kind.partition("#")
            out[rid] = target
            out.setdefault("#" + kind.rsplit("/", 1)[-1], target)
        return out

    def _strings(self, rels: dict[str, str]) -> list[str]:
        name = rels.get("#sharedStrings")
        data = self.read(name) if name else None
        if data is None:
            return []
        strings: list[str] = []
        for event, element in self.events(name, data):  # type: ignore[arg-type]
            if event == "end" and element.tag == _MAIN + "si":
                if len(strings) >= MAX_STRINGS:
                    raise Unreadable(worded("xlsx_too_many_strings", limit=f"{MAX_STRINGS:,}"), name)
                text = _text_of(element)
                if len(text) > MAX_TEXT:
                    raise Unreadable(worded("xlsx_string_too_long", index=len(strings), length=f"{len(text):,}",
                                            limit=f"{MAX_TEXT:,}"), name)
                strings.append(text)
                element.clear()
        return strings

    def _date_styles(self, rels: dict[str, str]) -> set[int]:
        """The indexes of the cell styles that show a number as a date."""
        name = rels.get("#styles")
        data = self.read(name) if name else None
        if data is None:
            return set()
        custom: dict[int, str] = {}
        dates: set[int] = set()
        xf = 0
        in_cell_xfs = False
        for event, element in self.events(name, data):  # type: ignore[arg-type]
            tag = element.tag
            if tag == _MAIN + "cellXfs":
                in_cell_xfs = event == "start"
            elif event == "end" and tag == _MAIN + "numFmt":
                number = _small_int(element.get("numFmtId"))
                if number is not None and len(custom) < MAX_NAMES:
                    custom[number] = (element.get("formatCode") or "")[:256]
            elif event == "end" and tag == _MAIN + "xf" and in_cell_xfs:
                if xf >= MAX_CELLS:
                    raise Unreadable(worded("xlsx_too_many_styles", limit=f"{MAX_CELLS:,}"), name)
                number = _small_int(element.get("numFmtId")) or 0
                if number in _DATE_FORMATS or (number in custom and _is_date_format(custom[number])):
                    dates.add(xf)
                xf += 1
            if event == "end" and tag != _MAIN + "cellXfs":
                element.clear()
        return dates

    def _sheet(self, title: str, hidden: bool, part: str, strings: list[str], dates: set[int],
               date1904: bool) -> Sheet:
        sheet = Sheet(title, hidden)
        data = self.read(part)
        if data is None:
            return sheet
        row = 0
        col = 0
        rows = 0
        data_element = None
        where = _sheet_name(title)
        for event, element in self.events(part, data):
            tag = element.tag
            if event == "start":
                if tag == _MAIN + "row":
                    rows += 1
                    number = _small_int(element.get("r"))
                    row = number if number is not None else row + 1
                    col = 0
                    if row > MAX_ROWS or rows > MAX_ROWS:
                        raise Unreadable(worded("xlsx_row_beyond", row=f"{row:,}", limit=f"{MAX_ROWS:,}"),
                                         _sheet_name(title))
                elif tag == _MAIN + "sheetData":
                    data_element = element
                elif tag == _MAIN + "dimension":
                    self._dimension(title, element.get("ref") or "")
                continue
            if tag == _MAIN + "c":
                row, col = self._position(title, element.get("r"), row, col)
                self.cells += 1
                if self.cells > MAX_CELLS:
                    raise Unreadable(worded("xlsx_too_many_cells", limit=f"{MAX_CELLS:,}"),
                                     f"{where}!{cell_name(row, col)}")
                cell = _cell(element, strings, dates, date1904, where, row, col)
                if cell.value is not None or cell.formula or not cell.stored or cell.error:
                    sheet.cells[(row, col)] = cell
                element.clear()
            elif tag == _MAIN + "row" and data_element is not None:
                data_element.clear()  # rows already read are dropped, so memory stays bounded
        return sheet

    def _dimension(self, title: str, ref: str) -> None:
        last = ref.split(":")[-1]
        match = _CELL_REF.fullmatch(last)
        if match and (int(match[2]) > MAX_ROWS or _column(match[1]) > MAX_COLUMNS):
            raise Unreadable(worded("xlsx_used_range", ref=shown(ref), rows=f"{MAX_ROWS:,}", columns=MAX_COLUMNS),
                             _sheet_name(title))

    def _position(self, title: str, ref: str | None, row: int, col: int) -> tuple[int, int]:
        if ref is None:
            col += 1
        else:
            match = _CELL_REF.fullmatch(ref)
            if match is None:
                raise Unreadable(worded("xlsx_not_a_reference", ref=shown(ref)), _sheet_name(title))
            col, row = _column(match[1]), int(match[2])
        if row > MAX_ROWS or col > MAX_COLUMNS or row < 1:
            raise Unreadable(worded("xlsx_cell_beyond", rows=f"{MAX_ROWS:,}", columns=MAX_COLUMNS),
                             f"{_sheet_name(title)}!{cell_name(max(row, 1), col)}")
        return row, col


def _part(name: str) -> str:
    return shown(name, quote=False, limit=200)


def _sheet_name(title: str) -> str:
    return shown(title, quote=False)


def _folder(part: str) -> str:
    return part.rsplit("/", 1)[0] if "/" in part else ""


def _rels_path(part: str) -> str:
    folder, _, name = part.rpartition("/")
    return f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"


def _resolve(folder: str, target: str) -> str:
    parts = (target.lstrip("/") if target.startswith("/") else f"{folder}/{target}" if folder else target).split("/")
    out: list[str] = []
    for part in parts:
        if part == "..":
            if out:
                out.pop()
        elif part not in ("", "."):
            out.append(part)
    return "/".join(out)


def _column(letters: str) -> int:
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return col


def _small_int(text: str | None) -> int | None:
    return int(text) if text is not None and text.isascii() and text.isdigit() and len(text) <= 9 else None


def _text_of(element) -> str:
    """The text of an `<si>` or `<is>`: its `<t>`, or its runs' `<t>`, without phonetic guides (`<rPh>`)."""
    direct = element.find(_MAIN + "t")
    if direct is not None:
        return direct.text or ""
    return "".join(t.text or "" for r in element.findall(_MAIN + "r") for t in r.findall(_MAIN + "t"))


def _is_date_format(code: str) -> bool:
    code = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.', "", code.split(";")[0])
    return bool(re.search(r"[dmyDMY]", code)) and "General" not in code


def _cell(element, strings: list[str], dates: set[int], date1904: bool, sheet: str, row: int, col: int) -> XCell:
    kind = element.get("t") or "n"
    at = _Where(sheet, row, col)
    cell = XCell(formula=element.find(_MAIN + "f") is not None)
    v = element.find(_MAIN + "v")
    if kind == "inlineStr":
        found = element.find(_MAIN + "is")
        if found is None:
            cell.stored = not cell.formula and v is None
            if v is not None:
                cell.value = v.text or ""
            return cell
        text = _text_of(found)
    elif v is None:
        cell.stored = not cell.formula and kind == "n"  # a styled blank cell is blank; any other has lost its value
        return cell
    else:
        text = v.text or ""
    if len(text) > MAX_TEXT:
        raise Unreadable(worded("xlsx_cell_too_long", length=f"{len(text):,}", limit=f"{MAX_TEXT:,}"), f"{at}")
    if kind in ("str", "inlineStr"):
        cell.value = text
    elif kind == "s":
        index = _small_int(text.strip())
        if index is None or index >= len(strings):
            raise Unreadable(worded("xlsx_no_shared_string", index=shown(text)), f"{at}")
        cell.value = strings[index]
    elif kind == "b":
        if text.strip() not in ("0", "1"):
            raise Unreadable(worded("xlsx_not_boolean", value=shown(text)), f"{at}")
        cell.value = text.strip() == "1"
    elif kind == "e":
        cell.error = text.strip()[:20] or "#VALUE!"
    elif kind == "d":
        try:
            cell.value = date.fromisoformat(text.strip()[:10]).isoformat()
        except ValueError:
            raise Unreadable(worded("xlsx_not_date", value=shown(text)), f"{at}") from None
        cell.is_date = True
    elif kind == "n":
        number = text.strip()
        if not number:
            cell.stored = not cell.formula
            return cell
        if len(number) > MAX_NUMBER_CHARS or not _NUMBER.fullmatch(number):
            raise Unreadable(worded("xlsx_not_number", value=shown(number)), f"{at}")
        value = float(number)
        if not math.isfinite(value):
            raise Unreadable(worded("xlsx_not_finite", value=shown(number)), f"{at}")
        style = _small_int(element.get("s")) or 0
        cell.value = cell.number = value
        if style in dates:
            day = _serial_date(value, date1904)
            if day is not None:
                cell.value, cell.is_date = day.isoformat(), True
    else:
        raise Unreadable(worded("xlsx_cell_type", kind=shown(kind)), f"{at}")
    return cell


class _Where:
    """`Sheet!A1`, worked out only when a message needs it (most cells are read without one)."""

    __slots__ = ("sheet", "row", "col")

    def __init__(self, sheet: str, row: int, col: int):
        self.sheet, self.row, self.col = sheet, row, col

    def __format__(self, spec: str) -> str:
        return f"{self.sheet}!{cell_name(self.row, self.col)}"


def _serial_date(serial: float, date1904: bool) -> date | None:
    """A spreadsheet's day number as a date (1900 system, with its phantom 29 February 1900); None out of range."""
    if not 0 < serial < 2_958_466:
        return None
    days = int(serial)
    if date1904:
        return date(1904, 1, 1) + timedelta(days=days)
    return date(1899, 12, 31 if days < 60 else 30) + timedelta(days=days)


# --- What a rep filled in ----------------------------------------------------------------------

@dataclass
class Row:
    """One stakeholder, negotiation or plan row: the n-th row of this name, topic or milestone, and its cleaned
    values."""

    key: str  # the stakeholder's name or the milestone (as matched), or the topic key
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
    plan: list[Row] = field(default_factory=list)
    # The language the workbook was made in (its dropdowns' words): a catalog language, or "" when unknown.
    language: str = ""
    problems: list[tuple[str, Worded]] = field(default_factory=list)  # ("Sheet!A1" or "", what is wrong)
    # ("Sheet!A1", what it is) changed, not taken
    not_imported: list[tuple[str, Worded | str]] = field(default_factory=list)

    def problem(self, at: object, what: Worded) -> None:
        self.problems.append((str(at), what))


@dataclass(frozen=True)
class At:
    """A cell of the book, for reading and for messages."""

    sheet: Sheet
    row: int
    col: int

    @property
    def cell(self) -> XCell:
        return self.sheet.get(self.row, self.col)

    def __str__(self) -> str:
        return f"{_sheet_name(self.sheet.title)}!{cell_name(self.row, self.col)}"


def read_filled(path: Path, model: StageModel) -> Filled:
    """What the workbook at `path` holds; raises NotDealbook when it is not a Dealbook workbook, Unreadable
    when it cannot be read within the limits."""
    book = open_book(path)
    meta = read_meta(book)
    id_at = _named_cells(book, DEAL_ID_NAME)[0]
    filled = Filled(meta, meta.deal_id, str(id_at), language=workbook_language(book))
    if meta.kind == DEAL and not re.fullmatch(ID_PATTERN, meta.deal_id):  # no "/", "..", line break
        filled.problem("", worded("import_data_names_bad_id", id=shown(meta.deal_id)))
        return filled
    typed = _input(id_at, filled)
    typed_id = clean(_as_text(typed))
    if meta.kind != DEAL:
        filled.deal_id = str(typed_id or "")
    elif typed_id is not None and str(typed_id) != meta.deal_id:
        filled.problem(id_at, worded("import_other_deal", deal=shown(meta.deal_id), typed=shown(typed_id)))
    imported: set[tuple[str, int, int]] = set() if meta.kind == DEAL else {(id_at.sheet.title, id_at.row, id_at.col)}
    _scores(book, model, meta, filled, imported)
    _people(book, model, filled, imported)
    _terms(book, model, filled, imported)
    if PLAN_NAME in book.names:  # not in a workbook made before the Plan sheet, nor for an audience without a plan
        _plan(book, model, filled, imported)
    _compare_with_made(book, meta, imported, filled)
    return filled


def _named_cells(book: Book, name: str) -> list[At]:
    """The cells a workbook-level name points to, row by row."""
    sheet, r1, c1, r2, c2 = book.named(name)
    return [At(sheet, r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]


def _input(at: At, filled: Filled) -> object:
    """The value of a cell import takes, or None (blank); a problem when no value is stored or it is an error."""
    cell = at.cell
    if not cell.stored:
        filled.problem(at, Worded("import_formula_no_result" if cell.formula else "import_value_not_saved"))
        return None
    if cell.error is not None:
        filled.problem(at, worded("import_cell_error", error=shown(cell.error)))
        return None
    return cell.value


def _as_text(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if value is None or isinstance(value, str) else str(value)


def _scores(book: Book, model: StageModel, meta: Meta, filled: Filled, imported: set) -> None:
    ev = model.evaluation
    cells = _named_cells(book, SCORES_NAME)
    keys = meta.factors or [f.key for f in ev.factors]
    if len(cells) != len(keys):
        filled.problem(cells[0], worded("import_score_cells", cells=len(cells), factors=len(keys)))
        return
    low, high = ev.scale_min, ev.scale_max
    for key, at in zip(keys, cells, strict=True):
        imported.add((at.sheet.title, at.row, at.col))
        value = _input(at, filled)
        if isinstance(value, str) and re.fullmatch(r"\s*[0-9]{1,6}\s*", value):
            value = int(value)  # a number typed as text
        if value is None or (isinstance(value, str) and not value.strip()):
            if at.cell.stored and at.cell.error is None:
                filled.scores[key] = None
        elif isinstance(value, bool) or not isinstance(value, int | float):
            filled.problem(at, worded("import_score_not_number", value=shown(value), min=low, max=high))
        elif not float(value).is_integer():
            filled.problem(at, worded("import_score_not_whole", value=shown(value), min=low, max=high))
        elif not ev.scale_min <= value <= ev.scale_max:
            filled.problem(at, worded("import_score_range", value=shown(value), min=low, max=high))
        else:
            filled.scores[key] = int(value)


def _choice_keys(model: StageModel, vocabulary: str) -> dict[str, str]:
    """Every way a rep may write a vocabulary term (its key, or its label in any language of the model,
    as a workbook's dropdown offers it) → the key."""
    keys: dict[str, str] = {}
    for term in model.vocabularies[vocabulary]:
        for label in (term.label, *term.translations("label").values()):
            keys[label.casefold()] = term.key
    for term in model.vocabularies[vocabulary]:
        keys[term.key.casefold()] = term.key
    return keys


def _listed(model: StageModel, vocabulary: str, language: str) -> tuple[str, ...]:
    """The words a workbook in `language` offers for a vocabulary, as its dropdown lists them: the keys in
    the default language, the terms' labels in another (倡导者, 支持者, …); the keys when unknown. Joined
    at the edge, as the reader's language lists words."""
    labels = Labels(language or None)  # no language known: the default's, whose words are the keys
    return tuple(labels.value_words(model, vocabulary).values())


def workbook_language(book: Book) -> str:
    """The language a Dealbook workbook was made in: the one whose catalog names its hidden data sheet
    (the sheet found by its marker, whatever it is called), "" when no catalog does."""
    sheet = next((s for s in book.sheets if s.get(1, 1).value == MARKER), None)
    if sheet is None:
        return ""
    return next((code for code in languages() if catalog(code).get("wb_sheet_import") == sheet.title), "")


def _table(book: Book, name: str, width: int, imported: set) -> list[list[At]]:
    """The rows of a named table, from its first row down to the last filled row of its sheet."""
    first = _named_cells(book, name)[0]
    sheet = first.sheet
    last = max(sheet.last_row(), first.row)
    if last - first.row >= MAX_TABLE_ROWS:
        raise Unreadable(worded("import_table_rows", limit=f"{MAX_TABLE_ROWS:,}"),
                         f"{_sheet_name(sheet.title)}!{cell_name(last, first.col)}")
    rows = [[At(sheet, row, first.col + i) for i in range(width)] for row in range(first.row, last + 1)]
    imported.update((sheet.title, at.row, at.col) for cells in rows for at in cells)
    imported.update((sheet.title, r, c) for (r, c) in sheet.cells if r >= first.row
                    and first.col <= c < first.col + width)
    return rows


def _people(book: Book, model: StageModel, filled: Filled, imported: set) -> None:
    choices = {column: _choice_keys(model, vocabulary) for column, vocabulary in CHOICES.items()}
    seen: dict[str, int] = {}
    for cells in _table(book, PEOPLE_NAME, len(PEOPLE_COLUMNS), imported):
        values: dict[str, object] = {}
        for column, at in zip(PEOPLE_COLUMNS, cells, strict=True):
            value = _cell_value(at, column, choices.get(column), filled, model)
            if value is not None:
                values[column] = value
        name = values.pop("name", None)
        if name is None:
            if values:
                filled.problem(cells[0], Worded("import_row_no_name"))
            continue
        key = person_key(str(name))
        n = seen[key] = seen.get(key, -1) + 1
        filled.people.append(Row(key, n, {"name": str(name), **values}))
    # Every attribute of a shown row is known, blank or not: a blank one is a value to remove.
    for row in filled.people:
        for attribute in ("title", "role", *PERSON_FIELDS):
            row.values.setdefault(attribute, None)


def _terms(book: Book, model: StageModel, filled: Filled, imported: set) -> None:
    topics = _choice_keys(model, "topics")
    seen: dict[str, int] = {}
    for cells in _table(book, TERMS_NAME, len(TERM_COLUMNS), imported):
        label = clean(_as_text(_input(cells[0], filled)))
        values = {column: _cell_value(at, column, None, filled, model)
                  for column, at in zip(TERM_FIELDS, cells[1:], strict=True)}
        if label is None:
            if any(v is not None for v in values.values()):
                filled.problem(cells[0], Worded("import_row_no_topic"))
            continue
        topic = topics.get(str(label).casefold())
        if topic is None:
            filled.problem(cells[0], worded("import_not_topic", value=shown(label),
                                            options=_listed(model, "topics", filled.language)))
            continue
        n = seen[topic] = seen.get(topic, -1) + 1
        filled.terms.append(Row(topic, n, values))


def _plan(book: Book, model: StageModel, filled: Filled, imported: set) -> None:
    """The Plan sheet's milestones, matched by their text; the side and done in any catalog language's words (the
    workbook's dropdowns) or as keys, the due date a date, the stage a number of the stage model."""
    sides = _word_keys({side: [side] for side in PLAN_SIDES},
                       [catalog(code).get("plan_sides", {}) for code in languages()])
    done = _word_keys({DONE: ["true", "yes"], "": ["false", "no"]},
                      [{DONE: catalog(code).get("wb_yes", ""), "": catalog(code).get("wb_no", "")}
                       for code in languages()])
    workbook = Labels(filled.language or None)
    seen: dict[str, int] = {}
    for cells in _table(book, PLAN_NAME, len(PLAN_COLUMNS), imported):
        values: dict[str, object] = {}
        for column, at in zip(PLAN_COLUMNS, cells, strict=True):
            value = _input(at, filled)
            if column == "due":
                value = _date(at, value, filled, due=True)
            elif column == "stage":
                value = _stage(at, value, filled, len(model.stages))
            else:
                value = clean(_as_text(value))  # a TRUE typed into the done column reads as "True"
                if value is not None and column in ("side", "done"):
                    choices = sides if column == "side" else done
                    key = choices.get(str(value).casefold())
                    if key is None:
                        options = tuple(workbook.plan_sides[s] for s in PLAN_SIDES) if column == "side" else \
                            (workbook.wb_yes, workbook.wb_no)
                        filled.problem(at, worded("import_not_choice", column=column, value=shown(value),
                                                  options=options))
                    value = key or None
            if value is not None:
                values[column] = value
        milestone = values.pop("milestone", None)
        if milestone is None:
            if values:
                filled.problem(cells[0], Worded("import_row_no_milestone"))
            continue
        key = person_key(str(milestone))
        n = seen[key] = seen.get(key, -1) + 1
        # Every attribute of a shown row is known, blank or not: a blank one is a value to remove (not done: no
        # `done:`, as the file's default).
        filled.plan.append(Row(key, n, {"milestone": str(milestone)} | {a: values.get(a) for a in PLAN_FIELDS}))


def _word_keys(keys: dict[str, list[str]], catalogs: list[dict[str, str]]) -> dict[str, str]:
    """Every way a rep may write a choice (its key or English word, or its word in a catalog language, as a
    workbook's dropdown offers it), casefolded → the key."""
    out = {word.casefold(): key for words in catalogs for key, word in words.items() if word}
    out.update({word.casefold(): key for key, words in keys.items() for word in words})
    return out


def _stage(at: At, value: object, filled: Filled, stages: int) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9]{1,6}\s*", value):
        value = int(value)  # a number typed as text
    if isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer() \
            and 1 <= value <= stages:
        return int(value)
    filled.problem(at, worded("import_not_stage", value=shown(value), n=stages))
    return None


def _cell_value(at: At, column: str, choices: dict[str, str] | None, filled: Filled, model: StageModel) -> object:
    """A cell as the deal file would hold it: a vocabulary key, an ISO date or a text; None when blank."""
    value = _input(at, filled)
    if column == "last_contact":
        return _date(at, value, filled)
    value = clean(_as_text(value))  # 2027 typed into a text column is the text "2027", not "2027.0"
    if value is None or choices is None:
        return value
    key = choices.get(str(value).casefold())
    if key is None:
        filled.problem(at, worded("import_not_choice", column=column, value=shown(value),
                                  options=_listed(model, CHOICES[column], filled.language)))
    return key


def _date(at: At, value: object, filled: Filled, due: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if at.cell.is_date and isinstance(value, str):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    value = shown(_as_text(value))
    filled.problem(at, worded("import_not_due", value=value) if due else worded("import_not_date", value=value))
    return None


# --- Cells that are not imported ---------------------------------------------------------------

MAX_NAMED = 20  # lines naming changed cells, per workbook; the rest are counted


def _compare_with_made(book: Book, meta: Meta, imported: set, filled: Filled) -> None:
    """Every visible cell outside what import takes that differs from the workbook as made: named, not taken.

    The hidden sheet holds each visible sheet's cells as made, with the names on that sheet; a cell
    is looked for where the nearest name above it has moved to (rows inserted above a table move it).
    """
    if meta.made is None:
        return
    found: list[tuple[str, Made, int, int]] = []  # (where, the sheet as made, row as made, column)
    seen_sheets: set[str] = set()
    for made in meta.made:
        anchors = [(name, row, col) for name, row, col in made.anchors if name in book.names]
        sheet, shifts = None, []
        for name, row, _ in anchors:
            try:
                now, r1, _, _, _ = book.named(name)
            except (NotDealbook, Unreadable):
                continue
            sheet = sheet or now
            if now is sheet:
                shifts.append((row, r1 - row))
        if sheet is None:
            sheet = book.sheet(made.title)
        if sheet is None or sheet.title in seen_sheets:
            continue
        seen_sheets.add(sheet.title)
        title = _sheet_name(sheet.title)
        shifts.sort()

        def shift(row: int, shifts: list = shifts) -> int:
            above = [d for r, d in shifts if r <= row]
            return above[-1] if above else (shifts[0][1] if shifts else 0)

        expected: dict[tuple[int, int], tuple[int, object]] = {}  # where now → (row as made, value)
        for row, col, value in made.cells:
            expected[(row + shift(row), col)] = (row, value)
        for (row, col) in sorted(set(expected) | set(sheet.cells)):
            if (sheet.title, row, col) in imported:
                continue
            origin, value = expected.get((row, col), (row - shift(row), None))
            if _differs(value, sheet.cells.get((row, col))):
                found.append((f"{title}!{cell_name(row, col)}" if len(found) < MAX_NAMED else "", made, origin, col))
    # Worded only for the lines shown: a rep who pasted thousands of cells gets the first few and a count.
    filled.not_imported = [(where, made.describe(row, col) if where else "") for where, made, row, col in found]


def _differs(made: object, cell: XCell | None) -> bool:
    if cell is None or (cell.value is None and not cell.formula and cell.error is None):
        return made is not None and made != ""
    if made == "=":
        return not cell.formula
    if cell.formula or cell.error is not None:
        return True
    if isinstance(made, int | float) and not isinstance(made, bool):
        number = cell.number  # a date as its day number, as it was written
        return number is None or not math.isclose(number, made, rel_tol=1e-9, abs_tol=1e-9)
    return clean(_as_text(cell.value)) != clean(made)
