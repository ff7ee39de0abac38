"""What a workbook holds, read back with openpyxl, so that two writers' files can be compared by content.

Two writers may write different bytes for the same workbook (shared or inline strings, element order, zip
layout); what must not differ is what a reader gets: every sheet and its state, every cell's value, type
and formula, the result stored beside each formula (openpyxl's `data_only`), data validations, conditional
formats, merged cells, names, tables, charts and the print setup. `digest` reads all of that into plain
JSON-able data.

Two uses:
- `tests/data/workbook-digest.json` holds the digest of a sample deal's workbook, the blank scorecard and the
  pipeline workbook of the sample deals as kept in `tests/data/workbook-digest-deals/`, made by the writer before XlsxWriter (checked in: it keeps guarding now that writer is
  gone), with one change made on purpose since: the scorecard's chart is as wide as the table above it (23.52
  cm, was 26). The test renders them again and compares. After an intended change of content (a catalog word, a
  sample deal), write it again with `.venv/bin/python tests/test_workbook_equivalence.py update` and review
  the diff.
- `.venv/bin/python tests/test_workbook_equivalence.py save DIR` writes every workbook of the sample project
  (with the hostile deal and `test_workbooks`' deals, both languages) into DIR; with
  `DEALBOOK_WORKBOOKS_BEFORE=DIR`, `test_every_workbook_holds_what_the_saved_build_held` compares every one of
  them with what this checkout writes, look (fonts, fills, widths, heights) included.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import sys
import zipfile
from datetime import date, datetime, time
from pathlib import Path

import openpyxl
import pytest

ROOT = Path(__file__).resolve().parent.parent
if __name__ == "__main__":
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from generator.build import read_project  # noqa: E402
from generator.cache import Cache  # noqa: E402
from generator.labels import Labels  # noqa: E402
from generator.site.paths import SitePaths  # noqa: E402
from generator.workbooks.jobs import plan_workbooks  # noqa: E402

AS_OF = date(2026, 11, 27)
DIGEST = ROOT / "tests" / "data" / "workbook-digest.json"
# The sample deals as they were when the digest was made: a sample deal edited since changes what its workbook
# holds, not how workbooks are written.
DEALS = ROOT / "tests" / "data" / "workbook-digest-deals"
DIGESTED = ("workbooks/chenghu-metro-afc.xlsx", "workbooks/scorecard-template.xlsx", "workbooks/pipeline.xlsx")
# Column widths: XlsxWriter stores a width in whole pixels of the default font (7 to a unit).
WIDTH_TOLERANCE = 1 / 7 + 1e-9
# Row heights: XlsxWriter stores them in whole pixels, 3/4 of a point (rounded up by `book`).
HEIGHT_TOLERANCE = 0.75
# A chart's size, in tenths of a millimetre: a chart anchored at two cells ends at a whole pixel (0.26 mm) of the
# cells under it, worked out from their rounded widths.
SIZE_TOLERANCE = 10


# --- Reading a workbook's content ----------------------------------------------------------------

def _value(value: object) -> object:
    """A cell value as JSON: dates as ISO text, floats that are whole as ints (how a number is stored is not
    content), other floats as they are."""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _colour(colour) -> str | None:
    """RRGGBB of a colour given as RGB (alpha ignored: writers differ in it and spreadsheets ignore it)."""
    if colour is None or colour.type != "rgb" or not isinstance(colour.rgb, str):
        return None
    return colour.rgb[-6:].upper()


def _look(cell) -> dict:
    """What a cell looks like: font, fill, border, alignment, number format, quote prefix."""
    font, fill, align, border = cell.font, cell.fill, cell.alignment, cell.border
    look = {"font": [font.name, float(font.sz or 11), bool(font.b), bool(font.i), _colour(font.color)],
            "fmt": cell.number_format}
    if fill is not None and fill.fill_type == "solid":
        look["fill"] = _colour(fill.fgColor)
    sides = [(side.style, _colour(side.color)) for side in (border.left, border.right, border.top, border.bottom)]
    if any(style for style, _ in sides):
        look["border"] = sides
    shown = [align.horizontal, align.vertical, bool(align.wrap_text)]
    if any(shown):
        look["align"] = shown
    if cell.quotePrefix:
        look["quote"] = True
    return look


def _dxf(rule) -> dict:
    style = rule.dxf
    if style is None:
        return {}
    out: dict = {}
    if style.font is not None:
        out["font"] = [bool(style.font.b), _colour(style.font.color)]
    if style.fill is not None:
        # Excel reads a differential fill's colour from bgColor; some writers give fgColor as well.
        out["fill"] = _colour(style.fill.bgColor) or _colour(style.fill.fgColor)
    return out


def _charts(path: Path) -> list[dict]:
    """Each chart's kind, title, series references, axes: from the chart parts (openpyxl does not read charts)."""
    charts = []
    with zipfile.ZipFile(path) as z:
        names = sorted((n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)),
                       key=lambda n: int(re.findall(r"\d+", n)[0]))
        for name in names:
            xml = z.read(name).decode("utf-8")

            def attr(element: str, text: str) -> list[str]:
                return re.findall(rf"<(?:c:)?{element} val=\"([^\"]*)\"", text)

            value_axis = re.search(r"<(?:c:)?valAx>(.*?)</(?:c:)?valAx>", xml, re.S)
            category_axis = re.search(r"<(?:c:)?catAx>(.*?)</(?:c:)?catAx>", xml, re.S)
            assert value_axis and category_axis, name
            number = re.search(r"<(?:c:)?numFmt formatCode=\"([^\"]*)\"", value_axis[1])
            charts.append({
                "direction": attr("barDir", xml),
                "title": "".join(re.findall(r"<a:t>([^<]*)</a:t>", xml)),
                "references": re.findall(r"<(?:c:)?f>([^<]*)</(?:c:)?f>", xml),
                "series": xml.count("<c:ser>") + xml.count("<ser>"),
                "values": {"min": attr("min", value_axis[1]), "max": attr("max", value_axis[1]),
                           "unit": attr("majorUnit", value_axis[1]),
                           # General, or no format at all: the numbers as they are.
                           "format": number[1] if number and number[1] != "General" else None},
                "categories": {"orientation": attr("orientation", category_axis[1]),
                               "skip": attr("tickLblSkip", category_axis[1])},
                "legend": "<c:legend>" in xml or "<legend>" in xml,
            })
    return charts


