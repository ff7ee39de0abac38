"""Deal history from git: stage timeline, days in stage, stale deals, and the fallbacks."""

from __future__ import annotations

import json
import os
import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
from conftest import ROOT, Project

from generator.build import read_project
from generator.cache import Cache
from generator.labels import Labels
from generator.model.timeline import timeline
from generator.sources.deal_files import Deal, Exit, Stakeholder
from generator.sources.history import Change, DealHistory
from generator.sources.stage_model import load_stage_model

AS_OF = date(2026, 11, 27)

DEAL = """\
title: History deal
account: Example Co
owner: Test Rep
stage: {stage}
status: open
amount: 1000
expected_close: 2027-06-30
stakeholders: [{{name: Ann, role: decision-maker}}]
exits:
  1: {{date: 2026-08-01, evidence: Meeting}}
{extra}"""


def git(root: Path, *args: str, when: str | None = None, author: str = "Rita Rep") -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": "rep@example.com",
           "GIT_COMMITTER_NAME": author, "GIT_COMMITTER_EMAIL": "rep@example.com"}
    if when:
        env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(project: Project) -> Project:
    """A project in a git repository: a deal committed at stage 2, then moved to stage 3."""
    git(project.root, "init", "-q", "-b", "main")
    project.write_deal("hist.yml", DEAL.format(stage=2, extra=""))
    git(project.root, "add", ".")
    git(project.root, "commit", "-qm", "New deal at stage 2", when="2026-09-01T10:00:00+00:00", author="Ann Author")
    project.write_deal("hist.yml", DEAL.format(stage=3, extra="  2: {date: 2026-10-20, evidence: Proposal asked}\n"))
    git(project.root, "commit", "-qam", "Move to stage 3", when="2026-10-21T09:00:00+00:00", author="Bo Mover")
    return project


def deal_json(project: Project, deal_id: str = "hist") -> dict:
    return next(d for d in json.loads((project.site / "deals.json").read_text()) if d["id"] == deal_id)


def test_stage_entered_and_days_from_git(repo: Project) -> None:
    repo.build()
    deal = deal_json(repo)
    assert deal["stage_entered"] == "2026-10-21"  # the commit, not the exit's 2026-10-20
    assert deal["days_in_stage"] == 37  # to the as-of date 2026-11-27
    assert deal["last_updated"] == "2026-10-21"
    assert deal["stage_history"] == [{"date": "2026-09-01", "stage": 2, "status": "open"},
                                     {"date": "2026-10-21", "stage": 3, "status": "open"}]
    page = repo.page("deals/hist")
    timeline = re.search(r'<table class="db-timeline[^"]*">(.*?)</table>', page, re.S).group(1)
    rows = [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in re.findall(r"<tr>(.*?)</tr>", timeline, re.S)]
    assert "2026-10-21 2 → 3 Open Bo Mover" in rows
    assert "2026-09-01 added at stage 2 Open Ann Author" in rows
    assert re.search(r'class="db-days-in-stage">37<', page)


def test_stale_flag_follows_the_stage_threshold(repo: Project) -> None:
    model = repo.model.read_text(encoding="utf-8")
    stage3 = model.index("key: preliminary-proposal")
    threshold = re.compile(r"stale_days: \d+")
    repo.model.write_text(model[:stage3] + threshold.sub("stale_days: 40", model[stage3:], 1), encoding="utf-8")
    repo.build()
    assert deal_json(repo)["stale"] is False  # 37 days without a change, limit 40
    repo.model.write_text(model[:stage3] + threshold.sub("stale_days: 30", model[stage3:], 1), encoding="utf-8")
    repo.build()
    deal = deal_json(repo)
    assert deal["stale"] is True
    assert any("no change for 37 days (stale after 30 days in stage 3)" in w for w in deal["warnings"])
    assert "History deal" in re.search(r'<ul class="db-stale-list">(.*?)</ul>', repo.page("deals"), re.S).group(1)


def test_uncommitted_stage_change_counts_from_today(repo: Project) -> None:
    repo.write_deal("hist.yml", DEAL.format(stage=4, extra="  2: {date: 2026-10-20}\n  3: {date: 2026-11-26}\n"))
    repo.build()
    deal = deal_json(repo)
    assert deal["stage_entered"] == "2026-11-27" and deal["days_in_stage"] == 0


