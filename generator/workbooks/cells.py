"""What every workbook is made of: literal text cells, styles, print setup and reproducible bytes.

Text from a deal file is never a formula: openpyxl turns any string that starts
with "=" into one (and "#N/A" into an error value), so every text cell is forced
back to a plain string after assignment. Formulas are only ever built here, from
the stage model and cell names, never from deal text.
"""

from __future__ import annotations

import io
import re
import unicodedata
import weakref
import zipfile
from copy import copy
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.worksheet.cell_range import CellRange
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.merge import MergedCellRange
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from .package import CachedValue, add_cached_values, order_font_children

MAX_CELL_TEXT = 32767  # Excel's limit for one cell
MAX_ROW_HEIGHT = 409  # points, Excel's limit
LINE_HEIGHT = 15  # points per line of 11 pt text
CJK_LINE_HEIGHT = 17  # CJK fonts need more room
_UNWRITABLE = re.compile("[\ud800-\udfff\ufffe\uffff]")  # cannot be stored in XML
_FORMULA_START = ("=", "+", "-", "@")

FONT = "Calibri"  # the workbook's default font: every styled cell names it, or LibreOffice falls back to a serif
TITLE_FONT = Font(name=FONT, bold=True, size=14)
BOLD = Font(name=FONT, size=11, bold=True)
NOTE_FONT = Font(name=FONT, size=11, italic=True, color="595959")
HEADER_FONT = Font(name=FONT, size=11, bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="3F51B5")
SECTION_FILL = PatternFill("solid", fgColor="E8EAF6")
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
WEAK_FILL = PatternFill("solid", fgColor="F8CBAD")
STRONG_FILL = PatternFill("solid", fgColor="C6EFCE")
CURRENT_FILL = PatternFill("solid", fgColor="E8EAF6")
_THIN = Side(style="thin", color="BFBFBF")
GRID = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
LEFT_TOP = Alignment(horizontal="left", vertical="top")
LEFT_WRAP = Alignment(horizontal="left", vertical="top", wrap_text=True)
CENTER_TOP = Alignment(horizontal="center", vertical="top")
HEADER_ALIGN = Alignment(wrap_text=True, vertical="center")

AMOUNT = "#,##0.00"
PERCENT = "0%"
SCORE = "0.0"
DATE = "yyyy-mm-dd"
WHOLE = "0"


def clean_text(value: object) -> str:
    """A string Excel can store: no control characters, no lone surrogates, at most 32,767 characters."""
    text = str(value)
    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)
    text = _UNWRITABLE.sub("\ufffd", text)
    if len(text) > MAX_CELL_TEXT:
        text = text[:MAX_CELL_TEXT - 1] + "…"
    return text


def display_width(text: str) -> float:
    """Width in Excel column units (the width of "0"): CJK characters take two, other text about 0.9.

    Measured on LibreOffice's rendering with its Calibri substitute, which is wider than Calibri,
    so the estimate errs towards rows a little too tall rather than text cut off.
    """
    return sum(2.0 if unicodedata.east_asian_width(ch) in "WF" else 0.9 for ch in text)


def quote_label(text: str) -> str:
    """A catalog label inside a formula's string literal."""
    return text.replace('"', '""')


# Per workbook: (font, fill, alignment, border, number format) → the cell's style indices.
_STYLES: weakref.WeakKeyDictionary[Workbook, dict[tuple, object]] = weakref.WeakKeyDictionary()
# Per worksheet: cell reference → the computed result of its formula, written beside it by `workbook_bytes`.
_RESULTS: weakref.WeakKeyDictionary[Worksheet, dict[str, CachedValue]] = weakref.WeakKeyDictionary()


