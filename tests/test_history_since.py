"""Where the history starts, and what it is too short for.

Three repositories built commit by commit at set dates: a short history (every deal committed in the
last days: the pages say, in both languages, that rates, time in stage and the weekly trend need more),
a long one (five months, ten closed deals: rates and times, no note), and one with `history_since`
(a deal deleted before it and every change before it are not history; a deal there then counts from
that day, as it stood). Invalid `history_since` values are one error line, and nothing is built.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import AS_OF_EPOCH, ROOT, Project, new_project

from generator.cache import Cache
from generator.labels import Labels
from generator.sources.deal_versions import read_versions, since_stamp

EN, ZH = Labels("en"), Labels("zh")
AS_OF = date(2026, 11, 27)  # a Friday: AS_OF_EPOCH


def deal(stage: int, status: str = "open", amount: int = 1000, owner: str = "Ann") -> str:
    reason = "lost_reason: Price\n" if status in ("lost", "abandoned") else ""
    return (f"title: Deal at stage {stage}\naccount: Example Co\nowner: {owner}\nstage: {stage}\nstatus: {status}\n"
            f"amount: {amount}\nexpected_close: 2027-03-31\n{reason}")


def git(root: Path, *args: str, when: str | None = None) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Rita Rep", "GIT_AUTHOR_EMAIL": "rep@example.com",
           "GIT_COMMITTER_NAME": "Rita Rep", "GIT_COMMITTER_EMAIL": "rep@example.com"}
    if when:
        env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def commit(project: Project, day: date, message: str) -> None:
    git(project.root, "add", "-A")
    git(project.root, "commit", "-qm", message, when=f"{day.isoformat()}T10:00:00+00:00")


def set_since(project: Project, value: str) -> None:
    config = project.root / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    made = re.sub(r"\n  - dealbook:\n", f"\n  - dealbook:\n      history_since: {value}\n", text, count=1)
    assert made != text, "mkdocs.yml no longer lists the dealbook plugin"
    config.write_text(made, encoding="utf-8")


def text_of(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def notes(page: str) -> list[str]:
    return re.findall(r'data-too-short="(\w+)"', page)


@pytest.fixture(scope="module")
def short(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """Four deals committed on Sunday 11-22 and on 11-25, one closed: five days of history."""
    project = new_project(tmp_path_factory.mktemp("short") / "project")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", AS_OF_EPOCH)
        patch.chdir(project.root)
        git(project.root, "init", "-q", "-b", "main")
        for name, stage in (("a", 2), ("b", 3), ("c", 5)):
            project.write_deal(f"{name}.yml", deal(stage))
        commit(project, date(2026, 11, 22), "Three deals")
        project.write_deal("b.yml", deal(4))
        project.write_deal("c.yml", deal(5, "won"))
        project.write_deal("d.yml", deal(1))
        commit(project, date(2026, 11, 25), "b moves on, c won, d")
        project.build()
        yield project


def test_a_short_history_says_what_it_is_too_short_for(short: Project) -> None:
    insights = short.page("deals/insights")
    assert notes(insights) == ["rates", "time", "weekly"]
    words = text_of(insights)
    assert EN("history_from", date="2026-11-22", days=5) in words
    assert EN("too_short_rates", closed=1, date="2026-11-22", min=5) in words
    # Stays ended: b's at stage 3 and c's at stage 5 (won).
    assert EN("too_short_time", exits=2, date="2026-11-22", min=3, days=5) in words
    # The only Sunday inside the history is 11-22 itself; no chart, and no dash without a word.
    assert EN("too_short_weekly", date="2026-11-22", n=1, weeks=26, min=4) in words
    assert 'class="db-chart db-weekly"' not in insights
    assert re.findall(r'<td class="db-observed">([^<]*)<', insights) == [""] * 8  # each cell holds words
    assert words.count("too few: 0/5") == 7 and "too few: 1/5" in words
    # The numbers table lists the weeks of the history only, not 25 weeks of zeros before it.
    numbers = re.search(r'<table class="db-weekly-table" data-currency="CNY">(.*?)</table>', insights, re.S).group(1)
    assert re.findall(r"<tr><td>([^<]+)</td>", numbers) == ["2026-11-22"]
    changes = short.page("deals/changes")
    assert notes(changes) == ["month"]
    assert EN("too_short_month", date="2026-11-22", days=5) in text_of(changes)
    history = json.loads((short.site / "history.json").read_text(encoding="utf-8"))
    assert history["history_start"] == "2026-11-22" and history["history_since"] is None


def test_the_chinese_pages_say_it_in_chinese(short: Project) -> None:
    insights = text_of(short.page("zh/deals/insights"))
    day = ZH.format_date(date(2026, 11, 22))
    assert ZH("history_from", date=day, days=5) in insights
    assert ZH("too_short_rates", closed=1, date=day, min=5) in insights
    assert ZH("too_short_time", exits=2, date=day, min=3, days=5) in insights
    assert ZH("too_short_weekly", date=day, n=1, weeks=26, min=4) in insights
    assert ZH("too_few", n=0, min=5) in insights and EN("too_few", n=0, min=5) not in insights
    assert ZH("too_short_month", date=day, days=5) in text_of(short.page("zh/deals/changes"))


@pytest.fixture(scope="module")
def long(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """Ten deals from 2026-06-01, moving a stage every two weeks; six won, four lost by October."""
    project = new_project(tmp_path_factory.mktemp("long") / "project")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", AS_OF_EPOCH)
        patch.chdir(project.root)
        git(project.root, "init", "-q", "-b", "main")
        names = [f"deal-{n}" for n in range(10)]
        for name in names:
            project.write_deal(f"{name}.yml", deal(1))
        day = date(2026, 6, 1)
        commit(project, day, "Ten deals")
        for stage in (2, 3, 4):
            day += timedelta(days=14)
            for name in names:
                project.write_deal(f"{name}.yml", deal(stage))
            commit(project, day, f"All at stage {stage}")
        day += timedelta(days=14)
        for number, name in enumerate(names):
            project.write_deal(f"{name}.yml", deal(4, "won" if number < 6 else "lost"))
        commit(project, day, "Six won, four lost")
        project.build()
        yield project


def test_a_long_history_shows_rates_and_times_without_a_note(long: Project) -> None:
    insights = long.page("deals/insights")
    assert notes(insights) == [] and notes(long.page("deals/changes")) == []
    assert 'class="db-chart db-weekly"' in insights
    rates = dict(re.findall(r'<tr data-stage="(\d)"[^>]*>.*?<td class="db-observed">([^<]*)<', insights))
    assert rates["1"].strip() == "60%" and rates["4"].strip() == "60%"  # every deal reached stages 1 to 4; six of ten won
    history = json.loads((long.site / "history.json").read_text(encoding="utf-8"))
    assert [row["median_days"] for row in history["conversion"][:3]] == [14, 14, 14]
    assert [row["exits"] for row in history["conversion"][:4]] == [10, 10, 10, 10]
    times = re.search(r'<table class="db-time-in-stage">(.*?)</table>', insights, re.S).group(1)
    assert re.findall(r'<td class="db-median"><span class="db-meter"[^>]*></span>(\d+)</td>', times) == ["14"] * 4
    assert EN("history_from", date="2026-06-01", days=179) in text_of(insights)


@pytest.fixture(scope="module")
def since(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """acme: created 09-01, deleted 09-10. old: created 09-01, stage 3 on 09-15, stage 4 on 10-05 (after
    history_since, 2026-10-01). fresh: created 10-10."""
    project = new_project(tmp_path_factory.mktemp("since") / "project")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", AS_OF_EPOCH)
        patch.chdir(project.root)
        git(project.root, "init", "-q", "-b", "main")
        project.write_deal("acme.yml", deal(3, amount=700))
        project.write_deal("old.yml", deal(2))
        commit(project, date(2026, 9, 1), "acme and old")
        (project.deals / "acme.yml").unlink()
        commit(project, date(2026, 9, 10), "acme was a test")
        project.write_deal("old.yml", deal(3))
        commit(project, date(2026, 9, 15), "old: stage 3")
        project.write_deal("old.yml", deal(4))
        commit(project, date(2026, 10, 5), "old: stage 4")
        project.write_deal("fresh.yml", deal(1, amount=300))
        commit(project, date(2026, 10, 10), "fresh")
        set_since(project, "2026-10-01")
        project.build()
        yield project


def test_history_since_drops_what_came_before_it(since: Project) -> None:
    history = json.loads((since.site / "history.json").read_text(encoding="utf-8"))
    # old counts from 10-01 as it stood then (stage 3: its move to 3 on 09-15 is before the history).
    assert [(e["date"], e["deal"], e["kind"], e["from"], e["to"]) for e in history["events"]] == [
        ("2026-10-01", "old", "created", None, 3),
        ("2026-10-05", "old", "advanced", 3, 4),
        ("2026-10-10", "fresh", "created", None, 1),
    ]
    assert history["history_start"] == "2026-10-01" and history["history_since"] == "2026-10-01"
    assert [row["entered"] for row in history["conversion"][:4]] == [1, 0, 1, 1]  # old never seen at stage 2
    for url in ("deals/changes", "deals/insights", "zh/deals/changes", "deals/old"):
        assert "acme" not in since.page(url), url
    assert "acme" not in json.dumps(history)
    words = text_of(since.page("deals/insights"))
    assert EN("history_from_since", date="2026-10-01", days=57) in words
    # The deal page's timeline reads the same versions: old was first seen at stage 3 on 10-01.
    timeline = text_of(re.search(r'<table class="db-timeline.*?</table>', since.page("deals/old"), re.S).group(0))
    assert "2026-10-01" in timeline and "2026-09" not in timeline


def test_a_deal_deleted_before_history_since_is_not_read(since: Project) -> None:
    """The same, read directly, with the cut inside a day (a date-time) and after every commit."""
    deals = since.deals
    versions = read_versions(deals, Cache(None), since_stamp("2026-09-10T10:00:00Z"))
    # acme went at 10:00 on 09-10, the moment of the cut: its deletion is the history's first change.
    assert [v.facts is None for v in versions.deals["acme"]] == [False, True]
    assert [v.date.isoformat() for v in versions.deals["acme"]] == ["2026-09-10", "2026-09-10"]
    later = read_versions(deals, Cache(None), since_stamp("2026-09-10T10:00:01Z"))
    assert "acme" not in later.deals and "acme" not in later.last_updated
    assert [(v.date.isoformat(), v.facts.stage) for v in later.deals["old"] if v.facts] == [
        ("2026-09-10", 2), ("2026-09-15", 3), ("2026-10-05", 4)]
    after_all = read_versions(deals, Cache(None), since_stamp(date(2026, 11, 1)))
    assert {deal_id: [(v.date.isoformat(), v.facts.stage) for v in listed if v.facts]
            for deal_id, listed in after_all.deals.items()} == {"old": [("2026-11-01", 4)], "fresh": [("2026-11-01", 1)]}


def test_the_shipped_history_starts_with_the_sample_deals() -> None:
    """mkdocs.yml's history_since leaves out the project's own development (acme-erp, added and deleted)."""
    value = re.search(r"^ +history_since: *(\S+)", (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), re.M)
    assert value, "the shipped mkdocs.yml sets history_since"
    versions = read_versions(ROOT / "deals", Cache(None), since_stamp(value.group(1)))
    if not versions.available:
        pytest.skip(f"no git history of the project here: {versions.reason}")
    samples = {path.stem for path in (ROOT / "deals").glob("*.yml")}
    assert "acme-erp" not in versions.deals
    assert set(versions.deals) <= samples and {"chenghu-metro-afc", "hospital-his-2027"} <= set(versions.deals)


@pytest.mark.parametrize(("value", "written"), [("2026-02-30", "2026-02-30"), ("2026-13-1", "2026-13-1"),
                                                ("'27.11.2026'", "27.11.2026"), ("yesterday", "yesterday"),
                                                ("2026-11-27T25:00:00Z", "2026-11-27T25:00:00Z")])
def test_a_history_since_that_is_no_date_is_one_error_line(project: Project, value: str, written: str) -> None:
    project.write_deal("a.yml", deal(2))
    set_since(project, value)
    line = project.root.joinpath("mkdocs.yml").read_text(encoding="utf-8").split("\n").index(
        f"      history_since: {value}") + 1
    env = {**os.environ, "SOURCE_DATE_EPOCH": AS_OF_EPOCH}
    done = subprocess.run([sys.executable, "-m", "generator", "build"], cwd=project.root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    assert f"mkdocs.yml:{line}:22: error: history_since: '{written}' is not a date (write the day" in done.stderr
    assert not project.site.exists()  # nothing built, nothing replaced
