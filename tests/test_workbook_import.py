"""`dealbook import`: workbooks edited in a spreadsheet come back into the deal files, byte for byte elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from conftest import AS_OF_EPOCH, Project, Recalc, run_check

from generator.build import check_files, read_project
from generator.cache import Cache
from generator.labels import Labels
from generator.sources.deal_edit import Item, append_item, set_value
from generator.sources.stage_model import load_stage_model
from generator.workbooks import importer
from generator.workbooks.deal_book import FIRST_FACTOR_ROW, deal_workbook

AS_OF = date(2026, 11, 27)
DEAL_ID = "hz-metro"
# A deal file as reps write them: comments, a modeline, quoting, blank lines, a flow mapping.
DEAL = """\
# yaml-language-server: $schema=./deal.schema.json
# Hangzhou metro line 9: fare collection. Ask Li Na before changing the amount.
title: "Line 9 AFC"   # the customer's project name
account: 'Hangzhou Metro Group'
owner: Test Rep
stage: 4
status: open
amount: 1200000
currency: CNY
expected_close: 2027-03-31

qualification:          # scored 1-5
  project_level: 4
  funding: 2            # budget not yet approved
  technical_fit: 3

stakeholders:
  - name: Ann Li
    title: CIO
    role: decision-maker
    influence: high
    stance: neutral
    last_contact: 2026-11-20
    notes: Wants references.
  - name: Bo Chen
    role: evaluator
    influence: medium
    stance: supporter

exits:
  1: {date: 2026-09-01, evidence: First meeting booked}
  2: {date: 2026-10-01, evidence: Asked for a proposal}
  3: {date: 2026-11-01, evidence: Demo agreed}

negotiation:
  terms:
    - topic: price
      opening: CNY 1.3m
      target: CNY 1.2m     # what we aim for

# Next: the reference visit.
next_steps:
  - action: Reference visit
    due: 2026-12-10
