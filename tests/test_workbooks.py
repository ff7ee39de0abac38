"""The Excel workbooks: built by the real site build, opened with openpyxl, recalculated by real LibreOffice."""

from __future__ import annotations

import io
import json
import logging
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import yaml
from conftest import AS_OF_EPOCH, ROOT, Project, Recalc
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from workbook_checks import (
    INLINE_STRING_WARNING,
    audit,
    audit_tool,
    excel_limit_problems,
    normalised,
    print_to_pdf,
    printed_pages,
)

from generator.build import read_project
from generator.cache import Cache
from generator.labels import Labels
from generator.site.paths import SitePaths
from generator.sources.stage_model import StageModel, load_stage_model
from generator.workbooks.book import Workbook
from generator.workbooks.cells import AMOUNT, WHOLE_AMOUNT, Sheet, workbook_bytes
from generator.workbooks.deal_book import INPUT_NAMES, RESULT_NAMES
from generator.workbooks.jobs import Job, plan_workbooks
from generator.workbooks.pipeline_book import FORECAST_JSON_KEYS
from generator.workbooks.plain_text import plain_text

AS_OF = date(2026, 11, 27)
HOSTILE = ROOT / "tests" / "data" / "hostile.yml"
EDGE = "rounding-edge"  # see test_scores_on_a_rounding_boundary_agree

# Deals written by the tests, on top of the samples and the hostile deal.
TEST_DEALS = {
    # Closes in 49 days, scored 60: grade B; scored all 5 it must become A.
    "closing-soon.yml": """\
        title: Closing soon
        account: Example Co
        owner: Test Rep
        stage: 5
        status: open
        amount: 333.33
        expected_close: 2027-01-15
        qualification: {funding: 3, technical_fit: 3}
        """,
    # Unscored: the likelihood is the probability override × 100.
    "unscored-override.yml": """\
        title: Unscored with a probability
        account: Example Co
        owner: Test Rep
        stage: 2
        status: open
        amount: 98765.43
        currency: USD
        probability: 0.75
        expected_close: 2027-02-01
        """,
    # Text that a spreadsheet would take for a formula or an error value, and a grade override.
    "formula-text.yml": """\
        title: "=SUM(A1:A3)"
        account: "#N/A"
        owner: "@me"
        stage: 3
        status: lost
        amount: 5000
        currency: EUR
        grade: B
        expected_close: 2027-06-30
        lost_reason: "=WEBSERVICE(\\"http://evil.example/\\")"
        summary: "-1"
        qualification: {project_level: 2, service: 5}
        stakeholders:
          - {name: "=1+2", title: "#REF!", role: coach, influence: low, stance: champion, notes: "+A1"}
        exits:
          1: {date: 2026-03-01, evidence: "#DIV/0!"}
        negotiation:
          terms:
            - {topic: delivery, opening: "=NOW()", target: "=TODAY()"}
            - {topic: delivery, opening: "second delivery term"}
        """,
    # Python and the spreadsheet round 28.749999999999996 differently (28.7 against 28.8).
    f"{EDGE}.yml": """\
        title: A score on a rounding boundary
        account: Example Co
        owner: Test Rep
        stage: 1
        status: open
        amount: 1000
        expected_close: 2027-12-31
        qualification: {funding: 1, technical_fit: 1, relationship: 1, product: 1, price: 1, solution: 3,
                        service: 4}
        """,
}


@dataclass
class Built:
    project: Project
    model: StageModel
    deals: list[dict]  # the site's /deals.json

    def workbook(self, name: str) -> Path:
        return self.project.site / "workbooks" / f"{name}.xlsx"

    @property
    def all_workbooks(self) -> list[Path]:
        return sorted((self.project.site / "workbooks").glob("*.xlsx"))


def make_project(root: Path, deals: bool = True) -> Project:
    root.mkdir(parents=True)
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(ROOT / "playbook", root / "playbook")
    project = Project(root)
    project.deals.mkdir()
    if deals:
        for path in sorted((ROOT / "deals").glob("*.y*ml")):
            shutil.copy(path, project.deals / path.name)
        shutil.copy(HOSTILE, project.deals / "hostile.yml")
        for name, text in TEST_DEALS.items():
            project.write_deal(name, text)
    return project


def build(project: Project) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", AS_OF_EPOCH)
        mp.chdir(project.root)
        project.build()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    project = make_project(tmp_path_factory.mktemp("workbooks") / "project")
    build(project)
    deals = json.loads((project.site / "deals.json").read_text(encoding="utf-8"))
    return Built(project, load_stage_model(project.model), deals)


# --- LibreOffice ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def recalculated(built: Built, libreoffice: Recalc, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return libreoffice(built.all_workbooks, tmp_path_factory.mktemp("recalculated"))


def named_cell(wb: openpyxl.Workbook, name: str):
    """The one cell a workbook-level name points to."""
    assert name in wb.defined_names, f"no defined name {name!r}"
    destinations = list(wb.defined_names[name].destinations)
    assert len(destinations) == 1
    sheet, ref = destinations[0]
    assert ":" not in ref, f"{name} is a range, not one cell: {ref}"
    return wb[sheet][ref.replace("$", "")]


def named_range(wb: openpyxl.Workbook, name: str) -> list:
    (sheet, ref), = wb.defined_names[name].destinations
    cells = wb[sheet][ref.replace("$", "")]
    return [c for row in cells for c in row]


def results(path: Path) -> dict:
    wb = openpyxl.load_workbook(path, data_only=True)
    return {name: named_cell(wb, name).value for name in RESULT_NAMES}


def blank(value) -> bool:
    return value is None or value == ""


# --- What is published ---------------------------------------------------------------------

