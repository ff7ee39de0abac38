"""A workbook as Dealbook builds it, written out with XlsxWriter.

The deal and pipeline workbooks are built in a small model first (sheets of cells with their styles, merges,
data validations, conditional formats, names, one table, bar charts, print setup) and handed to XlsxWriter
whole, at the end: a sheet's column widths and row heights follow from every cell on it (`cells.Sheet.finish`),
cells are restyled after they are written (section bands, the borders of merged blocks), and the hidden data
sheet records every visible cell as made (`meta`). XlsxWriter, whose files are tested against files Excel
wrote, does the Office Open XML: the parts, the shared strings, the styles, the zip.

What it writes, and why:
- Text is always written with `write_string`, never `write()`: XlsxWriter's `write()` would take a text that
  starts with "=" for a formula. Callers clean it first (`cells.clean_text`).
- A formula carries its result (`write_formula(…, value=)`) for viewers that do not calculate; XlsxWriter
  sets `fullCalcOnLoad`, so spreadsheets recompute anyway.
- The same content gives the same bytes: the document's dates are the as-of date, and XlsxWriter (in memory)
  gives every zip entry one fixed time and writes the parts in a fixed order.
- A cell format is made once per workbook for each distinct `Style` (styles are values, compared by their parts).
"""

from __future__ import annotations

import io
import math
import re
from datetime import date, datetime
from typing import Any, NamedTuple

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet as _XlsxWorksheet

CachedValue = str | int | float | bool
_EPOCH = date(1899, 12, 30).toordinal()  # Excel's day 0 (with its 1900 leap-year bug folded in)

# --- Styles ---------------------------------------------------------------------------------


class Font(NamedTuple):
    """A cell font; `color` is RRGGBB (None: the theme's text colour)."""

    name: str = "Calibri"
    size: float = 11
    bold: bool = False
    italic: bool = False
    color: str | None = None


class Fill(NamedTuple):
    """A solid fill of one colour (RRGGBB)."""

    color: str


class Alignment(NamedTuple):
    horizontal: str | None = None  # left, center, right
    vertical: str | None = None  # top, center, bottom
    wrap: bool = False


class Border(NamedTuple):
    """The same line on all four sides of a cell."""

    style: str = "thin"
    color: str = "000000"


class Style(NamedTuple):
    """A cell's font, fill, alignment, border, number format and quote prefix (None: the default of each)."""

    font: Font | None = None
    fill: Fill | None = None
    align: Alignment | None = None
    border: Border | None = None
    fmt: str | None = None
    quote: bool = False

    def merged(self, font: Font | None = None, fill: Fill | None = None, align: Alignment | None = None,
               border: Border | None = None, fmt: str | None = None) -> Style:
        """This style with the given parts replaced (None keeps a part)."""
        return Style(font or self.font, fill or self.fill, align or self.align, border or self.border,
                     fmt or self.fmt, self.quote)

    def quoted(self) -> Style:
        return self._replace(quote=True)


def style(font: Font | None = None, fill: Fill | None = None, align: Alignment | None = None,
          border: Border | None = None, fmt: str | None = None, quote: bool = False) -> Style:
    """The style of these parts (all None: the workbook's default style)."""
    return Style(font, fill, align, border, fmt, quote)


DEFAULT = Style()
_BORDERS = {"thin": 1, "medium": 2, "dashed": 3, "dotted": 4, "thick": 5, "double": 6, "hair": 7}
_VERTICAL = {"top": "top", "center": "vcenter", "bottom": "bottom"}


def _format_properties(st: Style) -> dict[str, Any]:
    """XlsxWriter's format properties for a style."""
    props: dict[str, Any] = {}
    if st.font is not None:
        # Only what differs from XlsxWriter's default font (Calibri 11, regular): each property given costs a
        # setter call when the format is made and a part of its key when the styles are written, per workbook.
        if st.font.name != "Calibri":
            props["font_name"] = st.font.name
        if st.font.size != 11:
            props["font_size"] = st.font.size
        if st.font.bold:
            props["bold"] = True
        if st.font.italic:
            props["italic"] = True
        if st.font.color:
            props["font_color"] = "#" + st.font.color
    if st.fill is not None:
        props.update(pattern=1, bg_color="#" + st.fill.color)
    if st.border is not None:
        props.update(border=_BORDERS[st.border.style], border_color="#" + st.border.color)
    if st.align is not None:
        if st.align.horizontal:
            props["align"] = st.align.horizontal
        if st.align.vertical:
            props["valign"] = _VERTICAL[st.align.vertical]
        if st.align.wrap:
            props["text_wrap"] = True
    if st.fmt:
        props["num_format"] = st.fmt
    if st.quote:
        props["quote_prefix"] = True
    return props


