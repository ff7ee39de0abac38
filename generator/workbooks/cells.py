"""What every workbook is made of: literal text cells, styles, print setup and reproducible bytes.

Text from a deal file is never a formula: every text cell is written as a string (XlsxWriter's
`write_string`), with the quote prefix when it starts like one ("=", "+", "-", "@"), so Excel keeps
it text when someone edits the cell. Formulas are only ever built here, from the stage model and
cell names, never from deal text. The cells go into `book`'s model of a workbook, which XlsxWriter writes.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime
from itertools import accumulate, repeat

from .book import (
    Alignment,
    Border,
    CachedValue,
    Fill,
    Font,
    PrintSetup,
    Workbook,
    Worksheet,
    column_index,
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

FONT = "Calibri"  # the workbook's default font, which XlsxWriter names in every font it writes (LibreOffice would
# fall back to a serif for a font without a name)
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

AMOUNT = "#,##0.00"  # amounts with cents
WHOLE_AMOUNT = "#,##0"  # amounts whose source has no cents
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
    if text.isascii():
        if len(text) < len(_ASCII_WIDTHS):
            return _ASCII_WIDTHS[len(text)]
        return _ASCII_WIDTHS[-1] + sum(repeat(0.9, len(text) - len(_ASCII_WIDTHS) + 1))
    return sum(2.0 if unicodedata.east_asian_width(ch) in "WF" else 0.9 for ch in text)


# The width of n ASCII characters, added up one character at a time as the estimate was measured (n × 0.9 may
# differ in the last bit, which moves a text that just fits to another line): a constant table, not a memo.
_ASCII_WIDTHS = tuple(accumulate(repeat(0.9, 4096), initial=0))


def amount_format(*amounts: float | None) -> str:
    """Whole numbers with thousands separators when none of `amounts` has cents, else two decimals.

    The source's amounts decide (a deal's `amount`): weighted and converted figures derived from
    whole amounts are shown whole too, as the site shows them.
    """
    return AMOUNT if any(a is not None and round(a * 100) % 100 for a in amounts) else WHOLE_AMOUNT


def shown_text(value: object, fmt: str | None) -> str:
    """The text a spreadsheet shows for `value` in number format `fmt` (the formats Dealbook writes)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return value
    if isinstance(value, date):
        return _shown_date(value, fmt or DATE)
    number = float(value)  # type: ignore[arg-type]
    if not fmt or fmt == "General":
        return f"{number:.10g}"
    if fmt.endswith("%"):
        decimals = len(fmt[:-1].partition(".")[2])
        return f"{number * 100:.{decimals}f}%"
    integer, _, fraction = fmt.partition(".")
    least, most = fraction.count("0"), fraction.count("0") + fraction.count("#")
    shown = f"{number:,.{most}f}" if "," in integer else f"{number:.{most}f}"
    if most > least:  # optional digits ("#") are dropped when zero
        head, _, tail = shown.partition(".")
        tail = tail.rstrip("0").ljust(least, "0")
        shown = f"{head}.{tail}" if tail else head
    return shown


_DATE_TOKENS = re.compile(r'"[^"]*"|yyyy|yy|mm|m|dd|d|.')


def _shown_date(value: date, fmt: str) -> str:
    parts = {"yyyy": f"{value.year:04d}", "yy": f"{value.year % 100:02d}", "mm": f"{value.month:02d}",
             "m": str(value.month), "dd": f"{value.day:02d}", "d": str(value.day)}
    return "".join(token[1:-1] if token.startswith('"') else parts.get(token, token)
                   for token in _DATE_TOKENS.findall(fmt))


def fit_width(text: str, font: Font | None = None) -> float:
    """The column width (in Excel's units, the width of "0") that shows `text` on one line, with room to spare.

    Errs wide, so a number never turns into "###" in any spreadsheet: a digit is one unit by definition (the
    unit is the default font's digit), capitals and wide Latin letters a little more, CJK characters two.
    """
    width = 0.0
    for ch in text:
        if ch.isascii():
            width += 1.3 if ch.isupper() or ch in "mwMW@%" else 1.0
        else:
            width += 2.0 if unicodedata.east_asian_width(ch) in "WF" else 1.1
    if font is not None:
        width *= font.size / 11 * (1.1 if font.bold else 1.0)
    return width + FIT_PADDING