def test_every_deal_has_a_workbook_with_the_sheets_names_and_live_formulas(built: Built) -> None:
    labels = Labels("en")
    sheets = [labels.wb_sheet_summary, labels.wb_sheet_scorecard, labels.wb_sheet_stakeholders,
              labels.wb_sheet_negotiation, labels.wb_sheet_plan, labels.wb_sheet_stages]
    ids = [d["id"] for d in built.deals]
    assert len(ids) >= 5 and "hostile" in ids
    published = {p.stem for p in built.all_workbooks}
    assert published == {*ids, "pipeline", "scorecard-template"}
    for name in [*ids, "scorecard-template"]:
        wb = openpyxl.load_workbook(built.workbook(name))
        assert wb.sheetnames == [*sheets, labels.wb_sheet_import], name
        assert [ws.sheet_state for ws in wb] == ["visible"] * 6 + ["hidden"], name
        for result in RESULT_NAMES:
            formula = named_cell(wb, result).value
            assert isinstance(formula, str) and formula.startswith("="), (name, result, formula)
        for key in INPUT_NAMES:
            named_cell(wb, key)
        scores = named_range(wb, "FactorScores")
        assert len(scores) == len(built.model.evaluation.factors) == 9
        assert named_cell(wb, "AsOf").value == datetime(2026, 11, 27)
        formulas = [c.value for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"]
        assert not [f for f in formulas if re.search(r"\b(TODAY|NOW)\(", f)], name
        assert "ROUND(SUMPRODUCT(FactorWeights,FactorScores)" in named_cell(wb, "Score").value


def test_the_scorecard_holds_the_deal_scores_and_the_model_weights(built: Built) -> None:
    deal = yaml.safe_load((built.project.deals / "chenghu-metro-afc.yml").read_text(encoding="utf-8"))
    wb = openpyxl.load_workbook(built.workbook("chenghu-metro-afc"))
    factors = built.model.evaluation.factors
    scores = [c.value for c in named_range(wb, "FactorScores")]
    assert scores == [deal["qualification"].get(f.key) for f in factors]
    assert [c.value for c in named_range(wb, "FactorWeights")] == [f.weight for f in factors]
    template = openpyxl.load_workbook(built.workbook("scorecard-template"))
    assert [c.value for c in named_range(template, "FactorScores")] == [None] * 9
    probabilities = [c.value for c in named_range(wb, "StageProbabilities")]
    assert probabilities == [s.probability for s in built.model.stages]


def test_inputs_have_dropdowns_and_range_checks(built: Built) -> None:
    model = built.model
    wb = openpyxl.load_workbook(built.workbook("hostile"))

    def validation_of(cell) -> object:
        found = [dv for dv in cell.parent.data_validations.dataValidation if cell.coordinate in dv.sqref]
        assert len(found) == 1, f"{cell.parent.title}!{cell.coordinate} has {len(found)} validations"
        return found[0]

    for cell in named_range(wb, "FactorScores"):
        dv = validation_of(cell)
        assert dv.type == "list" and dv.formula1 == '"1,2,3,4,5"' and dv.showErrorMessage
    dv = validation_of(named_cell(wb, "Stage"))
    assert (dv.type, dv.formula1, dv.formula2) == ("whole", "1", str(len(model.stages)))
    assert validation_of(named_cell(wb, "Status")).formula1 == '"open,won,lost,abandoned"'
    assert validation_of(named_cell(wb, "GradeOverride")).formula1 == '"A,B,C,D"'
    assert validation_of(named_cell(wb, "ProbabilityOverride")).type == "decimal"
    people = wb[Labels("en").wb_sheet_stakeholders]
    for column, vocabulary in (("C", "roles"), ("D", "influence"), ("E", "stance")):
        for row in (3, 12):  # the stakeholder and an empty row to fill in
            dv = validation_of(people[f"{column}{row}"])
            assert dv.type == "list" and dv.formula1 == '"' + ",".join(model.keys(vocabulary)) + '"'
    assert people["F3"].value == datetime(2026, 10, 1) and people["F3"].is_date


def test_weak_and_strong_scores_are_coloured_by_the_model_thresholds(built: Built) -> None:
    wb = openpyxl.load_workbook(built.workbook("chenghu-metro-afc"))
    ws = wb[Labels("en").wb_sheet_scorecard]
    rules = {str(rng.sqref): [r.formula[0] for r in rng.rules] for rng in ws.conditional_formatting}
    assert rules == {"E3:E11": ["AND(ISNUMBER(E3),E3<3)", "AND(ISNUMBER(E3),E3>=4)"]}
    with zipfile.ZipFile(built.workbook("chenghu-metro-afc")) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        chart = z.read(charts[0]).decode()
    assert len(charts) == 1 and "$E$3:$E$11" in chart and "$B$3:$B$11" in chart


def test_sheets_are_set_up_for_printing(built: Built) -> None:
    for name in ("chenghu-metro-afc", "pipeline"):
        wb = openpyxl.load_workbook(built.workbook(name))
        for ws in wb:
            if ws.sheet_state != "visible":
                continue  # the hidden data sheet is not for reading
            assert ws.page_setup.orientation == "landscape", ws.title
            assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
            # One page wide, but the Deals sheet: as many as readable print takes (see the tests of print below).
            # (No fitToWidth attribute is the schema's default, 1: XlsxWriter leaves it out.)
            assert ws.page_setup.fitToWidth in (None, 1) or ws.title == Labels("en").wb_sheet_deals, ws.title
            assert ws.freeze_panes, ws.title
            widths = [ws.column_dimensions[c].width for c in "ABC"]
            assert all(w >= 7 for w in widths), (ws.title, widths)
    wb = openpyxl.load_workbook(built.workbook("chenghu-metro-afc"))
    for title in (Labels("en").wb_sheet_stakeholders, Labels("en").wb_sheet_negotiation):
        assert wb[title].print_title_rows == "$2:$2"
        assert wb[title].freeze_panes == "A3"


# --- Printed: every workbook of both languages through LibreOffice's PDF export --------------------------

MIN_PRINTED_PT = 8  # the least font size in print, in points, the Deals sheet must keep


@pytest.fixture(scope="module")
def printed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], list]:
    """(language, workbook file stem) → its printed pages, for every workbook of the English and Chinese sites."""
    folders = {"en": built.project.site / "workbooks", "zh": built.project.site / "zh" / "workbooks"}
    profile = tmp_path_factory.mktemp("lo-print-profile")
    out = {}
    for language, folder in folders.items():
        pdfs = print_to_pdf(sorted(folder.glob("*.xlsx")), tmp_path_factory.mktemp(f"printed-{language}"), profile)
        out.update({(language, workbook.stem): printed_pages(pdf) for workbook, pdf in pdfs.items()})
    return out


def test_every_printed_workbook_shows_every_number_and_date(built: Built, printed: dict) -> None:
    """A number or date too wide for its column prints as ###: no column of any workbook is that narrow, in
    either language (a Chinese date, 2026年10月28日, is half as wide again as 2026-10-28)."""
    assert len(printed) == 2 * (len(built.deals) + 2)
    hashes = {f"{language}/{name} p.{n} ({page.sheet})": [line for line in page.lines if "###" in line]
              for (language, name), pages in printed.items() for n, page in enumerate(pages, start=1)}
    assert {where: lines for where, lines in hashes.items() if lines} == {}
    # The check can fail: the Chinese deal workbooks print dates (last contact, date met) on their pages.
    zh_people = [line for (language, _), pages in printed.items() if language == "zh" for page in pages
                 if page.sheet == Labels("zh").wb_sheet_stakeholders for line in page.lines]
    assert any(re.search(r"20\d\d年\d{1,2}月\d{1,2}日", line) for line in zh_people)