_EMU_PER_PIXEL = 9525


def _widths(ws) -> dict[str, float]:
    """Each column's width where one is set (one <col> element may set several columns)."""
    return {openpyxl.utils.get_column_letter(c): d.width for d in ws.column_dimensions.values()
            if d.customWidth for c in range(d.min or 1, (d.max or d.min or 1) + 1)}


def _drawings(path: Path, wb) -> list[dict]:
    """Where each chart sits (its top-left cell) and its size in tenths of a millimetre. A one-cell anchor gives
    its size; a two-cell anchor's is worked out from the widths and heights of the cells it spans, in pixels as
    Excel counts them (a width unit is 7 pixels, a point 4/3 of a pixel)."""
    found = []
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        for index, ws in enumerate(wb.worksheets, start=1):
            rels = f"xl/worksheets/_rels/sheet{index}.xml.rels"
            targets = re.findall(r'Target="\.\./drawings/(drawing\d+\.xml)"', z.read(rels).decode()) \
                if rels in names else []
            for target in targets:
                xml = z.read(f"xl/drawings/{target}").decode("utf-8")
                for anchor in re.findall(r"<xdr:(?:one|two)CellAnchor.*?</xdr:(?:one|two)CellAnchor>", xml, re.S):
                    corners = [tuple(int(n) for n in corner) for corner in re.findall(
                        r"<xdr:col>(\d+)</xdr:col><xdr:colOff>(\d+)</xdr:colOff><xdr:row>(\d+)</xdr:row>"
                        r"<xdr:rowOff>(\d+)</xdr:rowOff>", anchor)]
                    size = re.search(r'<xdr:ext cx="(\d+)" cy="(\d+)"', anchor)
                    if size:
                        emu = (int(size[1]), int(size[2]))
                    else:
                        (c1, dx1, r1, dy1), (c2, dx2, r2, dy2) = corners
                        widths = _widths(ws)

                        def column(c: int, widths: dict = widths) -> int:
                            width = widths.get(openpyxl.utils.get_column_letter(c + 1))
                            return round(width * 7) if width is not None else 64

                        def row(r: int, ws=ws) -> int:
                            dim = ws.row_dimensions.get(r + 1)
                            return int(dim.height * 4 / 3) if dim is not None and dim.height else 20

                        emu = (sum(map(column, range(c1, c2))) * _EMU_PER_PIXEL + dx2 - dx1,
                               sum(map(row, range(r1, r2))) * _EMU_PER_PIXEL + dy2 - dy1)
                    found.append({"sheet": ws.title, "col": corners[0][0], "row": corners[0][2],
                                  "size": [round(emu[0] / 3600), round(emu[1] / 3600)]})
    return found


