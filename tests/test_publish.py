"""A build publishes atomically: a failed or killed build leaves the last good site byte for byte,
and `SOURCE_DATE_EPOCH` out of range is one line, not a crash."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import MINIMAL_DEAL, ROOT, Project


def _dealbook(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=root, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def _files(site: Path) -> dict[str, bytes]:
    """Every file of the site, by its path inside it, with its bytes."""
    return {str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith("site."))


def test_a_failed_build_leaves_the_site_as_it_was(project: Project) -> None:
    project.write_deal("good.yml", MINIMAL_DEAL)
    first = _dealbook(project.root, "build")
    assert first.returncode == 0, first.stderr[-2000:]
    before = _files(project.site)
    assert "index.html" in before and "deals.json" in before

    project.write_deal("bad.yml", MINIMAL_DEAL.replace("amount: 1000", "amount: 460万"))
    failed = _dealbook(project.root, "build")
    assert failed.returncode != 0
    assert "bad.yml" in failed.stderr and "Traceback" not in failed.stderr
    assert _files(project.site) == before  # every file, byte for byte, and no other
    assert _leftovers(project.root) == []

    # A `--strict` build that fails on a warning after everything was written is not published either.
    (project.deals / "bad.yml").unlink()
    # A page with no Chinese version: the Chinese site (built in a forked process) warns about it.
    (project.root / "playbook" / "only-english.md").write_text("# Only in English\n", encoding="utf-8")
    strict = _dealbook(project.root, "build", "--strict")
    assert strict.returncode != 0 and "strict mode" in strict.stdout + strict.stderr
    assert _files(project.site) == before
    assert _leftovers(project.root) == []

    (project.root / "playbook" / "only-english.md").unlink()
    project.write_deal("late.yml", MINIMAL_DEAL.replace("ERP rollout", "Added later"))
    good = _dealbook(project.root, "build")
    assert good.returncode == 0, good.stderr[-2000:]
    assert _files(project.site) != before and (project.site / "index.html").is_file()
    assert _leftovers(project.root) == []


def test_a_killed_build_leaves_the_site_as_it_was_and_the_next_build_cleans_up(sample_project: Project) -> None:
    for n in range(30):  # enough deals that the build is still writing when it is killed
        shutil.copy(ROOT / "deals" / "northwind-mes-upgrade.yml", sample_project.deals / f"copy-{n}.yml")
    assert _dealbook(sample_project.root, "build").returncode == 0
    before = _files(sample_project.site)
    deal = sample_project.deals / "copy-0.yml"
    deal.write_text(deal.read_text(encoding="utf-8").replace("title: ", "title: Changed ", 1), encoding="utf-8")

    build = subprocess.Popen([sys.executable, "-m", "generator", "build"], cwd=sample_project.root,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    staging = sample_project.root / f"site.building-{build.pid}"
    deadline = time.monotonic() + 120
    # Killed once the build has written part of its site (its deal pages come after the theme's files).
    while build.poll() is None and time.monotonic() < deadline and not (staging / "deals").is_dir():
        time.sleep(0.02)
    if build.poll() is not None:
        pytest.skip("the build ended before it could be killed mid-way")
    build.send_signal(signal.SIGKILL)
    build.wait(timeout=10)
    assert staging.is_dir()  # killed mid-build: its staging folder is left
    assert _files(sample_project.site) == before

    again = _dealbook(sample_project.root, "build")
    assert again.returncode == 0, again.stderr[-2000:]
    assert _leftovers(sample_project.root) == []
    assert "Changed" in (sample_project.site / "deals.json").read_text(encoding="utf-8")


def test_a_site_dir_that_does_not_exist_yet_and_a_dirty_build(project: Project, tmp_path: Path) -> None:
    project.write_deal("good.yml", MINIMAL_DEAL)
    target = tmp_path / "out" / "deeper"
    result = _dealbook(project.root, "build", "--site-dir", str(target))
    assert result.returncode == 0, result.stderr[-2000:]
    assert (target / "index.html").is_file() and (target / "zh" / "index.html").is_file()
    assert sorted(p.name for p in target.parent.iterdir()) == ["deeper"]
    # A dirty build starts from a copy of the site: what it does not rewrite is still there.
    (target / "kept.txt").write_text("kept", encoding="utf-8")
    dirty = subprocess.run([str(Path(sys.executable).parent / "mkdocs"), "build", "--dirty", "--site-dir",
                            str(target)], cwd=project.root, capture_output=True, text=True, timeout=300)
    assert dirty.returncode == 0, dirty.stderr[-2000:]
    assert (target / "kept.txt").read_text(encoding="utf-8") == "kept"
    assert sorted(p.name for p in target.parent.iterdir()) == ["deeper"]


@pytest.mark.parametrize("epoch", ["10000000000", "-5", "99999999999999999999"])
def test_source_date_epoch_out_of_range_is_one_line(project: Project, epoch: str) -> None:
    project.write_deal("good.yml", MINIMAL_DEAL)
    for args in (["check"], ["build"], ["check", "--lang", "zh"]):
        result = _dealbook(project.root, *args, env={"SOURCE_DATE_EPOCH": epoch})
        assert result.returncode == 2, args
        assert result.stdout == "" and len(result.stderr.splitlines()) == 1, result.stderr
        assert "SOURCE_DATE_EPOCH" in result.stderr and epoch in result.stderr
        assert ("秒数" in result.stderr) == ("zh" in args)
    # mkdocs itself: the plugin's one line (and mkdocs' "Aborted"), no traceback.
    mkdocs = subprocess.run([str(Path(sys.executable).parent / "mkdocs"), "build"], cwd=project.root, text=True,
                            capture_output=True, timeout=300, env={**os.environ, "SOURCE_DATE_EPOCH": epoch})
    assert mkdocs.returncode != 0 and "Traceback" not in mkdocs.stderr + mkdocs.stdout
    assert [line for line in mkdocs.stderr.splitlines() if "SOURCE_DATE_EPOCH" in line] != []
    assert not project.site.exists()


def test_the_site_is_swapped_in_after_every_other_plugin_wrote_into_it(project: Project) -> None:
    from mkdocs.config import load_config

    from generator.plugin import DealbookPlugin

    config = load_config(str(project.root / "mkdocs.yml"))
    handlers = config.plugins.events["post_build"]
    assert len(handlers) > 1 and isinstance(handlers[-1].__self__, DealbookPlugin)  # offline's comes before


def test_without_an_exchange_a_build_killed_between_the_two_renames_gets_its_site_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from generator import publish

    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("old", encoding="utf-8")
    monkeypatch.setattr(publish, "_exchange", lambda a, b: False)  # a file system without RENAME_EXCHANGE
    run = publish.Publish.begin(str(site), keep_current=False, exclusive=True)
    assert run is not None and run.staging.parent == tmp_path and run.staging.is_dir()
    (run.staging / "index.html").write_text("new", encoding="utf-8")
    run.commit()
    assert (site / "index.html").read_text(encoding="utf-8") == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]

    # Killed between the renames: the site is under its `replaced` name, and the next build puts it back.
    site.rename(tmp_path / "site.replaced-999999")
    (tmp_path / "site.building-999999").mkdir()  # and that build's staging folder, half written
    again = publish.Publish.begin(str(site), keep_current=False, exclusive=True)
    assert again is not None
    assert (site / "index.html").read_text(encoding="utf-8") == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site", again.staging.name]
    again.abandon()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_the_staging_folder_of_a_running_build_is_left_alone_without_the_lock(tmp_path: Path) -> None:
    from generator import publish

    site = tmp_path / "site"
    running = tmp_path / f"site.building-{os.getppid()}"  # a process that is running: pytest's parent
    running.mkdir()
    run = publish.Publish.begin(str(site), keep_current=False, exclusive=False)
    assert run is not None and running.is_dir()
    run.abandon()
    publish.Publish.begin(str(site), keep_current=False, exclusive=True).abandon()  # with the lock: all go
    assert not running.exists() and not site.exists()