def test_the_printed_pipeline_shows_every_stage_name_whole(built: Built, printed: dict) -> None:
    """On the Summary and the Forecast sheet, each stage name is on one line of a page, whole (not cut off at the
    next column: LibreOffice prints only the part of a text that its cell shows)."""
    for language, name in (("en", "pipeline"), ("zh", "pipeline-zh")):
        labels = Labels(language)
        pages = printed[language, name]
        for sheet in (labels.wb_sheet_summary, labels.wb_sheet_forecast):
            lines = [line for page in pages if page.sheet == sheet for line in page.lines]
            assert lines, (language, sheet, {page.sheet for page in pages})
            missing = [labels.stage_name(stage) for stage in built.model.stages
                       if not any(normalised(labels.stage_name(stage)) in line for line in lines)]
            assert missing == [], (language, sheet)


def test_the_deals_sheet_prints_readable_across_pages(built: Built, printed: dict) -> None:
    """Landscape, as many pages wide as it takes to print at 8 pt or more, the header row and the deal id on every
    page: the workbook's scale times its largest-scaled font is at least 8 pt, and so is every text on the PDF's
    pages of the sheet (poppler reads each text's size as drawn: font size times the page's scale)."""
    for language, name in (("en", "pipeline"), ("zh", "pipeline-zh")):
        labels = Labels(language)
        folder = built.project.site / ("workbooks" if language == "en" else "zh/workbooks")
        ws = openpyxl.load_workbook(folder / f"{name}.xlsx")[labels.wb_sheet_deals]
        setup = ws.page_setup
        assert ws.sheet_properties.pageSetUpPr.fitToPage and setup.orientation == "landscape"
        assert setup.fitToHeight == 0 and setup.fitToWidth >= 2, (setup.fitToWidth, setup.fitToHeight)
        assert (ws.print_title_rows, ws.print_title_cols) == ("$1:$1", "$A:$A")
        sizes = {cell.font.sz or 11 for row in ws.iter_rows() for cell in row}
        assert setup.scale / 100 * min(sizes) >= MIN_PRINTED_PT, (setup.scale, sizes)
        pages = [page for page in printed[language, name] if page.sheet == labels.wb_sheet_deals]
        assert len(pages) >= setup.fitToWidth
        assert min(size for page in pages for size in page.sizes) >= MIN_PRINTED_PT
        # The header row and the deal ids on every page.
        header = normalised(labels.wb_deal_id)
        assert all(any(line.startswith(header) for line in page.lines) for page in pages), language
        assert all(any(line.startswith(d["id"]) for d in built.deals for line in page.lines) for page in pages)


def test_amounts_are_whole_numbers_unless_the_deal_has_cents(built: Built) -> None:
    ws = openpyxl.load_workbook(built.workbook("pipeline"))[Labels("en").wb_sheet_deals]
    formats = {ws.cell(r, 1).value: (ws.cell(r, 10).number_format, ws.cell(r, 12).number_format,
                                     ws.cell(r, 18).number_format) for r in range(2, len(built.deals) + 2)}
    for deal in built.deals:
        expected = WHOLE_AMOUNT if deal["amount"] == int(deal["amount"]) else AMOUNT
        assert formats[deal["id"]] == (expected,) * 3, deal["id"]
    assert formats["closing-soon"][0] == AMOUNT and formats["chenghu-metro-afc"][0] == WHOLE_AMOUNT
    wb = openpyxl.load_workbook(built.workbook("chenghu-metro-afc"))
    assert named_cell(wb, "Amount").number_format == named_cell(wb, "WeightedAmount").number_format == WHOLE_AMOUNT


def test_the_summary_starts_in_the_reporting_currency(built: Built, recalculated: dict[str, Path]) -> None:
    """The first page: open deals by stage and by grade, every currency converted, as /deals.json converts them;
    the tables per currency start on the next page."""
    labels, model = Labels("en"), built.model
    ws = openpyxl.load_workbook(recalculated["pipeline"], data_only=True)[labels.wb_sheet_summary]
    styled = openpyxl.load_workbook(built.workbook("pipeline"))[labels.wb_sheet_summary]
    (brk,) = styled.row_breaks.brk
    first_page = list(ws.iter_rows(min_row=1, max_row=brk.id, max_col=5, values_only=True))
    assert labels("wb_open_deals_reporting", currency=model.reporting_currency) in {row[1] for row in first_page}
    currencies = {d["currency"] for d in built.deals}
    assert not any(row[0] in currencies for row in first_page)
    assert any(row[0] in currencies for row in ws.iter_rows(min_row=brk.id + 1, max_col=1, values_only=True))
    open_deals = [d for d in built.deals if d["status"] == "open"]
    by_stage = {row[0]: row[2:] for row in first_page if isinstance(row[0], int)}
    by_grade = {row[0]: row[2:] for row in first_page if row[0] in model.grades}
    assert sorted(by_stage) == [s.number for s in model.stages] and sorted(by_grade) == sorted(model.grades)
    for key, figures, field in [*((k, v, "stage") for k, v in by_stage.items()),
                                *((k, v, "grade") for k, v in by_grade.items())]:
        mine = [d for d in open_deals if d[field] == key]
        assert figures == (len(mine), pytest.approx(sum(d["amount_reporting"] for d in mine), abs=1e-6),
                           pytest.approx(sum(d["weighted_amount_reporting"] for d in mine), abs=1e-6)), (field, key)
    assert sum(figures[0] for figures in by_stage.values()) == len(open_deals) >= 5


def test_workbook_file_names_differ_per_language_and_the_pages_link_them(built: Built) -> None:
    """Downloading a workbook in both languages gives two names, not pipeline(1).xlsx."""
    site = built.project.site
    english = {p.name for p in (site / "workbooks").glob("*.xlsx")}
    chinese = {p.name for p in (site / "zh" / "workbooks").glob("*.xlsx")}
    assert len(english) == len(chinese) == len(built.deals) + 2 and not english & chinese
    assert {"pipeline-zh.xlsx", "scorecard-template-zh.xlsx", "chenghu-metro-afc-zh.xlsx"} <= chinese
    deal = next(d for d in built.deals if d["id"] == "chenghu-metro-afc")
    for page in (site / "zh" / built.project.paths.url(built.project.paths.pipeline_page),
                 site / "zh" / deal["url"]):
        path = page / "index.html" if page.is_dir() else page
        links = re.findall(r'href="([^"]+\.xlsx)"', path.read_text(encoding="utf-8"))
        assert links and all((path.parent / link).resolve().is_file() for link in links), (page, links)
        assert all(link.endswith("-zh.xlsx") for link in links), links