class Sheet:
    """A worksheet plus the bookkeeping for wrapped rows, so rows get a height that shows all their text."""

    def __init__(self, ws: Worksheet, widths: list[float]):
        self.ws = ws
        self.widths = widths
        self._heights: dict[int, float] = {}
        self._styles = _STYLES.setdefault(ws.parent, {})
        for index, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = width

    def cell(self, row: int, col: int) -> Cell:
        return self.ws.cell(row=row, column=col)

    def _style(self, cell: Cell, font=None, fill=None, align=None, border=None, fmt=None) -> Cell:
        """Style a cell; each combination is looked up once per workbook (openpyxl hashes styles slowly)."""
        if font is fill is align is border is fmt is None:
            return cell
        key = (id(font), id(fill), id(align), id(border), fmt)
        known = self._styles.get(key)
        if known is not None:
            cell._style = copy(known[0])
            return cell
        if font is not None:
            cell.font = font
        if fill is not None:
            cell.fill = fill
        if align is not None:
            cell.alignment = align
        if border is not None:
            cell.border = border
        if fmt is not None:
            cell.number_format = fmt
        self._styles[key] = (copy(cell._style), (font, fill, align, border))  # kept alive: ids stay unique
        return cell

    def text(self, row: int, col: int, value: object, *, span: int = 1, fit: bool = True, **style) -> Cell:
        """A literal string, whatever it starts with; blank when empty.

        A wrapped cell makes its row tall enough for the text (`span` columns wide), unless `fit` is False.
        """
        cell = self.cell(row, col)
        self._style(cell, **style)
        if value is None or value == "":
            return cell
        text = clean_text(value)
        cell.value = text
        cell.data_type = "s"  # openpyxl made it a formula ("=…") or an error ("#N/A"): undo that
        if text.lstrip()[:1] in _FORMULA_START:
            cell.quotePrefix = True  # and Excel keeps it text when someone edits the cell
        line_height = CJK_LINE_HEIGHT if _HAS_WIDE.search(text) else LINE_HEIGHT
        if fit and cell.alignment.wrap_text:
            width = sum(self.widths[col - 1:col - 1 + span]) if col - 1 < len(self.widths) else 10
            self.grow(row, wrapped_lines(text, width), line_height)
        elif fit:
            self.grow(row, 1, line_height)
        return cell

    def value(self, row: int, col: int, value: int | float | date | None, **style) -> Cell:
        """A number or a date as such (None leaves the cell blank)."""
        if isinstance(value, bool) or (value is not None and not isinstance(value, (int, float, date))):
            raise TypeError(f"not a number or date: {value!r}")
        cell = self.cell(row, col)
        self._style(cell, **style)
        if isinstance(value, datetime):
            value = value.date()
        cell.value = value
        if isinstance(value, date):
            cell.number_format = style.get("fmt") or DATE
        return cell

    def formula(self, row: int, col: int, formula: str, result: CachedValue | None, **style) -> Cell:
        """A formula built by Dealbook (never from deal text), with its result as Dealbook computed it.

        `result` is what a viewer that does not calculate shows; None stands for a blank result ("").
        """
        cell = self.cell(row, col)
        self._style(cell, **style)
        cell.value = "=" + formula
        _RESULTS.setdefault(self.ws, {})[cell.coordinate] = "" if result is None else result
        return cell

    def header(self, row: int, labels: list[str], first_col: int = 1) -> None:
        for offset, label in enumerate(labels):
            self.text(row, first_col + offset, label, font=HEADER_FONT, fill=HEADER_FILL, align=HEADER_ALIGN,
                      border=GRID)
            width = self.widths[first_col + offset - 1] if first_col + offset - 1 < len(self.widths) else 10
            self.grow(row, wrapped_lines(label, width, scale=1.1),
                      CJK_LINE_HEIGHT if _HAS_WIDE.search(label) else LINE_HEIGHT)

    def grow(self, row: int, lines: int, line_height: float = LINE_HEIGHT) -> None:
        """Make the row tall enough for `lines` lines of text (rows of one 11 pt line keep the default)."""
        if lines > 1 or line_height > LINE_HEIGHT:
            height = min(MAX_ROW_HEIGHT, line_height * lines + 3)
            self._heights[row] = max(self._heights.get(row, 0), height)

    def merge(self, row: int, first_col: int, last_col: int) -> None:
        # Registering the range directly skips openpyxl's per-cell MergedCell bookkeeping (a sixth of
        # a workbook's time); nothing is ever written into the covered cells.
        self.ws.merged_cells.add(MergedCellRange(self.ws, CellRange(min_row=row, min_col=first_col, max_row=row,
                                                                    max_col=last_col).coord))

    def validate(self, ref: str, validation: DataValidation) -> None:
        validation.add(ref)
        self.ws.add_data_validation(validation)

    def dropdown(self, ref: str, items: list[str], error: str, lists_title: str, allow_blank: bool = True) -> None:
        """A dropdown of fixed values (stage-model keys, never with commas).

        Excel deletes, on open, an inline list of more than 255 characters; a longer list is
        written to the hidden sheet `lists_title` and the dropdown refers to its range instead.
        """
        inline = ",".join(items)
        if len(inline) <= MAX_INLINE_LIST:
            source = '"' + inline + '"'
        else:
            source = _hidden_list(self.ws.parent, lists_title, items)
        self.validate(ref, DataValidation(type="list", formula1=source, allow_blank=allow_blank,
                                          showErrorMessage=True, errorTitle=None, error=error))

    def finish(self, *, freeze: str | None, title_rows: str | None, one_page: bool = False) -> None:
        """Row heights for wrapped text, frozen headers, landscape, one page wide (and tall if `one_page`)."""
        for row, height in sorted(self._heights.items()):
            self.ws.row_dimensions[row].height = height
        ws = self.ws
        if freeze:
            ws.freeze_panes = freeze
        if title_rows:
            ws.print_title_rows = title_rows
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 1 if one_page else 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_margins = PageMargins(left=0.5, right=0.5, top=0.6, bottom=0.7, header=0.3, footer=0.3)
        ws.oddFooter.center.text = "&A — &P / &N"
        ws.print_options.horizontalCentered = False


