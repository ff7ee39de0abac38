"""The pipeline workbook: every deal in an Excel table, totals by stage and grade per currency, a funnel chart."""

from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING, NamedTuple

from openpyxl.chart import BarChart, Reference
from openpyxl.worksheet.table import Table, TableStyleInfo

from ..model.scoring import weighted_amount_formula
from .cells import (
    AMOUNT,
    BOLD,
    CENTER_TOP,
    GRID,
    NOTE_FONT,
    PERCENT,
    SCORE,
    SECTION_FILL,
    TITLE_FONT,
    TOP,
    WRAP,
    Sheet,
    define,
    new_workbook,
    quote_label,
    workbook_bytes,
)

if TYPE_CHECKING:
    from ..labels import Labels
    from ..model.pipeline import Pipeline
    from ..sources.stage_model import StageModel


class DealRow(NamedTuple):
    """What the pipeline workbook shows of a deal: its facts and the results the site computed."""
    id: str
    title: str
    account: str
    owner: str
    stage: int
    status: str
    expected_close: date
    currency: str
    amount: float
    probability: float
    weighted_amount: float
    score: float | None
    grade: str


def deal_rows(pipeline: Pipeline) -> list[DealRow]:
    return [DealRow(v.deal.id, v.deal.title, v.deal.account, v.deal.owner, v.deal.stage, v.deal.status,
                    v.deal.expected_close, v.deal.currency, v.deal.amount, v.result.probability,
                    v.result.weighted_amount, v.result.score, v.result.grade) for v in pipeline.deals]


def _open(rows: list[DealRow], **where: object) -> list[DealRow]:
    """The open deals whose fields equal `where`: what the summary's COUNTIFS and SUMIFS select."""
    return [r for r in rows if r.status == OPEN and all(getattr(r, k) == v for k, v in where.items())]


# Column letters of the Deals table, and the names the summary's SUMIFS read.
COLUMNS = "ABCDEFGHIJKLMN"
NAMED_COLUMNS = {"DealStage": "E", "DealStatus": "G", "DealCurrency": "I", "DealAmount": "J",
                 "DealWeightedAmount": "L", "DealGrade": "N"}
OPEN = "open"  # a required status key of the stage model


def pipeline_workbook(rows: list[DealRow], model: StageModel, as_of: date, labels: Labels) -> bytes:
    """The .xlsx bytes of the pipeline workbook; a pure function of picklable inputs."""
    wb = new_workbook(as_of)
    wb.properties.title = labels.pipeline
    summary = wb.active
    summary.title = labels.wb_sheet_summary
    deals = wb.create_sheet(labels.wb_sheet_deals)
    last = _deals(Sheet(deals, [20, 30, 24, 14, 7, 24, 10, 11, 9, 15, 12, 15, 11, 7]), rows, model, labels)
    for name, col in sorted(NAMED_COLUMNS.items()):
        define(wb, name, deals, f"{col}2:{col}{last}")
    currencies = sorted({r.currency for r in rows})
    counts = [sum(r.stage == stage.number and r.status == OPEN for r in rows) for stage in model.stages]
    _summary(Sheet(summary, [9, 40, 10, 18, 18]), rows, currencies, model, labels, as_of, max(counts, default=0))
    return workbook_bytes(wb, as_of)


