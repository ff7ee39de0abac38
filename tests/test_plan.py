"""The mutual action plan (`plan:` in a deal file): checked at its positions, in `/deals.json`, on the deal page
by due date with overdue milestones marked, and as an iCalendar file per deal that parses back with its text as
text (issue 28, item 3)."""

from __future__ import annotations

import json
from datetime import date

from conftest import MINIMAL_DEAL, Project, run_check
from icalendar import Calendar

from generator.labels import Labels
from generator.site.ics import plan_calendar
from generator.sources.deal_files import Deal, Milestone

TRICKY = 'Kick-off, scope; price\nBEGIN:VEVENT\nSUMMARY:forged\\nEND:VCALENDAR'

PLAN = MINIMAL_DEAL + """\
plan:
  - milestone: Reference visit
    side: us
    owner: Test Rep
    due: 2026-12-09
  - milestone: Demo scoring
    side: customer
    owner: Dr. Keller
    due: 2026-11-20
    stage: 3
  - milestone: Contract signed
    side: customer
    owner: Jonas Albrecht
    due: 2027-01-29
    done: true
    stage: 8
"""

BAD = MINIMAL_DEAL + """\
plan:
  - milestone: Reference visit
    side: us
    owner: Test Rep
    due: 2026-12-09
  - milestone: Demo scoring
    side: them
    owner: Dr. Keller
    due: 2027-2-30
    stage: 12
  - milestone: No owner
    side: customer
    due: 2027-01-10
    done: maybe
share: yes please
"""


def test_plan_mistakes_are_named_at_their_line_and_column_in_both_languages(project: Project) -> None:
    project.write_deal("acme.yml", BAD)
    en = run_check(project.root, "deals/acme.yml")
    assert en.returncode == 1
    lines = en.stdout.splitlines()

    def line(field: str) -> str:
        found = [x for x in lines if f": error: {field}:" in x]
        assert len(found) == 1, (field, en.stdout)
        return found[0]

    # Each at its own value's position (the file's line numbers: the plan starts on line 8).
    assert line("plan[2].side").startswith("deals/acme.yml:14:11: error: plan[2].side: 'them'")
    assert "customer, us" in line("plan[2].side")
    assert line("plan[2].due").startswith("deals/acme.yml:16:10: error: plan[2].due:")
    assert line("plan[2].stage").startswith("deals/acme.yml:17:12: error: plan[2].stage:")
    assert line("plan[3].owner").startswith("deals/acme.yml:18:5: error: plan[3].owner:")
    assert line("plan[3].done").startswith("deals/acme.yml:21:11: error: plan[3].done:")
    assert line("share").startswith("deals/acme.yml:22:8: error: share:")
    zh = run_check(project.root, "--lang", "zh", "deals/acme.yml")
    side = next(x for x in zh.stdout.splitlines() if ": error: plan[2].side:" in x)
    # Positions and field names stay; the message is Chinese.
    assert side.startswith("deals/acme.yml:14:11: error: plan[2].side: ")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in side), side