# --- Cells and references ------------------------------------------------------------------------

TEXT, NUMBER, FORMULA, BLANK = "s", "n", "f", ""


class Cell(NamedTuple):
    """A cell as written: its style, its kind (TEXT, NUMBER, FORMULA or BLANK), its value (a formula's text without
    "="), and a formula's stored result."""

    style: Style
    kind: str
    value: Any = None
    result: CachedValue | None = None


def date_serial(value: date) -> int:
    """Excel's serial number of a day (the 1900 date system)."""
    return value.toordinal() - _EPOCH


def column_letter(col: int) -> str:
    """A (1), B (2), …, XFD (16384)."""
    name = ""
    while col:
        col, rest = divmod(col - 1, 26)
        name = chr(65 + rest) + name
    return name


def column_index(letters: str) -> int:
    """A → 1, B → 2, …, XFD → 16384."""
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return col


def cell_ref(ref: str) -> tuple[int, int]:
    """"B12" → (12, 2)."""
    match = re.fullmatch(r"\$?([A-Z]{1,3})\$?(\d+)", ref)
    if not match:
        raise ValueError(f"not a cell reference: {ref!r}")
    return int(match[2]), column_index(match[1])


def sheet_ref(title: str, ref: str) -> str:
    """An absolute reference to a range (or rows, "2:2") of a sheet, the sheet name always quoted."""
    absolute = ":".join("$" + re.sub(r"(\d+)", r"$\1", part) if part[:1].isalpha() else "$" + part
                        for part in ref.split(":"))
    return "'" + title.replace("'", "''") + "'!" + absolute


# --- Worksheets --------------------------------------------------------------------------------

_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
_NAME_OK = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_LOOKS_LIKE_CELL = re.compile(r"^[A-Za-z]{1,3}\d+$|^[Rr]\d*[Cc]\d*$|^[RrCc]$")
_PIXELS_PER_UNIT = 7  # a column width unit (the default font's digit) in pixels, as XlsxWriter counts it
_PIXELS_PER_POINT = 4 / 3
_PIXELS_PER_CM = 96 / 2.54


def columns_cm(widths: list[float]) -> float:
    """How wide columns of these widths are, in centimetres, as XlsxWriter places a chart over them."""
    return sum(round(w * _PIXELS_PER_UNIT) for w in widths) / _PIXELS_PER_CM


class BarChart(NamedTuple):
    """A one-series bar chart: `values` and `categories` are absolute references (`'Sheet'!$E$3:$E$11`)."""

    direction: str  # "col" (vertical bars) or "bar" (horizontal)
    title: str
    values: str
    categories: str
    anchor: str  # the cell of its top-left corner
    width: float  # centimetres
    height: float
    y_min: float | None = None
    y_max: float | None = None
    major_unit: float | None = None
    number_format: str | None = None  # of the value axis
    reverse_categories: bool = False  # first category at the top (a funnel)


class Table(NamedTuple):
    """An Excel table (a filtered range with a style) over cells whose first row holds `columns`."""

    name: str
    ref: str
    columns: list[str]
    style: str = "Table Style Medium 2"


class PrintSetup(NamedTuple):
    """Landscape A4, `pages_wide` pages wide (and one page tall if `one_page`, else as many as needed), with the
    sheet name and page number below.

    `scale` is the scale (percent) the fit gives at least, stored as Excel stores the scale of its last layout;
    applications that fit to pages compute their own and ignore it.
    """

    one_page: bool
    footer: str = "&A — &P / &N"
    pages_wide: int = 1
    scale: int | None = None


class Validation(NamedTuple):
    ref: str
    kind: str  # list, whole, decimal or date
    formula1: str
    formula2: str | None
    operator: str | None
    allow_blank: bool
    show_error: bool
    error: str | None


class Highlight(NamedTuple):
    """A conditional format: the cells of `ref` where `formula` (relative to the range's first cell) holds."""

    ref: str
    formula: str
    font: Font | None
    fill: Fill | None
    stop: bool