def digest(path: Path, look: bool = False) -> dict:
    """The content of the workbook at `path`; with `look`, also every cell's style, the widths and heights."""
    wb = openpyxl.load_workbook(path)
    stored = openpyxl.load_workbook(path, data_only=True)
    sheets = []
    for ws in wb:
        cells: dict[str, list] = {}
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is None and not (look and cell.has_style):
                    continue
                entry: list = [cell.data_type, _value(cell.value)]
                if cell.data_type == "f":
                    entry.append(_value(stored[ws.title][cell.coordinate].value))
                if look:
                    entry.append(_look(cell))
                cells[cell.coordinate] = entry
        validations = sorted(
            ({"sqref": str(dv.sqref), "type": dv.type, "operator": dv.operator or "between",
              "formula1": dv.formula1, "formula2": dv.formula2, "blank": bool(dv.allow_blank),
              "error": bool(dv.showErrorMessage), "message": dv.error} for dv in ws.data_validations.dataValidation),
            key=lambda v: (v["sqref"], v["formula1"] or ""))
        formats = [{"sqref": str(rng.sqref), "rules": [{"type": r.type, "formula": list(r.formula),
                                                        "stop": bool(r.stopIfTrue), "style": _dxf(r)}
                                                       for r in sorted(rng.rules, key=lambda r: r.priority)]}
                   for rng in ws.conditional_formatting]
        setup, margins = ws.page_setup, ws.page_margins
        fit = ws.sheet_properties.pageSetUpPr
        sheet = {
            "title": ws.title, "state": ws.sheet_state, "cells": cells,
            "merged": sorted(str(m) for m in ws.merged_cells.ranges),
            "validations": validations, "conditional": sorted(formats, key=lambda f: f["sqref"]),
            "freeze": ws.freeze_panes,
            "tables": sorted([t.name, t.ref, [c.name for c in t.tableColumns],
                              t.tableStyleInfo.name if t.tableStyleInfo else None] for t in ws.tables.values()),
        }
        if ws.sheet_state == "visible":
            # The schema's defaults where a writer leaves an attribute out: fitToWidth and fitToHeight are 1.
            sheet["print"] = {
                "orientation": setup.orientation, "paper": str(setup.paperSize) if setup.paperSize else None,
                "fit": bool(fit and fit.fitToPage),
                "pages": [int(setup.fitToWidth if setup.fitToWidth is not None else 1),
                          int(setup.fitToHeight if setup.fitToHeight is not None else 1)],
                "scale": int(setup.scale) if setup.scale else None,
                "footer": ws.oddFooter.center.text, "titles": [ws.print_title_rows, ws.print_title_cols],
                "margins": [margins.left, margins.right, margins.top, margins.bottom, margins.header,
                            margins.footer],
                "breaks": [b.id for b in ws.row_breaks.brk],
            }
        if look:
            sheet["widths"] = _widths(ws)
            sheet["heights"] = {str(k): d.height for k, d in sorted(ws.row_dimensions.items())
                                if d.height is not None}
        sheets.append(sheet)
    return {
        "sheets": sheets,
        "names": {name: dn.attr_text for name, dn in sorted(wb.defined_names.items())},
        "title": wb.properties.title, "creator": wb.properties.creator,
        "charts": _charts(path), "drawings": _drawings(path, wb),
    }


