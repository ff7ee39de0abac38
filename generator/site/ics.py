"""A deal's mutual action plan as an iCalendar file: one all-day event per milestone, written by `icalendar`;
and an owner's calendar of their open next steps and plan milestones, for a rep to subscribe to.

The file is the same bytes for the same plan and as-of date: each event's UID is made from the deal id, the
milestone's place in the plan and a hash of what it says, and DTSTAMP (which RFC 5545 requires) is the build's
as-of date, not the clock. Rep text only ever becomes a property's text value: `icalendar` escapes commas,
semicolons, backslashes and line breaks, so a milestone reading "BEGIN:VEVENT" is a summary, not an event.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from icalendar import Calendar, Event

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..labels import Labels
    from ..sources.deal_files import Deal

PRODID = "-//Dealbook//mutual action plan//EN"
OWNER_PRODID = "-//Dealbook//next steps and plan milestones//EN"


def plan_calendar(deal: Deal, labels: Labels, as_of: date, sides: dict[str, str] | None = None) -> bytes:
    """The `.ics` of the deal's plan, its descriptions in `labels`' language; `sides`: the words for each side
    (the team's by default; the buyer's calendar says "your team" and "our team")."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"{labels.plan}: {deal.title}")
    stamp = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
    for index, m in enumerate(deal.plan, start=1):
        digest = hashlib.sha256("\x1f".join((deal.id, m.milestone, m.side, m.owner, m.due.isoformat()))
                                .encode("utf-8")).hexdigest()[:16]
        event = Event()
        event.add("uid", f"{deal.id}-{index}-{digest}@dealbook")
        event.add("dtstamp", stamp)
        event.add("dtstart", m.due)  # a date: an all-day event, ending the next day (exclusive)
        event.add("dtend", m.due + timedelta(days=1))
        event.add("summary", m.milestone)
        side = (sides or labels.plan_sides).get(m.side, m.side)
        lines = [f"{labels.plan_side}{labels.colon}{side}", f"{labels.owner}{labels.colon}{m.owner}"]
        if m.done:
            lines.append(labels.done)
        event.add("description", "\n".join(lines))
        event.add("transp", "TRANSPARENT")  # a deadline, not time blocked in anyone's calendar
        cal.add_component(event)
    return cal.to_ical()


def owner_calendar(owner: str, deals: Iterable[Deal], labels: Labels, as_of: date) -> bytes:
    """The `.ics` an owner subscribes to: one all-day event per next step with a due date and not done, and per
    plan milestone not done, of `deals` (the owner's open deals, as the build's audience left them: an audience
    without `next_steps` or `plan` has none to show). Each event is on its due date; its summary names the deal
    first, as a calendar shows one line. The same bytes for the same deals and as-of date (UIDs from the deal id,
    the item's place and a hash of what it says; DTSTAMP the as-of date), so a repeat build changes nothing a
    subscribed calendar would fetch again."""
    cal = Calendar()
    cal.add("prodid", OWNER_PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", labels("owner_calendar_name", owner=owner))
    stamp = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
    events: list[tuple[date, str, int, Event]] = []
    for deal in deals:
        for index, step in enumerate(deal.next_steps, start=1):
            if step.due is None or step.done:
                continue
            lines = [f"{labels.next_step}{labels.colon}{step.action}"]
            if step.owner:
                lines.append(f"{labels.owner}{labels.colon}{step.owner}")
            uid = _uid(f"{deal.id}-step-{index}", deal.id, step.action, step.owner, step.due.isoformat())
            events.append((step.due, deal.id, index, _event(uid, stamp, step.due, f"{deal.title}{labels.colon}"
                                                            f"{step.action}", lines)))
        for index, m in enumerate(deal.plan, start=1):
            if m.done:
                continue
            side = labels.plan_sides.get(m.side, m.side)
            lines = [f"{labels.plan}{labels.colon}{m.milestone}", f"{labels.plan_side}{labels.colon}{side}",
                     f"{labels.owner}{labels.colon}{m.owner}"]
            uid = _uid(f"{deal.id}-plan-{index}", deal.id, m.milestone, m.side, m.owner, m.due.isoformat())
            events.append((m.due, deal.id, 1000 + index, _event(uid, stamp, m.due, f"{deal.title}{labels.colon}"
                                                                f"{m.milestone}", lines)))
    for *_, event in sorted(events, key=lambda e: e[:3]):  # by date, then deal: the file reads as the calendar
        cal.add_component(event)
    return cal.to_ical()


def _uid(prefix: str, *said: str) -> str:
    return f"{prefix}-{hashlib.sha256(chr(0x1f).join(said).encode('utf-8')).hexdigest()[:16]}@dealbook"


def _event(uid: str, stamp: datetime, day: date, summary: str, lines: list[str]) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", day)  # a date: an all-day event, ending the next day (exclusive)
    event.add("dtend", day + timedelta(days=1))
    event.add("summary", summary)
    event.add("description", "\n".join(lines))
    event.add("transp", "TRANSPARENT")  # a deadline, not time blocked in anyone's calendar
    return event