class Worksheet:
    """A sheet's cells and its sheet-level settings, as they will be written."""

    def __init__(self, workbook: Workbook, title: str, hidden: bool):
        self.workbook = workbook
        self.title = title
        self.hidden = hidden
        self.rows: dict[int, dict[int, Cell]] = {}
        self.widths: list[float] = []
        self.heights: dict[int, float] = {}
        self.merges: list[str] = []
        self.validations: list[Validation] = []
        self.highlights: list[Highlight] = []
        self.charts: list[BarChart] = []
        self.tables: list[Table] = []
        self.freeze: str | None = None
        self.print_titles: str | None = None  # rows, "2:2"
        self.print_title_columns: str | None = None  # columns repeated on every page printed across, "A:A"
        self.row_breaks: list[int] = []  # a new printed page starts after each of these rows
        self.print_setup: PrintSetup | None = None
        self.max_col = 0

    def _put(self, row: int, col: int, cell: Cell) -> None:
        cells = self.rows.get(row)
        if cells is None:
            cells = self.rows[row] = {}
        cells[col] = cell
        if col > self.max_col:
            self.max_col = col

    def put_text(self, row: int, col: int, value: str, cell_style: Style = DEFAULT) -> None:
        """A literal string (already cleaned by the caller); never a formula, whatever it starts with."""
        self._put(row, col, Cell(cell_style, TEXT, value))

    def put_number(self, row: int, col: int, value: int | float | date, cell_style: Style = DEFAULT) -> None:
        shown = date_serial(value) if isinstance(value, date) else value
        if isinstance(shown, bool) or not isinstance(shown, int | float):
            raise TypeError(f"not a number: {value!r}")
        if not math.isfinite(shown):
            raise ValueError(f"a cell cannot hold {value!r}")
        self._put(row, col, Cell(cell_style, NUMBER, shown))

    def put_formula(self, row: int, col: int, formula: str, result: CachedValue,
                    cell_style: Style = DEFAULT) -> None:
        """A formula (without "="), with the result a viewer that does not calculate shows."""
        self._put(row, col, Cell(cell_style, FORMULA, formula, result))

    def put_blank(self, row: int, col: int, cell_style: Style) -> None:
        """A cell with a style and no value; restyles an existing cell instead."""
        if cell_style == DEFAULT and col not in self.rows.get(row, {}):
            return  # an empty, unstyled cell is not written at all
        self.restyle(row, col, cell_style.font, cell_style.fill, cell_style.align, cell_style.border,
                     cell_style.fmt)

    def restyle(self, row: int, col: int, font: Font | None = None, fill: Fill | None = None,
                align: Alignment | None = None, border: Border | None = None, fmt: str | None = None) -> None:
        """Replace parts of a cell's style (creating the cell, blank, if there is none)."""
        old = self.rows.get(row, {}).get(col) or Cell(DEFAULT, BLANK)
        self._put(row, col, old._replace(style=old.style.merged(font, fill, align, border, fmt)))

    def merge(self, ref: str) -> None:
        """Merge a range; nothing is written into the cells it covers but their style."""
        self.merges.append(ref)

    def validate(self, ref: str, kind: str, formula1: str, formula2: str | None = None, *,
                 operator: str | None = None, allow_blank: bool = False, show_error: bool = True,
                 error: str | None = None) -> None:
        """A data validation of `ref`: a list, whole, decimal or date; `operator` between (the default) or
        greaterThan."""
        self.validations.append(Validation(ref, kind, formula1, formula2, operator, allow_blank, show_error, error))

    def highlight(self, ref: str, formula: str, *, fill: Fill | None = None, font: Font | None = None,
                  stop: bool = False) -> None:
        """A conditional format: cells of `ref` where `formula` (relative to the range's first cell) holds."""
        self.highlights.append(Highlight(ref, formula, font, fill, stop))

    def add_to(self, xw: xlsxwriter.Workbook, formats: _Formats) -> None:
        """Add this sheet to XlsxWriter's workbook."""
        ws = xw.add_worksheet(self.title, worksheet_class=_Sheet)
        if self.hidden:
            ws.hide()
        # Settings that write cells of their own (a merge's first cell, a table's header row) come first, so
        # this sheet's own cells, written next, are what stays.
        for ref in self.merges:
            ws.merge_range(ref, "", None)
        for table in self.tables:
            ws.add_table(table.ref, {"name": table.name, "style": table.style,
                                     "columns": [{"header": name} for name in table.columns]})
        for col, width in enumerate(self.widths):
            ws.set_column_pixels(col, col, round(width * _PIXELS_PER_UNIT))
        for row, height in self.heights.items():
            # XlsxWriter keeps heights in whole pixels (3/4 pt), as Excel does: rounded up, so no text is cut.
            ws.set_row_pixels(row - 1, math.ceil(height * _PIXELS_PER_POINT - 1e-9))
        for row, cells in self.rows.items():
            r = row - 1
            for col, cell in cells.items():
                fmt = formats.cell(cell.style)
                if cell.kind == TEXT:
                    ws.write_string(r, col - 1, cell.value, fmt)
                elif cell.kind == NUMBER:
                    ws.write_number(r, col - 1, cell.value, fmt)
                elif cell.kind == FORMULA:
                    ws.write_formula(r, col - 1, cell.value, fmt, cell.result)
                else:
                    ws.write_blank(r, col - 1, None, fmt)
        for v in self.validations:
            options: dict[str, Any] = {"validate": _VALIDATIONS[v.kind], "ignore_blank": v.allow_blank,
                                       "show_error": v.show_error, "show_input": False}
            if v.kind == "list":
                options["source"] = v.formula1
            elif v.formula2 is not None:
                options.update(criteria=_CRITERIA[v.operator or "between"], minimum=v.formula1, maximum=v.formula2)
            else:
                options.update(criteria=_CRITERIA[v.operator or "between"], value=v.formula1)
            if v.error:
                options["error_message"] = v.error
            ws.data_validation(v.ref, options)
        for h in self.highlights:
            ws.conditional_format(h.ref, {"type": "formula", "criteria": h.formula, "stop_if_true": h.stop,
                                          "format": formats.differential(h.font, h.fill)})
        for chart in self.charts:
            row, col = cell_ref(chart.anchor)
            ws.insert_chart(row - 1, col - 1, _chart(xw, chart), {"object_position": 3})
        if self.freeze:
            ws.freeze_panes(self.freeze)
        if self.print_titles:
            first, _, last = self.print_titles.partition(":")
            ws.repeat_rows(int(first) - 1, int(last or first) - 1)
        if self.print_title_columns:
            ws.repeat_columns(self.print_title_columns)
        setup = self.print_setup
        if setup is not None:
            ws.set_landscape()
            ws.set_paper(9)  # A4
            ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.7)
            ws.set_header("", {"margin": 0.3})
            ws.set_footer("&C" + setup.footer, {"margin": 0.3})
            if setup.scale:
                ws.set_print_scale(setup.scale)  # before the fit: XlsxWriter's scale turns the fit off
            ws.fit_to_pages(setup.pages_wide, 1 if setup.one_page else 0)
            if self.row_breaks:
                ws.set_h_pagebreaks(sorted(set(self.row_breaks)))