FIT_PADDING = 1.5  # the cell's inner margins, and LibreOffice's rounding
MAX_FIT_WIDTH = 60  # a column never grows wider than this for one long text; longer text is cut at the next cell


def quote_label(text: str) -> str:
    """A catalog label inside a formula's string literal."""
    return text.replace('"', '""')


class Sheet:
    """A worksheet plus the bookkeeping for row heights and column widths, so every cell shows all of its content.

    Numbers, dates and formula results widen their column to their formatted text (a number that does not fit
    shows "###"); with `fit_text`, so do text cells that are not wrapped (a table's ids, codes and names, but not
    titles and notes written with `overflow`) and each header (its longest word, at most two lines). Wrapped
    text keeps its column's width and makes its row taller. Widths and heights are settled in `finish`, once
    every cell is written, so a row's height is computed with the widths it is shown with.
    """

    def __init__(self, ws: Worksheet, widths: list[float], *, fit_text: bool = False):
        self.ws = ws
        self.widths = list(widths)
        self.fit_text = fit_text
        self._heights: dict[int, float] = {}
        self._needs: dict[tuple[int, int], float] = {}  # (row, col) → the width its content needs
        self._wrapped: list[tuple[int, int, int, str, float, float]] = []  # row, col, span, text, line height, scale
        self._merged: set[tuple[int, int]] = set()
        ws.widths = list(widths)

    def _need(self, row: int, col: int, width: float) -> None:
        if width > self._needs.get((row, col), 0):
            self._needs[row, col] = width

    def text(self, row: int, col: int, value: object, *, span: int = 1, fit: bool = True, overflow: bool = False,
             **parts) -> None:
        """A literal string, whatever it starts with; blank when empty.

        A wrapped cell makes its row tall enough for the text (`span` columns wide), unless `fit` is False; on a
        `fit_text` sheet an unwrapped one widens its column, unless it may run over into the empty cells beside
        it (`overflow`: titles, notes, section labels).
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
            self._wrapped.append((row, col, span, text, line_height, 1.0))
        else:
            self.grow(row, 1, line_height)
            if self.fit_text and not overflow and "\n" not in text:
                self._need(row, col, fit_width(text, cell_style.font))

    def value(self, row: int, col: int, value: int | float | date | None, **parts) -> None:
        """A number or a date as such (None leaves the cell blank); its column is made wide enough to show it."""
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
            self._need(row, col, fit_width(shown_text(value, cell_style.fmt), cell_style.font))

    def formula(self, row: int, col: int, formula: str, result: CachedValue | None, **parts) -> None:
        """A formula built by Dealbook (never from deal text), with its result as Dealbook computed it.

        `result` is what a viewer that does not calculate shows; None stands for a blank result (""). A number
        widens its column to fit, and so does text on a `fit_text` sheet.
        """
        cell_style = style(**parts)
        self.ws.put_formula(row, col, formula, "" if result is None else result, cell_style)
        wrapped = cell_style.align is not None and cell_style.align.wrap
        if result is not None and (not isinstance(result, str) or (self.fit_text and not wrapped)):
            self._need(row, col, fit_width(shown_text(result, cell_style.fmt), cell_style.font))

    def restyle(self, row: int, col: int, **parts) -> None:
        """Give a cell (blank if it has no value yet) a font, fill, border, alignment or number format."""
        self.ws.restyle(row, col, **parts)

    def header(self, row: int, labels: list[str], first_col: int = 1) -> None:
        """Column headers, wrapped; on a `fit_text` sheet each column is made wide enough for its longest word
        and for the header on two lines."""
        for offset, label in enumerate(labels):
            col = first_col + offset
            self.text(row, col, label, font=HEADER_FONT, fill=HEADER_FILL, align=HEADER_ALIGN, border=GRID,
                      fit=False)
            text = clean_text(label)
            self._wrapped.append((row, col, 1, text, CJK_LINE_HEIGHT if _HAS_WIDE.search(text) else LINE_HEIGHT,
                                  1.1))
            if self.fit_text:
                words = [fit_width(token) - FIT_PADDING for token in _TOKENS.findall(text) if not token.isspace()]
                need = max([*words, (fit_width(text) - FIT_PADDING) / 2], default=0)
                self._need(row, col, need * 1.1 + FIT_PADDING)

    def grow(self, row: int, lines: int, line_height: float = LINE_HEIGHT) -> None:
        """Make the row tall enough for `lines` lines of text (rows of one 11 pt line keep the default)."""
        if lines > 1 or line_height > LINE_HEIGHT:
            height = min(MAX_ROW_HEIGHT, line_height * lines + 3)
            self._heights[row] = max(self._heights.get(row, 0), height)

    def merge(self, row: int, first_col: int, last_col: int, last_row: int | None = None) -> None:
        """Merge cells of one row (or, with `last_row`, a block); nothing is ever written into the covered cells.

        A merged cell's content is shown across the merged columns, so it does not widen its first column.
        """
        self.ws.merge(f"{column_letter(first_col)}{row}:{column_letter(last_col)}{last_row or row}")
        self._merged.update((r, c) for r in range(row, (last_row or row) + 1) for c in range(first_col, last_col + 1))

    def validate(self, ref: str, kind: str, formula1: str, formula2: str | None = None, *,
                 operator: str | None = None, allow_blank: bool = False, show_error: bool = True,
                 error: str | None = None) -> None:
        """A data validation: `kind` is list, whole, decimal or date (see `book.Worksheet.validate`)."""
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

    def finish(self, *, freeze: str | None, title_rows: str | None, one_page: bool = False,
               title_columns: str | None = None, min_scale: float | None = None) -> None:
        """Column widths for the content, row heights for wrapped text, frozen headers, and the print setup:
        landscape, one page wide (and tall if `one_page`); with `min_scale`, as many pages wide as printing at
        that scale or more takes (the `title_columns` repeated on each), and as many pages tall as needed.
        """
        for (row, col), need in self._needs.items():
            if (row, col) in self._merged:
                continue
            while len(self.widths) < col:
                self.widths.append(DEFAULT_WIDTH)
            self.widths[col - 1] = max(self.widths[col - 1], min(need, MAX_FIT_WIDTH))
        self.ws.widths = list(self.widths)
        for row, col, span, text, line_height, scale in self._wrapped:
            width = sum(self.widths[col - 1:col - 1 + span]) if col - 1 < len(self.widths) else DEFAULT_WIDTH
            self.grow(row, wrapped_lines(text, width, scale=scale), line_height)
        self.ws.heights.update(self._heights)
        self.ws.freeze = freeze
        self.ws.print_titles = title_rows
        self.ws.print_title_columns = title_columns
        if min_scale is None:
            self.ws.print_setup = PrintSetup(one_page)
        else:
            repeated = column_index(title_columns.split(":")[-1]) if title_columns else 0
            pages, scale = print_plan(self.widths, min_scale, repeated)
            self.ws.print_setup = PrintSetup(one_page, pages_wide=pages, scale=scale)


DEFAULT_WIDTH = 8.43  # a column's width when none is set
PRINTABLE_WIDTH = 842 - 72  # points: landscape A4 less the half-inch margins `book` sets
# One width unit printed at 100 %, in points, erring wide: 5.25 in Excel (7 px, Calibri's digit), more in
# LibreOffice when it lays out with a wider substitute for Calibri (its digit is the unit).
UNIT_POINTS = 6.5


def print_plan(widths: list[float], min_scale: float, repeated: int = 0) -> tuple[int, int]:
    """How many pages wide columns of `widths` print at `min_scale` or more, and the largest whole percent at
    which they fit that many pages (at least `min_scale`), the first `repeated` columns printed on every page.

    The columns are laid out as a spreadsheet does, a page break before a column that would not fit, so a
    spreadsheet fitting them to that many pages wide finds a scale at least as large (its columns are no wider).
    """
    title = sum(widths[:repeated]) * UNIT_POINTS

    def pages(scale: float) -> int:
        capacity = PRINTABLE_WIDTH / scale
        count, used = 1, title
        for width in widths[repeated:]:
            width *= UNIT_POINTS
            if used + width > capacity and used > title:
                count, used = count + 1, title
            used += width
        return count

    wide = pages(min_scale)
    floor = math.ceil(min_scale * 100)
    return wide, next((p for p in range(100, floor, -1) if pages(p / 100) <= wide), floor)


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
    """The .xlsx bytes, the same for the same content: the document's dates are `as_of` (see `book`)."""
    wb.as_of = as_of
    return wb.to_bytes()