def test_negotiation_has_a_row_per_topic_filled_from_the_deal(built: Built) -> None:
    model = built.model
    deal = yaml.safe_load((built.project.deals / "chenghu-metro-afc.yml").read_text(encoding="utf-8"))
    terms = {t["topic"]: t for t in deal["negotiation"]["terms"]}
    ws = openpyxl.load_workbook(built.workbook("chenghu-metro-afc"))[Labels("en").wb_sheet_negotiation]
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    assert [r[0] for r in rows] == [Labels("en").term(model, "topics", k) for k in model.keys("topics")]
    for key, row in zip(model.keys("topics"), rows, strict=True):
        term = terms.get(key, {})
        expected = [term.get(f) for f in ("opening", "target", "walk_away", "customer_position", "concessions")]
        assert list(row[1:6]) == [str(v) if v is not None else None for v in expected], key
    # Two terms on one topic get two rows.
    ws = openpyxl.load_workbook(built.workbook("formula-text"))[Labels("en").wb_sheet_negotiation]
    delivery = [r for r in ws.iter_rows(min_row=3, values_only=True) if r[0] == Labels("en").term(model, "topics", "delivery")]
    assert [r[1] for r in delivery] == ["=NOW()", "second delivery term"]


def test_stages_sheet_is_a_checklist_of_exits(built: Built) -> None:
    deal = yaml.safe_load(HOSTILE.read_text(encoding="utf-8"))
    ws = openpyxl.load_workbook(built.workbook("hostile"))[Labels("en").wb_sheet_stages]
    rows = list(ws.iter_rows(min_row=3, max_row=10, values_only=True))
    assert [r[0] for r in rows] == list(range(1, 9))
    assert [r[2] for r in rows] == [s.exit_criterion for s in built.model.stages]
    for number, row in enumerate(rows, start=1):
        met = deal["exits"].get(number)
        assert row[5] == (datetime.combine(met["date"], datetime.min.time()) if met else None)
        assert row[6] == (met["evidence"] if met else None)


# --- No formula injection ------------------------------------------------------------------

def _strings(node) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return [node] if isinstance(node, str) else []


def _cells(path: Path, data_only: bool = False) -> list:
    wb = openpyxl.load_workbook(path, data_only=data_only)
    return [c for ws in wb for row in ws.iter_rows() for c in row]


def _formulas(path: Path) -> dict[tuple[str, str], str]:
    wb = openpyxl.load_workbook(path)
    return {(ws.title, c.coordinate): c.value for ws in wb for row in ws.iter_rows() for c in row
            if c.data_type == "f"}


def test_deal_text_is_written_as_literal_strings(built: Built) -> None:
    hostile = yaml.safe_load(HOSTILE.read_text(encoding="utf-8"))
    shown = {k: hostile[k] for k in ("title", "account", "owner", "lost_reason")}
    shown["summary"] = plain_text(hostile["summary"])  # Markdown: its words, as plain text
    shown["people"] = hostile["stakeholders"]
    shown["exits"] = [e["evidence"] for e in hostile["exits"].values()]
    shown["terms"] = [{k: v for k, v in t.items() if k != "topic"} for t in hostile["negotiation"]["terms"]]
    texts = _strings(shown)
    assert {"=HYPERLINK(\"http://evil.example/\",\"click\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)",
            "\t=cmd"} <= set(texts)
    cells = _cells(built.workbook("hostile"))
    strings = {c.value for c in cells if c.data_type == "s"}
    assert not [t for t in texts if t not in strings]
    assert all(c.data_type in ("s", "n", "d", "f") for c in cells if c.value is not None)
    # The deal's text added no formula: the hostile workbook has exactly the blank template's formulas.
    assert _formulas(built.workbook("hostile")) == _formulas(built.workbook("scorecard-template"))
    # Cells that begin like a formula carry the quote prefix, so editing them in Excel keeps them text.
    owner = next(c for c in cells if c.value == hostile["owner"])
    assert owner.quotePrefix

    odd = yaml.safe_load(textwrap.dedent(TEST_DEALS["formula-text.yml"]))
    odd_texts = [t for t in _strings(odd) if t.startswith(("=", "#", "@", "-", "+"))]
    strings = {c.value for c in _cells(built.workbook("formula-text")) if c.data_type == "s"}
    assert "#N/A" in odd_texts and not [t for t in odd_texts if t not in strings]
    with zipfile.ZipFile(built.workbook("formula-text")) as z:
        xml = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
    formulas = "".join(re.findall(r"<f>(.*?)</f>", xml))
    assert 't="e"' not in xml and "SUM(A1:A3)" not in formulas and "WEBSERVICE" not in formulas
    assert "WEBSERVICE" not in xml  # the text itself is a shared string, outside the sheets

    pipeline = openpyxl.load_workbook(built.workbook("pipeline"))
    table = [c for row in pipeline[Labels("en").wb_sheet_deals].iter_rows() for c in row
             if c.value in (hostile["title"], hostile["owner"], "=SUM(A1:A3)", "#N/A")]
    assert len(table) == 4 and all(c.data_type == "s" for c in table)
    # The owner is also a row label of the forecast by owner: text there too, and never inside a formula.
    forecast = [c for row in pipeline[Labels("en").wb_sheet_forecast].iter_rows() for c in row]
    owners = [c for c in forecast if c.value == hostile["owner"]]
    assert owners and all(c.data_type == "s" for c in owners)
    assert not [c for c in forecast if c.data_type == "f" and ("HYPERLINK" in c.value or "@" in c.value)]


def test_libreoffice_shows_deal_text_as_typed(built: Built, recalculated: dict[str, Path]) -> None:
    hostile = yaml.safe_load(HOSTILE.read_text(encoding="utf-8"))
    values = {c.value for c in _cells(recalculated["hostile"], data_only=True)}
    for text in (hostile["owner"], hostile["lost_reason"], hostile["stakeholders"][0]["title"],
                 hostile["exits"][2]["evidence"], hostile["exits"][3]["evidence"],
                 hostile["negotiation"]["terms"][0]["opening"]):
        assert text in values, text
    owner = [c for c in _cells(recalculated["hostile"], data_only=True) if c.value == hostile["owner"]]
    assert owner and all(c.data_type == "s" for c in owner)
    odd = {c.value for c in _cells(recalculated["formula-text"], data_only=True)}
    assert {"=SUM(A1:A3)", "#N/A", "#REF!", "#DIV/0!", "=NOW()", "=TODAY()", "@me", "-1"} <= odd


# --- Formula results agree with the site ---------------------------------------------------

def test_libreoffice_results_equal_deals_json_for_every_deal(built: Built, recalculated: dict[str, Path]) -> None:
    checked = 0
    sample_ids = {p.stem for p in (ROOT / "deals").glob("*.y*ml")}
    for deal in built.deals:
        if deal["id"] == EDGE:
            continue
        got = results(recalculated[deal["id"]])
        where = f"{deal['id']}: workbook {got} vs deals.json"
        assert blank(got["Score"]) if deal["score"] is None else got["Score"] == deal["score"], where
        assert got["Grade"] == deal["grade"], where
        assert got["Probability"] == deal["probability"], where
        assert got["WeightedAmount"] == pytest.approx(deal["weighted_amount"], rel=1e-12, abs=1e-9), where
        checked += 1
    ids = {d["id"] for d in built.deals}
    assert sample_ids <= ids and checked == len(ids) - 1
    grades = {d["grade"] for d in built.deals}
    assert len(grades) >= 3  # the deals exercise the grade rule, not one branch of it
    assert any(d["score"] is None for d in built.deals) and any(d["status"] != "open" for d in built.deals)


