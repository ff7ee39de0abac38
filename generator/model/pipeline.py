"""The computed pipeline: every deal with its results, forecast and warnings, computed once.

Pages, `/deals.json`, `/pipeline.json` and the workbooks all read from a `Pipeline`; nothing
downstream computes a score, grade, probability, converted or weighted amount again.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING

from ..diagnostics import Problem, Problems, json_params
from .accuracy import Accuracy, Pacing, accuracy, pacing
from .forecast import DealForecast, Forecast, deal_forecast, summarize
from .rules import CLOSE_PASSED, Flag, deal_flags, deal_warnings
from .scoring import Result, evaluate
from .timeline import Timeline, timeline

if TYPE_CHECKING:
    from ..sources.calls import Calls
    from ..sources.deal_files import Deal
    from ..sources.history import DealHistory, History
    from ..sources.stage_model import Stage, StageModel
    from ..sources.team import Team
    from .movement import MovementSource


@dataclass
class DealView:
    deal: Deal
    result: Result
    warnings: list[Problem]  # codes and parameters, worded by each edge in its reader's language
    stage: Stage
    timeline: Timeline
    forecast: DealForecast
    flags: tuple[Flag, ...] = ()  # stuck, close date passed: `rules.deal_flags`, the one definition

    @property
    def id(self) -> str:
        return self.deal.id

    @property
    def stuck(self) -> bool:
        return any(f.stuck for f in self.flags)

    @property
    def stuck_flags(self) -> list[Flag]:
        return [f for f in self.flags if f.stuck]

    @property
    def close_passed(self) -> Flag | None:
        return next((f for f in self.flags if f.code == CLOSE_PASSED), None)

    @property
    def is_open(self) -> bool:
        return self.deal.status == "open"

    @property
    def next_step(self):
        """The first step not yet done, the earliest due first."""
        todo = [s for s in self.deal.next_steps if not s.done]
        dated = sorted((s for s in todo if s.due), key=lambda s: s.due)
        return (dated or todo or [None])[0]

    @property
    def next_steps_in_order(self) -> list:
        """Steps to do, the earliest due first and undated ones after them; then the steps done."""
        def key(step) -> tuple:
            return (step.done, step.due is None, step.due or date.min)
        return sorted(self.deal.next_steps, key=key)  # stable: file order among equals

    def as_json(self, warnings: list[str]) -> dict:
        """The deal's entry in `/deals.json`; `warnings`: its warnings as the edge words them (`field: message`)."""
        d, r = self.deal, self.result
        return {
            "id": d.id, "title": d.title, "account": d.account, "owner": d.owner,
            "stage": d.stage, "stage_name": self.stage.name, "status": d.status,
            "amount": d.amount, "currency": d.currency, "expected_close": d.expected_close.isoformat(),
            "probability": r.probability, "weighted_amount": r.weighted_amount, "score": r.score,
            "passed": r.passed, "scored_weight": r.scored_weight, "grade": r.grade,
            "next_exit_criterion": self.stage.exit_criterion,
            **d.texts,  # the deal spec's shown texts (`deal_format.SHOWN_TEXTS`), each under its name
            **self.forecast.as_json(),
            "warnings": warnings,
            "warning_codes": [{"field": w.field, "code": w.code, "params": json_params(w.params)}
                              for w in self.warnings],
            **self.timeline.as_json(),
            # `stale` is the one definition of stuck (in the stage too long, or no update), as on every page.
            "stale": self.stuck,
            "flags": [f.as_json() for f in self.flags],
            # The mutual action plan, in file order, and whether the buyer gets a page of it.
            "plan": [{"milestone": m.milestone, "side": m.side, "owner": m.owner, "due": m.due.isoformat(),
                      "done": m.done, "stage": m.stage} for m in d.plan],
            "share": d.share,
        }