def _deals(s: Sheet, rows: list[DealRow], model: StageModel, labels: Labels) -> int:
    s.header(1, [labels.wb_deal_id, labels.wb_deal_title, labels.account, labels.owner, labels.stage,
                 labels.wb_stage_name, labels.status, labels.expected_close, labels.currency, labels.amount,
                 labels.probability, labels.weighted_amount, labels.score, labels.grade])
    for index, d in enumerate(rows):
        r = 2 + index
        stage = model.stage(d.stage)
        s.text(r, 1, d.id, align=TOP)
        s.text(r, 2, d.title, align=WRAP)
        s.text(r, 3, d.account, align=WRAP)
        s.text(r, 4, d.owner, align=WRAP)
        s.value(r, 5, d.stage, align=CENTER_TOP)
        s.text(r, 6, labels.stage_name(stage), align=WRAP)
        s.text(r, 7, labels.value_word(model, "status", d.status), align=TOP)  # the summary's formulas count it
        s.value(r, 8, d.expected_close, fmt=labels.wb_date_format, align=TOP)
        s.text(r, 9, d.currency, align=TOP)
        s.value(r, 10, d.amount, fmt=AMOUNT, align=TOP)
        s.value(r, 11, d.probability, fmt=PERCENT, align=TOP)
        s.formula(r, 12, weighted_amount_formula(f"J{r}", f"K{r}"), d.weighted_amount, fmt=AMOUNT, align=TOP)
        s.value(r, 13, d.score, fmt=SCORE, align=TOP)
        s.text(r, 14, d.grade, align=CENTER_TOP)
    last = max(2, 1 + len(rows))  # a table needs a row under its header, even an empty one
    table = Table(displayName="Deals", ref=f"A1:{COLUMNS[-1]}{last}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    s.ws.add_table(table)
    s.finish(freeze="C2", title_rows="1:1")
    return last


def _summary(s: Sheet, rows: list[DealRow], currencies: list[str], model: StageModel, labels: Labels, as_of: date,
             most: int) -> None:
    ws = s.ws
    s.text(1, 1, labels.pipeline, font=TITLE_FONT)
    s.grow(1, 1, line_height=20)
    s.text(2, 1, labels("as_of", date=labels.format_date(as_of)), font=NOTE_FONT)

    def section(row: int, first: str, label: str) -> None:
        s.text(row, 1, first, font=BOLD, fill=SECTION_FILL)
        s.text(row, 2, label, font=BOLD, fill=SECTION_FILL)
        for col in range(3, 6):
            s.cell(row, col).fill = SECTION_FILL

    # The funnel: open deals by stage, every currency.
    section(4, "", labels.funnel)
    s.header(5, [labels.stage, labels.wb_stage_name, labels.count])
    first = row = 6
    for stage in model.stages:
        s.value(row, 1, stage.number, align=CENTER_TOP, border=GRID)
        s.text(row, 2, labels.stage_name(stage), align=WRAP, border=GRID)
        s.formula(row, 3, f'COUNTIFS(DealStage,A{row},DealStatus,"{_open_word(model, labels)}")',
                  len(_open(rows, stage=stage.number)),
                  border=GRID, align=TOP)
        row += 1
    s.text(row, 2, labels.total, font=BOLD, border=GRID)
    s.formula(row, 3, f"SUM(C{first}:C{row - 1})", len(_open(rows)), font=BOLD, border=GRID)
    chart = BarChart()
    chart.type = "bar"
    chart.title = labels.funnel
    chart.legend = None
    chart.add_data(Reference(ws, min_col=3, min_row=first, max_row=row - 1), titles_from_data=False)
    chart.set_categories(Reference(ws, min_col=2, min_row=first, max_row=row - 1))
    chart.x_axis.scaling.orientation = "maxMin"  # stage 1 at the top, like a funnel
    chart.y_axis.scaling.min = 0
    chart.y_axis.majorUnit = max(1, math.ceil(most / 8))  # whole deals on the axis
    chart.y_axis.number_format = "0"
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.width, chart.height = 16, 7.5
    ws.add_chart(chart, "G4")

    # Per currency: by stage, then by grade. The currency is read from a cell, never put into a formula.
    row += 3
    stages = [(stage.number, labels.stage_name(stage)) for stage in model.stages]
    grades = [(rule.grade, labels.pick(rule, "meaning")) for rule in model.grading]
    for currency in currencies:
        row = _breakdown(s, section, row, currency, labels("wb_open_deals_in", currency=currency),
                         [labels.stage, labels.wb_stage_name], stages, "DealStage",
                         [_open(rows, currency=currency, stage=number) for number, _ in stages], labels, model) + 2
        row = _breakdown(s, section, row, currency, labels("wb_open_by_grade_in", currency=currency),
                         [labels.grade, labels.wb_meaning], grades, "DealGrade",
                         [_open(rows, currency=currency, grade=grade) for grade, _ in grades], labels, model) + 3
    s.finish(freeze="A3", title_rows=None)


def _breakdown(s: Sheet, section, head: int, currency: str, title: str, headers: list[str],
               rows: list[tuple[int | str, str]], column: str, selected: list[list[DealRow]], labels: Labels,
               model: StageModel) -> int:
    """Open deals in one currency, a row per stage or grade, and a total; returns the total's row.

    `selected` holds, per row, the deals its COUNTIFS and SUMIFS pick: their results are written beside the formulas.
    """
    section(head, currency, title)
    key = f"$A${head}"
    s.header(head + 1, [*headers, labels.count, labels.amount, labels.weighted_amount])
    row = top = head + 2
    for first, name in rows:
        if isinstance(first, str):  # a grade letter
            s.text(row, 1, first, align=CENTER_TOP, border=GRID, font=BOLD)
        else:
            s.value(row, 1, first, align=CENTER_TOP, border=GRID)
        s.text(row, 2, name, align=WRAP, border=GRID)
        _totals(s, row, f"{column},A{row}", key, _sums(selected[row - top]), _open_word(model, labels))
        row += 1
    _total_row(s, row, top, labels, [_sums(deals) for deals in selected])
    return row


def _sums(deals: list[DealRow]) -> tuple[int, float, float]:
    """Count, amount and weighted amount; sums correctly rounded (fsum), as near as a spreadsheet's own sums get."""
    return len(deals), math.fsum(d.amount for d in deals), math.fsum(d.weighted_amount for d in deals)


def _open_word(model: StageModel, labels: Labels) -> str:
    """How the Deals table writes an open deal's status (the summary's formulas count by it), quoted."""
    return quote_label(labels.value_word(model, "status", OPEN))


def _totals(s: Sheet, row: int, criterion: str, currency_cell: str, sums: tuple[int, float, float],
            open_word: str) -> None:
    where = f'{criterion},DealCurrency,{currency_cell},DealStatus,"{open_word}"'
    s.formula(row, 3, f"COUNTIFS({where})", sums[0], border=GRID, align=TOP)
    s.formula(row, 4, f"SUMIFS(DealAmount,{where})", sums[1], fmt=AMOUNT, border=GRID, align=TOP)
    s.formula(row, 5, f"SUMIFS(DealWeightedAmount,{where})", sums[2], fmt=AMOUNT, border=GRID, align=TOP)


def _total_row(s: Sheet, row: int, top: int, labels: Labels, lines: list[tuple[int, float, float]]) -> None:
    s.text(row, 2, labels.total, font=BOLD, border=GRID)
    for col, letter, fmt in ((3, "C", None), (4, "D", AMOUNT), (5, "E", AMOUNT)):
        total = math.fsum(line[col - 3] for line in lines)
        s.formula(row, col, f"SUM({letter}{top}:{letter}{row - 1})", int(total) if col == 3 else total, font=BOLD,
                  border=GRID, fmt=fmt)