def test_template_computes_for_stage_one_and_no_scores(built: Built, recalculated: dict[str, Path]) -> None:
    got = results(recalculated["scorecard-template"])
    assert blank(got["Score"]) and blank(got["Grade"])
    assert got["Probability"] == built.model.stage(1).probability and got["WeightedAmount"] == 0


def test_pipeline_totals_equal_the_site(built: Built, recalculated: dict[str, Path]) -> None:
    labels = Labels("en")
    wb = openpyxl.load_workbook(recalculated["pipeline"], data_only=True)
    table = wb[labels.wb_sheet_deals]
    header = [c.value for c in table[1]]
    rows = [dict(zip(header, r, strict=True)) for r in table.iter_rows(min_row=2, values_only=True)]
    by_id = {d["id"]: d for d in built.deals}
    assert [r[labels.wb_deal_id] for r in rows] == [d["id"] for d in built.deals]
    for row in rows:
        deal = by_id[row[labels.wb_deal_id]]
        assert row[labels.weighted_amount] == pytest.approx(deal["weighted_amount"], rel=1e-12, abs=1e-9)
        assert row[labels.grade] == deal["grade"]

    summary = wb[labels.wb_sheet_summary]
    currencies = sorted({d["currency"] for d in built.deals})
    seen: dict[tuple[str, str], list] = {}
    block: tuple[str, str] | None = None
    for a, _b, count, amount, weighted in summary.iter_rows(min_row=1, max_col=5, values_only=True):
        if a in currencies:
            block = (a, "grade" if (a, "stage") in seen else "stage")
            seen[block] = []
        elif block and a is not None and isinstance(count, int | float) and amount is not None:
            seen[block].append((a, count, amount, weighted))
    assert sorted(seen) == sorted((c, kind) for c in currencies for kind in ("stage", "grade"))
    for (currency, kind), lines in seen.items():
        for key, count, amount, weighted in lines:
            mine = [d for d in built.deals if d["currency"] == currency and d["status"] == "open"
                    and (d["stage"] if kind == "stage" else d["grade"]) == key]
            assert count == len(mine), (currency, kind, key)
            assert amount == pytest.approx(sum(d["amount"] for d in mine), abs=1e-6)
            assert weighted == pytest.approx(sum(d["weighted_amount"] for d in mine), abs=1e-6)
    assert sum(count for _, count, _, _ in seen[("CNY", "stage")]) >= 2


def test_pipeline_is_a_filtered_table_with_live_weighted_amounts(built: Built) -> None:
    wb = openpyxl.load_workbook(built.workbook("pipeline"))
    ws = wb[Labels("en").wb_sheet_deals]
    (table,) = ws.tables.values()
    assert table.ref == f"A1:S{len(built.deals) + 1}"
    assert table.autoFilter is not None and table.autoFilter.ref == table.ref
    assert [c.value for c in ws["L"][1:]] == [f"=ROUND(J{r}*K{r},2)" for r in range(2, len(built.deals) + 2)]
    summary = wb[Labels("en").wb_sheet_summary]
    formulas = [c.value for row in summary.iter_rows() for c in row if c.data_type == "f"]
    assert any(f.startswith("=SUMIFS(DealWeightedAmount,") for f in formulas)
    with zipfile.ZipFile(built.workbook("pipeline")) as z:
        assert re.search(r'<(c:)?barDir val="bar"', z.read("xl/charts/chart1.xml").decode())


# --- The forecast: Rates and Forecast sheets ----------------------------------------------------

def forecast_figures(path: Path) -> dict:
    """The Forecast sheet's three tables, read through their defined names, in /pipeline.json's shape."""
    wb = openpyxl.load_workbook(path, data_only=True)

    def table(name: str) -> list[list]:
        (sheet, ref), = wb.defined_names[name].destinations
        return [[c.value for c in row] for row in wb[sheet][ref.replace("$", "")]]

    def figures(values: list) -> dict:
        return {k: None if v in (None, "") else v for k, v in zip(FORECAST_JSON_KEYS, values, strict=True)}

    owners: dict[str, list] = {}
    for r in table("ForecastByOwner"):
        if r[0] is not None:
            owners.setdefault(r[0], []).append({"period": r[1], **figures(r[2:])})
    return {
        "periods": [{"period": r[0], **figures(r[1:])} for r in table("ForecastByPeriod") if r[0] is not None],
        "owners": [{"owner": name, "periods": periods} for name, periods in owners.items()],
        # The stage name first (the sheet's label column), then its number.
        "stages": [{"stage": r[1], "deals": r[2], "amount": r[3], "weighted": r[4]} for r in table("ForecastByStage")],
    }


def assert_same_figures(got: dict, expected: dict) -> None:
    expected = {**expected, "owners": [{"owner": o["owner"], "periods": o["periods"]} for o in expected["owners"]]}

    def same(a, b, where: str) -> None:
        if isinstance(b, dict):
            assert isinstance(a, dict) and a.keys() == b.keys(), where
            for key in b:
                same(a[key], b[key], f"{where}.{key}")
        elif isinstance(b, list):
            assert isinstance(a, list) and len(a) == len(b), where
            for index, (x, y) in enumerate(zip(a, b, strict=True)):
                same(x, y, f"{where}[{index}]")
        elif isinstance(b, float | int) and not isinstance(b, bool):
            assert a == pytest.approx(b, abs=0.005), f"{where}: workbook {a} vs pipeline.json {b}"
        else:
            assert a == b, f"{where}: workbook {a!r} vs pipeline.json {b!r}"

    same(got, {k: expected[k] for k in ("periods", "owners", "stages")}, "")


