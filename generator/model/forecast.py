"""The forecast: every deal in the reporting currency, in a forecast category and a period; totals — computed once.

A deal's amount is converted with the stage model's rate and rounded to cents; its weighted amount is that
converted amount times its win probability, rounded again. Its category is `won` or `lost` once it is
closed (abandoned counts as lost), else the rep's `forecast:` or its stage's category. Its period is the
quarter of `expected_close` (fiscal quarters when the fiscal year does not start in January).

Totals are sums of those rounded per-deal figures, so anyone adding up `/deals.json` — or the workbook's
SUMIFS over its Deals sheet — gets the same numbers. The same rules exist as spreadsheet formulas below.
Pure computation: no paths, no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Protocol

from ..sources.forecast_terms import DEAL_FORECASTS
from .scoring import round_half_up

if TYPE_CHECKING:
    from ..sources.deal_files import Deal
    from ..sources.stage_model import Stage, StageModel
    from ..sources.team import Member, Team

# Every category a deal can be in, most certain first; the order of the forecast table's columns.
CATEGORIES = ("won", "commit", "best-case", "pipeline", "omitted", "lost")
OPEN_CATEGORIES = DEAL_FORECASTS
CLOSED_CATEGORY = {"won": "won", "lost": "lost", "abandoned": "lost"}


def json_name(category: str) -> str:
    """`best-case` is `best_case` in JSON, like the other keys there."""
    return category.replace("-", "_")


# --- Periods -------------------------------------------------------------------------------

def period_of(day: date, fiscal_year_start: int = 1) -> str:
    """The quarter a date falls in: `2027-Q1`, or `FY2027-Q1` for a fiscal year starting in another month.

    A fiscal year is named after the calendar year in which it ends: starting in April, FY2027 runs
    from April 2026 to March 2027, so 2026-05-10 is in FY2027-Q1.
    """
    months_in = (day.month - fiscal_year_start) % 12
    quarter = months_in // 3 + 1
    if fiscal_year_start == 1:
        return f"{day.year}-Q{quarter}"
    year = day.year + 1 if day.month >= fiscal_year_start else day.year
    return f"FY{year}-Q{quarter}"


def _split(period: str) -> tuple[str, int, int]:
    prefix = "FY" if period.startswith("FY") else ""
    year, quarter = period[len(prefix):].split("-Q")
    return prefix, int(year), int(quarter)


def period_key(period: str) -> tuple[int, int]:
    """Sorts periods in time order (a plain string sort would too, but this says why)."""
    _, year, quarter = _split(period)
    return year, quarter


def shift_period(period: str, quarters: int) -> str:
    """The period `quarters` after (or before, if negative) `period`, in the same style."""
    prefix, year, quarter = _split(period)
    index = year * 4 + quarter - 1 + quarters
    return f"{prefix}{index // 4}-Q{index % 4 + 1}"


def period_formula(date_cell: str, fiscal_year_start: int) -> str:
    """`period_of` as a spreadsheet formula over a date cell (Excel's and LibreOffice's MOD are never negative)."""
    if fiscal_year_start == 1:
        return f'YEAR({date_cell})&"-Q"&(INT((MONTH({date_cell})-1)/3)+1)'
    m = fiscal_year_start
    return (f'"FY"&(YEAR({date_cell})+IF(MONTH({date_cell})>={m},1,0))'
            f'&"-Q"&(INT(MOD(MONTH({date_cell})-{m},12)/3)+1)')


def converted_amount_formula(amount: str, rate: str) -> str:
    return f"ROUND({amount}*{rate},2)"


# --- One deal ------------------------------------------------------------------------------

def convert(amount: float, rate: float) -> float:
    """An amount in the reporting currency, rounded to cents (`converted_amount_formula` in a workbook)."""
    return round_half_up(amount * rate, 2)


@dataclass(frozen=True)
class DealForecast:
    """A deal as the forecast sees it."""

    rate: float  # units of the reporting currency for one unit of the deal's currency
    amount: float  # in the reporting currency
    weighted: float  # in the reporting currency
    category: str
    period: str | None

    def as_json(self) -> dict:
        return {"amount_reporting": self.amount, "weighted_amount_reporting": self.weighted,
                "forecast_category": self.category, "close_period": self.period}


def category_of(deal: Deal, stage: Stage) -> str:
    if deal.status in CLOSED_CATEGORY:
        return CLOSED_CATEGORY[deal.status]  # a rep's call no longer matters once the deal is closed
    return deal.forecast or stage.forecast


def deal_forecast(deal: Deal, probability: float, model: StageModel) -> DealForecast | None:
    """The deal in the reporting currency; None when the model has no rate for its currency."""
    rate = model.rate(deal.currency)
    if rate is None:
        return None
    amount = convert(deal.amount, rate)
    period = period_of(deal.expected_close, model.fiscal_year_start) if deal.expected_close else None
    return DealForecast(rate, amount, round_half_up(amount * probability, 2),
                        category_of(deal, model.stage(deal.stage)), period)


# --- Totals --------------------------------------------------------------------------------

@dataclass
class Totals:
    """One period's row of a forecast table: the converted amount in each category, the weighted total, the quota."""

    period: str
    amounts: dict[str, float] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0.0))
    weighted: float = 0.0
    quota: float | None = None
    deals: int = 0

    def __getitem__(self, category: str) -> float:
        return self.amounts[category]

    @property
    def attainment(self) -> float | None:
        """Won against quota (0.5 = half the quota won); None without a quota."""
        return self.amounts["won"] / self.quota if self.quota else None

    @property
    def best_case(self) -> float:
        """Best case as managers read it: commit plus the best-case category (not the category alone)."""
        return round_half_up(self.amounts["commit"] + self.amounts["best-case"], 2)

    @property
    def won_and_commit(self) -> float:
        return round_half_up(self.amounts["won"] + self.amounts["commit"], 2)

    @property
    def coverage(self) -> float | None:
        """Won plus commit against quota; None without a quota."""
        return self.won_and_commit / self.quota if self.quota else None

    def add(self, fc: DealForecast) -> None:
        self.amounts[fc.category] += fc.amount
        self.weighted += fc.weighted
        self.deals += 1

    def rounded(self) -> Totals:
        # Sums of cents in binary floating point drift (0.1 + 0.2); the published sums are rounded once, here.
        return Totals(self.period, {k: round_half_up(v, 2) for k, v in self.amounts.items()},
                      round_half_up(self.weighted, 2), self.quota, self.deals)

    def as_json(self) -> dict:
        # Each category alone, as the forecast table's columns (the dashboard's Best case tile adds commit).
        return {"period": self.period, **{json_name(c): self.amounts[c] for c in OPEN_CATEGORIES},
                "won": self.amounts["won"], "lost": self.amounts["lost"], "weighted": self.weighted,
                "quota": self.quota}


