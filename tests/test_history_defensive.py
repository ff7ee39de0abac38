"""History is read defensively, once: bad past versions, hostile authors, merges, time zones and odd dates.

Each test makes a real git repository in tmp_path, commit by commit at set dates, and builds it with
the real mkdocs: a bad commit never stops a build, no author can forge a field, and the deal pages,
`/history.json` and the history pages tell one story (first-parent, UTC, in the order of the commits,
nothing after the as-of date).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import Project

from generator.sources.deal_versions import Unread, facts

AS_OF = "2026-11-27"


def deal(stage: object = 2, status: str = "open", amount: object = 1000, extra: str = "") -> str:
    return (f"title: Deal {stage}\naccount: Example Co\nowner: Test Rep\nstage: {stage}\nstatus: {status}\n"
            f"amount: {amount}\nexpected_close: 2027-03-31\n{extra}")


def git(root: Path, *args: str, when: str | None = None, author: str = "Rita Rep") -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": "rep@example.com",
           "GIT_COMMITTER_NAME": author, "GIT_COMMITTER_EMAIL": "rep@example.com"}
    if when:
        when = when if "T" in when else f"{when}T10:00:00+00:00"
        env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True).stdout


def commit(project: Project, when: str, message: str, author: str = "Rita Rep") -> str:
    git(project.root, "add", "-A")
    git(project.root, "commit", "-qm", message, when=when, author=author)
    return git(project.root, "rev-parse", "--short=7", "HEAD").strip()


def strict_json(text: str) -> object:
    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def timeline_rows(page: str) -> list[str]:
    table = re.search(r'<table class="db-timeline[^"]*">(.*?)</table>', page, re.S)
    assert table, "no timeline on the page"
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)][1:]


def history(project: Project) -> dict:
    return strict_json((project.site / "history.json").read_text(encoding="utf-8"))


def deals_json(project: Project) -> dict[str, dict]:
    return {d["id"]: d for d in strict_json((project.site / "deals.json").read_text(encoding="utf-8"))}


# --- bad past versions, then fixed ----------------------------------------------------------------

BAD = {  # what the version says → the field the warning names
    "amount: 1e400": "amount", "amount: inf": "amount", "amount: 1e308\ncurrency: EUR": "amount",
    "stage: " + "7" * 5000: "stage", "amount: nan": "amount", "amount: .NaN": "amount",
    "probability: 1e999": "probability", "probability: 7": "probability",
}


@pytest.mark.parametrize("text", list(BAD))
def test_a_value_no_deal_file_may_hold_leaves_the_version_out(text: str) -> None:
    name, _, value = text.partition(": ")
    lines = [line for line in deal().splitlines() if not line.startswith(f"{name}:")]
    unread = facts(("\n".join(lines) + "\n" + text + "\n").encode())
    assert isinstance(unread, Unread) and unread.field == BAD[text]
    assert len(unread.value) <= 24 and unread.line == len(lines) + 1  # where the field is, in that version


def test_bad_versions_in_history_are_skipped_with_one_warning_each(project: Project, caplog) -> None:
    git(project.root, "init", "-q", "-b", "main")
    project.write_deal("bad.yml", deal())
    project.write_deal("fine.yml", deal(3, amount=5000))
    commit(project, "2026-10-01", "Two deals")
    skipped = []
    for day, text in zip((2, 3, 4, 5, 6, 7), BAD, strict=False):
        name = text.partition(":")[0]
        kept = "\n".join(line for line in deal().splitlines() if not line.startswith(f"{name}:"))
        project.write_deal("bad.yml", f"{kept}\n{text}\n")
        skipped.append((commit(project, f"2026-10-{day:02d}", f"bad {name}"), BAD[text]))
    # Authors whose names hold the old record separators, a date and a field separator: only ever authors.
    project.write_deal("bad.yml", deal(3))
    commit(project, "2026-10-20", "fixed, at stage 3", author="Eve\x1e2020-01-01T00:00:00+00:00\x1fMallory")
    project.write_deal("fine.yml", deal(4, amount=5000))
    commit(project, "2026-10-21", "fine moves on", author="x\x1e2026-13-45\x1fMonth")
    caplog.set_level(logging.INFO)
    for build in ("cold", "cached", "versions cached only"):  # the same warnings from each cache entry
        if build == "versions cached only":
            shutil.rmtree(project.root / ".cache" / "history")
        caplog.clear()
        project.build()
        warnings = [r.getMessage() for r in caplog.records if "left out of the history" in r.getMessage()]
        assert len(warnings) == len(skipped), (build, warnings)
        named = {re.search(r"commit (\w+)", w).group(1): w for w in warnings}
        assert sorted(named) == sorted(short for short, _ in skipped)
        for short, field in skipped:
            assert "deals/bad.yml:" in named[short] and f"warning: {field}: " in named[short], named[short]
    data = history(project)  # strict: no NaN, no Infinity
    bad = [e for e in data["events"] if e["deal"] == "bad"]
    assert [(e["date"], e["kind"]) for e in bad] == [("2026-10-01", "created"), ("2026-10-20", "advanced")]
    changes = project.page("deals/changes")
    assert "nan" not in re.sub(r"<[^>]+>", " ", changes).lower().split()
    assert not re.search(r"[−-]nan|inf\b", re.sub(r"<[^>]+>", " ", changes), re.I)
    rows = timeline_rows(project.page("deals/bad"))
    assert rows == ["2026-10-20 2 → 3 Open Eve 2020-01-01T00:00:00+00:00 Mallory",
                    "2026-10-01 added at stage 2 Open Rita Rep"]
    assert timeline_rows(project.page("deals/fine"))[0] == "2026-10-21 3 → 4 Open x 2026-13-45 Month"
    assert [c["date"] for c in deals_json(project)["bad"]["stage_history"]] == ["2026-10-01", "2026-10-20"]


# --- one reading: first parent, UTC, chain order, nothing after the as-of date ---------------------

def test_deal_pages_and_history_json_agree_on_merges_time_zones_twins_and_odd_dates(project: Project) -> None:
    root = project.root
    git(root, "init", "-q", "-b", "main")
    project.write_deal("merged.yml", deal(2, amount=100000))
    project.write_deal("zoned.yml", deal(2, amount=200000))
    project.write_deal("twin.yml", deal(2, amount=300000))
    project.write_deal("twin.yaml", deal(2, amount=300000))
    project.write_deal("future.yml", deal(2, amount=400000))
    commit(project, "2026-10-01", "Deals")
    project.write_deal("late.yml", deal(2, amount=1000000))
    commit(project, "2026-11-05", "late: new")
    project.write_deal("late.yml", deal(2, amount=5000000))
    commit(project, "2026-01-01", "late: grows, in a commit dated ten months back")
    git(root, "checkout", "-q", "-b", "side")
    project.write_deal("merged.yml", deal(8, "won", amount=100000))
    commit(project, "2026-11-10", "merged: won on a side branch")
    git(root, "checkout", "-q", "main")
    (project.deals / "twin.yaml").unlink()
    commit(project, "2026-11-15", "twin: the second file goes; twin.yml lives on")
    project.write_deal("zoned.yml", deal(3, amount=200000))
    # 23:30 in New York on the 20th is 04:30 UTC on the 21st.
    git(root, "commit", "-qam", "zoned: moves on", when="2026-11-20T23:30:00-05:00")
    git(root, "merge", "-q", "--no-ff", "-m", "Merge side", "side", when="2026-11-21T12:00:00+00:00")
    project.write_deal("future.yml", deal(3, amount=400000))
    commit(project, "2031-01-01", "future: a commit from a clock set wrong")
    project.build()
    data, deals = history(project), deals_json(project)
    events = [(e["date"], e["deal"], e["kind"]) for e in data["events"]]

    # The side branch's win counts on the day it was merged, on the deal page as in /history.json.
    assert ("2026-11-21", "merged", "won") in events and not any(d == "2026-11-10" for d, _, _ in events)
    assert deals["merged"]["stage_history"][-1] == {"date": "2026-11-21", "stage": 8, "status": "won"}
    assert deals["merged"]["closed_on"] == "2026-11-21"
    assert timeline_rows(project.page("deals/merged"))[0].startswith("2026-11-21 2 → 8 Won")
    # A commit made in another time zone: its UTC day everywhere.
    assert ("2026-11-21", "zoned", "advanced") in events
    assert deals["zoned"]["stage_entered"] == "2026-11-21"
    assert timeline_rows(project.page("deals/zoned"))[0].startswith("2026-11-21 2 → 3")
    # Deleting one of two files of a deal does not delete the deal.
    assert [k for _, d, k in events if d == "twin"] == ["created"]
    # A back-dated commit takes the day of the one before it: created, then its amount changed.
    assert [(d, k) for d, i, k in events if i == "late"] == [("2026-11-05", "created"), ("2026-11-05", "increased")]
    assert deals["late"]["last_updated"] == "2026-11-05"
    # A commit dated after the as-of date is not history yet: its change counts from the as-of date.
    assert max(d for d, _, _ in events) == AS_OF and ("2031-01-01" not in json.dumps(data))
    assert (AS_OF, "future", "advanced") in events
    assert deals["future"]["stage_history"][-1]["date"] == AS_OF and deals["future"]["last_updated"] == AS_OF
    # The events are in date order, and so in the order of the commits.
    assert [d for d, _, _ in events] == sorted(d for d, _, _ in events)
    # The last weekly snapshot (Sunday 11-22) is the dashboard's open pipeline: nothing but future's stage
    # (not its amount) changed since.
    last = data["weekly"][-1]
    assert last["week_end"] == "2026-11-22"
    stages = strict_json((project.site / "pipeline.json").read_text(encoding="utf-8"))["stages"]
    open_now = {str(s["stage"]): s["amount"] for s in stages if s["deals"]}
    assert sum(last["by_stage"].values()) == sum(open_now.values()) == 200000 + 300000 + 400000 + 5000000
    assert last["open_deals"] == sum(s["deals"] for s in stages) == 4
