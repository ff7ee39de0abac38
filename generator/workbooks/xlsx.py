"""A small .xlsx writer: the parts of SpreadsheetML that Dealbook's workbooks use, written as plain strings.

openpyxl builds an object per cell, hashes styles and serialises element by element; most of a
cold build went there. Dealbook's workbooks use a fixed handful of features, so this module
keeps a minimal model (sheets of cells, styles, merges, data validations, conditional formats,
defined names, print setup, frozen panes, hidden sheets, one table, bar charts) and writes each
part with string building and XML escaping. openpyxl is still what reads workbooks back (`reader`).

What it writes, and why:
- Text is always an inline string (`t="inlineStr"`): it can never be taken for a formula or an
  error value. Callers clean it first (`cells.clean_text`).
- A formula cell carries its result (`<v>` beside `<f>`, as Excel writes it) for viewers that do
  not calculate; `fullCalcOnLoad` makes spreadsheets recompute anyway.
- Font children in Excel's order (the Open XML SDK's sequence for `CT_Font`).
- The same content gives the same bytes: fixed document dates and zip times, sorted zip entries,
  styles numbered in order of first use.
"""

from __future__ import annotations

import math
import re
import struct
import zlib
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple

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

    def xml(self) -> str:
        """`<font>` with its children in Excel's order (b, i, sz, color, name)."""
        return ("<font>" + ('<b val="1"/>' if self.bold else "") + ('<i val="1"/>' if self.italic else "")
                + f'<sz val="{number_text(self.size)}"/>'
                + (f'<color rgb="00{self.color}"/>' if self.color else "")
                + f'<name val="{attr(self.name)}"/></font>')


class Fill(NamedTuple):
    """A solid fill of one colour (RRGGBB)."""

    color: str

    def xml(self, differential: bool = False) -> str:
        # A conditional format's fill is read from bgColor by Excel and from fgColor by others: give both.
        background = f'<bgColor rgb="00{self.color}"/>' if differential else ""
        return (f'<fill><patternFill patternType="solid"><fgColor rgb="00{self.color}"/>{background}'
                "</patternFill></fill>")


class Alignment(NamedTuple):
    horizontal: str | None = None
    vertical: str | None = None
    wrap: bool = False

    def xml(self) -> str:
        return ("<alignment" + (f' horizontal="{self.horizontal}"' if self.horizontal else "")
                + (f' vertical="{self.vertical}"' if self.vertical else "")
                + (' wrapText="1"' if self.wrap else "") + "/>")


class Border(NamedTuple):
    """The same line on all four sides of a cell."""

    style: str = "thin"
    color: str = "000000"

    def xml(self) -> str:
        side = f'style="{self.style}"><color rgb="00{self.color}"/>'
        return (f"<border><left {side}</left><right {side}</right><top {side}</top><bottom {side}</bottom>"
                "<diagonal/></border>")


class Style:
    """One combination of font, fill, alignment, border, number format and quote prefix; interned, so
    equal styles are the same object and a workbook can number them by identity."""

    __slots__ = ("font", "fill", "align", "border", "fmt", "quote")

    def __init__(self, font: Font | None, fill: Fill | None, align: Alignment | None, border: Border | None,
                 fmt: str | None, quote: bool):
        self.font, self.fill, self.align, self.border, self.fmt, self.quote = font, fill, align, border, fmt, quote

    def merged(self, font: Font | None = None, fill: Fill | None = None, align: Alignment | None = None,
               border: Border | None = None, fmt: str | None = None) -> Style:
        """This style with the given parts replaced (None keeps a part)."""
        return style(font or self.font, fill or self.fill, align or self.align, border or self.border,
                     fmt or self.fmt, self.quote)

    def quoted(self) -> Style:
        return style(self.font, self.fill, self.align, self.border, self.fmt, True)


_BY_VALUE: dict[tuple, Style] = {}
# Keyed by the parts' ids: the fast path for the module-level constants. Each entry keeps the very
# objects of its key alive, so none of those ids can be reused by another object while it is a key.
_BY_ID: dict[tuple, tuple[Style, tuple]] = {}