_VALIDATIONS = {"list": "list", "whole": "integer", "decimal": "decimal", "date": "date"}
_CRITERIA = {"between": "between", "greaterThan": ">", "lessThan": "<", "greaterThanOrEqual": ">=",
             "lessThanOrEqual": "<="}


def _chart(xw: xlsxwriter.Workbook, spec: BarChart):
    """A one-series bar or column chart with no legend, every category labelled."""
    chart = xw.add_chart({"type": "column" if spec.direction == "col" else "bar"})
    chart.add_series({"values": "=" + spec.values, "categories": "=" + spec.categories})
    chart.set_title({"name": spec.title})
    chart.set_legend({"none": True})
    value_axis: dict[str, Any] = {"major_tick_mark": "none", "major_gridlines": {"visible": True}}
    if spec.y_min is not None:
        value_axis["min"] = spec.y_min
    if spec.y_max is not None:
        value_axis["max"] = spec.y_max
    if spec.major_unit is not None:
        value_axis["major_unit"] = spec.major_unit
    if spec.number_format:
        value_axis["num_format"] = spec.number_format
    # Every category labelled (Excel may otherwise skip every other one; LibreOffice skips labels that would
    # overlap, so a chart of long names is made tall enough for them).
    category_axis: dict[str, Any] = {"major_tick_mark": "none", "interval_unit": 1,
                                     "reverse": spec.reverse_categories}
    # In a bar chart XlsxWriter's x axis is the value axis (horizontal); in a column chart it is the categories.
    if spec.direction == "col":
        chart.set_x_axis(category_axis)
        chart.set_y_axis(value_axis)
    else:
        chart.set_x_axis(value_axis)
        chart.set_y_axis(category_axis)
    chart.set_size({"width": round(spec.width * _PIXELS_PER_CM), "height": round(spec.height * _PIXELS_PER_CM)})
    return chart


