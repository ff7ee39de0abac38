"""What every workbook is made of: literal text cells, styles, print setup and reproducible bytes.

Text from a deal file is never a formula: every text cell is written as an inline string,
with the quote prefix when it starts like one ("=", "+", "-", "@"), so Excel keeps it text
when someone edits the cell. Formulas are only ever built here, from the stage model and
cell names, never from deal text. The cells go into `xlsx`'s small model of a workbook.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

from .xlsx import (
    Alignment,
    Border,
    CachedValue,
    Fill,
    Font,
    PrintSetup,
    Workbook,
    Worksheet,
    column_letter,
    sheet_ref,
    style,
)

MAX_CELL_TEXT = 32767  # Excel's limit for one cell
MAX_ROW_HEIGHT = 409  # points, Excel's limit
LINE_HEIGHT = 15  # points per line of 11 pt text
CJK_LINE_HEIGHT = 17  # CJK fonts need more room
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # control characters XML 1.0 cannot hold
_UNWRITABLE = re.compile("[\ud800-\udfff\ufffe\uffff]")  # cannot be stored in XML
_FORMULA_START = ("=", "+", "-", "@")

FONT = "Calibri"  # the workbook's default font: every styled cell names it, or LibreOffice falls back to a serif
TITLE_FONT = Font(FONT, 14, bold=True)
BOLD = Font(FONT, 11, bold=True)
NOTE_FONT = Font(FONT, 11, italic=True, color="595959")
HEADER_FONT = Font(FONT, 11, bold=True, color="FFFFFF")
HEADER_FILL = Fill("3F51B5")
SECTION_FILL = Fill("E8EAF6")
INPUT_FILL = Fill("FFF2CC")
WEAK_FILL = Fill("F8CBAD")
STRONG_FILL = Fill("C6EFCE")
CURRENT_FILL = Fill("E8EAF6")
GRID = Border("thin", "BFBFBF")
WRAP = Alignment(vertical="top", wrap=True)
TOP = Alignment(vertical="top")
LEFT_TOP = Alignment(horizontal="left", vertical="top")
LEFT_WRAP = Alignment(horizontal="left", vertical="top", wrap=True)
CENTER_TOP = Alignment(horizontal="center", vertical="top")
HEADER_ALIGN = Alignment(vertical="center", wrap=True)

AMOUNT = "#,##0.00"
PERCENT = "0%"
SCORE = "0.0"
DATE = "yyyy-mm-dd"
WHOLE = "0"


def clean_text(value: object) -> str:
    """A string Excel can store: no control characters, no lone surrogates, at most 32,767 characters."""
    text = str(value)
    if not text.isascii() or not text.isprintable():  # the common case needs neither substitution
        text = _ILLEGAL.sub("\ufffd", text)
        text = _UNWRITABLE.sub("\ufffd", text)
    if len(text) > MAX_CELL_TEXT:
        text = text[:MAX_CELL_TEXT - 1] + "…"
    return text


def display_width(text: str) -> float:
    """Width in Excel column units (the width of "0"): CJK characters take two, other text about 0.9.

    Measured on LibreOffice's rendering with its Calibri substitute, which is wider than Calibri,
    so the estimate errs towards rows a little too tall rather than text cut off.
    """
    if text.isascii():  # the same sum, added up once per length
        while len(_ASCII_WIDTHS) <= len(text):
            _ASCII_WIDTHS.append(_ASCII_WIDTHS[-1] + 0.9)
        return _ASCII_WIDTHS[len(text)]
    return sum(2.0 if unicodedata.east_asian_width(ch) in "WF" else 0.9 for ch in text)


_ASCII_WIDTHS: list[float] = [0]


def quote_label(text: str) -> str:
    """A catalog label inside a formula's string literal."""
    return text.replace('"', '""')