def style(font: Font | None = None, fill: Fill | None = None, align: Alignment | None = None,
          border: Border | None = None, fmt: str | None = None, quote: bool = False) -> Style:
    """The interned style of these parts (all None: the workbook's default style)."""
    key = (id(font), id(fill), id(align), id(border), fmt, quote)
    found = _BY_ID.get(key)
    if found is not None:
        return found[0]
    parts = (font, fill, align, border, fmt, quote)
    interned = _BY_VALUE.get(parts)
    if interned is None:
        interned = _BY_VALUE[parts] = Style(font, fill, align, border, fmt, quote)
    if len(_BY_ID) < 4096:  # styles made on the fly (tests) must not grow it without end
        _BY_ID[key] = (interned, parts)
    return interned


DEFAULT = style()

# --- Text and numbers -------------------------------------------------------------------------


def text(value: str) -> str:
    """Element content: &, < and > escaped."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def attr(value: str) -> str:
    """An attribute value: also quotes, and the whitespace an XML parser would otherwise normalise."""
    return (text(value).replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;")
            .replace("\t", "&#9;"))


def number_text(value: int | float) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"not a number: {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"a cell cannot hold {value!r}")
        return repr(value)
    return str(value)


def date_serial(value: date) -> int:
    """Excel's serial number of a day (the 1900 date system)."""
    return value.toordinal() - _EPOCH


def cached_value(value: CachedValue) -> tuple[str, str]:
    """The `t` attribute (or nothing, for a number) and the `<v>` text of a formula's result."""
    if isinstance(value, bool):
        return ' t="b"', "1" if value else "0"
    if isinstance(value, int | float):
        return "", number_text(value)
    return ' t="str"', text(value)


_LETTERS: list[str] = [""]


def column_letter(col: int) -> str:
    """A (1), B (2), …, XFD (16384)."""
    while len(_LETTERS) <= col:
        n, name = len(_LETTERS), ""
        while n:
            n, rest = divmod(n - 1, 26)
            name = chr(65 + rest) + name
        _LETTERS.append(name)
    return _LETTERS[col]


def column_index(letters: str) -> int:
    """A → 1, B → 2, …, XFD → 16384."""
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return col


def _cell_ref(ref: str) -> tuple[int, int]:
    """"B12" → (12, 2)."""
    match = re.fullmatch(r"\$?([A-Z]{1,3})\$?(\d+)", ref)
    if not match:
        raise ValueError(f"not a cell reference: {ref!r}")
    return int(match[2]), column_index(match[1])


# --- Worksheets --------------------------------------------------------------------------------

_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
_NAME_OK = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_LOOKS_LIKE_CELL = re.compile(r"^[A-Za-z]{1,3}\d+$|^[Rr]\d*[Cc]\d*$|^[RrCc]$")


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
    style: str = "TableStyleMedium2"
    row_stripes: bool = True


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