def test_the_forecast_sheets_are_live_formulas_over_the_deals(built: Built) -> None:
    labels, model = Labels("en"), built.model
    wb = openpyxl.load_workbook(built.workbook("pipeline"))
    assert wb.sheetnames == [labels.wb_sheet_summary, labels.wb_sheet_forecast, labels.wb_sheet_deals,
                             labels.wb_sheet_rates]
    rates = {named_range(wb, "RateCurrencies")[i].value: c.value for i, c in enumerate(named_range(wb, "RateValues"))}
    assert rates == {model.reporting_currency: 1, **model.exchange_rates}
    deals = wb[labels.wb_sheet_deals]
    assert deals["O2"].value.startswith("=YEAR(H2)") and deals["Q2"].value == "=INDEX(RateValues,MATCH(I2,RateCurrencies,0))"
    assert (deals["R2"].value, deals["S2"].value) == ("=ROUND(J2*Q2,2)", "=ROUND(R2*K2,2)")
    by_id = {d["id"]: d for d in built.deals}
    assert [deals.cell(r, 16).value for r in range(2, len(built.deals) + 2)] == \
        [d["forecast_category"] for d in built.deals]
    (dv,) = [v for v in deals.data_validations.dataValidation if "P2" in v.sqref]
    assert dv.formula1 == '"won,commit,best-case,pipeline,omitted,lost"'
    forecast = [c for row in wb[labels.wb_sheet_forecast].iter_rows() for c in row if c.data_type == "f"]
    assert forecast and all(re.match(r"=(SUMIFS|SUMPRODUCT|COUNTIFS)\(", c.value) for c in forecast)
    assert any("EXACT(DealOwner," in c.value for c in forecast)
    assert by_id["hostile"]["forecast_category"] == "commit"  # stage 7


def test_libreoffice_forecast_equals_pipeline_json(built: Built, recalculated: dict[str, Path]) -> None:
    expected = json.loads((built.project.site / "pipeline.json").read_text(encoding="utf-8"))
    got = forecast_figures(recalculated["pipeline"])
    assert len(got["periods"]) >= 4 and any(o["owner"].startswith("=HYPERLINK") for o in got["owners"])
    assert_same_figures(got, expected)
    # and the Deals sheet's converted amounts equal /deals.json
    wb = openpyxl.load_workbook(recalculated["pipeline"], data_only=True)
    ws = wb[Labels("en").wb_sheet_deals]
    for r, deal in enumerate(built.deals, start=2):
        assert ws.cell(r, 15).value == deal["close_period"], deal["id"]
        assert ws.cell(r, 18).value == pytest.approx(deal["amount_reporting"], abs=1e-9), deal["id"]
        assert ws.cell(r, 19).value == pytest.approx(deal["weighted_amount_reporting"], abs=1e-9), deal["id"]


def test_a_rate_and_a_category_changed_in_the_workbook_flow_into_the_forecast(
        built: Built, libreoffice: Recalc, tmp_path: Path) -> None:
    """Edit the workbook as a manager would; the result equals a site built with the same change in the files."""
    labels = Labels("en")
    moved = "hohenfels-biologics-lims"  # open, stage 6 (best case), in EUR
    deal = next(d for d in built.deals if d["id"] == moved)
    assert deal["forecast_category"] == "best-case" and deal["currency"] == "EUR"
    wb = openpyxl.load_workbook(built.workbook("pipeline"))
    rates = wb[labels.wb_sheet_rates]
    (eur,) = [r for r in range(5, rates.max_row + 1) if rates.cell(r, 1).value == "EUR"]
    rates.cell(eur, 2).value = 8.25
    deals = wb[labels.wb_sheet_deals]
    (row,) = [r for r in range(2, deals.max_row + 1) if deals.cell(r, 1).value == moved]
    deals.cell(row, 16).value = "commit"
    edited = tmp_path / "edited" / "pipeline.xlsx"
    edited.parent.mkdir()
    wb.save(edited)
    got = forecast_figures(libreoffice([edited], tmp_path / "out")["pipeline"])

    # The same change made where it belongs: the stage model's rate and the rep's forecast in the deal file.
    again = Project(tmp_path / "again")
    shutil.copytree(built.project.root, again.root, ignore=shutil.ignore_patterns("site", ".cache"))
    model = again.model.read_text(encoding="utf-8")
    assert "  EUR: 7.70\n" in model
    again.model.write_text(model.replace("  EUR: 7.70\n", "  EUR: 8.25\n"), encoding="utf-8")
    path = again.deals / f"{moved}.yml"
    path.write_text(path.read_text(encoding="utf-8") + "forecast: commit\n", encoding="utf-8")
    config = again.root / "mkdocs.yml"
    config.write_text(config.read_text(encoding="utf-8").replace("  - dealbook\n", "  - dealbook:\n      workbooks: false\n"),
                      encoding="utf-8")
    build(again)
    expected = json.loads((again.site / "pipeline.json").read_text(encoding="utf-8"))
    before = json.loads((built.project.site / "pipeline.json").read_text(encoding="utf-8"))
    assert expected["periods"] != before["periods"]  # the change matters
    assert_same_figures(got, expected)


def test_all_factor_scores_at_five_give_100_and_recompute_the_grade(
        built: Built, libreoffice: Recalc, tmp_path: Path) -> None:
    top = built.model.evaluation.scale_max
    before = {d["id"]: d for d in built.deals}["closing-soon"]
    assert before["grade"] == "B" and before["score"] == 60
    edited = []
    for name in ("closing-soon", "scorecard-template", "hohenfels-biologics-lims"):
        wb = openpyxl.load_workbook(built.workbook(name))
        for cell in named_range(wb, "FactorScores"):
            cell.value = top
        path = tmp_path / "edited" / f"{name}.xlsx"
        path.parent.mkdir(exist_ok=True)
        wb.save(path)
        edited.append(path)
    out = libreoffice(edited, tmp_path / "out")
    for name, path in out.items():
        assert results(path)["Score"] == 100, name
    assert results(out["closing-soon"])["Grade"] == "A"  # closes within 90 days, now likely enough


def test_scores_on_a_rounding_boundary_agree(built: Built, recalculated: dict[str, Path]) -> None:
    # 28.749999999999996 in binary, 28.75 to a spreadsheet's 15 digits: both must say 28.8.
    site = {d["id"]: d for d in built.deals}[EDGE]
    assert site["score"] == 28.8
    assert results(recalculated[EDGE])["Score"] == site["score"]


# --- Results without recalculation --------------------------------------------------------

def _formula_results(path: Path) -> dict[tuple[str, str], object]:
    """Every formula cell's stored result, as a viewer that does not calculate shows it."""
    formulas = _formulas(path)
    values = openpyxl.load_workbook(path, data_only=True)
    return {(sheet, ref): values[sheet][ref].value for sheet, ref in formulas}


def test_every_formula_cell_carries_the_site_result_without_recalculation(built: Built) -> None:
    for deal in built.deals:
        got = results(built.workbook(deal["id"]))  # openpyxl, data_only: no calculation at all
        assert got == {"Score": deal["score"], "Grade": deal["grade"], "Probability": deal["probability"],
                       "WeightedAmount": deal["weighted_amount"]}, deal["id"]
    template = results(built.workbook("scorecard-template"))
    assert template == {"Score": None, "Grade": None, "Probability": built.model.stage(1).probability,
                        "WeightedAmount": 0}
    table = openpyxl.load_workbook(built.workbook("pipeline"), data_only=True)[Labels("en").wb_sheet_deals]
    assert [c.value for c in table["L"][1:]] == [d["weighted_amount"] for d in built.deals]
    for path in built.all_workbooks:
        with zipfile.ZipFile(path) as z:
            assert 'fullCalcOnLoad="1"' in z.read("xl/workbook.xml").decode(), path.name  # and still recalculated
            sheets = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
        assert sheets.count("<f>") == len(re.findall(r"</f><v>[^<]*</v>", sheets)) > 0, path.name


