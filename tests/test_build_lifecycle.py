"""How builds start and end: live preview shows deal errors in the page, workers never outlive the
build, and two builds in one folder take turns."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from browser_support import chromium
from conftest import ROOT, SITE_PATHS, Project
from test_serve import DEAL, _free_port, _get, _wait_for


def test_serve_shows_deal_errors_in_the_page_and_reloads_when_fixed(project: Project) -> None:

    deal = project.write_deal("serve-test.yml", DEAL)
    config = project.root / "mkdocs.yml"  # one language: the panel's latency, not a second site's build
    config.write_text(config.read_text(encoding="utf-8").replace("languages: [en, zh]", "languages: [en]"),
                      encoding="utf-8")
    port = _free_port()
    base = f"http://127.0.0.1:{port}/"
    log = project.root / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "generator", "serve", "--dev-addr", f"127.0.0.1:{port}",
                                   "--livereload"], cwd=project.root, stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
        try:
            deal_url = base + SITE_PATHS.url(SITE_PATHS.deal_page("serve-test"))
            _wait_for(lambda: _get(deal_url)[0] == 200, 60, "the preview", server, log)
            with chromium() as browser:
                page = browser.new_page()
                page.goto(base + SITE_PATHS.url(SITE_PATHS.process))
                assert page.locator(".dealbook-errors").count() == 0
                deal.write_text(DEAL.replace("stage: 2", "stage: 12"), encoding="utf-8")
                started = time.monotonic()
                page.wait_for_selector(".dealbook-errors", timeout=10_000)  # livereload brings it in
                shown = time.monotonic() - started
                panel = page.locator(".dealbook-errors").inner_text()
                assert "deals/serve-test.yml:4:8: error: stage: 12 is out of range" in panel
                assert shown < 3.0, f"the error panel took {shown:.1f} s"
                # The server still answers every page while the deal is wrong.
                assert _get(base + SITE_PATHS.url(SITE_PATHS.pipeline_page))[0] == 200
                deal.write_text(DEAL, encoding="utf-8")
                page.wait_for_selector(".dealbook-errors", state="detached", timeout=10_000)
                assert "process" in page.url
        finally:
            server.terminate()
            server.wait(timeout=20)
    # build still fails on the same error
    deal.write_text(DEAL.replace("stage: 2", "stage: 12"), encoding="utf-8")
    build = subprocess.run([sys.executable, "-m", "generator", "build"], cwd=project.root, capture_output=True,
                           text=True, timeout=300)
    assert build.returncode != 0 and "stage: 12 is out of range" in build.stderr


def _processes_with(marker: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker.encode() in (proc / "environ").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_workbook_workers_end_when_the_build_is_killed(sample_project: Project) -> None:
    for n in range(30):  # enough missing workbooks to start worker processes
        shutil.copy(ROOT / "deals" / "northwind-mes-upgrade.yml", sample_project.deals / f"copy-{n}.yml")
    marker = f"DEALBOOK_TEST_RUN={uuid.uuid4().hex}"
    env = {**os.environ, marker.split("=")[0]: marker.split("=")[1]}
    build = subprocess.Popen([sys.executable, "-m", "generator", "build"], cwd=sample_project.root, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=False)
    deadline = time.monotonic() + 120
    while len(_processes_with(marker)) < 3 and time.monotonic() < deadline:  # the build, the forkserver, workers
        time.sleep(0.05)
    assert len(_processes_with(marker)) >= 3, "no worker processes were started"
    build.send_signal(signal.SIGKILL)
    build.wait(timeout=10)
    deadline = time.monotonic() + 10
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = _processes_with(marker)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == [], "worker processes outlived the killed build"


def test_two_builds_in_one_folder_take_turns(sample_project: Project) -> None:
    args = [sys.executable, "-m", "generator", "build"]
    first = subprocess.Popen(args, cwd=sample_project.root, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    second = subprocess.Popen(args, cwd=sample_project.root, stderr=subprocess.PIPE, text=True)
    outputs = [first.communicate(timeout=300)[1], second.communicate(timeout=300)[1]]
    assert first.returncode == 0 and second.returncode == 0, outputs
    assert all("Traceback" not in out for out in outputs)
    assert (sample_project.site / "deals" / "index.html").is_file()
    # The second one waited, and said so once (unless the first was already done).
    if "waiting for it to finish" not in outputs[1]:
        pytest.skip("the first build finished before the second started; nothing to wait for")
    assert outputs[1].count("waiting for it to finish") == 1


def test_a_dirty_serve_rebuilds_only_what_changed(sample_project: Project) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}/"
    log = sample_project.root / "serve.log"
    deal = sample_project.deals / "northwind-mes-upgrade.yml"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "generator", "serve", "--dev-addr", f"127.0.0.1:{port}"],
                                  cwd=sample_project.root, stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
        try:
            page = base + SITE_PATHS.url(SITE_PATHS.deal_page("northwind-mes-upgrade"))
            _wait_for(lambda: _get(page)[0] == 200, 60, "the preview", server, log)
            deal.write_text(deal.read_text(encoding="utf-8").replace("title: ", "title: Edited ", 1), encoding="utf-8")
            _wait_for(lambda: "Edited MES" in _get(page)[1], 60, "the edit",
                      server, log)
            index = _get(base + "search/search_index.json")[1]
        finally:
            server.terminate()
            server.wait(timeout=20)
    text = log.read_text(encoding="utf-8", errors="replace")
    counts = [line for line in text.splitlines() if "dirty rebuild:" in line]
    assert len(counts) >= 2, text[-2000:]
    first, last = counts[0], counts[-1]
    total = int(first.split(" of ")[1].split()[0])
    assert f"{total} of {total} generated pages changed" in first
    changed = int(last.split("dirty rebuild: ")[1].split(" of ")[0])
    # The deal's page, the pipeline, its stage page, deals.json: not the other deals' pages.
    assert 2 <= changed <= 6, last
    assert all(SITE_PATHS.url(SITE_PATHS.deal_page(p.stem)) in index for p in sample_project.deals.glob("*.yml"))