class Worksheet:
    """A sheet's cells (each a style and the XML after its reference) and its sheet-level settings."""

    def __init__(self, workbook: Workbook, title: str, hidden: bool):
        self.workbook = workbook
        self.title = title
        self.hidden = hidden
        self.rows: dict[int, dict[int, tuple[Style, str]]] = {}
        self.widths: list[float] = []
        self.heights: dict[int, float] = {}
        self.merges: list[str] = []
        self.validations: list[str] = []
        self.formats: list[tuple[str, list[str]]] = []  # (range, its rules' XML)
        self.charts: list[BarChart] = []
        self.tables: list[Table] = []
        self.freeze: str | None = None
        self.print_titles: str | None = None  # rows, "2:2"
        self.print_title_columns: str | None = None  # columns repeated on every page printed across, "A:A"
        self.row_breaks: list[int] = []  # a new printed page starts after each of these rows
        self.print_setup: PrintSetup | None = None
        self.max_col = 0

    # Cells. `body` is what follows `<c r="…" s="…"`: attributes, content and the closing tag.
    def _put(self, row: int, col: int, cell_style: Style, body: str) -> None:
        cells = self.rows.get(row)
        if cells is None:
            cells = self.rows[row] = {}
        cells[col] = (cell_style, body)
        if col > self.max_col:
            self.max_col = col

    def put_text(self, row: int, col: int, value: str, cell_style: Style = DEFAULT) -> None:
        """A literal string (already cleaned by the caller); never a formula, whatever it starts with."""
        space = ' xml:space="preserve"' if value != value.strip() else ""
        self._put(row, col, cell_style, f' t="inlineStr"><is><t{space}>{text(value)}</t></is></c>')

    def put_number(self, row: int, col: int, value: int | float | date, cell_style: Style = DEFAULT) -> None:
        shown = date_serial(value) if isinstance(value, date) else value
        self._put(row, col, cell_style, f"><v>{number_text(shown)}</v></c>")

    def put_formula(self, row: int, col: int, formula: str, result: CachedValue,
                    cell_style: Style = DEFAULT) -> None:
        """A formula (without "="), with the result a viewer that does not calculate shows."""
        kind, value = cached_value(result)
        self._put(row, col, cell_style, f"{kind}><f>{text(formula)}</f><v>{value}</v></c>")

    def put_blank(self, row: int, col: int, cell_style: Style) -> None:
        """A cell with a style and no value; restyles an existing cell instead."""
        if cell_style is DEFAULT and col not in self.rows.get(row, {}):
            return  # an empty, unstyled cell is not written at all
        self.restyle(row, col, cell_style.font, cell_style.fill, cell_style.align, cell_style.border,
                     cell_style.fmt)

    def restyle(self, row: int, col: int, font: Font | None = None, fill: Fill | None = None,
                align: Alignment | None = None, border: Border | None = None, fmt: str | None = None) -> None:
        """Replace parts of a cell's style (creating the cell, blank, if there is none)."""
        old_style, body = self.rows.get(row, {}).get(col, (DEFAULT, "/>"))
        self._put(row, col, old_style.merged(font, fill, align, border, fmt), body)

    # Sheet-level settings.
    def merge(self, ref: str) -> None:
        """Merge a range; nothing is written into the cells it covers but their style."""
        self.merges.append(ref)

    def validate(self, ref: str, kind: str, formula1: str, formula2: str | None = None, *,
                 operator: str | None = None, allow_blank: bool = False, show_error: bool = True,
                 error: str | None = None) -> None:
        """A data validation of `ref` (a list, whole, decimal or date)."""
        self.validations.append(
            f'<dataValidation type="{kind}"' + (f' operator="{operator}"' if operator else "")
            + f' allowBlank="{int(allow_blank)}" showErrorMessage="{int(show_error)}"'
            + (f' error="{attr(error)}"' if error else "") + f' sqref="{ref}">'
            + f"<formula1>{text(formula1)}</formula1>"
            + (f"<formula2>{text(formula2)}</formula2>" if formula2 is not None else "") + "</dataValidation>")

    def highlight(self, ref: str, formula: str, *, fill: Fill | None = None, font: Font | None = None,
                  stop: bool = False) -> None:
        """A conditional format: cells of `ref` where `formula` (relative to the range's first cell) holds."""
        dxf = self.workbook.differential(font, fill)
        priority = sum(len(rules) for _, rules in self.formats) + 1
        rule = (f'<cfRule type="expression" dxfId="{dxf}" priority="{priority}"'
                + (' stopIfTrue="1"' if stop else "") + f"><formula>{text(formula)}</formula></cfRule>")
        for found_ref, rules in self.formats:
            if found_ref == ref:
                rules.append(rule)
                return
        self.formats.append((ref, [rule]))

    def xml(self, xf: dict[Style, int], rels: list[str]) -> str:
        """The worksheet part; `xf` numbers the styles (new ones are added), `rels` are the part's rIds in use."""
        out: list[str] = []
        min_row = min_col = 1 << 30
        max_row = max_col = 0
        heights = self.heights
        for r in sorted(self.rows.keys() | heights.keys()):
            height = heights.get(r)
            out.append(f'<row r="{r}" ht="{number_text(height)}" customHeight="1">' if height is not None
                       else f'<row r="{r}">')
            cells = self.rows.get(r)
            if cells:
                rs = str(r)
                cols = sorted(cells)
                min_row, max_row = min(min_row, r), r
                min_col, max_col = min(min_col, cols[0]), max(max_col, cols[-1])
                for c in cols:
                    cell_style, body = cells[c]
                    index = xf.get(cell_style)
                    if index is None:
                        index = xf[cell_style] = len(xf)
                    ref = (_LETTERS[c] if c < len(_LETTERS) else column_letter(c)) + rs
                    out.append(f'<c r="{ref}" s="{index}"{body}' if index else f'<c r="{ref}"{body}')
            out.append("</row>")
        dimension = "A1" if not max_row else \
            f"{column_letter(min_col)}{min_row}:{column_letter(max_col)}{max_row}"
        head = ['<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">']
        if self.print_setup:
            head.append('<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>')
        head.append(f'<dimension ref="{dimension}"/><sheetViews><sheetView workbookViewId="0">'
                    + self._pane() + "</sheetView></sheetViews>"
                    '<sheetFormatPr baseColWidth="8" defaultRowHeight="15"/>')
        if self.widths:
            head.append("<cols>" + "".join(f'<col min="{i}" max="{i}" width="{number_text(w)}" customWidth="1"/>'
                                           for i, w in enumerate(self.widths, start=1)) + "</cols>")
        head.append("<sheetData>")
        tail = ["</sheetData>"]
        if self.merges:
            tail.append(f'<mergeCells count="{len(self.merges)}">'
                        + "".join(f'<mergeCell ref="{m}"/>' for m in self.merges) + "</mergeCells>")
        for ref, rules in self.formats:
            tail.append(f'<conditionalFormatting sqref="{ref}">' + "".join(rules) + "</conditionalFormatting>")
        if self.validations:
            tail.append(f'<dataValidations count="{len(self.validations)}">' + "".join(self.validations)
                        + "</dataValidations>")
        tail.append(self._print_xml())
        rids = iter(rels)
        if self.charts:
            tail.append(f'<drawing r:id="{next(rids)}"/>')
        if self.tables:
            tail.append(f'<tableParts count="{len(self.tables)}">'
                        + "".join(f'<tablePart r:id="{next(rids)}"/>' for _ in self.tables) + "</tableParts>")
        tail.append("</worksheet>")
        return "".join(head) + "".join(out) + "".join(tail)

    def _pane(self) -> str:
        if not self.freeze:
            return '<selection activeCell="A1" sqref="A1"/>'
        row, col = _cell_ref(self.freeze)
        x, y = col - 1, row - 1
        if x and y:
            pane = "bottomRight"
            selections = '<selection pane="topRight"/><selection pane="bottomLeft"/>'
        else:
            pane = "bottomLeft" if y else "topRight"
            selections = ""
        return ("<pane" + (f' xSplit="{x}"' if x else "") + (f' ySplit="{y}"' if y else "")
                + f' topLeftCell="{self.freeze}" activePane="{pane}" state="frozen"/>'
                + selections + f'<selection pane="{pane}" activeCell="A1" sqref="A1"/>')

    def _print_xml(self) -> str:
        setup = self.print_setup
        if setup is None:
            return '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
        return ('<printOptions horizontalCentered="0"/>'
                '<pageMargins left="0.5" right="0.5" top="0.6" bottom="0.7" header="0.3" footer="0.3"/>'
                '<pageSetup paperSize="9"' + (f' scale="{setup.scale}"' if setup.scale else "")
                + f' fitToWidth="{setup.pages_wide}" fitToHeight="{int(setup.one_page)}" orientation="landscape"/>'
                f"<headerFooter><oddFooter>{text('&C' + setup.footer)}</oddFooter></headerFooter>"
                + self._breaks_xml())

    def _breaks_xml(self) -> str:
        if not self.row_breaks:
            return ""
        breaks = sorted(set(self.row_breaks))
        return (f'<rowBreaks count="{len(breaks)}" manualBreakCount="{len(breaks)}">'
                + "".join(f'<brk id="{r}" max="16383" man="1"/>' for r in breaks) + "</rowBreaks>")


