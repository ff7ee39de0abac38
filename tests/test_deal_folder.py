"""What may sit in deals/: regular files inside the project, named by an id the site does not use itself.

Anything else (a reserved id, a FIFO, a folder, a broken or looping link, a link out of the
project) is one clear error line from `dealbook check` and stops the build, never a hang or a
silently missing deal. Every CLI run and every build that could meet a FIFO runs in a subprocess
with a time limit, so a regression fails the test instead of hanging the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import pytest
from conftest import AS_OF_EPOCH, BASE_DEAL, Project
from conftest import run_check as check
from mkdocs.exceptions import Abort

from generator.site.paths import SitePaths
from generator.sources.stage_model import StageModel, load_stage_model

LIMIT = 20  # seconds: reading these takes well under one; a FIFO that is opened blocks forever

BASE = BASE_DEAL


def run_check(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return check(cwd, *args, timeout=LIMIT)


def run_build(cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SOURCE_DATE_EPOCH": AS_OF_EPOCH, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=LIMIT)


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if ": error: " in line]


# --- reserved ids -------------------------------------------------------------------------------

def generated_ids(model: StageModel) -> list[str]:
    """The ids a deal could take that would give it the path of a generated file.

    Worked out here from the generated paths and the deal paths, independently of
    `SitePaths.reserved_ids`, which the test then holds to it.
    """
    ids = set()
    for path in SitePaths().fixed_paths(model):
        stem = PurePosixPath(path).stem
        if path in (SitePaths.deal_page(stem), SitePaths().deal_workbook(stem)):
            ids.add(stem)
    # A deal page deals/<id>.md is published at deals/<id>/: the URL of a folder of generated pages.
    for folder in SitePaths().generated_folders():
        name = PurePosixPath(folder).name
        if SitePaths.deal_page(name) == f"{folder}.md":
            ids.add(name)
    return sorted(ids)


def rename_a_stage_key(project: Project) -> None:
    text = project.model.read_text(encoding="utf-8")
    assert "key: account-planning" in text
    project.model.write_text(text.replace("key: account-planning", "key: planning-the-account"), encoding="utf-8")
    texts = project.model.with_name("playbook.zh.yml")  # its Chinese texts are named by the key too
    texts.write_text(texts.read_text(encoding="utf-8").replace("- key: account-planning\n",
                                                               "- key: planning-the-account\n"), encoding="utf-8")


@pytest.mark.parametrize("renamed", [False, True], ids=["shipped model", "renamed stage key"])
def test_reserved_ids_are_one_error_each_and_stop_the_build(project: Project, caplog, renamed: bool) -> None:
    if renamed:
        rename_a_stage_key(project)  # the project's own copy; the shipped model is untouched
    model = load_stage_model(project.model)
    assert renamed == ("stages/1-planning-the-account.md" in SitePaths().fixed_paths(model))
    ids = generated_ids(model)
    assert {"index", "pipeline", "scorecard-template", "board", "owners", "changes", "insights"} <= set(ids)
    assert set(ids) == SitePaths().reserved_ids(model)
    for deal_id in ids:
        path = project.write_deal(f"{deal_id}.yml", BASE)
        result = run_check(project.root)
        assert result.returncode == 1, result.stdout + result.stderr
        errors = error_lines(result.stdout)
        assert errors == [f"deals/{deal_id}.yml:1:1: error: the deal id '{deal_id}' is reserved: its page or "
                          f"workbook would replace one the site generates (rename the file, e.g. {deal_id}-deal.yml)"]
        caplog.clear()
        with pytest.raises(Abort):
            project.build()
        assert "1 problem(s) in the deal files" in caplog.text
        assert errors[0] in caplog.text
        path.unlink()


@pytest.mark.parametrize("renamed", [False, True], ids=["shipped model", "renamed stage key"])
def test_other_generated_names_are_fine_as_deal_ids(project: Project, renamed: bool) -> None:
    # A stage page or the reference page lives outside deals/ and workbooks/: a deal may share its name.
    if renamed:
        rename_a_stage_key(project)
    model = load_stage_model(project.model)
    reserved = set(generated_ids(model))
    others = {PurePosixPath(p).stem for p in SitePaths().fixed_paths(model)} - reserved
    others = {stem for stem in others if stem.replace("-", "").isalnum() and stem == stem.lower()}
    assert ("1-planning-the-account" if renamed else "1-account-planning") in others
    for stem in others:
        project.write_deal(f"{stem}.yml", BASE)
    result = run_check(project.root)
    assert error_lines(result.stdout) == [], result.stdout
    assert result.returncode == 0


# --- what is in the folder ----------------------------------------------------------------------

def _fifo(project: Project, path: Path) -> None:
    os.mkfifo(path)


def _folder(project: Project, path: Path) -> None:
    path.mkdir()
    (path / "acme.yml").write_text(BASE, encoding="utf-8")


def _broken_link(project: Project, path: Path) -> None:
    path.symlink_to("gone.yml")


def _looping_link(project: Project, path: Path) -> None:
    path.symlink_to("x.yml")  # itself: a second link in the loop would be a second (correct) error line


def _link_out_of_the_project(project: Project, path: Path) -> None:
    outside = project.root.parent / "elsewhere"
    outside.mkdir()
    (outside / "x.yml").write_text(BASE, encoding="utf-8")  # a valid deal: only where it is is wrong
    path.symlink_to(Path("..") / ".." / "elsewhere" / "x.yml")


def _link_out_through_a_folder(project: Project, path: Path) -> None:
    # The file is not a link, but the way to it leaves the project: resolved, it is outside.
    outside = project.root.parent / "elsewhere"
    outside.mkdir()
    (outside / "x.yml").write_text(BASE, encoding="utf-8")
    sub = project.deals / "shared"
    sub.symlink_to(outside, target_is_directory=True)
    path.symlink_to(Path("shared") / "x.yml")


# (case, how to make deals/x.yml, the words the one error line must have)
ENTRIES: list[tuple[str, Callable[[Project, Path], None], str]] = [
    ("fifo", _fifo, "is a named pipe (FIFO), not a file"),
    ("folder", _folder, "is a folder"),
    ("broken link", _broken_link, "is a broken link"),
    ("looping link", _looping_link, "is a link that loops"),
    ("link out of the project", _link_out_of_the_project, "points outside the project (to "),
    ("link through a folder out of the project", _link_out_through_a_folder, "points outside the project (to "),
]


def assert_one_line_about_x(result: subprocess.CompletedProcess, words: str) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    errors = error_lines(result.stdout)
    assert len(errors) == 1, result.stdout
    line = errors[0]
    assert line.startswith("deals/x.yml:1:1: error: ") and words in line, line
    assert line.endswith(")"), "every line ends with a hint in parentheses: " + line
    return line


@pytest.mark.parametrize("case,make,words", ENTRIES, ids=[e[0] for e in ENTRIES])
def test_an_entry_that_is_not_a_regular_file_is_one_error(project: Project, case, make, words) -> None:
    make(project, project.deals / "x.yml")
    line = assert_one_line_about_x(run_check(project.root), words)
    if "outside" in words:
        assert str((project.root.parent / "elsewhere" / "x.yml").resolve()) in line
    # Named explicitly, alone or with its folder, it is the same one line: never a hang, never a usage error.
    assert assert_one_line_about_x(run_check(project.root, "deals/x.yml"), words) == line
    explicit = run_check(project.root, "deals/x.yml", str(project.deals))
    assert line in explicit.stdout and explicit.returncode == 1
    assert "Traceback" not in explicit.stdout + explicit.stderr


@pytest.mark.parametrize("case,make,words", ENTRIES, ids=[e[0] for e in ENTRIES])
def test_the_build_stops_with_the_same_line(project: Project, case, make, words) -> None:
    make(project, project.deals / "x.yml")
    [line] = error_lines(run_check(project.root).stdout)
    # A subprocess, not project.build(): a build that opened the FIFO would hang this test run.
    result = run_build(project.root)
    assert result.returncode != 0
    assert line in result.stdout + result.stderr
    assert not (project.site / "deals" / "x" / "index.html").exists() and not (project.site / "deals" / "x.html").exists()


def test_a_file_outside_the_project_given_explicitly_is_an_error(project: Project) -> None:
    outside = project.root.parent / "elsewhere.yml"
    outside.write_text(BASE, encoding="utf-8")
    result = run_check(project.root, "../elsewhere.yml")
    assert result.returncode == 1
    errors = error_lines(result.stdout)
    assert errors == [f"../elsewhere.yml:1:1: error: points outside the project (to {outside.resolve()}) "
                      "(copy the file into the project instead of linking to it)"], result.stdout


def test_a_link_that_stays_inside_the_project_is_read(project: Project) -> None:
    archive = project.root / "archive"
    archive.mkdir()
    (archive / "acme.yml").write_text(BASE, encoding="utf-8")
    (project.deals / "acme.yml").symlink_to(Path("..") / "archive" / "acme.yml")
    for args in ((), ("deals/acme.yml",), ("deals",)):
        result = run_check(project.root, *args)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout == ""
        assert "1 deal file(s) checked: 0 error(s)" in result.stderr


def test_a_missing_path_is_still_a_usage_error(project: Project) -> None:
    result = run_check(project.root, "deals/nothing-here.yml")
    assert result.returncode == 2 and "no such file or folder" in result.stderr