"""


@pytest.fixture
def deal(project: Project) -> Path:
    path = project.deals / f"{DEAL_ID}.yml"
    path.write_text(DEAL, encoding="utf-8")
    return path


def workbook(project: Project, deal_id: str | None, name: str, language: str = "en") -> Path:
    """The workbook the site publishes for a deal (None: the blank scorecard), rendered as a build does."""
    labels = Labels(language)
    pipeline = read_project(project.root, project.model, project.deals, AS_OF, labels, Cache(None)).pipeline
    assert pipeline is not None
    view = next((v for v in pipeline.deals if v.id == deal_id), None)
    path = project.root / "downloads" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(deal_workbook(view.deal if view else None, pipeline.model, AS_OF, labels,
                                   view.result if view else None))
    return path


def edit(path: Path, change: Callable[[openpyxl.Workbook, Callable], None], out: Path | None = None) -> Path:
    """Open with openpyxl, change, save (as a rep's spreadsheet would)."""
    wb = openpyxl.load_workbook(path)

    def cells(name: str) -> list:
        (sheet, ref), = wb.defined_names[name].destinations
        found = wb[sheet][ref.replace("$", "")]
        return [c for row in found for c in row] if isinstance(found, tuple) else [found]

    change(wb, cells)
    out = out or path
    out.parent.mkdir(exist_ok=True)
    wb.save(out)
    return out


def row_of(cells: Callable, table: str, first_value: str) -> list:
    """The cells of the table row whose first cell holds `first_value` (or the first empty row for "")."""
    start = cells(table)[0]
    ws = start.parent
    for row in range(start.row, ws.max_row + 1):
        if (ws.cell(row, 1).value or "") == first_value:
            return [ws.cell(row, col) for col in range(1, 8)]
    raise AssertionError(f"no row {first_value!r}")


def run_import(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SOURCE_DATE_EPOCH": AS_OF_EPOCH}
    return subprocess.run([sys.executable, "-m", "generator", "import", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def score_row(project: Project, factor: str) -> int:
    """The Scorecard row of a factor's score."""
    return FIRST_FACTOR_ROW + [f.key for f in load_stage_model(project.model).evaluation.factors].index(factor)


# --- Round trips through LibreOffice --------------------------------------------------------

def imported(project: Project, saved: Path) -> subprocess.CompletedProcess:
    """`dealbook import` of one saved workbook, which must succeed."""
    result = run_import(project.root, str(saved))
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_an_edited_deal_workbook_comes_back_through_libreoffice(
        project: Project, deal: Path, libreoffice: Recalc) -> None:
    def change(wb: openpyxl.Workbook, cells: Callable) -> None:
        scores = cells("FactorScores")
        scores[1].value = 4  # funding
        scores[8].value = 3  # service, not scored before
        ann = row_of(cells, "StakeholderRows", "Ann Li")
        ann[4].value = "supporter"
        ann[6].value = "Wants two references.\nVisit in March."
        new = row_of(cells, "StakeholderRows", "")
        new[0].value, new[2].value, new[3].value, new[4].value = "Chen Wei", "user", "low", "champion"
        new[5].value = datetime(2026, 11, 25)
        price = row_of(cells, "NegotiationRows", "Price")
        price[2].value = "CNY 1.15m"

    edited = edit(workbook(project, DEAL_ID, "hz-metro.xlsx"), change, project.root / "edited" / "hz-metro.xlsx")
    saved = libreoffice([edited], project.root / "saved")["hz-metro"]  # as a rep's spreadsheet saves it

    result = imported(project, saved)
    assert "is not imported" not in result.stdout  # LibreOffice's save changed no cell outside what is imported
    expected = (DEAL
                .replace("  funding: 2            #", "  funding: 4            #")
                .replace("  technical_fit: 3\n", "  technical_fit: 3\n  service: 3\n")
                .replace("    stance: neutral\n", "    stance: supporter\n")
                .replace("    notes: Wants references.\n",
                         "    notes: |-\n      Wants two references.\n      Visit in March.\n")
                .replace("    stance: supporter\n\nexits:",
                         "    stance: supporter\n  - name: Chen Wei\n    role: user\n    influence: low\n"
                         "    stance: champion\n    last_contact: 2026-11-25\n\nexits:")
                .replace("      target: CNY 1.2m     #", "      target: CNY 1.15m     #"))
    assert deal.read_text(encoding="utf-8") == expected
    assert "--- a/deals/hz-metro.yml" in result.stdout and "+  funding: 4" in result.stdout
    assert "wrote deals/hz-metro.yml" in result.stdout
    check = run_check(project.root, str(deal))
    assert check.returncode == 0, check.stdout + check.stderr

    again = run_import(project.root, str(saved))
    assert again.returncode == 0 and "hz-metro.xlsx: nothing to import" in again.stdout, again.stdout
    assert deal.read_text(encoding="utf-8") == expected


def test_a_filled_blank_scorecard_comes_back_through_libreoffice(
        project: Project, deal: Path, libreoffice: Recalc) -> None:
    def change(wb: openpyxl.Workbook, cells: Callable) -> None:
        cells("DealId")[0].value = DEAL_ID
        scores = cells("FactorScores")
        scores[1].value = 3  # funding
        scores[6].value = 4  # price
        ann = row_of(cells, "StakeholderRows", "")
        ann[0].value, ann[5].value = "Ann Li", datetime(2026, 11, 26)
        payment = row_of(cells, "NegotiationRows", "Payment terms")
        payment[1].value = "30% on signing"

    edited = edit(workbook(project, None, "scorecard.xlsx"), change, project.root / "edited" / "scorecard.xlsx")
    saved = libreoffice([edited], project.root / "saved")["scorecard"]

    assert "is not imported" not in imported(project, saved).stdout
    expected = (DEAL
                .replace("  funding: 2            #", "  funding: 3            #")
                .replace("  technical_fit: 3\n", "  technical_fit: 3\n  price: 4\n")
                .replace("    last_contact: 2026-11-20\n", "    last_contact: 2026-11-26\n")
                .replace("      target: CNY 1.2m     # what we aim for\n",
                         "      target: CNY 1.2m     # what we aim for\n"
                         "    - topic: payment\n      opening: 30% on signing\n"))
    assert deal.read_text(encoding="utf-8") == expected  # blank cells removed nothing
    assert run_check(project.root, str(deal)).returncode == 0


# --- Both sides changed ---------------------------------------------------------------------

def test_a_field_changed_on_both_sides_is_refused_and_named(project: Project, deal: Path) -> None:
    def change(wb: openpyxl.Workbook, cells: Callable) -> None:
        row_of(cells, "StakeholderRows", "Ann Li")[4].value = "supporter"
        cells("FactorScores")[1].value = 5

    path = edit(workbook(project, DEAL_ID, "hz-metro.xlsx"), change)
    since = DEAL.replace("    stance: neutral\n", "    stance: skeptic\n")
    deal.write_text(since, encoding="utf-8")
    result = run_import(project.root, str(path))
    assert result.returncode == 1
    assert "hz-metro.xlsx: stakeholders[Ann Li].stance: changed in the workbook ('supporter') and in " \
           "deals/hz-metro.yml since the workbook was made ('skeptic')" in result.stdout, result.stdout
    assert result.stdout.rstrip().endswith("nothing was written") and "Traceback" not in result.stderr
    assert deal.read_text(encoding="utf-8") == since


def test_fields_changed_on_one_side_each_are_both_kept(project: Project, deal: Path) -> None:
    def change(wb: openpyxl.Workbook, cells: Callable) -> None:
        row_of(cells, "StakeholderRows", "Ann Li")[4].value = "supporter"

    path = edit(workbook(project, DEAL_ID, "hz-metro.xlsx"), change)
    since = DEAL.replace("  funding: 2 ", "  funding: 3 ").replace("Wants references.", "Wants three references.")
    deal.write_text(since, encoding="utf-8")
    result = run_import(project.root, str(path))
    assert result.returncode == 0, result.stdout
    assert "has changed since the workbook was made" in result.stdout
    assert deal.read_text(encoding="utf-8") == since.replace("    stance: neutral\n", "    stance: supporter\n")


# --- Bad input: one line each, nothing written ----------------------------------------------

@pytest.mark.parametrize(("case", "expected"), [
    ("score 7", "hz-metro.xlsx: Scorecard!E{row}: score 7 is not from 1 to 5"),
    ("text score", "hz-metro.xlsx: Scorecard!E{row}: score 'very good' is not a number from 1 to 5"),
    ("unknown deal", "scorecard.xlsx: Summary!B4: no deal 'hz-metro-2' (deals/hz-metro-2.yml does not exist)"),
    ("not a deal workbook", "book.xlsx: not a Dealbook deal workbook or scorecard: it has no Dealbook data sheet"),
])
def test_bad_input_gives_one_clear_line_and_writes_nothing(
        project: Project, deal: Path, case: str, expected: str) -> None:
    if case == "unknown deal":
        def change(wb: openpyxl.Workbook, cells: Callable) -> None:
            cells("DealId")[0].value = "hz-metro-2"
            cells("FactorScores")[0].value = 5
        path = edit(workbook(project, None, "scorecard.xlsx"), change)
    elif case == "not a deal workbook":
        path = project.root / "book.xlsx"
        openpyxl.Workbook().save(path)
    else:
        def change(wb: openpyxl.Workbook, cells: Callable) -> None:
            cells("FactorScores")[1].value = 7 if case == "score 7" else "very good"
            cells("FactorScores")[2].value = 5  # a good edit beside it is not written either
        path = edit(workbook(project, DEAL_ID, "hz-metro.xlsx"), change)
    result = run_import(project.root, str(path))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [expected.format(row=score_row(project, "funding")), "nothing was written"]
    assert result.stderr == ""
    assert deal.read_text(encoding="utf-8") == DEAL


def test_dry_run_prints_the_diff_and_writes_nothing(project: Project, deal: Path) -> None:
    path = edit(workbook(project, DEAL_ID, "hz-metro.xlsx"), lambda wb, cells: setattr(
        cells("FactorScores")[1], "value", 4))
    result = run_import(project.root, "--dry-run", str(path))
    assert result.returncode == 0
    assert "-  funding: 2            # budget not yet approved" in result.stdout
    assert "+  funding: 4            # budget not yet approved" in result.stdout
    assert "--dry-run: nothing was written" in result.stdout
    assert deal.read_text(encoding="utf-8") == DEAL


def test_an_unchanged_workbook_has_nothing_to_import(project: Project, deal: Path) -> None:
    result = run_import(project.root, str(workbook(project, DEAL_ID, "hz-metro.xlsx")))
    assert (result.returncode, result.stdout) == (0, "hz-metro.xlsx: nothing to import\n")


def test_a_result_that_fails_the_check_is_not_written(
        project: Project, deal: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = edit(workbook(project, DEAL_ID, "hz-metro.xlsx"), lambda wb, cells: setattr(
        cells("FactorScores")[1], "value", 4))
    monkeypatch.setattr(importer, "_apply", lambda text, changes, theirs: text.replace("stage: 4", "stage: 99"))
    lines: list[str] = []
    code = importer.import_workbooks([path], root=project.root, model_path=project.model, deals_dir=project.deals,
                                     as_of=AS_OF, model=load_stage_model(project.model), dry_run=False,
                                     echo=lines.append, check=check_files, cache_dir=project.root / ".cache")
    assert code == 1 and lines[-1] == "nothing was written"
    assert "would not pass `dealbook check`" in lines[0] and "stage" in lines[0]
    assert deal.read_text(encoding="utf-8") == DEAL


# --- Sheets found by name and marker, not by title ------------------------------------------

def test_a_chinese_workbook_with_renamed_and_moved_sheets_imports(project: Project, deal: Path) -> None:
    zh = Labels("zh")

    def change(wb: openpyxl.Workbook, cells: Callable) -> None:
        assert wb.sheetnames[1] == zh.wb_sheet_scorecard
        cells("FactorScores")[2].value = 5  # technical fit
        row_of(cells, "NegotiationRows", "价格")[2].value = "1,150 万元"
        wb[zh.wb_sheet_scorecard].title = "我的评分"
        for name in wb.defined_names.values():  # as a spreadsheet does on renaming (openpyxl does not)
            name.attr_text = name.attr_text.replace(f"'{zh.wb_sheet_scorecard}'!", "'我的评分'!")
        wb.move_sheet(wb[zh.wb_sheet_negotiation], offset=-3)

    path = edit(workbook(project, DEAL_ID, "hz-metro.xlsx", language="zh"), change)
    result = run_import(project.root, str(path))
    assert result.returncode == 0, result.stdout
    assert deal.read_text(encoding="utf-8") == DEAL.replace("  technical_fit: 3\n", "  technical_fit: 5\n") \
        .replace("      target: CNY 1.2m     #", "      target: 1,150 万元     #")


# --- The text edits themselves --------------------------------------------------------------

def test_edits_keep_crlf_a_bom_flow_mappings_and_a_missing_final_newline() -> None:
    text = "\ufeffa: 1\r\nqualification: {funding: 2, price: 3}\r\nstakeholders:\r\n- name: Ann\r\n  notes: |\r\n" \
           "    one\r\n    two\r\n\r\n# tail\r\nlast: x"
    body = text.removeprefix("\ufeff")
    edited = set_value(body, ["qualification", "funding"], None)
    edited = set_value(edited, ["qualification", "service"], 4)
    edited = set_value(edited, ["stakeholders", Item("name", "Ann"), "notes"], "one\nthree")
    edited = append_item(edited, ["stakeholders"], {"name": "Bo: the second", "stance": "neutral"})
    edited = append_item(edited, ["negotiation", "terms"], {"topic": "price", "target": "yes"})
    assert edited == (
        "a: 1\r\nqualification: {price: 3, service: 4}\r\nstakeholders:\r\n- name: Ann\r\n  notes: |\r\n"
        "    one\r\n    three\r\n- name: \"Bo: the second\"\r\n  stance: neutral\r\n\r\n# tail\r\nlast: x\r\n"
        "\r\nnegotiation:\r\n  terms:\r\n    - topic: price\r\n      target: \"yes\"\r\n")


def test_facts_changed_in_libreoffice_are_named_not_lost(project: Project, deal: Path, libreoffice: Recalc) -> None:
    def change(wb: openpyxl.Workbook, cells: Callable) -> None:
        cells("Stage")[0].value = 5
        cells("ExpectedClose")[0].value = datetime(2027, 6, 30)
        cells("FactorScores")[1].value = 4  # funding: imported

    edited = edit(workbook(project, DEAL_ID, "hz-metro.xlsx", language="zh"), change,
                  project.root / "edited" / "hz-metro.xlsx")
    saved = libreoffice([edited], project.root / "saved")["hz-metro"]
    result = imported(project, saved)
    zh = Labels("zh")
    assert [line for line in result.stdout.splitlines() if "is not imported" in line] == [
        f"hz-metro.xlsx: {zh.wb_sheet_summary}!B8: '{zh.stage}' is not imported; change it in deals/hz-metro.yml",
        f"hz-metro.xlsx: {zh.wb_sheet_summary}!B12: '{zh.expected_close}' is not imported; change it in "
        "deals/hz-metro.yml"], result.stdout
    assert deal.read_text(encoding="utf-8") == DEAL.replace("  funding: 2 ", "  funding: 4 ")


# --- The Plan sheet ------------------------------------------------------------------------------

PLAN = """\
plan:   # agreed with Ann Li on 2026-11-20
  - milestone: Demo scoring
    side: customer
    owner: Ann Li
    due: 2026-12-04
    stage: 4
  - milestone: Reference visit
    side: us
    owner: Test Rep
    due: 2026-12-10   # the Shenzhen line
  - milestone: Budget approved
    side: customer
    owner: Bo Chen
    due: 2027-01-15
    done: true
"""


@pytest.mark.parametrize("language", ["en", "zh"])
def test_plan_milestones_edited_in_the_deal_workbook_come_back(project: Project, language: str) -> None:
    path = project.deals / f"{DEAL_ID}.yml"
    path.write_text(DEAL + PLAN, encoding="utf-8")
    project.build()
    folder = project.site / ("zh" if language == "zh" else "")
    [built] = (folder / "workbooks").glob(f"{DEAL_ID}*.xlsx")  # hz-metro.xlsx, zh/workbooks/hz-metro-zh.xlsx
    labels = Labels(language)
    yes, no, customer = labels.wb_yes, labels.wb_no, labels.plan_sides["customer"]

    def change(wb: openpyxl.Workbook, cells: Callable) -> None:
        rows = cells("PlanRows")
        ws = rows[0].parent
        assert ws.title == labels.wb_sheet_plan
        shown = [[ws.cell(r, c).value for c in range(1, 7)] for r in range(rows[0].row, rows[0].row + 3)]
        assert shown == [["Demo scoring", customer, "Ann Li", datetime(2026, 12, 4), no, 4],
                         ["Reference visit", labels.plan_sides["us"], "Test Rep", datetime(2026, 12, 10), no, None],
                         ["Budget approved", customer, "Bo Chen", datetime(2027, 1, 15), yes, None]]
        ws.cell(rows[0].row, 5).value = yes  # Demo scoring: done
        ws.cell(rows[0].row + 1, 4).value = datetime(2026, 12, 17)  # Reference visit: moved a week
        ws.cell(rows[0].row + 2, 5).value = no  # Budget approved: not done after all
        new = rows[0].row + 3
        for col, value in enumerate(["Contract signed", customer, "Ann Li", datetime(2027, 3, 20), no, 8], start=1):
            ws.cell(new, col).value = value

    edited = edit(built, change, project.root / "edited" / built.name)
    result = run_import(project.root, str(edited))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is not imported" not in result.stdout
    # Each change at its place, the comments and everything else as they were; the new milestone at the end.
    expected = DEAL + (PLAN
                       .replace("    due: 2027-01-15\n    done: true\n", "    due: 2027-01-15\n")
                       .replace("    stage: 4\n", "    stage: 4\n    done: true\n")
                       .replace("due: 2026-12-10   #", "due: 2026-12-17   #")
                       + "  - milestone: Contract signed\n    side: customer\n    owner: Ann Li\n"
                         "    due: 2027-03-20\n    stage: 8\n")
    assert path.read_text(encoding="utf-8") == expected
    check = run_check(project.root, str(path))
    assert check.returncode == 0, check.stdout + check.stderr
    again = run_import(project.root, str(edited))
    assert again.returncode == 0 and "nothing to import" in again.stdout, again.stdout


def test_a_bad_plan_cell_is_one_line_in_the_workbooks_words(project: Project, deal: Path) -> None:
    original = deal.read_text(encoding="utf-8")

    def change(wb: openpyxl.Workbook, cells: Callable) -> None:
        first = cells("PlanRows")[0]
        ws = first.parent
        for col, value in enumerate(["Kick-off", "其他", "Ann Li", "soon", "也许", 12], start=1):
            ws.cell(first.row, col).value = value
        ws.cell(first.row + 1, 3).value = "Nobody"  # a row without its milestone

    edited = edit(workbook(project, DEAL_ID, "hz-metro-zh.xlsx", "zh"), change)
    result = run_import(project.root, str(edited))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert "hz-metro-zh.xlsx: 行动计划!B3: side '其他' is not one of 客户方, 我方" in lines, result.stdout
    assert "hz-metro-zh.xlsx: 行动计划!D3: due 'soon' is not a date (write it as YYYY-MM-DD)" in lines
    assert "hz-metro-zh.xlsx: 行动计划!E3: done '也许' is not one of 是, 否" in lines
    assert "hz-metro-zh.xlsx: 行动计划!F3: stage 12 is not a stage number from 1 to 8" in lines
    assert any(line.startswith("hz-metro-zh.xlsx: 行动计划!A4: this plan row has no milestone") for line in lines)
    assert deal.read_text(encoding="utf-8") == original
