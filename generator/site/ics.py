"""A deal's mutual action plan as an iCalendar file: one all-day event per milestone, written by `icalendar`.

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
    from ..labels import Labels
    from ..sources.deal_files import Deal

PRODID = "-//Dealbook//mutual action plan//EN"


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
