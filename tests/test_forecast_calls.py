"""Forecast calls on the site: /forecast.json, the forecast calls page and the dashboard's pace, from a
repository with commits at set dates, against figures worked out by hand."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from conftest import Project

TEAM = """members:
  - name: Li Wei
    quotas: {2026-Q4: 500000}
  - name: Anna Berg
    quotas: {2026-Q4: 500000}
"""
CALLS = """calls:
  - {date: 2026-07-03, owner: Li Wei, period: 2026-Q3, commit: 120000, best_case: 200000}
  - {date: 2026-09-28, owner: Li Wei, period: 2026-Q3, commit: 180000, best_case: 200000, note: "b came in early"}
  - {date: 2026-09-29, owner: team, period: 2026-Q3, commit: 200000, best_case: 250000}
  - {date: 2026-10-02, owner: Anna Berg, period: 2026-Q4, commit: 300000, best_case: 400000}
"""


def deal(owner: str, stage: int, status: str, amount: int, close: str, forecast: str = "") -> str:
    return (f"title: Deal of {owner}\naccount: Example Co\nowner: {owner}\nstage: {stage}\nstatus: {status}\n"
            f"amount: {amount}\ncurrency: CNY\nexpected_close: {close}\n{forecast}")


def git(root, *args: str, when: str | None = None) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Rita", "GIT_AUTHOR_EMAIL": "r@example.com",
           "GIT_COMMITTER_NAME": "Rita", "GIT_COMMITTER_EMAIL": "r@example.com"}
    if when:
        env.update(GIT_AUTHOR_DATE=f"{when}T10:00:00+00:00", GIT_COMMITTER_DATE=f"{when}T10:00:00+00:00")
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


@pytest.fixture
def built(project: Project) -> Project:
    (project.root / "playbook" / "team.yml").write_text(TEAM, encoding="utf-8")
    (project.root / "playbook" / "calls.yml").write_text(CALLS, encoding="utf-8")
    (project.root / ".gitignore").write_text("site/\n.cache/\n", encoding="utf-8")
    git(project.root, "init", "-q")
    steps = [
        ("2026-07-01", {"a": ("Li Wei", 3, "open", 100000, "2026-08-20"), "b": ("Li Wei", 3, "open", 50000, "2026-09-25"),
                        "c": ("Anna Berg", 4, "open", 200000, "2026-10-10")}),
        ("2026-08-20", {"a": ("Li Wei", 8, "won", 100000, "2026-08-20")}),
        ("2026-09-25", {"b": ("Li Wei", 8, "won", 50000, "2026-09-25")}),
        ("2026-10-10", {"c": ("Anna Berg", 8, "won", 200000, "2026-10-10"),
                        "d": ("Anna Berg", 6, "open", 80000, "2026-12-20")}),
    ]
    for day, deals in steps:
        for name, values in deals.items():
            project.write_deal(f"{name}.yml", deal(*values))
        git(project.root, "add", "-A")
        git(project.root, "commit", "-qm", day, when=day)
    project.build()
    return project


def test_accuracy_and_pace_equal_figures_worked_out_by_hand(built: Project) -> None:
    data = json.loads((built.site / "forecast.json").read_text(encoding="utf-8"))
    assert data["as_of"] == "2026-11-27" and len(data["calls"]) == 4
    li = next(o for o in data["accuracy"]["owners"] if o["owner"] == "Li Wei")
    (q3,) = li["periods"]  # 2026-Q4 has not closed on 2026-11-27
    assert (q3["period"], q3["won"]) == ("2026-Q3", 150000)
    # First call 120,000: (120 − 150) / 150 = −0.2; last 180,000: +0.2.
    assert (q3["first"]["commit"], q3["first"]["error"], q3["first"]["bias"]) == (120000, -30000, -0.2)
    assert (q3["last"]["commit"], q3["last"]["bias"], q3["last"]["note"]) == (180000, 0.2, "b came in early")
    assert (li["mape_first"], li["bias_first"], li["mape_last"], li["bias_last"]) == (0.2, -0.2, 0.2, 0.2)
    anna = next(o for o in data["accuracy"]["owners"] if o["owner"] == "Anna Berg")
    assert anna["periods"] == [] and anna["mape_last"] is None
    team = data["accuracy"]["team"]
    # The manager called 200,000 for Q3 on 09-29, beside Li Wei's 180,000 of 09-28; 150,000 was won: +1/3.
    assert (team["periods"][0]["last"]["reps_sum"], team["bias_last"]) == (180000, 0.3333)
    pace = data["pacing"]
    # 2026-11-27 is day 58 of Q4; Q3's day 58 is 08-27, by which deal a (won 08-20) had closed.
    assert (pace["period"], pace["day"], pace["days"], pace["won_to_date"]) == ("2026-Q4", 58, 92, 200000)
    assert pace["previous"][0] == {"period": "2026-Q3", "won_by_day": 100000, "won": 150000}
    assert (pace["quota"], pace["remaining"], pace["open_best_case"], pace["coverage"]) == (1000000, 800000, 80000, 0.1)
    pipeline = json.loads((built.site / "pipeline.json").read_text(encoding="utf-8"))
    assert pipeline["pacing"] == pace


def test_the_pages_show_them_in_each_language(built: Project) -> None:
    page = built.page("deals/forecast")
    assert "Pace: 2026-Q4, day 58 of 92" in page and 'data-owner="Li Wei"' in page
    assert "<td>−20%</td>" in page.replace("-20%", "−20%") and "+20%" in page
    zh = built.page("zh/deals/forecast")
    assert "进度：2026-Q4，第 58 天，共 92 天" in zh and "预测承诺" in zh
    dashboard = built.page("deals")
    assert 'id="pace"' in dashboard and "80,000" in dashboard
    # The pace drawn: a bar per quarter on one scale (the largest, this quarter's 200,000), the whole quarter
    # behind what was won by this day (Q3: 100,000 by day 58 of 150,000).
    table = re.search(r'<table class="db-pace".*?</table>', dashboard, re.S)
    assert table is not None
    rows = re.findall(r'<tr[^>]*data-period="(2026-Q[34])"', table.group(0))
    bars = re.findall(r'<tr[^>]*data-period="2026-Q[34]".*?</tr>', table.group(0), re.S)
    assert rows == ["2026-Q4", "2026-Q3"]
    assert re.findall(r'style="width: ([0-9.]+)%"', bars[0]) == ["100.0"]
    assert re.findall(r'style="width: ([0-9.]+)%"', bars[1]) == ["75.0", "50.0"]
    owner = next(p for p in (built.site / "deals" / "owners").rglob("*.html") if "Li Wei" in p.read_text(encoding="utf-8"))
    assert 'id="calls"' in owner.read_text(encoding="utf-8")


def test_the_dashboard_links_to_the_pipeline_as_it_stood_when_the_quarter_began(built: Project) -> None:
    # On 2026-10-01 the last commit was 09-25's: a and b won, c open at stage 4, d not yet there.
    then = json.loads((built.site / "as-of" / "2026-10-01" / "pipeline.json").read_text(encoding="utf-8"))
    assert then["as_of"] == "2026-10-01"
    assert [(s["stage"], s["deals"], s["amount"]) for s in then["stages"] if s["deals"]] == [(4, 1, 200000)]
    assert then["pacing"]["won_to_date"] == 0 and then["pacing"]["previous"][0]["won"] == 150000
    dashboard = built.page("deals")
    assert 'href="../as-of/2026-10-01/deals/' in dashboard.replace("index.html", "")
    for page in ("as-of/2026-10-01/deals", "as-of/2026-10-01/deals/board", "zh/as-of/2026-10-01/deals"):
        html = built.page(page)
        assert "2026-10-01" in html or "2026年10月1日" in html
    assert not (built.site / "zh" / "as-of" / "2026-10-01" / "pipeline.json").exists()  # written once, at the root
    # Not in the navigation: a reader finds it from the dashboard.
    assert "as-of/2026-10-01" not in built.page("process")


def test_the_calls_file_is_data_not_a_published_file(built: Project) -> None:
    assert not list(built.site.rglob("calls.yml")) and not list(built.site.rglob("team.yml"))


def test_an_audience_without_forecast_gets_no_calls(built: Project) -> None:
    done = subprocess.run([sys.executable, "-m", "generator", "build", "--audience", "company", "-d", "company"],
                          cwd=built.root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads((built.root / "company" / "forecast.json").read_text(encoding="utf-8"))
    assert data["calls"] == [] and data["accuracy"] == {"team": None, "owners": []}
    for path in (built.root / "company").rglob("*"):
        if path.is_file() and path.suffix in (".html", ".json", ".js"):
            assert "b came in early" not in path.read_text(encoding="utf-8", errors="replace"), path


def test_a_live_preview_keeps_the_quarter_start_until_a_commit_changes_it(built: Project) -> None:
    """The snapshot is computed from git alone: a preview keeps it between saves, and a rewritten history
    (a commit of that day with other files) gives a new one."""
    from datetime import date

    from generator.build import Kept, read_project
    from generator.cache import Cache
    from generator.labels import Labels

    kept = Kept(histories={}, emptied={}, snapshots={})

    def snapshot():
        root = built.root
        project = read_project(root, root / "playbook" / "playbook.yml", root / "deals", date(2026, 11, 27),
                               Labels("en"), Cache(root / ".cache"), movement=True, kept=kept)
        assert project.pipeline is not None and project.pipeline.snapshot is not None
        return project.pipeline.snapshot

    first = snapshot()
    assert {v.id: v.deal.amount for v in first.deals} == {"a": 100000, "b": 50000, "c": 200000}
    built.write_deal("d.yml", deal("Anna Berg", 7, "open", 90000, "2026-12-20"))  # a save: today's deals only
    assert snapshot() is first
    # The history rewritten from 09-25 on: b won at 70,000 that day.
    git(built.root, "reset", "-q", "--hard", "HEAD~2")
    built.write_deal("b.yml", deal("Li Wei", 8, "won", 70000, "2026-09-25"))
    git(built.root, "add", "-A")
    git(built.root, "commit", "-qm", "2026-09-25", when="2026-09-25")
    again = snapshot()
    assert again is not first
    assert {v.id: v.deal.amount for v in again.deals} == {"a": 100000, "b": 70000, "c": 200000}
