"""The mutual action plan (`plan:` in a deal file): checked at its positions, in `/deals.json`, on the deal page
by due date with overdue milestones marked, and as an iCalendar file per deal that parses back with its text as
text (issue 28, item 3); and each owner's calendar of open next steps and milestones (item 5)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from conftest import MINIMAL_DEAL, Project, run_check
from icalendar import Calendar

from generator.labels import Labels
from generator.site.ics import plan_calendar
from generator.site.paths import SitePaths
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


STEPS_DEAL = MINIMAL_DEAL + """\
next_steps:
  - action: Send the reference list
    due: 2026-12-02
  - action: Call procurement
    owner: Test Rep
    due: 2026-11-20
  - action: Already sent the offer
    due: 2026-11-10
    done: true
  - action: Think about pricing
plan:
  - milestone: Demo scoring
    side: customer
    owner: Dr. Keller
    due: 2027-01-12
    stage: 3
  - milestone: Reference visit
    side: us
    owner: Test Rep
    due: 2026-12-09
    done: true
"""
OTHER_OWNER = STEPS_DEAL.replace("owner: Test Rep\nstage", "owner: Lena Berg\nstage", 1).replace(
    "Send the reference list", "Lena's own step")
LOST = STEPS_DEAL.replace("status: open", "status: lost\nlost_reason: price").replace(
    "Send the reference list", "Step of a lost deal")


def _events(path: Path) -> list[tuple[str, date]]:
    return [(str(e["SUMMARY"]), e.decoded("DTSTART")) for e in Calendar.from_ical(path.read_bytes()).walk("VEVENT")]


def test_each_owner_has_a_calendar_of_open_steps_and_milestones_linked_from_their_page(project: Project) -> None:
    project.write_deal("acme.yml", STEPS_DEAL)
    project.write_deal("bolt.yml", OTHER_OWNER.replace("ERP rollout", "Bolt ERP"))
    project.write_deal("gone.yml", LOST.replace("ERP rollout", "Gone ERP"))
    project.build()
    owners = project.paths.owner_pages(["Test Rep", "Lena Berg"])
    calendar = project.site / SitePaths.owner_calendar(owners["Test Rep"])
    assert calendar.relative_to(project.site).as_posix() == "plans/owners/test-rep.ics"
    # Open steps with a due date and undone milestones of open deals, by date, the deal's title first; the done
    # step, the undated one, the done milestone, the lost deal's and the other owner's are not there.
    expected = [("ERP rollout: Call procurement", date(2026, 11, 20)),
                ("ERP rollout: Send the reference list", date(2026, 12, 2)),
                ("ERP rollout: Demo scoring", date(2027, 1, 12))]
    assert _events(calendar) == expected
    events = Calendar.from_ical(calendar.read_bytes()).walk("VEVENT")
    assert all(e.decoded("DTEND") - e.decoded("DTSTART") == timedelta(days=1) for e in events)  # all-day
    assert len({str(e["UID"]) for e in events}) == 3
    assert all(e.decoded("DTSTAMP").date() == date(2026, 11, 27) for e in events)  # the as-of date, not the clock
    assert "Dr. Keller" in str(events[2]["DESCRIPTION"]) and "Customer" in str(events[2]["DESCRIPTION"])
    other = _events(project.site / SitePaths.owner_calendar(owners["Lena Berg"]))
    assert ("Bolt ERP: Lena's own step", date(2026, 12, 2)) in other and len(other) == 3
    zh = _events(project.site / "zh" / SitePaths.owner_calendar(owners["Test Rep"]))
    assert zh == [(f"ERP rollout：{summary.split(': ', 1)[1]}", day) for summary, day in expected]
    for folder, words in (("", "Subscribe to this calendar"), ("zh/", "订阅此日历")):
        page = project.page(folder + owners["Test Rep"].removesuffix(".md"))
        link = re.search(r'<p class="db-owner-calendar"><a href="([^"]+)">([^<]+)</a>', page)
        assert link is not None and link.group(2) == words
        page_path = project.site / folder / project.paths.url(owners["Test Rep"])
        assert (page_path.parent / link.group(1)).resolve() == (project.site / folder / calendar.relative_to(
            project.site)).resolve()
    # A repeat build writes the same bytes: a subscribed calendar sees no change.
    first = calendar.read_bytes()
    project.build()
    assert calendar.read_bytes() == first


def test_an_audience_without_next_steps_or_plan_has_no_events_of_them(project: Project) -> None:
    project.model.write_text(project.model.read_text(encoding="utf-8").replace(
        "audiences:\n", "audiences:\n  nosteps: {leaves_out: [next_steps]}\n  noplan: {leaves_out: [plan]}\n", 1),
        encoding="utf-8")
    project.write_deal("acme.yml", STEPS_DEAL)
    summaries = {}
    for audience in ("nosteps", "noplan"):
        done = subprocess.run([sys.executable, "-m", "generator", "build", "--audience", audience, "-d",
                               f"site-{audience}"], cwd=project.root, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        for folder in ("", "zh/"):
            summaries[audience, folder] = [s for s, _ in _events(
                project.root / f"site-{audience}" / folder / "plans/owners/test-rep.ics")]
    assert summaries["nosteps", ""] == ["ERP rollout: Demo scoring"]
    assert summaries["noplan", ""] == ["ERP rollout: Call procurement", "ERP rollout: Send the reference list"]
    assert len(summaries["nosteps", "zh/"]) == 1 and len(summaries["noplan", "zh/"]) == 2


def test_a_rebuild_keeps_the_calendars_of_unchanged_deals_and_remakes_the_changed_ones(project: Project) -> None:
    """The calendars are kept in the cache by the views they are made from: a warm build after a step's date moved
    and a milestone was ticked shows both, in the owner's calendar and the deal's, and keeps the other owner's."""
    project.write_deal("acme.yml", STEPS_DEAL)
    project.write_deal("bolt.yml", OTHER_OWNER.replace("ERP rollout", "Bolt ERP"))
    project.build()
    owners = project.paths.owner_pages(["Test Rep", "Lena Berg"])
    mine, theirs = (project.site / SitePaths.owner_calendar(owners[name]) for name in ("Test Rep", "Lena Berg"))
    theirs_before = theirs.read_bytes()
    plan = project.site / SitePaths.plan_calendar("acme")
    assert ("Demo scoring", date(2027, 1, 12)) in _events(plan)
    edited = STEPS_DEAL.replace("due: 2026-11-20", "due: 2026-11-30", 1).replace(
        "    due: 2027-01-12\n    stage: 3", "    due: 2027-01-19\n    stage: 3", 1)
    assert edited.count("2026-11-30") == 1 and edited.count("2027-01-19") == 1
    project.write_deal("acme.yml", edited)
    project.build()  # the same cache
    assert _events(mine)[:1] == [("ERP rollout: Call procurement", date(2026, 11, 30))]
    assert ("ERP rollout: Demo scoring", date(2027, 1, 19)) in _events(mine)
    assert ("Demo scoring", date(2027, 1, 19)) in _events(plan)
    assert theirs.read_bytes() == theirs_before
