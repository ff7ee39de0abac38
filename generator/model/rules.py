"""Deal rules: what a deal file allows but a sales manager would question.

The deal still builds; each warning is shown by `dealbook check` and on the
deal's page, in the language of the `Labels` handed in.
"""

from __future__ import annotations

import difflib
from datetime import date
from typing import TYPE_CHECKING

from ..diagnostics import Problem
from ..sources.skeleton import PLACEHOLDERS

if TYPE_CHECKING:
    from ..labels import Labels
    from ..sources.deal_files import Deal
    from ..sources.stage_model import StageModel
    from ..sources.team import Team
    from .scoring import Result
    from .timeline import Timeline


def deal_warnings(deal: Deal, result: Result, times: Timeline, model: StageModel, as_of: date,
                  labels: Labels, team: Team | None = None) -> list[Problem]:
    out: list[Problem] = []

    def warn(where: str, message: str, hint: str, **values: object) -> None:
        # Reps get the field, the message and the fix (`dealbook check`); readers of the site get
        # the `<message>_plain` sentence of the catalog, which names no field.
        line, col = deal.mark(where)
        out.append(Problem(deal.path, line, col, "warning", where, labels(message, **values),
                           labels(hint, **values), labels(f"{message}_plain", **values)))

    # A file from `dealbook new` that was never filled in.
    for key, placeholders in PLACEHOLDERS.items():
        value = getattr(deal, key).strip()
        if value in placeholders:
            warn(key, "w_placeholder", "w_placeholder_hint", value=value, what=labels.placeholder_fields[key])
    if deal.status == "open" and deal.amount == 0:
        warn("amount", "w_zero_amount", "w_zero_amount_hint")

    last = len(model.stages)
    for number in range(1, deal.stage):
        if number not in deal.exits:
            stage = model.stage(number)
            warn("exits" if deal.exits else "stage", "w_no_exit", "w_no_exit_hint", n=number,
                 name=labels.stage_name(stage), criterion=labels.pick(stage, "exit_criterion"))
    if deal.status == "open" and deal.stage in deal.exits:
        # The exit criterion of the current stage is met: the rep probably forgot to move the deal on.
        if deal.stage < last:
            warn(f"exits.{deal.stage}", "w_exit_current", "w_exit_current_hint", n=deal.stage, next=deal.stage + 1)
        else:
            warn(f"exits.{deal.stage}", "w_exit_current", "w_exit_last_hint", n=deal.stage, next=deal.stage)
    if deal.status == "won" and deal.stage != last:
        warn("status", "w_won_early", "w_won_early_hint", stage=deal.stage, last=last)
    if deal.status in ("lost", "abandoned") and not deal.lost_reason:
        warn("status", "w_no_reason", "w_no_reason_hint", status=labels.term(model, "status", deal.status).lower())
    first = model.checks.decision_maker_from_stage
    if deal.status == "open" and deal.stage >= first and not any(s.role == "decision-maker" for s in deal.stakeholders):
        warn("stakeholders", "w_no_decision_maker", "w_no_decision_maker_hint", n=first)
    if deal.status == "open" and deal.stage >= model.checks.negotiation_from_stage and not deal.negotiation:
        warn("negotiation", "w_no_negotiation", "w_no_negotiation_hint")
    if result.passed is False:
        warn("qualification", "w_below_pass", "w_below_pass_hint", score=f"{result.score:g}",
             mark=f"{model.evaluation.pass_mark:g}")
    if deal.status == "open" and deal.expected_close < as_of:
        warn("expected_close", "w_close_past", "w_close_past_hint", date=labels.format_date(deal.expected_close))
    if times.stale:
        warn("stage", "w_stale", "w_stale_hint", days=times.days_since_update, limit=times.stale_days, n=deal.stage)
    if team is not None and team.member(deal.owner) is None and deal.owner.strip() not in PLACEHOLDERS["owner"]:
        # Not an error: a new rep's deals must not stop the build; their quota is simply unknown.
        close = difflib.get_close_matches(deal.owner, list(team.names), n=1, cutoff=0.6)
        warn("owner", "w_unknown_owner", "w_unknown_owner_close" if close else "w_unknown_owner_hint",
             owner=deal.owner, team=team.path, close=close[0] if close else "")
    for index, step in enumerate(deal.next_steps, start=1):
        if step.due is not None and not step.done and step.due < as_of:
            warn(f"next_steps[{index}].due", "w_step_overdue", "w_step_overdue_hint", action=_short(step.action),
                 date=labels.format_date(step.due))
    return out


def _short(text: str, limit: int = 50) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