def differences(before: dict, after: dict, where: str = "") -> list[str]:
    """Where two digests differ, one line each (column widths compared to within XlsxWriter's pixel)."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for key in sorted(before.keys() | after.keys(), key=str):
            if key not in after or key not in before:
                out.append(f"{where}/{key}: {before.get(key, '(none)')!r} → {after.get(key, '(none)')!r}")
            elif where.endswith("/widths"):
                if abs(before[key] - after[key]) > WIDTH_TOLERANCE:
                    out.append(f"{where}/{key}: {before[key]!r} → {after[key]!r}")
            elif where.endswith("/heights"):
                if abs(before[key] - after[key]) > HEIGHT_TOLERANCE:
                    out.append(f"{where}/{key}: {before[key]!r} → {after[key]!r}")
            elif key == "size":
                if any(abs(b - a) > SIZE_TOLERANCE for b, a in zip(before[key], after[key], strict=True)):
                    out.append(f"{where}/{key}: {before[key]!r} → {after[key]!r}")
            else:
                out += differences(before[key], after[key], f"{where}/{key}")
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        out = []
        for index, (b, a) in enumerate(zip(before, after, strict=True)):
            label = b.get("title", index) if isinstance(b, dict) else index
            out += differences(b, a, f"{where}/{label}")
        return out
    if isinstance(before, float) and isinstance(after, float | int) and not isinstance(after, bool):
        return [] if math.isclose(before, after, rel_tol=0, abs_tol=0) else [f"{where}: {before!r} → {after!r}"]
    return [] if before == after else [f"{where}: {before!r} → {after!r}"]


# --- The sample project's workbooks --------------------------------------------------------------

def sample_workbooks(folder: Path, languages: tuple[str, ...] = ("en",), extra: bool = False) -> dict[str, bytes]:
    """Every workbook of the sample deals (`DEALS`; and, with `extra`, the hostile deal and `test_workbooks`'
    deals), rendered without a cache or git history, for a fixed as-of date; keyed by language/site path."""
    from test_workbooks import HOSTILE, TEST_DEALS  # the deals the workbook tests use

    project = folder / "project"
    shutil.copytree(ROOT / "playbook", project / "playbook")
    deals = project / "deals"
    deals.mkdir(parents=True)
    for path in sorted(DEALS.glob("*.yml")):
        shutil.copy(path, deals / path.name)
    if extra:
        import textwrap

        shutil.copy(HOSTILE, deals / "hostile.yml")
        for name, text in TEST_DEALS.items():
            (deals / name).write_text(textwrap.dedent(text), encoding="utf-8")
    out = {}
    for language in languages:
        labels = Labels(language)
        read = read_project(project, project / "playbook" / "playbook.yml", deals, AS_OF, labels, Cache(None),
                            history="none")
        assert read.pipeline is not None
        for job in plan_workbooks(read.pipeline, labels, SitePaths(), Cache(None)):
            out[f"{language}/{job.path}"] = job.render()
    return out


def _digests(folder: Path) -> dict[str, dict]:
    books = sample_workbooks(folder)
    out = {}
    for name in DIGESTED:
        path = folder / Path(name).name
        path.write_bytes(books[f"en/{name}"])
        out[name] = digest(path)
    return out


def test_the_sample_workbooks_hold_what_they_held(tmp_path: Path) -> None:
    """The sample deal's workbook, the blank scorecard and the pipeline workbook: the same sheets, cells,
    formulas, stored results, validations, conditional formats, names, tables, charts and print setup as the
    digest in tests/data (made by the earlier writer)."""
    expected = json.loads(DIGEST.read_text(encoding="utf-8"))
    got = json.loads(json.dumps(_digests(tmp_path)))  # as JSON has it: tuples as lists
    found = differences(expected, got)
    assert found == [], ("the workbooks no longer hold what tests/data/workbook-digest.json records; if the change "
                         "is intended, run `.venv/bin/python tests/test_workbook_equivalence.py update` and review "
                         "the diff:\n" + "\n".join(found[:40]))
    # The comparison sees a change of a single cell.
    changed = json.loads(json.dumps(got))
    changed["workbooks/pipeline.xlsx"]["sheets"][2]["cells"]["B2"][1] += "!"
    assert len(differences(expected, changed)) == 1


def test_the_digest_reads_formulas_stored_results_and_validations(tmp_path: Path) -> None:
    expected = json.loads(DIGEST.read_text(encoding="utf-8"))
    deal = expected["workbooks/chenghu-metro-afc.xlsx"]
    summary = deal["sheets"][0]
    kind, formula, result = summary["cells"]["B21"]
    assert kind == "f" and formula.startswith("=") and isinstance(result, float) and 0 < result < 1
    assert [s["state"] for s in deal["sheets"]][-1] == "hidden"
    assert {v["type"] for s in deal["sheets"] for v in s["validations"]} >= {"list", "whole", "decimal", "date"}
    assert deal["sheets"][1]["conditional"][0]["rules"][0]["style"]["fill"]
    assert deal["charts"][0]["references"] and deal["sheets"][2]["print"]["titles"][0] == "$2:$2"


def test_text_is_only_ever_written_as_a_string(tmp_path: Path) -> None:
    """XlsxWriter's `write()` takes a text that starts with "=" for a formula: the writer never calls it, and text
    that looks like a formula comes out as a string with the quote prefix."""
    from generator.workbooks.book import Workbook
    from generator.workbooks.cells import Sheet, workbook_bytes

    assert not re.search(r"\.write\(", (ROOT / "generator" / "workbooks" / "book.py").read_text(encoding="utf-8"))
    wb = Workbook(AS_OF)
    sheet = Sheet(wb.add_sheet("Sheet"), [10])
    texts = ["=1+1", "@SUM(1)", "-2+3", "+A1", "=HYPERLINK(\"http://evil.example/\")", "#N/A"]
    for row, text in enumerate(texts, start=1):
        sheet.text(row, 1, text)
    path = tmp_path / "texts.xlsx"
    path.write_bytes(workbook_bytes(wb, AS_OF))
    cells = [row[0] for row in openpyxl.load_workbook(path)["Sheet"].iter_rows()]
    assert [(c.value, c.data_type) for c in cells] == [(text, "s") for text in texts]
    assert [c.quotePrefix for c in cells] == [True, True, True, True, True, False]
    with zipfile.ZipFile(path) as z:
        assert "<f>" not in z.read("xl/worksheets/sheet1.xml").decode()


@pytest.mark.skipif(not os.environ.get("DEALBOOK_WORKBOOKS_BEFORE"),
                    reason="set DEALBOOK_WORKBOOKS_BEFORE to a folder written by `save` with an earlier checkout")
def test_every_workbook_holds_what_the_saved_build_held(tmp_path: Path) -> None:
    before = Path(os.environ["DEALBOOK_WORKBOOKS_BEFORE"])
    books = sample_workbooks(tmp_path, ("en", "zh"), extra=True)
    saved = sorted(p.relative_to(before).as_posix() for p in before.rglob("*.xlsx"))
    assert saved == sorted(books)
    report = {}
    for name in saved:
        path = tmp_path / "after" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(books[name])
        found = differences(digest(before / name, look=True), digest(path, look=True))
        if found:
            report[name] = found
    assert report == {}, json.dumps(report, indent=1, ensure_ascii=False)[:20000]


def main(argv: list[str]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        if argv[:1] == ["update"]:
            DIGEST.write_text(json.dumps(_digests(Path(tmp)), ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                              encoding="utf-8")
            print(f"wrote {DIGEST}")
        elif argv[:1] == ["save"] and len(argv) == 2:
            folder = Path(argv[1])
            for name, data in sample_workbooks(Path(tmp), ("en", "zh"), extra=True).items():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_bytes(data)
            print(f"saved the workbooks into {folder}")
        else:
            raise SystemExit("usage: test_workbook_equivalence.py update | save DIR")


if __name__ == "__main__":
    main(sys.argv[1:])
