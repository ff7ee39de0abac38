"""The forecast calls file: checked like every file, and a call without a date dated by its commit."""

from __future__ import annotations

import os
import subprocess
from datetime import date
from pathlib import Path

from generator.diagnostics import Problems
from generator.labels import Labels
from generator.sources.calls import call_text, load_calls
from generator.sources.stage_model import load_stage_model
from generator.sources.team import Member, Team

ROOT = Path(__file__).resolve().parents[1]
MODEL = load_stage_model(ROOT / "playbook" / "playbook.yml", "playbook/playbook.yml")
TEAM = Team("playbook/team.yml", (Member("Li Wei"), Member("Anna Novak")))


def git(root: Path, *args: str, when: str | None = None) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Rita", "GIT_AUTHOR_EMAIL": "r@example.com",
           "GIT_COMMITTER_NAME": "Rita", "GIT_COMMITTER_EMAIL": "r@example.com"}
    if when:
        env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def read(path: Path, as_of: date = date(2026, 12, 5)):
    problems = Problems()
    return load_calls(path, path.parent, MODEL, TEAM, as_of, problems), problems


def test_a_call_without_a_date_counts_from_the_commit_that_added_it(tmp_path):
    calls_file = tmp_path / "calls.yml"
    git(tmp_path, "init", "-q")
    calls_file.write_text("calls:\n" + call_text(date(2026, 10, 2), "Li Wei", "2026-Q4", 100000, 150000),
                          encoding="utf-8")
    git(tmp_path, "add", "calls.yml")
    git(tmp_path, "commit", "-qm", "first", when="2026-10-02T09:00:00+00:00")
    with calls_file.open("a", encoding="utf-8") as out:
        out.write("  - owner: Anna Novak\n    period: 2026-Q4\n    commit: 50000\n    best_case: 80000\n")
    git(tmp_path, "commit", "-qam", "second", when="2026-11-13T23:30:00-05:00")  # 2026-11-14 in UTC
    with calls_file.open("a", encoding="utf-8") as out:
        out.write("  - owner: team\n    period: 2026-Q4\n    commit: 150000\n    best_case: 200000\n")
    calls, problems = read(calls_file)
    assert not problems, [str(p) for p in problems]
    assert [(c.owner, c.day, c.dated_by) for c in calls.calls] == [
        ("Li Wei", date(2026, 10, 2), "file"), ("Anna Novak", date(2026, 11, 14), "git"),
        ("team", date(2026, 12, 5), "as_of")]
    assert calls.calls[2].commit == 150000


def test_mistakes_are_one_positioned_line_each_in_the_readers_language(tmp_path):
    calls_file = tmp_path / "calls.yml"
    calls_file.write_text(
        "calls:\n"
        "  - {date: 2026-10-02, owner: Li Wie, period: 2026-Q4, commit: 100, best_case: 150}\n"
        "  - {date: 2026-10-02, owner: Li Wei, period: FY2027-Q1, commit: 100, best_case: 150}\n"
        "  - {date: 2026-10-02, owner: Li Wei, period: 2026-Q4, commit: 300, best_case: 150}\n"
        "  - {date: 2026-13-02, owner: Li Wei, period: 2026-Q4, commit: 1, best_case: 2}\n", encoding="utf-8")
    calls, problems = read(calls_file)
    assert calls is None
    lines = [Labels("en").problem_line(p) for p in problems]
    assert [line.split(": error: ")[0] for line in lines] == ["calls.yml:5:12"]  # the spec first; then meaning
    assert "13" in lines[0]
    calls_file.write_text(calls_file.read_text().replace("2026-13-02", "2026-12-02"), encoding="utf-8")
    calls, problems = read(calls_file)
    lines = [Labels("en").problem_line(p) for p in problems]
    assert [line.split(": error: ")[0] for line in lines] == ["calls.yml:2:24", "calls.yml:3:39", "calls.yml:4:69"]
    assert "'Li Wie' is not in the team file" in lines[0]
    assert "'FY2027-Q1' is not a period of this team" in lines[1]
    assert "best case 150 is below commit 300" in lines[2]
    zh = Labels("zh").problem_line(problems[2])
    assert "最佳情况 150 低于承诺 300" in zh


def test_dealbook_call_appends_one_call_or_leaves_the_file_as_it_was(tmp_path):
    import shutil
    import sys

    shutil.copytree(ROOT / "playbook", tmp_path / "playbook")
    calls_file = tmp_path / "playbook" / "calls.yml"
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1795737600"}  # 2026-11-27

    def call(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "generator", "call", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)

    done = call("Li Wei", "2026-Q4", "--commit", "2100000", "--best-case", "2900000", "--note", 'said "yes": {x}')
    assert done.returncode == 0, done.stderr
    calls, problems = read(calls_file)
    assert not problems
    assert [(c.day, c.owner, c.commit, c.best_case, c.note) for c in calls.calls] == [
        (date(2026, 11, 27), "Li Wei", 2100000, 2900000, 'said "yes": {x}')]
    before = calls_file.read_bytes()
    done = call("Li Wie", "2026-Q4", "--commit", "3", "--best-case", "1", "--lang", "zh")
    assert done.returncode == 1 and calls_file.read_bytes() == before
    assert [line.split(": error: ")[0] for line in done.stderr.splitlines()] == \
        ["playbook/calls.yml:9:5", "playbook/calls.yml:12:5"]
    assert "不在团队名单中" in done.stderr and "低于承诺" in done.stderr