@dataclass
class Pipeline:
    model: StageModel
    as_of: date
    deals: list[DealView]
    forecast: Forecast
    problems: Problems = field(default_factory=Problems)
    history_note: str = ""  # why there is no git history (a label key), when there is none
    team: Team | None = None
    movement: MovementSource | None = None  # the history pages' numbers, when the build asked for them
    calls: Calls | None = None  # playbook/calls.yml, when there is one
    snapshot: Pipeline | None = None  # the pipeline as it stood on the first day of the quarter, for builds

    @cached_property
    def accuracy(self) -> Accuracy:
        """Every closed period's forecast calls against what was won in it."""
        return accuracy(self.calls, self.deals, self.model.fiscal_year_start, self.as_of)

    @cached_property
    def pacing(self) -> Pacing:
        """Won to date this quarter against the same day of the four before, and the cover for the rest."""
        return pacing(self.deals, self.model.fiscal_year_start, self.as_of, self.team)

    @property
    def stale(self) -> list[DealView]:
        """The stuck open deals (`rules.deal_flags`), the longest in their stage first."""
        return sorted((v for v in self.open_deals if v.stuck),
                      key=lambda v: (-(v.timeline.days_in_stage or 0), -v.forecast.amount, v.id))

    @property
    def close_passed(self) -> list[DealView]:
        """Open deals whose expected close has passed, the oldest date first."""
        return sorted((v for v in self.open_deals if v.close_passed), key=lambda v: (v.deal.expected_close, v.id))

    def median_days_in_stage(self) -> list[tuple[Stage, int, float | None]]:
        """(stage, open deals now in it with a known entry date, the median of their days in it so far).

        The median, as the history pages' time in stage, so that one deal sitting for months does not
        make a stage look slow; over the deals now in the stage (the history pages: every stay in it).
        """
        out = []
        for stage in self.model.stages:
            days = [v.timeline.days_in_stage for v in self.by_stage(stage.number)
                    if v.timeline.days_in_stage is not None]
            out.append((stage, len(days), statistics.median(days) if days else None))
        return out

    def flags_json(self) -> dict:
        """The stuck deals and those whose close date passed, for `/pipeline.json`."""
        def entry(view: DealView, flags: list[Flag]) -> dict:
            return {"id": view.id, "owner": view.deal.owner, "stage": view.deal.stage,
                    "flags": [f.as_json() for f in flags]}
        return {"stuck": [entry(v, v.stuck_flags) for v in self.stale],
                "close_date_passed": [entry(v, [v.close_passed]) for v in self.close_passed]}  # type: ignore[list-item]

    def by_stage(self, number: int) -> list[DealView]:
        return [v for v in self.deals if v.deal.stage == number and v.is_open]

    @property
    def open_deals(self) -> list[DealView]:
        return [v for v in self.deals if v.is_open]

    def by_grade(self) -> dict[str, list[DealView]]:
        groups: dict[str, list[DealView]] = {g: [] for g in self.model.grades}
        for v in self.open_deals:
            groups.setdefault(v.result.grade, []).append(v)
        return groups


@dataclass
class ViewMemo:
    """What a live preview keeps of each deal's view from one rebuild to the next.

    A rebuild gets the very same `Deal` for a file that did not change (`DealLoader`'s
    `remembered`); its view depends on nothing else but the deal's history and the
    `context`, so it is kept, the same object, and what the pages keep by view (rows,
    view keys) stays valid too. A view holds no words: every language reads the same one.
    """

    context: tuple = ()  # the stage model, the as-of date, the team
    views: dict[str, tuple[Deal, DealHistory | None, DealView]] = field(default_factory=dict)


def _forget_except(memo: dict, views: list[DealView]) -> None:
    for gone in memo.keys() - {v.id for v in views}:
        del memo[gone]


def compute(deals: list[Deal], model: StageModel, as_of: date, problems: Problems | None = None,
            history: History | None = None, team: Team | None = None, memo: ViewMemo | None = None, *,
            placeholders: dict[str, frozenset[str]]) -> Pipeline:
    """Every deal's results, forecast, timeline and warnings; `problems` gets the warnings added.

    A deal in a currency without an exchange rate is an error and is left out, like a deal whose file has
    errors: its amount cannot be added to any total. `placeholders`: what `dealbook new` writes in a
    deal's title, account and owner (`labels.PLACEHOLDERS`), warned about while still there.
    """
    views = []
    problems = problems if problems is not None else Problems()
    known = history.deals if history is not None else {}
    if memo is not None and memo.context != (context := (model, as_of, team)):
        memo.context, memo.views = context, {}
    for deal in deals:
        past = known.get(deal.id)
        kept = memo.views.get(deal.id) if memo is not None else None
        if kept is not None and kept[0] is deal and kept[1] == past:
            views.append(kept[2])
            continue
        result = evaluate(status=deal.status, stage=deal.stage, amount=deal.amount,
                          expected_close=deal.expected_close, scores=deal.qualification,
                          probability=deal.probability, grade=deal.grade, model=model, as_of=as_of)
        forecast = deal_forecast(deal, result.probability, model)
        if forecast is None:
            problems.append(_no_rate(deal, model))
            continue
        times = timeline(deal, past, model, as_of)
        flags = deal_flags(deal, times, model, as_of)
        views.append(DealView(deal, result, deal_warnings(deal, result, times, model, as_of, team, flags, placeholders),
                              model.stage(deal.stage), times, forecast, flags))
        if memo is not None:
            memo.views[deal.id] = (deal, past, views[-1])
    if memo is not None:
        _forget_except(memo.views, views)
    views.sort(key=lambda v: (-v.deal.stage if v.is_open else 0, v.deal.id))
    pipeline = Pipeline(model, as_of, views, summarize(views, model, team, as_of), problems,
                        history.reason if history is not None else "history_off", team)
    for view in views:
        pipeline.problems.extend(view.warnings)
    return pipeline


def _no_rate(deal: Deal, model: StageModel) -> Problem:
    """The one error line for a deal whose currency has no rate: at its `currency:` line, saying where the rate goes."""
    line, col = deal.mark("currency")
    params = (("currency", deal.currency), ("reporting", model.reporting_currency), ("model", str(model.path)))
    return Problem(deal.path, line, col, "error", "currency", code="e_no_rate", params=params,
                   hint_code="e_no_rate_hint", hint_params=params)