class Sheet:
    """A worksheet plus the bookkeeping for wrapped rows, so rows get a height that shows all their text."""

    def __init__(self, ws: Worksheet, widths: list[float]):
        self.ws = ws
        self.widths = widths
        self._heights: dict[int, float] = {}
        ws.widths = list(widths)

    def text(self, row: int, col: int, value: object, *, span: int = 1, fit: bool = True, **parts) -> None:
        """A literal string, whatever it starts with; blank when empty.

        A wrapped cell makes its row tall enough for the text (`span` columns wide), unless `fit` is False.
        """
        cell_style = style(**parts)
        if value is None or value == "":
            self.ws.put_blank(row, col, cell_style)
            return
        text = clean_text(value)
        if text.lstrip()[:1] in _FORMULA_START:
            cell_style = cell_style.quoted()  # and Excel keeps it text when someone edits the cell
        self.ws.put_text(row, col, text, cell_style)
        if not fit:
            return
        line_height = CJK_LINE_HEIGHT if not text.isascii() and _HAS_WIDE.search(text) else LINE_HEIGHT
        if cell_style.align is not None and cell_style.align.wrap:
            width = sum(self.widths[col - 1:col - 1 + span]) if col - 1 < len(self.widths) else 10
            self.grow(row, wrapped_lines(text, width), line_height)
        else:
            self.grow(row, 1, line_height)

    def value(self, row: int, col: int, value: int | float | date | None, **parts) -> None:
        """A number or a date as such (None leaves the cell blank)."""
        if isinstance(value, bool) or (value is not None and not isinstance(value, (int, float, date))):
            raise TypeError(f"not a number or date: {value!r}")
        if isinstance(value, datetime):
            value = value.date()
        if isinstance(value, date):
            parts["fmt"] = parts.get("fmt") or DATE
        cell_style = style(**parts)
        if value is None:
            self.ws.put_blank(row, col, cell_style)
        else:
            self.ws.put_number(row, col, value, cell_style)

    def formula(self, row: int, col: int, formula: str, result: CachedValue | None, **parts) -> None:
        """A formula built by Dealbook (never from deal text), with its result as Dealbook computed it.

        `result` is what a viewer that does not calculate shows; None stands for a blank result ("").
        """
        self.ws.put_formula(row, col, formula, "" if result is None else result, style(**parts))

    def restyle(self, row: int, col: int, **parts) -> None:
        """Give a cell (blank if it has no value yet) a font, fill, border, alignment or number format."""
        self.ws.restyle(row, col, **parts)

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

    def merge(self, row: int, first_col: int, last_col: int, last_row: int | None = None) -> None:
        """Merge cells of one row (or, with `last_row`, a block); nothing is ever written into the covered cells."""
        self.ws.merge(f"{column_letter(first_col)}{row}:{column_letter(last_col)}{last_row or row}")

    def validate(self, ref: str, kind: str, formula1: str, formula2: str | None = None, *,
                 operator: str | None = None, allow_blank: bool = False, show_error: bool = True,
                 error: str | None = None) -> None:
        """A data validation: `kind` is list, whole, decimal or date (see `xlsx.Worksheet.validate`)."""
        self.ws.validate(ref, kind, formula1, formula2, operator=operator, allow_blank=allow_blank,
                         show_error=show_error, error=error)

    def dropdown(self, ref: str, items: list[str], error: str, lists_title: str, allow_blank: bool = True) -> None:
        """A dropdown of fixed values (stage-model keys, never with commas).

        Excel deletes, on open, an inline list of more than 255 characters; a longer list is
        written to the hidden sheet `lists_title` and the dropdown refers to its range instead.
        """
        inline = ",".join(items)
        if len(inline) <= MAX_INLINE_LIST:
            source = '"' + inline + '"'
        else:
            source = _hidden_list(self.ws.workbook, lists_title, items)
        self.validate(ref, "list", source, allow_blank=allow_blank, error=error)

    def finish(self, *, freeze: str | None, title_rows: str | None, one_page: bool = False) -> None:
        """Row heights for wrapped text, frozen headers, landscape, one page wide (and tall if `one_page`)."""
        self.ws.heights.update(self._heights)
        self.ws.freeze = freeze
        self.ws.print_titles = title_rows
        self.ws.print_setup = PrintSetup(one_page)


def wrapped_lines(text: str, width: float, scale: float = 1.0) -> int:
    """How many lines `text` takes in a wrapped cell `width` units wide: greedy word wrap, like the spreadsheet.

    `scale` > 1 for bold or larger text. Words break at spaces; CJK text may break between any two characters.
    """
    capacity = max(1.0, width - 1.5)
    if "\n" not in text and display_width(text) * scale < capacity - 1e-9:
        return 1  # clearly fits on one line (the margin covers rounding): no need to wrap word by word
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
    ws = wb.sheet(title) or wb.add_sheet(title, hidden=True)
    col = ws.max_col + 1
    for row, item in enumerate(items, start=1):
        ws.put_text(row, col, clean_text(item))
    letter = column_letter(col)
    return sheet_ref(ws.title, f"{letter}1:{letter}{len(items)}")


def define(wb: Workbook, name: str, ws: Worksheet, ref: str) -> None:
    """A workbook-level name for a cell or range of a sheet."""
    wb.define(name, sheet_ref(ws.title, ref))


def new_workbook(as_of: date) -> Workbook:
    return Workbook(as_of)


def workbook_bytes(wb: Workbook, as_of: date) -> bytes:
    """The .xlsx bytes, the same for the same content: fixed document dates, fixed zip times, sorted entries."""
    wb.as_of = as_of
    return wb.to_bytes()