def wrapped_lines(text: str, width: float, scale: float = 1.0) -> int:
    """How many lines `text` takes in a wrapped cell `width` units wide: greedy word wrap, like the spreadsheet.

    `scale` > 1 for bold or larger text. Words break at spaces; CJK text may break between any two characters.
    """
    capacity = max(1.0, width - 1.5)
    total = 0
    for paragraph in text.split("\n"):
        lines, used = 1, 0.0
        for token in _TOKENS.findall(paragraph):
            size = display_width(token) * scale
            if token.isspace():
                used += size
                continue
            if used > 0 and used + size > capacity:
                lines, used = lines + 1, 0.0
            while size > capacity:  # a word longer than the cell breaks anywhere
                lines, size = lines + 1, size - capacity
            used += size
        total += lines
    return total


_WIDE = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"  # CJK, Hangul, full-width forms
_TOKENS = re.compile(rf"\s+|[{_WIDE}]|[^\s{_WIDE}]+")
_HAS_WIDE = re.compile(f"[{_WIDE}]")


MAX_INLINE_LIST = 255  # characters, commas included: Excel's limit for a list typed into a validation


def _hidden_list(wb: Workbook, title: str, items: list[str]) -> str:
    """Write `items` into the next column of the workbook's hidden sheet of lists; return its range."""
    ws = wb[title] if title in wb.sheetnames else wb.create_sheet(title)
    ws.sheet_state = "hidden"
    col = ws.max_column + 1 if ws.max_row > 1 or ws.cell(1, 1).value is not None else 1
    for row, item in enumerate(items, start=1):
        cell = ws.cell(row=row, column=col, value=clean_text(item))
        cell.data_type = "s"
    letter = get_column_letter(col)
    return sheet_ref(ws, f"{letter}1:{letter}{len(items)}")


def sheet_ref(ws: Worksheet, ref: str) -> str:
    """An absolute reference to a range of a sheet, the sheet name always quoted."""
    absolute = ":".join("$" + re.sub(r"(\d+)", r"$\1", part) for part in ref.split(":"))
    return "'" + ws.title.replace("'", "''") + "'!" + absolute


def define(wb: Workbook, name: str, ws: Worksheet, ref: str) -> None:
    wb.defined_names[name] = DefinedName(name, attr_text=sheet_ref(ws, ref))


def new_workbook(as_of: date) -> Workbook:
    wb = Workbook()
    stamp = datetime(as_of.year, as_of.month, as_of.day)
    wb.properties.creator = "Dealbook"
    wb.properties.lastModifiedBy = "Dealbook"
    wb.properties.created = stamp
    wb.properties.modified = stamp
    return wb


class _InMemoryWriter(ExcelWriter):
    """openpyxl's writer, each worksheet serialised in memory rather than through a temporary file.

    openpyxl writes every sheet to a file in the system's temporary folder and reads it back: a
    build must not write outside site/ and .cache/, and six files per workbook cost more than the
    sheets' XML (mirrors ExcelWriter.write_worksheet of openpyxl 3.1, for ordinary workbooks).
    """

    def write_worksheet(self, ws: Worksheet) -> None:
        ws._drawing = SpreadsheetDrawing()
        ws._drawing.charts = ws._charts
        ws._drawing.images = ws._images
        writer = WorksheetWriter(ws, out=io.BytesIO())
        writer.write()
        ws._rels = writer._rels
        self._archive.writestr(ws.path[1:], writer.read())
        self.manifest.append(ws)


def workbook_bytes(wb: Workbook, as_of: date) -> bytes:
    """The .xlsx bytes, the same for the same content: fixed document dates, fixed zip times, sorted entries."""
    stamp = datetime(as_of.year, as_of.month, as_of.day)
    wb.properties.created = stamp
    wb.properties.modified = stamp  # openpyxl's save_workbook() would set "now"; ExcelWriter does not
    wb.calculation.fullCalcOnLoad = True  # the cached results are for viewers; spreadsheets recompute
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as archive:  # compressed once, below
        _InMemoryWriter(wb, archive).save()
    results = {ws.path.lstrip("/"): _RESULTS.get(ws, {}) for ws in wb.worksheets}  # paths are set by saving
    when = (max(1980, as_of.year), as_of.month, as_of.day, 0, 0, 0)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(out, "w") as target:
        for name in sorted(source.namelist()):  # "[Content_Types].xml" sorts first
            data = source.read(name)
            if name in results:
                data = add_cached_values(data, results[name], name)
            elif name == "xl/styles.xml":
                data = order_font_children(data)
            info = zipfile.ZipInfo(name, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            target.writestr(info, data, compresslevel=6)
    return out.getvalue()