def test_shallow_clone_falls_back_and_says_why(repo: Project, tmp_path: Path, caplog) -> None:
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo.root}", str(clone))
    assert git(clone, "rev-parse", "--is-shallow-repository").strip() == "true"
    shallow = Project(clone)
    os.chdir(clone)
    caplog.set_level("INFO")
    shallow.build()
    deal = deal_json(shallow)
    assert deal["stage_entered"] == "2026-10-20"  # from exits: stage 2 was left on 2026-10-20
    assert deal["days_in_stage"] == 38
    assert deal["stage_history"] == [{"date": "2026-08-01", "stage": 2, "status": "open"},
                                     {"date": "2026-10-20", "stage": 3, "status": "open"}]
    notes = [r.getMessage() for r in caplog.records if "no deal history" in r.getMessage()]
    assert len(notes) == 1 and "shallow clone" in notes[0] and "fetch-depth: 0" in notes[0]


def test_no_git_falls_back_to_the_files(project: Project, caplog) -> None:
    project.write_deal("hist.yml", DEAL.format(stage=3, extra="  2: {date: 2026-10-20, evidence: Asked}\n"))
    caplog.set_level("INFO")
    project.build(strict=True)  # a missing history is never a reason to fail
    deal = deal_json(project)
    assert deal["stage_entered"] == "2026-10-20" and deal["last_updated"] == "2026-10-20"
    assert "not in a git repository" in caplog.text
    assert "no git history: the project is not in a git repository" in project.page("deals/hist")


def test_history_is_cached_per_commit(repo: Project) -> None:
    repo.build()
    assert len(list((repo.root / ".cache" / "history").iterdir())) == 1
    assert deal_json(repo)["stage_entered"] == "2026-10-21"
    repo.write_deal("hist.yml", DEAL.format(stage=4, extra="  2: {date: 2026-10-20}\n  3: {date: 2026-11-10}\n"))
    git(repo.root, "commit", "-qam", "Move to stage 4", when="2026-11-11T09:00:00+00:00", author="Cy Closer")
    repo.build()  # a new HEAD: the cached history of the old one is not used
    deal = deal_json(repo)
    assert deal["stage_entered"] == "2026-11-11" and deal["stage_history"][-1]["stage"] == 4
    assert "Cy Closer" in repo.page("deals/hist")


def test_first_commit_is_not_taken_for_the_stage_entry(project: Project) -> None:
    # A deal added to git when it had long been at stage 3: its exit evidence knows better.
    git(project.root, "init", "-q", "-b", "main")
    project.write_deal("hist.yml", DEAL.format(stage=3, extra="  2: {date: 2026-10-20, evidence: Asked}\n"))
    git(project.root, "add", ".")
    git(project.root, "commit", "-qm", "Import the deal", when="2026-11-20T10:00:00+00:00")
    project.build()
    deal = deal_json(project)
    assert deal["stage_entered"] == "2026-10-20" and deal["days_in_stage"] == 38
    assert deal["last_updated"] == "2026-11-20"


# --- Closed deals stop counting at their close ------------------------------------------------

def _closed_deal(**fields: object) -> Deal:
    values: dict = dict(id="d", path="deals/d.yml", title="T", account="A", owner="O", stage=6, status="lost",
                        amount=1.0, currency="USD", expected_close=date(2026, 10, 15),
                        exits={5: Exit(date(2026, 8, 14), "Shortlisted")})
    return Deal(**{**values, **fields})


def test_a_closed_deal_counts_its_days_in_stage_to_its_close() -> None:
    model = load_stage_model(ROOT / "playbook" / "playbook.yml")
    lost = timeline(_closed_deal(), None, model, AS_OF)
    assert lost.closed_on == date(2026, 10, 15)  # the expected close, which lies in the past
    assert lost.days_in_stage == 62  # 2026-08-14 → 2026-10-15, not the 105 days to the as-of date
    # Abandoned before its expected close: the last date in the file is the last sign of life.
    people = [Stakeholder("Ann", last_contact=date(2026, 9, 30))]
    abandoned = timeline(_closed_deal(status="abandoned", expected_close=date(2027, 3, 31), stakeholders=people),
                         None, model, AS_OF)
    assert (abandoned.closed_on, abandoned.days_in_stage) == (date(2026, 9, 30), 47)
    assert timeline(_closed_deal(status="open"), None, model, AS_OF).days_in_stage == 105
    assert timeline(_closed_deal(status="open"), None, model, AS_OF).closed_on is None


