"""The pipeline workbook: every deal in an Excel table; a summary by stage and grade in the reporting currency with
a funnel chart, then the same per currency; and the forecast in the reporting currency: a Rates sheet and a Forecast
sheet of live formulas over the Deals sheet.

The forecast sheet's figures are SUMIFS/SUMPRODUCT over the Deals table, whose converted amounts are formulas over
the Rates sheet: change a rate, a deal's forecast category or its expected close in Excel and every figure
follows. With the workbook as published, LibreOffice's results equal `/pipeline.json`, and every formula stores
the result the site computed (see `book`).
"""

from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING, NamedTuple

from ..model.forecast import CATEGORIES, OPEN_CATEGORIES, converted_amount_formula, json_name, period_formula
from ..model.scoring import weighted_amount_formula
from .book import BarChart, Table, sheet_ref
from .cells import (
    BOLD,
    CENTER_TOP,
    GRID,
    INPUT_FILL,
    NOTE_FONT,
    PERCENT,
    SCORE,
    SECTION_FILL,
    TITLE_FONT,
    TOP,
    WRAP,
    Sheet,
    amount_format,
    clean_text,
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
    forecast: str  # the deal's forecast category (won and lost for closed deals)
    period: str | None
    rate: float
    amount_reporting: float
    weighted_reporting: float


class ForecastPlan(NamedTuple):
    """The Forecast sheet's rows and quotas (None: no team file, or not a member), from the site's forecast."""
    periods: tuple[str, ...]
    quotas: tuple[float | None, ...]  # per period
    owners: tuple[tuple[str, tuple[float | None, ...]], ...]  # (owner, quota per period)


def deal_rows(pipeline: Pipeline) -> list[DealRow]:
    return [DealRow(v.deal.id, v.deal.title, v.deal.account, v.deal.owner, v.deal.stage, v.deal.status,
                    v.deal.expected_close, v.deal.currency, v.deal.amount, v.result.probability,
                    v.result.weighted_amount, v.result.score, v.result.grade, v.forecast.category,
                    v.forecast.period, v.forecast.rate, v.forecast.amount, v.forecast.weighted)
            for v in pipeline.deals]


def forecast_plan(pipeline: Pipeline) -> ForecastPlan:
    fc = pipeline.forecast
    return ForecastPlan(tuple(t.period for t in fc.periods), tuple(t.quota for t in fc.periods),
                        tuple((o.owner, tuple(t.quota for t in o.periods)) for o in fc.owners))


class _Selection:
    """The deals the summary's and the forecast's formulas select, each grouping made once (not once per cell)."""

    def __init__(self, rows: list[DealRow]):
        self.rows = rows
        self._groups: dict[tuple, dict[tuple, list[DealRow]]] = {}

    def where(self, only_open: bool = False, **fields: object) -> list[DealRow]:
        """The deals (in table order) whose fields equal `fields`; only the open ones if `only_open`."""
        names = tuple(sorted(fields))
        groups = self._groups.get((only_open, names))
        if groups is None:
            groups = self._groups[(only_open, names)] = {}
            for r in self.rows:
                if not only_open or r.status == OPEN:
                    groups.setdefault(tuple(getattr(r, name) for name in names), []).append(r)
        return groups.get(tuple(fields[name] for name in names), [])

    def open(self, **fields: object) -> list[DealRow]:
        """The open deals whose fields equal `fields`: what the summary's COUNTIFS and SUMIFS select."""
        return self.where(True, **fields)


# Column letters of the Deals table, and the names the summary's and the forecast's formulas read.
COLUMNS = "ABCDEFGHIJKLMNOPQRS"
NAMED_COLUMNS = {"DealOwner": "D", "DealStage": "E", "DealStatus": "G", "DealCurrency": "I", "DealAmount": "J",
                 "DealWeightedAmount": "L", "DealGrade": "N", "DealPeriod": "O", "DealForecast": "P",
                 "DealAmountReporting": "R", "DealWeightedReporting": "S"}
OPEN = "open"  # a required status key of the stage model
# The Forecast sheet's columns after the period: the categories in /pipeline.json's order, then weighted and quota.
FORECAST_COLUMNS = (*OPEN_CATEGORIES, "won", "lost")
RATE = "0.0000####"
MIN_PRINT_SCALE = 0.8  # the Deals sheet prints at this scale or more: 11 pt text at 8.8 pt at least


def pipeline_workbook(rows: list[DealRow], model: StageModel, as_of: date, labels: Labels,
                      plan: ForecastPlan | None = None) -> bytes:
    """The .xlsx bytes of the pipeline workbook; a pure function of picklable inputs."""
    plan = plan or ForecastPlan((), (), ())
    wb = new_workbook(as_of)
    wb.title = labels.pipeline
    summary = wb.add_sheet(labels.wb_sheet_summary)
    forecast = wb.add_sheet(labels.wb_sheet_forecast)
    deals = wb.add_sheet(labels.wb_sheet_deals)
    rates = wb.add_sheet(labels.wb_sheet_rates)
    # The widths are the least a column gets: every column is widened to its content (see `Sheet`).
    _rates(Sheet(rates, [12, 18, 12], fit_text=True), model, labels)
    # Title, account, owner and stage name wrap in columns of these widths; the others fit their content.
    last = _deals(Sheet(deals, [8, 24, 20, 12, 5, 20, 6, 8, 5, 8, 6, 8, 5, 5, 7, 8, 7, 8, 8], fit_text=True), rows,
                  model, labels)
    for name, col in sorted(NAMED_COLUMNS.items()):
        define(wb, name, deals, f"{col}2:{col}{last}")
    currencies = sorted({r.currency for r in rows})
    counts = [sum(r.stage == stage.number and r.status == OPEN for r in rows) for stage in model.stages]
    selection = _Selection(rows)
    _summary(Sheet(summary, [7, 20, 8, 12, 12, 2], fit_text=True), selection, currencies, model, labels, as_of,
             max(counts, default=0))
    _forecast(Sheet(forecast, [10, 9, *[10] * (len(FORECAST_COLUMNS) + 2)], fit_text=True), selection, plan, model,
              labels, as_of)
    return workbook_bytes(wb, as_of)


def _rates(s: Sheet, model: StageModel, labels: Labels) -> None:
    """Currency → units of the reporting currency; the yellow rates are inputs, the reporting currency is 1."""
    wb = s.ws.workbook
    reporting = model.reporting_currency
    s.text(1, 1, labels.wb_sheet_rates, font=TITLE_FONT, overflow=True)
    s.grow(1, 1, line_height=20)
    note = labels("wb_rates_note", currency=reporting)
    if model.rates_date:
        note = labels("wb_rates_of", date=labels.format_date(model.rates_date), note=note)
    s.text(2, 1, note, font=NOTE_FONT, fit=False)
    s.header(4, [labels.currency, labels("wb_rate", currency=reporting)])
    rows = [(reporting, 1.0), *((code, rate) for code, rate in model.exchange_rates.items() if code != reporting)]
    for offset, (code, rate) in enumerate(rows):
        r = 5 + offset
        s.text(r, 1, code, font=BOLD, border=GRID, align=TOP)
        # The reporting currency is 1 by definition; the others are the inputs a manager may change.
        s.value(r, 2, rate, border=GRID, align=TOP, fmt=RATE, fill=None if offset == 0 else INPUT_FILL)
    last = 4 + len(rows)
    define(wb, "RateCurrencies", s.ws, f"A5:A{last}")
    define(wb, "RateValues", s.ws, f"B5:B{last}")
    define(wb, "ReportingCurrency", s.ws, "A5")
    s.finish(freeze="A5", title_rows="4:4")


def _deals(s: Sheet, rows: list[DealRow], model: StageModel, labels: Labels) -> int:
    reporting = model.reporting_currency
    headers = [labels.wb_deal_id, labels.wb_deal_title, labels.account, labels.owner, labels.stage,
                 labels.wb_stage_name, labels.status, labels.expected_close, labels.currency, labels.amount,
                 labels.probability, labels.weighted_amount, labels.score, labels.grade, labels.close_period,
                 labels.forecast, labels("wb_rate", currency=reporting), labels("amount_in", currency=reporting),
                 labels("weighted_in", currency=reporting)]
    s.header(1, headers)
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
        money = amount_format(d.amount)  # whole numbers unless the deal's amount has cents
        s.value(r, 10, d.amount, fmt=money, align=TOP)
        s.value(r, 11, d.probability, fmt=PERCENT, align=TOP)
        s.formula(r, 12, weighted_amount_formula(f"J{r}", f"K{r}"), d.weighted_amount, fmt=money, align=TOP)
        s.value(r, 13, d.score, fmt=SCORE, align=TOP)
        s.text(r, 14, d.grade, align=CENTER_TOP)
        # The forecast columns: the period follows the close date, the rate the currency, the category is an input.
        s.formula(r, 15, period_formula(f"H{r}", model.fiscal_year_start), d.period, align=TOP)
        s.text(r, 16, labels.forecast_word(d.forecast), align=TOP, fill=INPUT_FILL)  # the Forecast sheet sums by it
        s.formula(r, 17, f"INDEX(RateValues,MATCH(I{r},RateCurrencies,0))", d.rate, fmt=RATE, align=TOP)
        s.formula(r, 18, converted_amount_formula(f"J{r}", f"Q{r}"), d.amount_reporting, fmt=money, align=TOP)
        s.formula(r, 19, weighted_amount_formula(f"R{r}", f"K{r}"), d.weighted_reporting, fmt=money, align=TOP)
    last = max(2, 1 + len(rows))  # a table needs a row under its header, even an empty one
    s.dropdown(f"P2:P{last}", [labels.forecast_word(c) for c in CATEGORIES], labels.wb_forecast_error,
               labels.wb_sheet_lists, allow_blank=False)
    # The table's column names are the header cells' text, as Excel requires.
    s.ws.tables.append(Table("Deals", f"A1:{COLUMNS[-1]}{last}", [clean_text(h) for h in headers]))
    # 19 columns on one page would print at about 4 pt: as many pages wide as 8.8 pt takes, the header row
    # and the deal id on every page.
    s.finish(freeze="C2", title_rows="1:1", title_columns="A:A", min_scale=MIN_PRINT_SCALE)
    return last


def _summary(s: Sheet, deals: _Selection, currencies: list[str], model: StageModel, labels: Labels, as_of: date,
             most: int) -> None:
    """The first page in the reporting currency, as the site reports: open deals by stage (with the funnel chart)
    and by grade, every currency converted; then, from the next page, the same per currency in its own amounts."""
    ws = s.ws
    reporting = model.reporting_currency
    open_word = _open_word(model, labels)
    s.text(1, 1, labels.pipeline, font=TITLE_FONT, overflow=True)
    s.grow(1, 1, line_height=20)
    s.text(2, 1, labels("as_of", date=labels.format_date(as_of)) + " · "
           + labels("wb_forecast_note", currency=reporting), font=NOTE_FONT, fit=False)

    def section(row: int, first: str, label: str) -> None:
        s.text(row, 1, first, font=BOLD, fill=SECTION_FILL, overflow=True)
        s.text(row, 2, label, font=BOLD, fill=SECTION_FILL, overflow=True)
        for col in range(3, 6):
            s.restyle(row, col, fill=SECTION_FILL)

    stages = [(stage.number, labels.stage_name(stage)) for stage in model.stages]
    grades = [(rule.grade, labels.pick(rule, "meaning")) for rule in model.grading]
    money = amount_format(*(d.amount for d in deals.rows))
    # Every currency in the reporting currency: the converted columns of the Deals sheet.
    top = 5
    total = _breakdown(s, section, 4, "", labels("wb_open_deals_reporting", currency=reporting),
                       [labels.stage, labels.wb_stage_name], stages, "DealStage",
                       [deals.open(stage=number) for number, _ in stages], labels, open_word, money,
                       reporting=reporting)
    ws.charts.append(BarChart("bar", clean_text(labels.funnel), sheet_ref(ws.title, f"C{top + 1}:C{total - 1}"),
                              sheet_ref(ws.title, f"B{top + 1}:B{total - 1}"), "G4", 10, 12, y_min=0,
                              major_unit=max(1, math.ceil(most / 8)),  # whole deals on the axis
                              number_format="0", reverse_categories=True))  # stage 1 at the top, like a funnel
    row = _breakdown(s, section, total + 2, "", labels("wb_open_by_grade_reporting", currency=reporting),
                     [labels.grade, labels.wb_meaning], grades, "DealGrade",
                     [deals.open(grade=grade) for grade, _ in grades], labels, open_word, money,
                     reporting=reporting)
    ws.row_breaks.append(row + 1)  # the detail per currency starts on a page of its own

    # Per currency: by stage, then by grade. The currency is read from a cell, never put into a formula.
    row += 3
    s.text(row, 1, labels.wb_per_currency, font=BOLD, overflow=True)
    row += 2
    for currency in currencies:
        mine = amount_format(*(d.amount for d in deals.where(currency=currency)))
        row = _breakdown(s, section, row, currency, labels("wb_open_deals_in", currency=currency),
                         [labels.stage, labels.wb_stage_name], stages, "DealStage",
                         [deals.open(currency=currency, stage=number) for number, _ in stages], labels, open_word,
                         mine) + 2
        row = _breakdown(s, section, row, currency, labels("wb_open_by_grade_in", currency=currency),
                         [labels.grade, labels.wb_meaning], grades, "DealGrade",
                         [deals.open(currency=currency, grade=grade) for grade, _ in grades], labels, open_word,
                         mine) + 3
    s.finish(freeze="A3", title_rows=None)


def _breakdown(s: Sheet, section, head: int, currency: str, title: str, headers: list[str],
               rows: list[tuple[int | str, str]], column: str, selected: list[list[DealRow]], labels: Labels,
               open_word: str, money: str, reporting: str | None = None) -> int:
    """Open deals, a row per stage or grade, and a total; returns the total's row.

    In one currency (`currency`, written in the section's first cell and read from it by the formulas), or with
    `reporting` every currency in the reporting currency. `selected` holds, per row, the deals its COUNTIFS and
    SUMIFS pick: their results are written beside the formulas.
    """
    section(head, currency, title)
    amounts = [labels.amount, labels.weighted_amount] if reporting is None else \
        [labels("amount_in", currency=reporting), labels("weighted_in", currency=reporting)]
    s.header(head + 1, [*headers, labels.count, *amounts])
    row = top = head + 2
    for first, name in rows:
        if isinstance(first, str):  # a grade letter
            s.text(row, 1, first, align=CENTER_TOP, border=GRID, font=BOLD)
        else:
            s.value(row, 1, first, align=CENTER_TOP, border=GRID)
        s.text(row, 2, name, border=GRID, align=TOP)  # whole, on one line: the column fits the longest
        where = f'{column},A{row},DealStatus,"{open_word}"'
        if reporting is None:
            where += f",DealCurrency,$A${head}"
            sums = _sums(selected[row - top])
        else:
            sums = _sums(selected[row - top], reporting=True)
        _totals(s, row, where, sums, money, reporting is not None)
        row += 1
    _total_row(s, row, top, labels, [_sums(deals, reporting is not None) for deals in selected], money)
    return row


def _sums(deals: list[DealRow], reporting: bool = False) -> tuple[int, float, float]:
    """Count, amount and weighted amount (converted, if `reporting`); sums correctly rounded (fsum), as near as a
    spreadsheet's own sums get."""
    if reporting:
        return (len(deals), math.fsum(d.amount_reporting for d in deals),
                math.fsum(d.weighted_reporting for d in deals))
    return len(deals), math.fsum(d.amount for d in deals), math.fsum(d.weighted_amount for d in deals)


def _open_word(model: StageModel, labels: Labels) -> str:
    """How the Deals table writes an open deal's status (the summary's formulas count by it), quoted."""
    return quote_label(labels.value_word(model, "status", OPEN))


def _totals(s: Sheet, row: int, where: str, sums: tuple[int, float, float], money: str, reporting: bool) -> None:
    amount, weighted = ("DealAmountReporting", "DealWeightedReporting") if reporting else \
        ("DealAmount", "DealWeightedAmount")
    s.formula(row, 3, f"COUNTIFS({where})", sums[0], border=GRID, align=TOP)
    s.formula(row, 4, f"SUMIFS({amount},{where})", sums[1], fmt=money, border=GRID, align=TOP)
    s.formula(row, 5, f"SUMIFS({weighted},{where})", sums[2], fmt=money, border=GRID, align=TOP)


def _total_row(s: Sheet, row: int, top: int, labels: Labels, lines: list[tuple[int, float, float]],
               money: str) -> None:
    s.text(row, 2, labels.total, font=BOLD, border=GRID)
    for col, letter, fmt in ((3, "C", None), (4, "D", money), (5, "E", money)):
        total = math.fsum(line[col - 3] for line in lines)
        s.formula(row, col, f"SUM({letter}{top}:{letter}{row - 1})", int(total) if col == 3 else total, font=BOLD,
                  border=GRID, fmt=fmt)


def _forecast(s: Sheet, deals: _Selection, plan: ForecastPlan, model: StageModel, labels: Labels,
              as_of: date) -> None:
    """By period, by owner and period, and open deals by stage: the three parts of `/pipeline.json`.

    Every figure is a formula over the Deals table, stored with its result: the sum (fsum) of the deals it
    selects, as the site computed them. Periods and categories are Dealbook's own keys, so SUMIFS may match
    them; owner names are deal text, which SUMIFS would read as a pattern ("=…", "*", "?"), so owners are
    matched with EXACT inside SUMPRODUCT instead.
    """
    wb = s.ws.workbook
    reporting = model.reporting_currency
    money = amount_format(*(d.amount for d in deals.rows))
    s.text(1, 1, labels.forecast_by_period, font=TITLE_FONT, overflow=True)
    s.grow(1, 1, line_height=20)
    s.text(2, 1, labels("as_of", date=labels.format_date(as_of)) + " · "
           + labels("wb_forecast_note", currency=reporting), font=NOTE_FONT, fit=False)
    headers = [labels(f"cat_{c}") for c in FORECAST_COLUMNS] + [labels.weighted_short, labels.quota]

    def figures(row: int, col: int, match: str, sumifs: bool, selected: list[DealRow], quota: float | None) -> None:
        """One row of figures from column `col`: a sum per category, the weighted sum, the quota."""
        for offset, category in enumerate(FORECAST_COLUMNS):
            chosen = [d.amount_reporting for d in selected if d.forecast == category]
            word = quote_label(labels.forecast_word(category))
            formula = (f'SUMIFS(DealAmountReporting,{match},DealForecast,"{word}")' if sumifs else
                       f'SUMPRODUCT({match}*(DealForecast="{word}")*DealAmountReporting)')
            s.formula(row, col + offset, formula, math.fsum(chosen), fmt=money, border=GRID)
        weighted = (f"SUMIFS(DealWeightedReporting,{match})" if sumifs else
                    f"SUMPRODUCT({match}*DealWeightedReporting)")
        s.formula(row, col + len(FORECAST_COLUMNS), weighted, math.fsum(d.weighted_reporting for d in selected),
                  fmt=money, border=GRID)
        s.value(row, col + len(FORECAST_COLUMNS) + 1, quota, fmt=amount_format(quota), border=GRID)

    # By period.
    s.header(4, [labels.period, *headers])
    row = 5
    for period, quota in zip(plan.periods, plan.quotas, strict=True):
        s.text(row, 1, period, font=BOLD, border=GRID)
        figures(row, 2, f"DealPeriod,$A{row}", True, deals.where(period=period), quota)
        row += 1
    define(wb, "ForecastByPeriod", s.ws, f"A5:{COLUMNS[len(FORECAST_COLUMNS) + 2]}{max(5, row - 1)}")

    # By owner and period.
    row += 2
    s.text(row, 1, labels.wb_by_owner, font=BOLD, fill=SECTION_FILL, overflow=True)
    s.header(row + 1, [labels.owner, labels.period, *headers])
    top = row = row + 2
    for owner, quotas in plan.owners:
        for period, quota in zip(plan.periods, quotas, strict=True):
            s.text(row, 1, owner, align=TOP, border=GRID)
            s.text(row, 2, period, align=TOP, border=GRID)
            figures(row, 3, f"EXACT(DealOwner,$A{row})*(DealPeriod=$B{row})", False,
                    deals.where(owner=owner, period=period), quota)
            row += 1
    define(wb, "ForecastByOwner", s.ws, f"A{top}:{COLUMNS[len(FORECAST_COLUMNS) + 3]}{max(top, row - 1)}")

    # Open deals by stage: the stage name in the first column, which is as wide as the longest label of the sheet
    # (the other columns are as wide as their figures), so no name is cut.
    row += 2
    s.text(row, 1, labels.wb_by_stage, font=BOLD, fill=SECTION_FILL, overflow=True)
    s.header(row + 1, [labels.wb_stage_name, labels.stage, labels.count, labels("amount_in", currency=reporting),
                       labels("weighted_in", currency=reporting)])
    top = row = row + 2
    for stage in model.stages:
        where = f'DealStage,$B{row},DealStatus,"{_open_word(model, labels)}"'
        mine = deals.open(stage=stage.number)
        s.text(row, 1, labels.stage_name(stage), border=GRID)
        s.value(row, 2, stage.number, align=CENTER_TOP, border=GRID)
        s.formula(row, 3, f"COUNTIFS({where})", len(mine), border=GRID)
        s.formula(row, 4, f"SUMIFS(DealAmountReporting,{where})", math.fsum(d.amount_reporting for d in mine),
                  fmt=money, border=GRID)
        s.formula(row, 5, f"SUMIFS(DealWeightedReporting,{where})", math.fsum(d.weighted_reporting for d in mine),
                  fmt=money, border=GRID)
        row += 1
    define(wb, "ForecastByStage", s.ws, f"A{top}:E{row - 1}")
    s.finish(freeze="A5", title_rows=None)


# The JSON names of the Forecast sheet's figure columns, for readers of the workbook (and its tests).
FORECAST_JSON_KEYS = (*(json_name(c) for c in FORECAST_COLUMNS), "weighted", "quota")