@dataclass
class OwnerForecast:
    owner: str
    member: Member | None  # None when the owner is not in the team file (or there is none)
    periods: list[Totals]
    deals: int = 0
    open_deals: int = 0
    open_amount: float = 0.0
    open_weighted: float = 0.0

    def quota(self, period: str) -> float | None:
        return self.member.quota(period) if self.member is not None else None

    def period(self, name: str) -> Totals:
        """This owner's row for a period, an empty one (with the quota) when no deal of theirs closes in it."""
        found = next((t for t in self.periods if t.period == name), None)
        return found if found is not None else Totals(name, quota=self.quota(name))


@dataclass(frozen=True)
class StageTotals:
    stage: Stage
    deals: int
    amount: float
    weighted: float


@dataclass
class Forecast:
    reporting_currency: str
    rates_date: date | None
    as_of: date
    this_period: str
    next_period: str
    periods: list[Totals]  # every period in which a deal closes, in time order
    owners: list[OwnerForecast]
    stages: list[StageTotals]  # open deals
    has_team: bool
    open_deals: int = 0
    open_amount: float = 0.0
    open_weighted: float = 0.0
    team_quota: dict[str, float] = field(default_factory=dict, repr=False)

    def quota(self, period: str) -> float | None:
        return self.team_quota.get(period, 0.0) if self.has_team else None

    def period(self, name: str) -> Totals:
        found = next((t for t in self.periods if t.period == name), None)
        return found if found is not None else Totals(name, quota=self.quota(name))

    def owner(self, name: str) -> OwnerForecast | None:
        return next((o for o in self.owners if o.owner == name), None)

    def table_periods(self, source: list[Totals] | None = None,
                      owner: OwnerForecast | None = None) -> tuple[list[Totals], list[Totals]]:
        """The rows a forecast table shows — from the previous period on, this period and the next always
        there — and the earlier ones (closed history, shown folded so the table stays on one screen)."""
        rows = {t.period: t for t in (self.periods if source is None else source)}
        for name in (self.this_period, self.next_period):
            if name not in rows:
                rows[name] = owner.period(name) if owner is not None else self.period(name)
        ordered = sorted(rows.values(), key=lambda t: period_key(t.period))
        start = period_key(shift_period(self.this_period, -1))
        return [t for t in ordered if period_key(t.period) >= start], \
            [t for t in ordered if period_key(t.period) < start]

    def as_json(self) -> dict:
        return {
            "as_of": self.as_of.isoformat(),
            "reporting_currency": self.reporting_currency,
            "rates_date": self.rates_date.isoformat() if self.rates_date else None,
            "periods": [t.as_json() for t in self.periods],
            "owners": [{"owner": o.owner, "periods": [t.as_json() for t in o.periods]} for o in self.owners],
            "stages": [{"stage": s.stage.number, "deals": s.deals, "amount": s.amount, "weighted": s.weighted}
                       for s in self.stages],
        }


