"""Time in stage, last update and staleness for each deal, from git history or the file's own dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from ..sources.history import Change

if TYPE_CHECKING:
    from ..sources.deal_files import Deal
    from ..sources.history import DealHistory
    from ..sources.stage_model import StageModel

UNCOMMITTED = "(not committed yet)"


@dataclass(frozen=True)
class Timeline:
    source: str  # "git" or "file"
    changes: tuple[Change, ...]  # oldest first
    stage_entered: date | None
    last_updated: date | None
    days_in_stage: int | None
    days_since_update: int | None
    stale: bool
    stale_days: int
    closed_on: date | None = None  # when a won, lost or abandoned deal ended (None while open, or unknown)

    def as_json(self) -> dict:
        return {
            "stage_entered": self.stage_entered.isoformat() if self.stage_entered else None,
            "days_in_stage": self.days_in_stage,
            "last_updated": self.last_updated.isoformat() if self.last_updated else None,
            "stale": self.stale,
            "closed_on": self.closed_on.isoformat() if self.closed_on else None,
            "stage_history": [{"date": c.date.isoformat(), "stage": c.stage, "status": c.status}
                              for c in self.changes],
        }


def timeline(deal: Deal, history: DealHistory | None, model: StageModel, as_of: date) -> Timeline:
    """Git history when there is some for the deal; otherwise its `exits` dates and other dates."""
    # A commit dated after the as-of day (a clock set wrong, or an as-of day in the past) is not part of
    # the history as of that day: like an edit not committed yet, what it changed counts from the as-of day.
    past = [c for c in history.changes if c.date <= as_of] if history is not None else []
    if past:
        changes = past
        last_updated = history.last_updated if history and history.last_updated else None
        if last_updated is not None and last_updated > as_of:
            # Updated after the day (an as-of day in the past, the quarter's snapshot): of what happened
            # up to the day, the history keeps the stage and status changes; the last of them stands for it.
            last_updated = changes[-1].date
        latest = changes[-1]
        if latest.stage != deal.stage or latest.status != deal.status:
            # Edited but not committed (e.g. while previewing with `make serve`): it changes today.
            changes.append(Change(as_of, deal.stage, deal.status, UNCOMMITTED, latest.stage))
            last_updated = as_of
        source = "git"
    else:
        changes = _changes_from_exits(deal)
        dates = [e.date for e in deal.exits.values() if e.date] + \
                [s.last_contact for s in deal.stakeholders if s.last_contact]
        last_updated = max(dates) if dates else None
        source = "file"
    entered = None
    for change in reversed(changes):
        if change.stage != deal.stage:
            break
        entered = change.date
    left_previous = deal.exits[deal.stage - 1].date if deal.stage - 1 in deal.exits else None
    if source == "file" and entered is None:
        entered = left_previous
    elif source == "git" and entered == changes[0].date and left_previous and left_previous < entered:
        # The deal was already at this stage when its file was first committed: the commit
        # says when git first saw it, the exit evidence says when it really moved on.
        entered = left_previous
    stale_days = model.stage(deal.stage).stale_days
    since = (as_of - last_updated).days if last_updated else None
    closed_on = None if deal.status == "open" else _closed_on(deal, changes, source, as_of)
    # A closed deal stopped moving when it closed: its days in the stage end there, not today.
    until = closed_on if deal.status != "open" else as_of
    return Timeline(
        source=source, changes=tuple(changes), stage_entered=entered, last_updated=last_updated,
        days_in_stage=max(0, (until - entered).days) if entered and until else None, days_since_update=since,
        stale=deal.status == "open" and since is not None and since > stale_days, stale_days=stale_days,
        closed_on=closed_on,
    )


def _closed_on(deal: Deal, changes: list[Change], source: str, as_of: date) -> date | None:
    """When a closed deal ended.

    From git: the commit that set its present status, unless the file was already closed when
    first committed (then that commit says only when git first saw it). Otherwise from the file:
    its expected close, which reps set to the day of the decision, if that is not later than
    what is known; else the latest date in the file (an exit, a last contact), the last sign of life.
    """
    latest_known = as_of
    if source == "git" and changes:
        closing = None
        for change in reversed(changes):
            if change.status != deal.status:
                break
            closing = change
        if closing is not None and closing is not changes[0]:
            return closing.date
        latest_known = changes[0].date
    if deal.expected_close <= latest_known:
        return deal.expected_close
    dates = [d for d in [*(e.date for e in deal.exits.values()), *(s.last_contact for s in deal.stakeholders)]
             if d is not None and d <= latest_known]
    return max(dates, default=None)


def _changes_from_exits(deal: Deal) -> list[Change]:
    """Each dated exit means the deal entered the next stage on that date."""
    out = []
    for number in sorted(deal.exits):
        exit_ = deal.exits[number]
        if exit_.date and number < deal.stage:
            out.append(Change(exit_.date, number + 1, "open", "", number))
    return out