def test_stored_results_equal_what_libreoffice_computes(built: Built, recalculated: dict[str, Path]) -> None:
    """Every formula cell of every workbook: the result Dealbook stored equals LibreOffice's recalculation."""
    checked = 0
    for path in built.all_workbooks:
        ours, theirs = _formula_results(path), _formula_results(recalculated[path.stem])
        assert ours.keys() == theirs.keys(), path.name
        for where, value in ours.items():
            computed = theirs[where]
            if blank(computed):
                assert blank(value), (path.name, where, value)
            elif isinstance(computed, int | float):
                assert value == pytest.approx(computed, rel=1e-12, abs=1e-9), (path.name, where, value, computed)
            else:
                assert value == computed, (path.name, where, value, computed)
            checked += 1
    assert checked > 500


# --- What Excel accepts --------------------------------------------------------------------

@pytest.fixture(scope="module")
def built_zh(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The same deals on a Chinese site: translated sheet names in every reference."""
    project = make_project(tmp_path_factory.mktemp("workbooks-zh") / "project")
    config = project.root / "mkdocs.yml"
    config.write_text(config.read_text(encoding="utf-8").replace("languages: [en, zh]", "languages: [zh]", 1),
                      encoding="utf-8")
    build(project)
    deals = json.loads((project.site / "deals.json").read_text(encoding="utf-8"))
    return Built(project, load_stage_model(project.model), deals)


def test_every_workbook_keeps_excels_own_limits(built: Built, built_zh: Built) -> None:
    paths = built.all_workbooks + built_zh.all_workbooks
    assert len(paths) == 2 * (len(built.deals) + 2)
    assert openpyxl.load_workbook(built_zh.workbook("hostile")).sheetnames[1] == Labels("zh").wb_sheet_scorecard
    assert {path.name: excel_limit_problems(path) for path in paths} == {path.name: [] for path in paths}


def test_the_limit_checks_see_what_excel_would_delete(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Deal summary"
    validation = DataValidation(type="list", formula1='"' + ",".join(f"choice-{n:03}" for n in range(30)) + '"')
    validation.add("A1")
    ws.add_data_validation(validation)
    wb.defined_names["Q1"] = DefinedName("Q1", attr_text="'Deal summary'!$A$1")
    wb.defined_names["R1C1"] = DefinedName("R1C1", attr_text="'Deal summary'!$A$1")
    wb.defined_names["Fine"] = DefinedName("Fine", attr_text="Deal summary!$A$1")
    wb.save(tmp_path / "bad.xlsx")
    problems = excel_limit_problems(tmp_path / "bad.xlsx")
    assert len(problems) == 4 and "329 characters" in problems[0], problems


def test_a_dropdown_longer_than_excel_allows_moves_to_a_hidden_sheet(tmp_path: Path) -> None:
    wb = Workbook(AS_OF)
    sheet = Sheet(wb.add_sheet("Sheet"), [10])
    items = [f"vocabulary-term-{n:02}" for n in range(20)]  # 379 characters with the commas
    sheet.dropdown("A1:A5", items, "Choose from the list.", "Lists")
    sheet.dropdown("B1", ["open", "won"], "Choose from the list.", "Lists")
    path = tmp_path / "long.xlsx"
    path.write_bytes(workbook_bytes(wb, AS_OF))
    wb = openpyxl.load_workbook(path)
    first, second = wb.active.data_validations.dataValidation
    assert first.formula1 == "'Lists'!$A$1:$A$20" and second.formula1 == '"open,won"'
    assert wb["Lists"].sheet_state == "hidden" and [c.value for c in wb["Lists"]["A"]] == items
    assert excel_limit_problems(path) == []


def test_the_schema_validator_passes_a_known_good_file_and_fails_a_broken_one(built: Built, tmp_path: Path) -> None:
    tool = audit_tool()
    good = tmp_path / "good"
    good.mkdir()
    # XlsxWriter's test suite compares its files with files Excel wrote: a known-good workbook.
    script = textwrap.dedent("""
        import sys, xlsxwriter
        wb = xlsxwriter.Workbook(sys.argv[1])
        ws = wb.add_worksheet("Deal summary")
        bold = wb.add_format({"bold": True, "font_color": "red", "font_size": 12})
        ws.write("A1", "Score", bold)
        ws.write_number("A2", 3)
        ws.write_formula("A3", "=A2*2", bold, 6)
        ws.data_validation("A2", {"validate": "list", "source": ["1", "2", "3"]})
        wb.define_name("Score", "='Deal summary'!$A$3")
        chart = wb.add_chart({"type": "column"})
        chart.add_series({"values": "='Deal summary'!$A$2:$A$3"})
        ws.insert_chart("C2", chart)
        wb.close()
        """)
    subprocess.run([str(tool.parent / "python"), "-c", script, str(good / "xlsxwriter.xlsx")], check=True, timeout=60)
    assert audit(good) == {"xlsxwriter.xlsx": {"errors": [], "warnings": []}}

    broken = tmp_path / "broken"
    broken.mkdir()
    with zipfile.ZipFile(built.workbook("closing-soon")) as source, \
            zipfile.ZipFile(broken / "closing-soon.xlsx", "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet2.xml":
                data = data.replace(b'type="list"', b'type="dropdown"', 1)  # not a validation type
            target.writestr(info, data)
    (report,) = audit(broken).values()
    assert report["errors"], report


def test_every_workbook_validates_against_the_office_open_xml_schema(built: Built, built_zh: Built) -> None:
    checked = 0
    for site in (built, built_zh):
        reports = audit(site.project.site / "workbooks")
        assert {name: r["errors"] for name, r in reports.items()} == {name: [] for name in reports}
        # Not even a remark (the earlier writer's inline strings drew one each, see workbook_checks).
        notes = {w["description"] for r in reports.values() for w in r["warnings"]}
        assert not [note for note in notes if INLINE_STRING_WARNING not in note], notes
        checked += len(reports)
    assert checked == 2 * (len(built.deals) + 2)


# --- Reproducible and cached ---------------------------------------------------------------

def _workbook_bytes(site: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((site / "workbooks").glob("*.xlsx"))}


def test_two_builds_give_identical_bytes(built: Built) -> None:
    """A second build, in another process with another hash seed and no cache, writes the same bytes."""
    first = _workbook_bytes(built.project.site)
    shutil.rmtree(built.project.root / ".cache")
    env = {**os.environ, "SOURCE_DATE_EPOCH": AS_OF_EPOCH, "PYTHONHASHSEED": "12345"}
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-d", "site-again"], cwd=built.project.root,
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    again = _workbook_bytes(built.project.root / "site-again")
    assert len(first) == len(built.deals) + 2
    assert again.keys() == first.keys()
    assert [name for name in first if first[name] != again[name]] == []
    with zipfile.ZipFile(io.BytesIO(first["pipeline.xlsx"])) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}  # XlsxWriter's one fixed time
        assert b"2026-11-27T00:00:00Z" in z.read("docProps/core.xml")


def _pipeline(project: Project, as_of: date):
    pipeline = read_project(project.root, project.model, project.deals, as_of, Labels("en"), Cache(None)).pipeline
    assert pipeline is not None
    return pipeline


def workbooks_of(pipeline, mapper=map) -> dict[str, bytes]:
    """Every workbook of a pipeline, rendered without any cache."""
    jobs = plan_workbooks(pipeline, Labels("en"), SitePaths(), Cache(None))
    return dict(zip([job.path for job in jobs], mapper(Job.render, jobs), strict=True))


def test_the_as_of_date_changes_the_workbooks(built: Built) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(built.project.root)
        pipeline = _pipeline(built.project, AS_OF)
        later = _pipeline(built.project, date(2026, 11, 28))
    today = workbooks_of(pipeline)
    assert today["workbooks/closing-soon.xlsx"] == (built.project.site / "workbooks/closing-soon.xlsx").read_bytes()
    tomorrow = workbooks_of(later)
    assert today.keys() == tomorrow.keys()
    assert all(today[k] != tomorrow[k] for k in today)


def test_workbooks_render_the_same_in_worker_processes(built: Built) -> None:
    """Each workbook is a pure function of picklable inputs: a spawned process pool gives the same bytes."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(built.project.root)
        pipeline = _pipeline(built.project, AS_OF)
    here = workbooks_of(pipeline)
    assert len(here) == len(pipeline.deals) + 2
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        there = workbooks_of(pipeline, mapper=pool.map)
    assert there == here


def _counts(caplog: pytest.LogCaptureFixture) -> tuple[int, int]:
    lines = [r.getMessage() for r in caplog.records if "workbooks written" in r.getMessage()]
    assert lines, "the build logs how many workbooks it wrote"
    match = re.search(r"(\d+) workbooks written, (\d+) reused", lines[-1])
    assert match
    caplog.clear()
    return int(match[1]), int(match[2])


def test_cache_reuses_unchanged_workbooks_and_rewrites_a_changed_deal(
        project: Project, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mkdocs.plugins.dealbook")
    for name in ("closing-soon.yml", "unscored-override.yml"):
        project.write_deal(name, TEST_DEALS[name])
    shutil.copy(HOSTILE, project.deals / "hostile.yml")
    cache = project.root / ".cache" / "workbooks"

    project.build()
    # Three deals, the pipeline, the template: in English and in Chinese (each its own cache entries).
    assert _counts(caplog) == (10, 0)
    first = _workbook_bytes(project.site)
    entries = {p.name: p.stat().st_mtime_ns for p in cache.glob("*")}
    assert len(entries) == 5

    project.build()
    assert _counts(caplog) == (0, 10)
    assert _workbook_bytes(project.site) == first
    assert {p.name: p.stat().st_mtime_ns for p in cache.glob("*")} == entries

    path = project.deals / "closing-soon.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("amount: 333.33", "amount: 444.44"), encoding="utf-8")
    project.build()
    assert _counts(caplog) == (4, 6)  # the deal and the pipeline, in each language
    after = _workbook_bytes(project.site)
    assert sorted(n for n in first if first[n] != after[n]) == ["closing-soon.xlsx", "pipeline.xlsx"]
    assert len(list(cache.glob("*"))) == 5  # the superseded entries are gone

    # A comment changes no figure, so the pipeline is reused; the deal's workbook records the sha256
    # of the file it was made from (for `dealbook import`), so it is made again.
    path.write_text("# a comment\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    project.build()
    assert _counts(caplog) == (2, 8)


def test_a_chinese_site_gets_chinese_sheets_headers_and_the_same_results(
        project: Project, libreoffice: Recalc, tmp_path: Path) -> None:
    config = project.root / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    assert "languages: [en, zh]" in text
    config.write_text(text.replace("languages: [en, zh]", "languages: [zh]", 1), encoding="utf-8")
    project.write_deal("closing-soon.yml", TEST_DEALS["closing-soon.yml"])
    project.build()
    zh, model = Labels("zh"), load_stage_model(project.model)
    wb = openpyxl.load_workbook(project.site / "workbooks" / "closing-soon.xlsx")
    assert wb.sheetnames == [zh.wb_sheet_summary, zh.wb_sheet_scorecard, zh.wb_sheet_stakeholders,
                             zh.wb_sheet_negotiation, zh.wb_sheet_plan, zh.wb_sheet_stages, zh.wb_sheet_import]
    scorecard = wb[zh.wb_sheet_scorecard]
    assert [c.value for c in scorecard[2]][:4] == [zh.wb_group, zh.factor, zh.wb_question, zh.weight]
    assert [scorecard.cell(3 + i, 2).value for i in range(9)] == [f.text("name", "zh") for f in model.evaluation.factors]
    assert wb[zh.wb_sheet_stages]["B3"].value == model.stage(1).text("name", "zh")
    assert named_cell(wb, "Score").value.startswith("=")
    pipeline = openpyxl.load_workbook(project.site / "workbooks" / "pipeline.xlsx")
    assert pipeline.sheetnames == [zh.wb_sheet_summary, zh.wb_sheet_forecast, zh.wb_sheet_deals, zh.wb_sheet_rates]

    (site,) = json.loads((project.site / "deals.json").read_text(encoding="utf-8"))
    got = results(libreoffice([project.site / "workbooks" / "closing-soon.xlsx"], tmp_path)["closing-soon"])
    assert got == {"Score": site["score"], "Grade": site["grade"], "Probability": site["probability"],
                   "WeightedAmount": site["weighted_amount"]}


def test_a_site_without_deals_still_gets_the_pipeline_and_the_template(project: Project) -> None:
    project.build()
    assert sorted(p.name for p in (project.site / "workbooks").glob("*.xlsx")) == [
        "pipeline.xlsx", "scorecard-template.xlsx"]
    ws = openpyxl.load_workbook(project.site / "workbooks" / "pipeline.xlsx")[Labels("en").wb_sheet_deals]
    (table,) = ws.tables.values()
    assert table.ref == "A1:S2" and ws["A2"].value is None