class Forecasted(Protocol):
    """What `summarize` needs of a deal view (the pipeline's DealView has it)."""

    deal: Deal
    forecast: DealForecast
    is_open: bool


def summarize(views: Iterable[Forecasted], model: StageModel, team: Team | None, as_of: date) -> Forecast:
    """Totals by period, by owner and period, and by stage, from each deal's forecast."""
    views = list(views)
    periods_seen = sorted({v.forecast.period for v in views if v.forecast.period}, key=period_key)
    team_quota: dict[str, float] = defaultdict(float)
    if team is not None:
        for member in team.members:
            for period, amount in member.quotas:
                team_quota[period] += amount

    by_period = {p: Totals(p, quota=team_quota.get(p, 0.0) if team is not None else None) for p in periods_seen}
    names = sorted({v.deal.owner for v in views} | set(team.names if team is not None else ()),
                   key=lambda n: (n.casefold(), n))
    owners: dict[str, OwnerForecast] = {}
    for name in names:
        member = team.member(name) if team is not None else None
        owner = OwnerForecast(name, member, [])
        owner.periods = [Totals(p, quota=owner.quota(p)) for p in periods_seen]
        owners[name] = owner
    open_sums = defaultdict(lambda: [0, 0.0, 0.0])
    totals_open = [0, 0.0, 0.0]
    for v in views:
        fc = v.forecast
        owner = owners[v.deal.owner]
        owner.deals += 1
        if fc.period is not None:
            by_period[fc.period].add(fc)
            owner.periods[periods_seen.index(fc.period)].add(fc)
        if v.is_open:
            for sums in (open_sums[v.deal.stage], totals_open):
                sums[0] += 1
                sums[1] += fc.amount
                sums[2] += fc.weighted
            owner.open_deals += 1
            owner.open_amount += fc.amount
            owner.open_weighted += fc.weighted
    for owner in owners.values():
        owner.periods = [t.rounded() for t in owner.periods]
        owner.open_amount = round_half_up(owner.open_amount, 2)
        owner.open_weighted = round_half_up(owner.open_weighted, 2)
    stages = [StageTotals(s, open_sums[s.number][0], round_half_up(open_sums[s.number][1], 2),
                          round_half_up(open_sums[s.number][2], 2)) for s in model.stages]
    this = period_of(as_of, model.fiscal_year_start)
    return Forecast(model.reporting_currency, model.rates_date, as_of, this, shift_period(this, 1),
                    [by_period[p].rounded() for p in periods_seen], list(owners.values()), stages, team is not None,
                    totals_open[0], round_half_up(totals_open[1], 2), round_half_up(totals_open[2], 2),
                    dict(team_quota))
