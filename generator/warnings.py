"""Warnings: things a deal file allows but a sales manager would question.

The deal still builds; each warning is shown by `dealbook check` and on the
deal's page.
"""

from __future__ import annotations

from datetime import date

from .deals import Deal
from .problems import Problem
from .scoring import Result
from .stage_model import StageModel
from .timeline import Timeline


def deal_warnings(deal: Deal, result: Result, times: Timeline, model: StageModel, as_of: date) -> list[Problem]:
    out: list[Problem] = []

    def warn(where: str, message: str, hint: str = "") -> None:
        line, col = deal.mark(where)
        out.append(Problem(deal.path, line, col, "warning", where, message, hint))

    for number in range(1, deal.stage):
        if number not in deal.exits:
            stage = model.stage(number)
            warn("exits" if deal.exits else "stage",
                 f"stage {number} ({stage.name}) has no exit evidence",
                 f"add exits: {{{number}: {{date: …, evidence: …}}}} — '{stage.exit_criterion}'")
    if deal.status == "won" and deal.stage != len(model.stages):
        warn("status", f"the deal is won but is at stage {deal.stage}", f"set stage: {len(model.stages)}")
    if deal.status in ("lost", "abandoned") and not deal.lost_reason:
        warn("status", f"a {deal.status} deal has no lost_reason", "add lost_reason: … so the team can learn from it")
    first = model.checks.decision_maker_from_stage
    if deal.status == "open" and deal.stage >= first and not any(s.role == "decision-maker" for s in deal.stakeholders):
        warn("stakeholders", "no stakeholder has the role decision-maker",
             f"from stage {first} on, find who decides and add them with role: decision-maker")
    if deal.status == "open" and deal.stage >= model.checks.negotiation_from_stage and not deal.negotiation:
        warn("negotiation", "no negotiation terms are prepared",
             "add negotiation: {terms: [...]} with opening, target and walk_away for each topic")
    if result.passed is False:
        warn("qualification", f"evaluation score {result.score:g} is below the pass mark "
             f"{model.evaluation.pass_mark:g}", "consider giving the deal up or lowering the contact level")
    if deal.status == "open" and deal.expected_close < as_of:
        warn("expected_close", f"{deal.expected_close} is in the past",
             "move the date, or close the deal as won, lost or abandoned")
    if times.stale:
        warn("stage", f"no change for {times.days_since_update} days (stale after {times.stale_days} days in "
             f"stage {deal.stage})", "update the deal: its next steps, stakeholders or stage")
    for index, step in enumerate(deal.next_steps, start=1):
        if step.due is not None and not step.done and step.due < as_of:
            warn(f"next_steps[{index}].due", f"'{_short(step.action)}' was due {step.due}",
                 "do it and set done: true, or set a new due date")
    return out


def _short(text: str, limit: int = 50) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
