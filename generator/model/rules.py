"""Deal rules: what a deal file allows but a sales manager would question.

The deal still builds; each warning is a code and its parameters (values: a stage's
number, a date, a vocabulary term, a number), no words. `dealbook check`, the deal's page,
the dashboard and `/deals.json` word it in their reader's language (`Labels.in_language`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from ..diagnostics import Problem, StageText, Term, worded

if TYPE_CHECKING:
    from ..sources.deal_files import Deal
    from ..sources.stage_model import StageModel
    from ..sources.team import Team
    from .scoring import Result
    from .timeline import Timeline


# What a manager must see about an open deal, as codes: the board's colours, the dashboard's list of
# stuck deals, "needs attention", the owner pages, `/deals.json` and `/pipeline.json` all read these
# flags (worded only where they are shown), so no two of them can disagree about which deals are stuck.
STUCK_IN_STAGE = "stuck.in_stage"  # longer in its stage than the stage's stale_days: {days, limit, stage}
STUCK_NO_UPDATE = "stuck.no_update"  # the file unchanged for longer than the stage's stale_days: {days, limit, stage}
CLOSE_PASSED = "close_date_passed"  # the expected close is before the as-of date: {date, days}


@dataclass(frozen=True)
class Flag:
    """One fact about an open deal that needs a manager's eye: a code and its parameters, no words."""

    code: str
    params: tuple[tuple[str, object], ...] = ()

    def __getitem__(self, name: str) -> object:
        return dict(self.params)[name]

    @property
    def stuck(self) -> bool:
        return self.code.startswith("stuck.")

    def as_json(self) -> dict:
        return {"code": self.code, **{k: v.isoformat() if isinstance(v, date) else v for k, v in self.params}}


def deal_flags(deal: Deal, times: Timeline, model: StageModel, as_of: date) -> tuple[Flag, ...]:
    """The one definition of a stuck deal, and of a close date that has passed.

    An open deal is stuck when it has been in its stage longer than the stage's `stale_days`
    (from the day it entered: its exit evidence, or git), or when its file has not changed for
    longer than that (no update). Closed deals are never flagged.
    """
    if deal.status != "open":
        return ()
    limit, out = model.stage(deal.stage).stale_days, []
    if times.days_in_stage is not None and times.days_in_stage > limit:
        out.append(Flag(STUCK_IN_STAGE, (("days", times.days_in_stage), ("limit", limit), ("stage", deal.stage))))
    if times.days_since_update is not None and times.days_since_update > limit:
        out.append(Flag(STUCK_NO_UPDATE, (("days", times.days_since_update), ("limit", limit), ("stage", deal.stage))))
    if deal.expected_close < as_of:
        out.append(Flag(CLOSE_PASSED, (("date", deal.expected_close), ("days", (as_of - deal.expected_close).days))))
    return tuple(out)


def deal_warnings(deal: Deal, result: Result, times: Timeline, model: StageModel, as_of: date,
                  team: Team | None = None, flags: tuple[Flag, ...] | None = None,
                  placeholders: dict[str, frozenset[str]] | None = None) -> list[Problem]:
    """What a manager would question about `deal`, each a code with its parameters, in the file's order of rules.

    `placeholders`: what `dealbook new` writes for a title, an account and an owner, in every language
    (`labels.PLACEHOLDERS`, handed in: the model reads no catalog).
    """
    out: list[Problem] = []
    if flags is None:
        flags = deal_flags(deal, times, model, as_of)
    codes = {f.code: f for f in flags}
    placeholders = placeholders or {}

    def warn(where: str, message: str, hint: str, **values: object) -> None:
        # Reps get the field, the message and the fix (`dealbook check`); readers of the site get the
        # `<message>_plain` sentence of the catalog, which names no field: all worded at the edge, from
        # the catalog keys and these values, in the reader's language.
        line, col = deal.mark(where)
        params = tuple(values.items())
        out.append(Problem(deal.path, line, col, "warning", where, code=message, params=params, hint_code=hint,
                           hint_params=params))

    # A file from `dealbook new` that was never filled in.
    for key, written in placeholders.items():
        value = getattr(deal, key).strip()
        if value in written:
            warn(key, "w_placeholder", "w_placeholder_hint", value=value, what=worded(f"placeholder_fields.{key}"))
    if deal.status == "open" and deal.amount == 0:
        warn("amount", "w_zero_amount", "w_zero_amount_hint")

    last = len(model.stages)
    for number in range(1, deal.stage):
        if number not in deal.exits:
            warn("exits" if deal.exits else "stage", "w_no_exit", "w_no_exit_hint", n=number,
                 name=StageText(number, "name"), criterion=StageText(number, "exit_criterion"))
    if deal.status == "open" and deal.stage in deal.exits:
        # The exit criterion of the current stage is met: the rep probably forgot to move the deal on.
        if deal.stage < last:
            warn(f"exits.{deal.stage}", "w_exit_current", "w_exit_current_hint", n=deal.stage, next=deal.stage + 1)
        else:
            warn(f"exits.{deal.stage}", "w_exit_current", "w_exit_last_hint", n=deal.stage, next=deal.stage)
    if deal.status == "won" and deal.stage != last:
        warn("status", "w_won_early", "w_won_early_hint", stage=deal.stage, last=last)
    if deal.status in ("lost", "abandoned") and not deal.lost_reason:
        warn("status", "w_no_reason", "w_no_reason_hint", status=Term("status", deal.status))
    first = model.checks.decision_maker_from_stage
    if deal.status == "open" and deal.stage >= first and not any(s.role == "decision-maker" for s in deal.stakeholders):
        warn("stakeholders", "w_no_decision_maker", "w_no_decision_maker_hint", n=first)
    if deal.status == "open" and deal.stage >= model.checks.negotiation_from_stage and not deal.negotiation:
        warn("negotiation", "w_no_negotiation", "w_no_negotiation_hint")
    if result.passed is False:
        warn("qualification", "w_below_pass", "w_below_pass_hint", score=result.score, mark=model.evaluation.pass_mark)
    if CLOSE_PASSED in codes:
        warn("expected_close", "w_close_past", "w_close_past_hint", date=deal.expected_close)
    # One warning for a stuck deal: no update says more (nobody touched it); else too long in the stage.
    if (stuck := codes.get(STUCK_NO_UPDATE)) is not None:
        warn("stage", "w_stale", "w_stale_hint", days=stuck["days"], limit=stuck["limit"], n=deal.stage)
    elif (stuck := codes.get(STUCK_IN_STAGE)) is not None:
        warn("stage", "w_stuck_in_stage", "w_stale_hint", days=stuck["days"], limit=stuck["limit"], n=deal.stage)
    if team is not None and team.member(deal.owner) is None and deal.owner.strip() not in placeholders.get("owner", ()):
        # Not an error: a new rep's deals must not stop the build; their quota is simply unknown.
        close = difflib.get_close_matches(deal.owner, list(team.names), n=1, cutoff=0.6)
        warn("owner", "w_unknown_owner", "w_unknown_owner_close" if close else "w_unknown_owner_hint",
             owner=deal.owner, team=team.path, close=close[0] if close else "")
    for index, step in enumerate(deal.next_steps, start=1):
        if step.due is not None and not step.done and step.due < as_of:
            warn(f"next_steps[{index}].due", "w_step_overdue", "w_step_overdue_hint", action=_short(step.action),
                 date=step.due)
    return out


def _short(text: str, limit: int = 50) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
