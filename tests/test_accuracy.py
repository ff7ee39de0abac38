"""Forecast calls judged against what was won, and pacing, against figures worked out by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace

import pytest

from generator.model.accuracy import accuracy, pacing, period_end, period_start
from generator.model.forecast import period_of
from generator.sources.calls import Call, Calls
from generator.sources.team import Member, Team


@dataclass
class View:
    deal: SimpleNamespace
    forecast: SimpleNamespace
    timeline: SimpleNamespace
    is_open: bool


def view(owner: str, status: str, amount: float, close: date, closed_on: date | None = None,
         category: str = "won") -> View:
    return View(SimpleNamespace(owner=owner, status=status, expected_close=close),
                SimpleNamespace(amount=amount, period=period_of(close), category=category),
                SimpleNamespace(closed_on=closed_on), status == "open")


def call(day: str, owner: str, period: str, commit: float, best: float | None = None) -> Call:
    return Call(date.fromisoformat(day), owner, period, commit, commit if best is None else best)


# 2026-Q3: Li Wei won 100,000 + 50,000; Anna won 200,000. 2026-Q4: Li Wei won 80,000, Anna nothing.
VIEWS = [
    view("Li Wei", "won", 100_000, date(2026, 8, 10), date(2026, 8, 12)),
    view("Li Wei", "won", 50_000, date(2026, 9, 30), date(2026, 9, 20)),
    view("Anna", "won", 200_000, date(2026, 7, 5), date(2026, 7, 6)),
    view("Anna", "lost", 999_999, date(2026, 9, 1)),
    view("Li Wei", "won", 80_000, date(2026, 11, 3), date(2026, 11, 2)),
    view("Anna", "open", 70_000, date(2027, 1, 20), category="commit"),
]
CALLS = Calls("playbook/calls.yml", (
    call("2026-06-29", "Li Wei", "2026-Q3", 120_000, 200_000),   # first: (120-150)/150 = -0.2
    call("2026-08-03", "Li Wei", "2026-Q3", 140_000),
    call("2026-08-05", "Li Wei", "2026-Q3", 135_000),            # same ISO week as 08-03: stands for it
    call("2026-09-28", "Li Wei", "2026-Q3", 180_000),            # last: (180-150)/150 = +0.2
    call("2026-10-02", "Li Wei", "2026-Q3", 1),                  # after the close: not judged
    call("2026-07-01", "Anna", "2026-Q3", 150_000),              # first and last: (150-200)/200 = -0.25
    call("2026-10-01", "Li Wei", "2026-Q4", 100_000),            # first: (100-80)/80 = +0.25
    call("2026-12-20", "Li Wei", "2026-Q4", 60_000),             # last: (60-80)/80 = -0.25
    call("2026-06-30", "team", "2026-Q3", 300_000),              # team won 350,000: -50/350
    call("2026-09-29", "team", "2026-Q3", 400_000),              # +50/350
    call("2026-12-01", "Anna", "2027-Q1", 70_000),               # an open period: not judged
))


def test_each_call_against_what_was_won():
    result = accuracy(CALLS, VIEWS, 1, date(2027, 1, 15))
    li = result.owner("Li Wei")
    q3, q4 = li.periods
    assert (q3.period, q3.won, q4.period, q4.won) == ("2026-Q3", 150_000, "2026-Q4", 80_000)
    assert (q3.first.call.commit, q3.first.error, q3.first.bias) == (120_000, -30_000, pytest.approx(-0.2))
    assert (q3.last.call.commit, q3.last.error, q3.last.bias) == (180_000, 30_000, pytest.approx(0.2))
    assert [c.call.commit for c in q3.weekly] == [120_000, 135_000, 180_000]
    assert (q4.first.bias, q4.last.bias) == (pytest.approx(0.25), pytest.approx(-0.25))
    # MAPE and mean bias across Li Wei's two closed periods, by hand.
    assert li.mape_first == pytest.approx((0.2 + 0.25) / 2)
    assert li.bias_first == pytest.approx((-0.2 + 0.25) / 2)
    assert li.mape_last == pytest.approx((0.2 + 0.25) / 2)
    assert li.bias_last == pytest.approx((0.2 - 0.25) / 2)
    anna = result.owner("Anna")
    assert [p.period for p in anna.periods] == ["2026-Q3"]  # 2027-Q1 is still open on 2027-01-15
    assert (anna.mape_last, anna.bias_last) == (pytest.approx(0.25), pytest.approx(-0.25))


def test_the_managers_call_beside_the_sum_of_the_reps():
    team = accuracy(CALLS, VIEWS, 1, date(2027, 1, 15)).team
    (q3,) = team.periods
    assert q3.won == 350_000
    assert (q3.first.bias, q3.last.bias) == (pytest.approx(-50 / 350), pytest.approx(50 / 350))
    # On 06-30 only Li Wei had called (120,000); on 09-29, Li Wei's 180,000 and Anna's 150,000.
    assert (q3.first.reps_sum, q3.last.reps_sum) == (120_000, 330_000)
    assert team.mape_first == pytest.approx(50 / 350)


def test_nothing_won_has_no_bias_and_counts_in_no_mean():
    calls = Calls("c", (call("2026-07-01", "Anna", "2026-Q4", 10_000),))
    anna = accuracy(calls, VIEWS, 1, date(2027, 1, 15)).owner("Anna")
    assert anna.periods[0].won == 0 and anna.periods[0].first.bias is None
    assert anna.mape_first is None and anna.bias_first is None


def test_pacing_counts_wins_by_the_day_they_closed():
    team = Team("t", (Member("Li Wei", (("2026-Q4", 300_000),)), Member("Anna", (("2026-Q4", 100_000),))))
    views = VIEWS + [view("Anna", "open", 40_000, date(2026, 12, 1), category="best-case"),
                     view("Anna", "open", 30_000, date(2026, 12, 2), category="pipeline")]
    pace = pacing(views, 1, date(2026, 11, 4), team)
    assert (pace.period, pace.day, pace.days) == ("2026-Q4", 35, 92)
    assert pace.won_to_date == 80_000
    # Day 35 of Q3 is 2026-08-04: only Anna's 200,000 (closed 07-06) by then; Q3 won 350,000 in all.
    assert [(p.period, p.won_by_day, p.won) for p in pace.previous] == [
        ("2026-Q3", 200_000, 350_000), ("2026-Q2", 0, 0), ("2026-Q1", 0, 0), ("2025-Q4", 0, 0)]
    assert (pace.quota, pace.remaining, pace.open_best_case) == (400_000, 320_000, 40_000)
    assert pace.coverage == pytest.approx(40_000 / 320_000)


@pytest.mark.parametrize("start", [1, 2, 4, 7, 10, 12])
def test_a_quarters_days_are_the_days_period_of_names_it(start):
    for period in ("2027-Q1", "2027-Q4") if start == 1 else ("FY2027-Q1", "FY2027-Q4"):
        first, last = period_start(period, start), period_end(period, start)
        assert period_of(first, start) == period_of(last, start) == period
        assert period_of(first.replace(day=1) if first.day != 1 else first, start) == period
        assert 89 <= (last - first).days + 1 <= 92
