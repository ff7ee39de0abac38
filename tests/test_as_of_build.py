"""`dealbook build --as-of DAY`: the site as it stood on a past day equals a plain build of that day's commit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from conftest import Project, new_project

COMMITS = {  # day of the commit → what it changes
    "2026-07-01": {"alpha": (1, "open", 1000), "beta": (2, "open", 5000)},
    "2026-08-15": {"alpha": (3, "open", 1200)},
    "2026-09-30": {"gamma": (1, "open", 700), "beta": (8, "won", 5000)},
    "2026-11-02": {"alpha": (4, "lost", 1200)},
}
DAYS = ["2026-07-01", "2026-08-20", "2026-09-30", "2026-10-31", "2026-12-05"]  # each with the commit it stands on


def deal(name: str, stage: int, status: str, amount: int) -> str:
    reason = "lost_reason: price\n" if status == "lost" else ""
    return (f"title: Deal {name}\naccount: Example Co\nowner: Test Rep\nstage: {stage}\nstatus: {status}\n"
            f"amount: {amount}\nexpected_close: 2026-12-31\n{reason}")


def git(root: Path, *args: str, when: str | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Rita", "GIT_AUTHOR_EMAIL": "r@example.com",
           "GIT_COMMITTER_NAME": "Rita", "GIT_COMMITTER_EMAIL": "r@example.com"}
    if when:
        env.update(GIT_AUTHOR_DATE=f"{when}T10:00:00+00:00", GIT_COMMITTER_DATE=f"{when}T10:00:00+00:00")
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True).stdout


def run(cwd: Path, *args: str, epoch: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    if epoch is not None:
        env["SOURCE_DATE_EPOCH"] = epoch
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, dict[str, str]]:
    project = new_project(tmp_path_factory.mktemp("as-of") / "project")
    config = project.root / "mkdocs.yml"
    # One language is enough to compare the JSON files, and halves each build.
    config.write_text(config.read_text(encoding="utf-8").replace("languages: [en, zh]", "languages: [en]"),
                      encoding="utf-8")
    (project.root / ".gitignore").write_text(".cache/\nsite/\n", encoding="utf-8")
    git(project.root, "init", "-q")
    commits = {}
    for day, changes in COMMITS.items():
        for name, values in changes.items():
            project.write_deal(f"{name}.yml", deal(name, *values))
        git(project.root, "add", "-A")
        git(project.root, "commit", "-qm", f"deals on {day}", when=day)
        commits[day] = git(project.root, "rev-parse", "HEAD").strip()
    return project, commits


def json_files(site: Path) -> tuple[object, object]:
    return tuple(json.loads((site / name).read_text(encoding="utf-8")) for name in ("deals.json", "pipeline.json"))


def test_each_day_equals_a_plain_build_of_its_commit(repository, tmp_path):
    project, commits = repository
    for day in DAYS:
        stood_on = max(d for d in COMMITS if d <= day)
        out = tmp_path / f"as-of-{day}"
        done = run(project.root, "build", "--as-of", day, "-d", str(out))
        assert done.returncode == 0, done.stderr[-2000:]
        # The plain build: a clone at that commit, built with SOURCE_DATE_EPOCH on the day.
        plain = tmp_path / f"plain-{day}"
        git(tmp_path, "clone", "-q", str(project.root), plain.name)
        git(plain, "checkout", "-q", "--detach", commits[stood_on])
        noon = int(datetime.combine(date.fromisoformat(day), time(12), tzinfo=UTC).timestamp())
        done = run(plain, "build", epoch=str(noon))
        assert done.returncode == 0, done.stderr[-2000:]
        assert json_files(out) == json_files(plain / "site"), day
        assert json_files(out)[1]["as_of"] == day if "as_of" in json_files(out)[1] else True
        banner = (out / "index.html").read_text(encoding="utf-8")
        assert f"As it stood on {day}" in banner and commits[stood_on][:7] in banner
        assert "As it stood on" not in (plain / "site" / "index.html").read_text(encoding="utf-8")
    # The reader's project is as it was: no worktree, no leftover clone, nothing staged.
    assert git(project.root, "status", "--porcelain") == ""
    assert git(project.root, "worktree", "list").count("\n") == 1
    assert not any((project.root / ".cache" / "as-of").glob("*"))


def test_a_day_before_the_history_is_one_line_and_builds_nothing(repository, tmp_path):
    project, _ = repository
    done = run(project.root, "build", "--as-of", "2026-06-30", "-d", str(tmp_path / "out"))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == ["Error: no commit on or before 2026-06-30: the history starts later"]
    assert not (tmp_path / "out").exists()
    done = run(project.root, "build", "--as-of", "2026-02-30")
    assert (done.returncode, done.stderr.strip()) == (1, "Error: --as-of '2026-02-30' is not a day")