# The functions Dealbook's formulas call: all in Excel since 2007, so none needs the `_xlfn.` prefix that XlsxWriter
# adds to newer ones.
_PLAIN_FUNCTIONS = frozenset(("AND", "COUNT", "COUNTIFS", "EXACT", "IF", "IFERROR", "INDEX", "INT", "ISNUMBER",
                              "MATCH", "MOD", "MONTH", "OR", "ROUND", "SUM", "SUMIFS", "SUMPRODUCT", "TRUE", "YEAR"))
_FUNCTION = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\(")


class _Sheet(_XlsxWorksheet):
    """XlsxWriter's worksheet, which looks for newer functions to prefix in a formula only when it calls one.

    XlsxWriter runs some thirty substitutions over every formula and validation (a fifth of the time a deal
    workbook takes); a formula that calls only the functions above comes out of them unchanged.
    """

    def _prepare_formula(self, formula: str, expand_future_functions: bool = False) -> str:
        if formula[:1] not in ("=", "{") and _PLAIN_FUNCTIONS.issuperset(_FUNCTION.findall(formula)):
            return formula
        return super()._prepare_formula(formula, expand_future_functions)


class _Formats:
    """XlsxWriter's formats of one workbook, one per distinct style; they belong to that workbook alone."""

    def __init__(self, xw: xlsxwriter.Workbook):
        self.xw = xw
        self._cells: dict[Style, Format | None] = {DEFAULT: None}
        # By the style object's identity first: hashing a style's parts for every cell costs more. This lives while
        # one workbook is written, whose cells keep their styles alive, so no id is reused meanwhile.
        self._by_id: dict[int, Format | None] = {}
        self._differential: dict[tuple[Font | None, Fill | None], Format] = {}

    def cell(self, st: Style) -> Format | None:
        found = self._by_id.get(id(st), False)
        if found is False:
            found = self._cells.get(st, False)
            if found is False:
                found = self._cells[st] = self.xw.add_format(_format_properties(st))
            self._by_id[id(st)] = found
        return found

    def differential(self, font: Font | None, fill: Fill | None) -> Format:
        """A conditional format's style: only a font's weight and colour and a fill's colour."""
        found = self._differential.get((font, fill))
        if found is None:
            props: dict[str, Any] = {}
            if font is not None:
                props["bold"] = font.bold
                if font.color:
                    props["font_color"] = "#" + font.color
            if fill is not None:
                props.update(pattern=1, bg_color="#" + fill.color)
            found = self._differential[(font, fill)] = self.xw.add_format(props)
        return found


# --- The workbook -------------------------------------------------------------------------------


class Workbook:
    """Sheets in order, workbook-level names, and the document title; `to_bytes` writes the .xlsx."""

    def __init__(self, as_of: date, title: str | None = None):
        self.as_of = as_of
        self.title = title
        self.sheets: list[Worksheet] = []
        self.names: list[tuple[str, str]] = []

    def add_sheet(self, title: str, hidden: bool = False) -> Worksheet:
        if not title or len(title) > 31 or _SHEET_NAME_BAD.search(title) or title.startswith("'") \
                or title.endswith("'"):
            raise ValueError(f"not a sheet name Excel accepts: {title!r}")
        if self.sheet(title) is not None:
            raise ValueError(f"two sheets named {title!r}")
        ws = Worksheet(self, title, hidden)
        self.sheets.append(ws)
        return ws

    def sheet(self, title: str) -> Worksheet | None:
        return next((ws for ws in self.sheets if ws.title == title), None)

    def define(self, name: str, value: str) -> None:
        """A workbook-level name; Excel refuses names that are not identifiers or look like cell references."""
        if not _NAME_OK.match(name) or _LOOKS_LIKE_CELL.match(name):
            raise ValueError(f"not a name Excel accepts: {name!r}")
        self.names.append((name, value))

    def to_bytes(self) -> bytes:
        """The .xlsx package, the same bytes for the same content."""
        out = io.BytesIO()
        # in_memory: no temporary files, and XlsxWriter gives every zip entry the same fixed time.
        xw = xlsxwriter.Workbook(out, {"in_memory": True})
        stamp = datetime(self.as_of.year, self.as_of.month, self.as_of.day)
        properties: dict[str, Any] = {"author": "Dealbook", "created": stamp}
        if self.title:
            properties["title"] = self.title
        xw.set_properties(properties)
        formats = _Formats(xw)
        for ws in self.sheets:
            ws.add_to(xw, formats)
        for name, value in self.names:
            xw.define_name(name, "=" + value)
        xw.close()
        return out.getvalue()