def test_the_plan_is_in_deals_json_on_the_page_by_due_date_and_in_a_calendar(project: Project) -> None:
    project.write_deal("acme.yml", PLAN)
    project.build()
    deal = next(d for d in json.loads((project.site / "deals.json").read_text(encoding="utf-8")) if d["id"] == "acme")
    assert deal["plan"] == [
        {"milestone": "Reference visit", "side": "us", "owner": "Test Rep", "due": "2026-12-09", "done": False,
         "stage": None},
        {"milestone": "Demo scoring", "side": "customer", "owner": "Dr. Keller", "due": "2026-11-20", "done": False,
         "stage": 3},
        {"milestone": "Contract signed", "side": "customer", "owner": "Jonas Albrecht", "due": "2027-01-29",
         "done": True, "stage": 8},
    ]
    assert deal["share"] is False
    page = project.page("deals/acme")
    table = page[page.index('<table class="db-plan'):]
    table = table[:table.index("</table>")]
    # By due date, not file order; the milestone due before the as-of date (2026-11-27) and not done is overdue.
    assert table.index("Demo scoring") < table.index("Reference visit") < table.index("Contract signed")
    rows = table.split("<tr")[2:]
    assert "is-overdue" in rows[0] and "overdue" in rows[0].lower()
    assert "is-overdue" not in rows[1] and "is-overdue" not in rows[2] and "is-done" in rows[2]
    assert "exit of 3" in rows[0] and "exit of 8" in rows[2]
    assert 'href="../plans/acme.ics"' in page
    for folder in ("", "zh/"):
        events = Calendar.from_ical((project.site / folder / "plans" / "acme.ics").read_bytes()).walk("VEVENT")
        assert [(str(e["SUMMARY"]), e.decoded("DTSTART")) for e in events] == [
            ("Reference visit", date(2026, 12, 9)), ("Demo scoring", date(2026, 11, 20)),
            ("Contract signed", date(2027, 1, 29))]
    zh = Calendar.from_ical((project.site / "zh/plans/acme.ics").read_bytes()).walk("VEVENT")
    assert "客户方" in str(zh[1]["DESCRIPTION"]) and "Dr. Keller" in str(zh[1]["DESCRIPTION"])
    page_zh = (project.site / "zh/deals/acme.html").read_text(encoding="utf-8")
    assert "共同行动计划" in page_zh and "第 3 阶段" in page_zh


def _deal(*milestones: Milestone) -> Deal:
    return Deal(id="acme", path="deals/acme.yml", title="ERP, rollout; phase 1", account="Example Co", owner="Rep",
                stage=2, status="open", amount=1000, currency="EUR", expected_close=date(2027, 1, 31),
                plan=list(milestones))


def test_the_calendar_keeps_rep_text_as_text_and_is_the_same_bytes_every_time() -> None:
    deal = _deal(Milestone(TRICKY, "customer", "Wu, Fang; QA\nEND:VEVENT", date(2027, 1, 15)),
                 Milestone("Sign", "us", "Rep", date(2027, 1, 31), done=True, stage=8))
    labels = Labels("en")
    raw = plan_calendar(deal, labels, date(2026, 11, 27))
    assert raw == plan_calendar(deal, labels, date(2026, 11, 27))  # no clock, no random UID
    # Only the two events' own lines begin a component; the rep's "BEGIN:VEVENT" is escaped inside a value.
    starts = [line for line in raw.decode().split("\r\n") if line.startswith(("BEGIN:", "END:"))]
    assert starts == ["BEGIN:VCALENDAR", "BEGIN:VEVENT", "END:VEVENT", "BEGIN:VEVENT", "END:VEVENT", "END:VCALENDAR"]
    events = Calendar.from_ical(raw).walk("VEVENT")
    assert len(events) == 2
    first, second = events
    assert str(first["SUMMARY"]) == TRICKY  # back exactly as written: commas, semicolons, newlines, backslash
    assert "Wu, Fang; QA\nEND:VEVENT" in str(first["DESCRIPTION"]) and "Customer" in str(first["DESCRIPTION"])
    assert first.decoded("DTSTART") == date(2027, 1, 15) and first.decoded("DTEND") == date(2027, 1, 16)
    assert first.decoded("DTSTAMP").date() == date(2026, 11, 27)
    assert str(first["UID"]).startswith("acme-1-") and str(second["UID"]).startswith("acme-2-")
    # The UID follows the milestone: editing its text gives the event a new one, the other keeps its own.
    edited = plan_calendar(_deal(Milestone("Other", "customer", "Wu", date(2027, 1, 15)), deal.plan[1]), labels,
                           date(2026, 11, 27))
    again = Calendar.from_ical(edited).walk("VEVENT")
    assert again[0]["UID"] != first["UID"] and again[1]["UID"] == second["UID"]
    assert "Done" in str(second["DESCRIPTION"])
