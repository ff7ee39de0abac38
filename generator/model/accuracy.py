"""How right the forecast calls were, and how this quarter is pacing: computed once, worded nowhere.

A call is judged against what was won in its period: its error is called − won and its bias that
error over won (+0.25 called a quarter too high). Across closed periods an owner's calls are
summed up by the mean absolute percentage error (MAPE: how far off, whichever way) and the mean
bias (which way). Both are computed for the first call of a period and for the last one made
before it closed, because a forecast that is right only in the last week is not much of a forecast.
The commit figure is what is judged: it is the number an owner puts their name to.

Won means won deals whose forecast period is the period, converted as the forecast converts them,
so the figures agree with the forecast table and `/deals.json`. Pacing counts a won deal on the
day it closed (its timeline's `closed_on`; its expected close when the history does not say).
Pure computation: no paths, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Protocol

from .forecast import period_key, period_of, shift_period
from .scoring import round_half_up

if TYPE_CHECKING:
    from ..sources.calls import Call, Calls
    from ..sources.deal_files import Deal
    from ..sources.team import Team
    from .forecast import DealForecast
    from .timeline import Timeline


class Judged(Protocol):
    """What accuracy and pacing need of a deal view (the pipeline's DealView has it)."""

    deal: Deal
    forecast: DealForecast | None
    timeline: Timeline
    is_open: bool


# --- Periods as days ---------------------------------------------------------------------------

def period_start(period: str, fiscal_year_start: int = 1) -> date:
    """The first day of a quarter named as `period_of` names it (a fiscal year is named after the year it ends in)."""
    fiscal = period.startswith("FY")
    year, quarter = (int(part) for part in period.removeprefix("FY").split("-Q"))
    months = fiscal_year_start - 1 + (quarter - 1) * 3
    first_year = year - 1 if fiscal else year  # FY2027 starting in April began in April 2026
    return date(first_year + months // 12, months % 12 + 1, 1)


def period_end(period: str, fiscal_year_start: int = 1) -> date:
    """The last day of the quarter."""
    return period_start(shift_period(period, 1), fiscal_year_start) - timedelta(days=1)


# --- Accuracy ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class JudgedCall:
    """One call against what was won in its period."""

    call: Call
    won: float
    reps_sum: float | None = None  # the manager's call only: the reps' latest calls of the same day, summed

    @property
    def error(self) -> float:
        return round_half_up(self.call.commit - self.won, 2)

    @property
    def bias(self) -> float | None:
        """(called − won) / won; None when nothing was won (any call is then infinitely off)."""
        return self.error / self.won if self.won else None

    def as_json(self) -> dict:
        return {"date": self.call.day.isoformat(), "commit": self.call.commit, "best_case": self.call.best_case,
                "note": self.call.note or None, "won": self.won, "error": self.error, "bias": _rounded(self.bias),
                "reps_sum": self.reps_sum}


@dataclass(frozen=True)
class PeriodAccuracy:
    owner: str  # a member, or the whole team's name (`Calls.whole_team`)
    period: str
    won: float
    first: JudgedCall | None
    last: JudgedCall | None  # the last call made on or before the period's last day
    weekly: tuple[JudgedCall, ...]  # the last call of each week with a call, oldest first

    def as_json(self) -> dict:
        return {"period": self.period, "won": self.won, "first": self.first.as_json() if self.first else None,
                "last": self.last.as_json() if self.last else None, "weekly": [c.as_json() for c in self.weekly]}


@dataclass(frozen=True)
class OwnerAccuracy:
    owner: str
    periods: tuple[PeriodAccuracy, ...]  # closed periods with at least one call, oldest first
    mape_first: float | None  # over the periods where something was won
    mape_last: float | None
    bias_first: float | None
    bias_last: float | None

    def as_json(self) -> dict:
        return {"owner": self.owner, "periods": [p.as_json() for p in self.periods],
                "mape_first": _rounded(self.mape_first), "mape_last": _rounded(self.mape_last),
                "bias_first": _rounded(self.bias_first), "bias_last": _rounded(self.bias_last)}


@dataclass(frozen=True)
class Accuracy:
    team: OwnerAccuracy | None  # the manager's calls; None when there are none
    owners: tuple[OwnerAccuracy, ...]  # each owner with calls, in name order

    def owner(self, name: str) -> OwnerAccuracy | None:
        return next((o for o in self.owners if o.owner == name), None)

    def as_json(self) -> dict:
        return {"team": self.team.as_json() if self.team else None, "owners": [o.as_json() for o in self.owners]}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round_half_up(value, 4)


def won_by_period(views: Iterable[Judged], owner: str | None = None) -> dict[str, float]:
    """Won in each period, in the reporting currency: one owner's deals, or everyone's (None)."""
    won: dict[str, float] = {}
    for v in views:
        fc = v.forecast
        if fc is None or v.deal.status != "won" or fc.period is None or (owner is not None and v.deal.owner != owner):
            continue
        won[fc.period] = won.get(fc.period, 0.0) + fc.amount
    return {p: round_half_up(a, 2) for p, a in won.items()}


def _latest(calls: list[Call], day: date) -> Call | None:
    """The last of `calls` (oldest first) made on or before `day`."""
    found = None
    for call in calls:
        if call.day <= day:
            found = call
    return found


def _judge_period(owner: str, period: str, calls: list[Call], won: float, end: date,
                  reps: dict[str, list[Call]] | None) -> PeriodAccuracy:
    def judged(call: Call) -> JudgedCall:
        reps_sum = None
        if reps is not None:
            latest = [_latest(rep_calls, call.day) for rep_calls in reps.values()]
            reps_sum = round_half_up(sum(c.commit for c in latest if c is not None), 2)
        return JudgedCall(call, won, reps_sum)

    before_close = [c for c in calls if c.day <= end]
    by_week: dict[tuple[int, int], Call] = {}
    for call in before_close:
        by_week[call.day.isocalendar()[:2]] = call  # the last call of each week stands for it
    return PeriodAccuracy(owner, period, won, judged(before_close[0]) if before_close else None,
                          judged(before_close[-1]) if before_close else None,
                          tuple(judged(c) for c in by_week.values()))


def _summed(owner: str, periods: list[PeriodAccuracy]) -> OwnerAccuracy:
    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    firsts = [p.first.bias for p in periods if p.first is not None and p.first.bias is not None]
    lasts = [p.last.bias for p in periods if p.last is not None and p.last.bias is not None]
    return OwnerAccuracy(owner, tuple(periods), mean([abs(b) for b in firsts]), mean([abs(b) for b in lasts]),
                         mean(firsts), mean(lasts))


def accuracy(calls: Calls | None, views: Iterable[Judged], fiscal_year_start: int, as_of: date) -> Accuracy:
    """Every closed period's calls judged, per owner and for the team's manager."""
    if calls is None or not calls.calls:
        return Accuracy(None, ())
    whole_team = calls.whole_team
    views = list(views)
    closed = sorted({c.period for c in calls.calls if period_end(c.period, fiscal_year_start) < as_of},
                    key=period_key)
    owners = sorted({c.owner for c in calls.calls if c.owner != whole_team}, key=lambda n: (n.casefold(), n))
    everyone = won_by_period(views)
    results = []
    for owner in owners:
        won = won_by_period(views, owner)
        periods = [_judge_period(owner, p, calls.of(owner, p), won.get(p, 0.0), period_end(p, fiscal_year_start),
                                 None) for p in closed if calls.of(owner, p)]
        results.append(_summed(owner, periods))
    team = None
    if any(c.owner == whole_team for c in calls.calls):
        periods = [_judge_period(whole_team, p, calls.of(whole_team, p), everyone.get(p, 0.0),
                                 period_end(p, fiscal_year_start), {o: calls.of(o, p) for o in owners})
                   for p in closed if calls.of(whole_team, p)]
        team = _summed(whole_team, periods)
    return Accuracy(team, tuple(results))


# --- Pacing ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PastPace:
    period: str
    won_by_day: float  # won by the same day of that quarter
    won: float  # won in the whole quarter


@dataclass(frozen=True)
class Pacing:
    period: str
    day: int  # the day of the quarter the as-of day is (1 on its first day)
    days: int  # how many days the quarter has
    won_to_date: float
    previous: tuple[PastPace, ...]  # the four quarters before, most recent first
    open_best_case: float  # open deals closing in the period: commit and best case (as managers read best case)
    quota: float | None
    remaining: float | None  # what is left of the quota (never below 0); None without a quota
    coverage: float | None  # open_best_case over remaining; None when nothing remains or no quota

    def as_json(self) -> dict:
        return {"period": self.period, "day": self.day, "days": self.days, "won_to_date": self.won_to_date,
                "previous": [{"period": p.period, "won_by_day": p.won_by_day, "won": p.won} for p in self.previous],
                "open_best_case": self.open_best_case, "quota": self.quota, "remaining": self.remaining,
                "coverage": _rounded(self.coverage)}


def _won_days(views: Iterable[Judged]) -> list[tuple[date, float]]:
    out = []
    for v in views:
        if v.deal.status == "won" and v.forecast is not None:
            day = v.timeline.closed_on or v.deal.expected_close
            if day is not None:
                out.append((day, v.forecast.amount))
    return out


def pacing(views: Iterable[Judged], fiscal_year_start: int, as_of: date, team: Team | None) -> Pacing:
    """Won to date this quarter against the same day of the four before, and what covers the rest of the quota."""
    views = list(views)
    period = period_of(as_of, fiscal_year_start)
    start, end = period_start(period, fiscal_year_start), period_end(period, fiscal_year_start)
    day = (as_of - start).days + 1
    won_days = _won_days(views)

    def won_between(first: date, last: date) -> float:
        return round_half_up(sum(a for d, a in won_days if first <= d <= last), 2)

    previous = []
    for back in range(1, 5):
        past = shift_period(period, -back)
        past_start, past_end = period_start(past, fiscal_year_start), period_end(past, fiscal_year_start)
        same_day = min(past_start + timedelta(days=day - 1), past_end)
        previous.append(PastPace(past, won_between(past_start, same_day), won_between(past_start, past_end)))
    won = won_between(start, as_of)
    open_best = round_half_up(sum(v.forecast.amount for v in views if v.is_open and v.forecast is not None
                                  and v.forecast.period == period
                                  and v.forecast.category in ("commit", "best-case")), 2)
    quota = sum(m.quota(period) for m in team.members) if team is not None else None
    remaining = max(round_half_up(quota - won, 2), 0.0) if quota is not None else None
    coverage = open_best / remaining if remaining else None
    return Pacing(period, day, (end - start).days + 1, won, tuple(previous), open_best, quota, remaining, coverage)