# --- The workbook -------------------------------------------------------------------------------

_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument."
_BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9, "0.00%": 10}
_DEFAULT_FONT = ('<font><sz val="11"/><color theme="1"/><name val="Calibri"/><family val="2"/>'
                 '<scheme val="minor"/></font>')


class Workbook:
    """Sheets in order, workbook-level names, and the document properties; `to_bytes` writes the package."""

    def __init__(self, as_of: date, title: str | None = None):
        self.as_of = as_of
        self.title = title
        self.sheets: list[Worksheet] = []
        self.names: list[tuple[str, str]] = []
        self.dxfs: list[tuple[Font | None, Fill | None]] = []

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

    def differential(self, font: Font | None, fill: Fill | None) -> int:
        """The index of a conditional format's style."""
        if (font, fill) not in self.dxfs:
            self.dxfs.append((font, fill))
        return self.dxfs.index((font, fill))

    def to_bytes(self) -> bytes:
        """The .xlsx package, the same bytes for the same content."""
        parts: dict[str, str] = {}
        overrides: list[tuple[str, str]] = []
        xf: dict[Style, int] = {DEFAULT: 0}
        drawings = charts = tables = 0
        for number, ws in enumerate(self.sheets, start=1):
            rels: list[tuple[str, str]] = []  # (type, target)
            if ws.charts:
                drawings += 1
                chart_rels = []
                for chart in ws.charts:
                    charts += 1
                    parts[f"xl/charts/chart{charts}.xml"] = _chart_xml(chart)
                    overrides.append((f"/xl/charts/chart{charts}.xml", _CT + "drawingml.chart+xml"))
                    chart_rels.append(("chart", f"../charts/chart{charts}.xml"))
                parts[f"xl/drawings/drawing{drawings}.xml"] = _drawing_xml(ws.charts)
                parts[f"xl/drawings/_rels/drawing{drawings}.xml.rels"] = _rels_xml(chart_rels)
                overrides.append((f"/xl/drawings/drawing{drawings}.xml", _CT + "drawing+xml"))
                rels.append(("drawing", f"../drawings/drawing{drawings}.xml"))
            for table in ws.tables:
                tables += 1
                parts[f"xl/tables/table{tables}.xml"] = _table_xml(table, tables)
                overrides.append((f"/xl/tables/table{tables}.xml", _CT + "spreadsheetml.table+xml"))
                rels.append(("table", f"../tables/table{tables}.xml"))
            parts[f"xl/worksheets/sheet{number}.xml"] = ws.xml(xf, [f"rId{i}" for i in range(1, len(rels) + 1)])
            overrides.append((f"/xl/worksheets/sheet{number}.xml", _CT + "spreadsheetml.worksheet+xml"))
            if rels:
                parts[f"xl/worksheets/_rels/sheet{number}.xml.rels"] = _rels_xml(rels)
        parts["xl/styles.xml"] = _styles_xml(tuple(xf), tuple(self.dxfs))
        parts["xl/theme/theme1.xml"] = _theme_xml()
        parts["xl/workbook.xml"] = self._workbook_xml()
        parts["xl/_rels/workbook.xml.rels"] = _rels_xml(
            [("worksheet", f"worksheets/sheet{n}.xml") for n in range(1, len(self.sheets) + 1)]
            + [("styles", "styles.xml"), ("theme", "theme/theme1.xml")])
        parts["docProps/core.xml"] = self._core_xml()
        parts["docProps/app.xml"] = _APP
        parts["_rels/.rels"] = _ROOT_RELS
        parts["[Content_Types].xml"] = _content_types(overrides)
        return _zip(parts, self.as_of)

    def _workbook_xml(self) -> str:
        sheets = "".join(f'<sheet name="{attr(ws.title)}" sheetId="{n}"' + (' state="hidden"' if ws.hidden else "")
                         + f' r:id="rId{n}"/>' for n, ws in enumerate(self.sheets, start=1))
        names = [f'<definedName name="{name}">{text(value)}</definedName>' for name, value in self.names]
        # Columns before rows, as Excel writes them: 'Deals'!$A:$A,'Deals'!$1:$1.
        names += [f'<definedName name="_xlnm.Print_Titles" localSheetId="{index}">'
                  + text(",".join(sheet_ref(ws.title, ref) for ref in (ws.print_title_columns, ws.print_titles)
                                  if ref)) + "</definedName>"
                  for index, ws in enumerate(self.sheets) if ws.print_titles or ws.print_title_columns]
        return (f'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="{_NS_REL}">'
                '<workbookPr/><bookViews><workbookView activeTab="0"/></bookViews>'
                f"<sheets>{sheets}</sheets>" + (f"<definedNames>{''.join(names)}</definedNames>" if names else "")
                + '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>')

    def _core_xml(self) -> str:
        stamp = datetime(self.as_of.year, self.as_of.month, self.as_of.day).strftime("%Y-%m-%dT%H:%M:%SZ")
        title = f"<dc:title>{text(self.title)}</dc:title>" if self.title else ""
        return ('<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
                'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/'
                'terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
                f"<dc:creator>Dealbook</dc:creator>{title}<cp:lastModifiedBy>Dealbook</cp:lastModifiedBy>"
                f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
                f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified></cp:coreProperties>')


def sheet_ref(title: str, ref: str) -> str:
    """An absolute reference to a range (or rows, "2:2") of a sheet, the sheet name always quoted."""
    absolute = ":".join("$" + re.sub(r"(\d+)", r"$\1", part) if part[:1].isalpha() else "$" + part
                        for part in ref.split(":"))
    return "'" + title.replace("'", "''") + "'!" + absolute


# --- Parts that never vary, or vary little -----------------------------------------------------

# LibreOffice lays out a file whose application name starts with "Microsoft" as Excel would (row heights,
# among others); the row heights Dealbook computes were measured that way. openpyxl and XlsxWriter write
# such a name too ("Microsoft Excel Compatible / Openpyxl", "Microsoft Excel").
_APP = ('<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        "<Application>Microsoft Excel Compatible / Dealbook</Application></Properties>")

_ROOT_RELS = (f'<Relationships xmlns="{_NS_PKG_REL}">'
              f'<Relationship Id="rId1" Type="{_NS_REL}/officeDocument" Target="xl/workbook.xml"/>'
              '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
              'core-properties" Target="docProps/core.xml"/>'
              f'<Relationship Id="rId3" Type="{_NS_REL}/extended-properties" Target="docProps/app.xml"/>'
              "</Relationships>")


def _rels_xml(rels: list[tuple[str, str]]) -> str:
    return (f'<Relationships xmlns="{_NS_PKG_REL}">'
            + "".join(f'<Relationship Id="rId{n}" Type="{_NS_REL}/{kind}" Target="{target}"/>'
                      for n, (kind, target) in enumerate(rels, start=1)) + "</Relationships>")


def _content_types(overrides: list[tuple[str, str]]) -> str:
    fixed = [("/xl/workbook.xml", _CT + "spreadsheetml.sheet.main+xml"),
             ("/xl/styles.xml", _CT + "spreadsheetml.styles+xml"), ("/xl/theme/theme1.xml", _CT + "theme+xml"),
             ("/docProps/core.xml", "application/vnd.openxmlformats-package.core-properties+xml"),
             ("/docProps/app.xml", _CT + "extended-properties+xml")]
    return ('<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            + "".join(f'<Override PartName="{name}" ContentType="{kind}"/>' for name, kind in fixed + overrides)
            + "</Types>")


_THEME: list[str] = []


def _theme_xml() -> str:
    """The default Office theme, read once per process (the default font's colour and scheme refer to it)."""
    if not _THEME:
        _THEME.append((Path(__file__).parent / "theme1.xml").read_text(encoding="utf-8"))
    return _THEME[0]


_STYLES_CACHE: dict[tuple, str] = {}


def _styles_xml(xfs: tuple[Style, ...], dxfs: tuple[tuple[Font | None, Fill | None], ...]) -> str:
    """styles.xml for the styles in use, numbered as the sheets use them; most workbooks share one."""
    key = (*map(id, xfs), *dxfs)  # styles are interned and never freed: their ids identify them
    found = _STYLES_CACHE.get(key)
    if found is None:
        found = _build_styles(xfs, dxfs)
        if len(_STYLES_CACHE) < 256:
            _STYLES_CACHE[key] = found
    return found


def _build_styles(xfs: tuple[Style, ...], dxfs: tuple[tuple[Font | None, Fill | None], ...]) -> str:
    fonts: dict[Font | None, int] = {None: 0}
    fills: dict[Fill | None, int] = {None: 0}
    borders: dict[Border | None, int] = {None: 0}
    formats: dict[str, int] = {}
    cell_xfs = []
    for st in xfs:
        font = fonts.setdefault(st.font, len(fonts))
        fill = fills.setdefault(st.fill, len(fills) + 1)  # fill 1 is the reserved gray125
        border = borders.setdefault(st.border, len(borders))
        fmt = 0
        if st.fmt:
            fmt = _BUILTIN_FORMATS.get(st.fmt) or formats.setdefault(st.fmt, 164 + len(formats))
        attrs = (f'numFmtId="{fmt}" fontId="{font}" fillId="{fill}" borderId="{border}" xfId="0"'
                 + (' quotePrefix="1"' if st.quote else "") + (' applyNumberFormat="1"' if fmt else "")
                 + (' applyFont="1"' if font else "") + (' applyFill="1"' if fill else "")
                 + (' applyBorder="1"' if border else ""))
        cell_xfs.append(f'<xf {attrs} applyAlignment="1">{st.align.xml()}</xf>' if st.align else f"<xf {attrs}/>")
    parts = ['<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">']
    if formats:
        parts.append(f'<numFmts count="{len(formats)}">' + "".join(
            f'<numFmt numFmtId="{n}" formatCode="{attr(code)}"/>' for code, n in formats.items()) + "</numFmts>")
    parts.append(f'<fonts count="{len(fonts)}">{_DEFAULT_FONT}'
                 + "".join(f.xml() for f in fonts if f is not None) + "</fonts>")
    parts.append(f'<fills count="{len(fills) + 1}"><fill><patternFill patternType="none"/></fill>'
                 '<fill><patternFill patternType="gray125"/></fill>'
                 + "".join(f.xml() for f in fills if f is not None) + "</fills>")
    parts.append(f'<borders count="{len(borders)}"><border><left/><right/><top/><bottom/><diagonal/></border>'
                 + "".join(b.xml() for b in borders if b is not None) + "</borders>")
    parts.append('<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>')
    parts.append(f'<cellXfs count="{len(cell_xfs)}">' + "".join(cell_xfs) + "</cellXfs>")
    parts.append('<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>')
    parts.append(f'<dxfs count="{len(dxfs)}">' + "".join(
        "<dxf>" + (font.xml() if font else "") + (fill.xml(differential=True) if fill else "") + "</dxf>"
        for font, fill in dxfs) + "</dxfs>")
    parts.append('<tableStyles count="0" defaultTableStyle="TableStyleMedium9" '
                 'defaultPivotStyle="PivotStyleLight16"/></styleSheet>')
    return "".join(parts)


def _chart_xml(chart: BarChart) -> str:
    scaling = ('<scaling><orientation val="minMax"/>'
               + (f'<max val="{number_text(chart.y_max)}"/>' if chart.y_max is not None else "")
               + (f'<min val="{number_text(chart.y_min)}"/>' if chart.y_min is not None else "") + "</scaling>")
    orientation = "maxMin" if chart.reverse_categories else "minMax"
    return ('<chartSpace xmlns="http://schemas.openxmlformats.org/drawingml/2006/chart" '
            'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
            '<chart><title><tx><rich><a:bodyPr/><a:p><a:pPr><a:defRPr/></a:pPr>'
            f"<a:r><a:t>{text(chart.title)}</a:t></a:r></a:p></rich></tx></title>"
            f'<plotArea><barChart><barDir val="{chart.direction}"/><grouping val="clustered"/>'
            '<ser><idx val="0"/><order val="0"/><spPr><a:ln><a:prstDash val="solid"/></a:ln></spPr>'
            f"<cat><strRef><f>{text(chart.categories)}</f></strRef></cat>"
            f"<val><numRef><f>{text(chart.values)}</f></numRef></val></ser>"
            '<gapWidth val="150"/><axId val="10"/><axId val="100"/></barChart>'
            f'<catAx><axId val="10"/><scaling><orientation val="{orientation}"/></scaling><delete val="0"/>'
            '<axPos val="l"/><majorTickMark val="none"/><minorTickMark val="none"/><crossAx val="100"/>'
            # Every category labelled (Excel may otherwise skip every other one; LibreOffice skips labels that
            # would overlap, so a chart of long names is made tall enough for them).
            '<lblOffset val="100"/><tickLblSkip val="1"/></catAx>'
            f'<valAx><axId val="100"/>{scaling}<delete val="0"/><axPos val="l"/><majorGridlines/>'
            + (f'<numFmt formatCode="{attr(chart.number_format)}" sourceLinked="0"/>' if chart.number_format else "")
            + '<majorTickMark val="none"/><minorTickMark val="none"/><crossAx val="10"/>'
            + (f'<majorUnit val="{number_text(chart.major_unit)}"/>' if chart.major_unit is not None else "")
            + '</valAx></plotArea><plotVisOnly val="1"/><dispBlanksAs val="gap"/></chart></chartSpace>')


_EMU_PER_CM = 360000


def _drawing_xml(charts: list[BarChart]) -> str:
    anchors = []
    for n, chart in enumerate(charts, start=1):
        row, col = _cell_ref(chart.anchor)
        anchors.append(
            f"<xdr:oneCellAnchor><xdr:from><xdr:col>{col - 1}</xdr:col><xdr:colOff>0</xdr:colOff>"
            f"<xdr:row>{row - 1}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>"
            f'<xdr:ext cx="{round(chart.width * _EMU_PER_CM)}" cy="{round(chart.height * _EMU_PER_CM)}"/>'
            f'<xdr:graphicFrame macro=""><xdr:nvGraphicFramePr><xdr:cNvPr id="{n}" name="Chart {n}"/>'
            "<xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr>"
            '<xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm>'
            '<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/chart">'
            f'<c:chart r:id="rId{n}"/></a:graphicData></a:graphic></xdr:graphicFrame>'
            "<xdr:clientData/></xdr:oneCellAnchor>")
    return ('<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
            'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
            'xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
            f'xmlns:r="{_NS_REL}">' + "".join(anchors) + "</xdr:wsDr>")


def _table_xml(table: Table, number: int) -> str:
    columns = "".join(f'<tableColumn id="{n}" name="{attr(name)}"/>' for n, name in enumerate(table.columns, start=1))
    return (f'<table xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" id="{number}" '
            f'name="{table.name}" displayName="{table.name}" ref="{table.ref}" headerRowCount="1">'
            f'<autoFilter ref="{table.ref}"/><tableColumns count="{len(table.columns)}">{columns}</tableColumns>'
            f'<tableStyleInfo name="{table.style}" showFirstColumn="0" showLastColumn="0" '
            f'showRowStripes="{int(table.row_stripes)}" showColumnStripes="0"/></table>')


# Deflated parts that recur from workbook to workbook (the theme, the styles, the relationships):
# compressed once per process. Bounded, as workbooks of unusual content add entries.
_DEFLATED: dict[str, tuple[int, int, bytes]] = {}
_RECURRING = 16384  # characters: larger parts are sheets, which never recur


def _deflate(part: str) -> tuple[int, int, bytes]:
    """The part's CRC-32, its size in bytes and its raw deflate stream (zlib level 6, as zipfile writes)."""
    found = _DEFLATED.get(part)
    if found is None:
        data = part.encode("utf-8")
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        found = (zlib.crc32(data), len(data), packer.compress(data) + packer.flush())
        if len(part) <= _RECURRING and len(_DEFLATED) < 256:
            _DEFLATED[part] = found
    return found


_ATTRIBUTES = 0o600 << 16  # rw------- when unpacked on Unix, as zipfile writes it


def _zip(parts: dict[str, str], as_of: date) -> bytes:
    """The package as a zip file: entries sorted ("[Content_Types].xml" first), fixed times, deflated.

    Written here rather than with `zipfile` so that recurring parts are compressed once; the layout
    is the plain one zipfile writes (no extra fields, no data descriptors, no zip64: parts are small).
    """
    dos_date = (max(1980, as_of.year) - 1980) << 9 | as_of.month << 5 | as_of.day
    out: list[bytes] = []
    directory: list[bytes] = []
    offset = 0
    for name in sorted(parts):
        crc, size, packed = _deflate(parts[name])
        raw_name = name.encode("ascii")
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, dos_date, crc, len(packed), size,
                             len(raw_name), 0)
        directory.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, dos_date, crc,
                                     len(packed), size, len(raw_name), 0, 0, 0, 0, _ATTRIBUTES, offset) + raw_name)
        out += (header, raw_name, packed)
        offset += len(header) + len(raw_name) + len(packed)
    listing = b"".join(directory)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(directory), len(directory), len(listing), offset, 0)
    return b"".join(out) + listing + end