def test_a_closed_deal_closes_on_the_commit_that_closed_it() -> None:
    model = load_stage_model(ROOT / "playbook" / "playbook.yml")
    history = DealHistory([Change(date(2026, 8, 1), 6, "open", "Ann"), Change(date(2026, 11, 2), 6, "lost", "Bo")],
                          date(2026, 11, 2))
    lost = timeline(_closed_deal(), history, model, AS_OF)
    assert (lost.stage_entered, lost.closed_on, lost.days_in_stage) == (date(2026, 8, 1), date(2026, 11, 2), 93)
    # Committed for the first time already lost: the commit is when git saw it, not when it closed.
    late = DealHistory([Change(date(2026, 11, 20), 6, "lost", "Ann")], date(2026, 11, 20))
    first_seen = timeline(_closed_deal(), late, model, AS_OF)
    assert (first_seen.closed_on, first_seen.days_in_stage) == (date(2026, 10, 15), 62)


def test_the_page_of_a_closed_deal_says_when_and_where_it_ended(repo: Project) -> None:
    repo.write_deal("hist.yml", DEAL.format(stage=3, extra="  2: {date: 2026-10-20, evidence: Proposal asked}\n")
                    .replace("status: open", "status: lost\nlost_reason: Budget cut"))
    git(repo.root, "commit", "-qam", "Lost", when="2026-11-02T09:00:00+00:00")
    repo.build()
    deal = deal_json(repo)
    assert (deal["closed_on"], deal["days_in_stage"]) == ("2026-11-02", 12)  # 2026-10-21 → 2026-11-02
    text = re.sub(r"<[^>]+>", "", repo.page("deals/hist"))
    assert "Lost on 2026-11-02, at stage 3 (Preliminary proposal). It spent 12 days in that stage." in text
    assert "Days in the stage until it closed" in text


# --- `dealbook check` reads only the committed versions --------------------------------------

def test_check_reads_only_the_latest_versions_and_warns_as_the_build_does(repo: Project) -> None:
    """`history="latest"` skips the diffs; every deal's staleness and every warning stay the same."""
    root = repo.root
    repo.write_deal("old.yml", DEAL.format(stage=2, extra=""))
    repo.write_deal("notes.yml", DEAL.format(stage=2, extra=""))
    repo.write_deal("gone.yml", DEAL.format(stage=2, extra=""))
    repo.write_deal("closed.yml", DEAL.format(stage=2, extra=""))
    git(root, "add", ".")
    # Dated before the fixture's last commit (2026-10-21) but made after it: a back-dated commit takes the
    # day of the one before it on the branch, in the build and in `dealbook check` alike.
    git(root, "commit", "-qm", "Four deals", when="2026-08-03T10:00:00+00:00")
    repo.write_deal("notes.yml", DEAL.format(stage=2, extra="summary: Called them\n"))
    repo.write_deal("closed.yml", DEAL.format(stage=2, extra="lost_reason: Budget\n").replace("open", "lost"))
    git(root, "commit", "-qam", "Notes and a lost deal", when="2026-11-20T10:00:00+00:00")
    git(root, "rm", "-q", "deals/gone.yml")
    git(root, "commit", "-qm", "Gone", when="2026-11-21T10:00:00+00:00")
    repo.write_deal("gone.yml", DEAL.format(stage=2, extra=""))  # back, not committed
    repo.write_deal("hist.yml", DEAL.format(stage=4, extra="  2: {date: 2026-10-20}\n  3: {date: 2026-11-26}\n"))
    repo.write_deal("new.yml", DEAL.format(stage=2, extra=""))

    def read(depth: str) -> tuple[dict, list[str]]:
        project = read_project(root, repo.model, repo.deals, AS_OF, Labels("en"), Cache(None), history=depth)
        times = {v.deal.id: v.timeline for v in project.pipeline.deals}
        return times, sorted(f"{p.path}:{p.line}: {p.message}" for p in project.problems)

    (full, full_problems), (latest, latest_problems) = read("full"), read("latest")
    assert latest_problems == full_problems
    for deal_id, times in full.items():
        seen = (times.source, times.last_updated, times.days_since_update, times.stale)
        assert (latest[deal_id].source, latest[deal_id].last_updated, latest[deal_id].days_since_update,
                latest[deal_id].stale) == seen, deal_id
    # The cases differ from each other, so the comparison above compares something.
    assert full["old"].stale and full["old"].source == "git" and full["old"].last_updated == date(2026, 10, 21)
    assert not full["notes"].stale and full["notes"].last_updated == date(2026, 11, 20)
    assert full["hist"].last_updated == AS_OF and full["closed"].source == "git"
    assert full["new"].source == "file" and full["gone"].source == "file"
    assert any("no change for 37 days" in line for line in latest_problems)
