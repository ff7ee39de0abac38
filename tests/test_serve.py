"""`mkdocs serve` watches deals/: saving a deal file changes the page the preview serves."""

from __future__ import annotations

import html
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import openpyxl
import pytest
from conftest import MINIMAL_DEAL, SITE_PATHS, Project, need

DEAL = MINIMAL_DEAL.replace("ERP rollout", "Before the edit")
STARTUP_TIMEOUT = 60.0
RELOAD_TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    """(status, body); status 0 while nothing answers yet."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except (urllib.error.URLError, OSError):
        return 0, ""


def _get_status(url: str) -> int:
    """The status of a request for any file (a workbook is not text); 0 while nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


def _wait_for(check: Callable[[], bool], timeout: float, what: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"mkdocs serve exited with {server.returncode} while waiting for {what}:\n"
                        + log.read_text(encoding="utf-8", errors="replace")[-3000:])
        if check():
            return
        time.sleep(0.25)
    pytest.fail(f"no {what} after {timeout:.0f} s; mkdocs serve said:\n"
                + log.read_text(encoding="utf-8", errors="replace")[-3000:])


@contextmanager
def _server(program: Path, project: Project, port: int, log: Path) -> Iterator[subprocess.Popen]:
    """`<program> serve` on `port`, its output in `log`; ended, however the test ends."""
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(program), "serve", "--dev-addr", f"127.0.0.1:{port}", "--livereload"],
            cwd=project.root, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        )
        try:
            yield server
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


def test_serve_rebuilds_when_a_deal_file_is_saved(project: Project) -> None:
    mkdocs = Path(sys.executable).parent / "mkdocs"  # .venv/bin/mkdocs next to the interpreter running pytest
    need(mkdocs.exists(), "mkdocs in the virtualenv")
    deal = project.write_deal("serve-test.yml", DEAL)
    port = _free_port()
    base = f"http://127.0.0.1:{port}/"
    page = base + SITE_PATHS.url(SITE_PATHS.deal_page("serve-test"))
    log = project.root / "serve.log"

    def says(text: str) -> bool:
        status, body = _get(page)
        return status == 200 and text in body

    with _server(mkdocs, project, port, log) as server:
        _wait_for(lambda: says("Before the edit"), STARTUP_TIMEOUT, "deal page from the preview server",
                  server, log)
        assert not says("After the edit")

        deal.write_text(DEAL.replace("Before the edit", "After the edit"), encoding="utf-8")
        _wait_for(lambda: says("After the edit"), RELOAD_TIMEOUT, "new title on the served deal page",
                  server, log)

        status, body = _get(page)
        assert status == 200 and "Before the edit" not in body
        deals = json.loads(_get(base + "deals.json")[1])
        assert [d["title"] for d in deals if d["id"] == "serve-test"] == ["After the edit"]


def test_dealbook_serve_rewrites_only_what_changed_and_shows_every_change(project: Project) -> None:
    """`dealbook serve` rebuilds dirty: the pages, in both languages, and the workbook follow each save,
    also when the title (the page's front matter) stays the same."""
    dealbook = Path(sys.executable).parent / "dealbook"
    need(dealbook.exists(), "dealbook in the virtualenv")
    deal = project.write_deal("serve-test.yml", DEAL)
    project.write_deal("other-deal.yml", MINIMAL_DEAL.replace("ERP rollout", "Untouched deal"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}/"
    pages = [base + SITE_PATHS.url(SITE_PATHS.deal_page("serve-test")),
             base + "zh/" + SITE_PATHS.url(SITE_PATHS.deal_page("serve-test"))]
    pipeline = base + SITE_PATHS.url(SITE_PATHS.pipeline_page)
    log = project.root / "serve.log"

    def all_say(text: str, urls: list[str] = pages) -> bool:
        answers = [_get(url) for url in urls]
        return all(status == 200 and text in body for status, body in answers)

    with _server(dealbook, project, port, log) as server:
        _wait_for(lambda: all_say("Before the edit"), STARTUP_TIMEOUT, "both deal pages", server, log)
        # Only the body changes (a summary is added): the front matter stays as it was.
        deal.write_text(DEAL + "summary: A note added while previewing\n", encoding="utf-8")
        _wait_for(lambda: all_say("A note added while previewing"), RELOAD_TIMEOUT,
                  "the new summary on the English and the Chinese page", server, log)
        deal.write_text(DEAL.replace("Before the edit", "After the edit"), encoding="utf-8")
        _wait_for(lambda: all_say("After the edit", pages + [pipeline]), RELOAD_TIMEOUT,
                  "the new title on both deal pages and the pipeline", server, log)
        assert not all_say("A note added while previewing")
        text = log.read_text(encoding="utf-8", errors="replace")
        # The untouched deal's page was not written again (en and zh: one page each, plus the aggregates).
        rebuilt = [int(n) for n in re.findall(r"dirty rebuild: (\d+) of \d+ generated pages changed", text)]
        assert rebuilt and max(rebuilt[2:] or rebuilt) < 12, text[-2000:]

        workbook = base + SITE_PATHS.url(SITE_PATHS.deal_workbook("serve-test"))

        def workbook_title() -> str:
            try:
                with urllib.request.urlopen(workbook, timeout=5) as response:
                    data = response.read()
            except (urllib.error.URLError, OSError):
                return ""
            return openpyxl.load_workbook(io.BytesIO(data)).properties.title or ""

        _wait_for(lambda: workbook_title() == "After the edit", RELOAD_TIMEOUT, "the workbook's new title",
                  server, log)


def test_the_error_panel_is_on_the_broken_deals_own_page_in_its_language_and_gone_deals_go(project: Project) -> None:
    """While a deal is invalid its own page (English and Chinese) shows the panel, with its file:line:col,
    in the page's language; a deleted deal's pages and search entries go at the next rebuild; a path
    with an encoded NUL is a 404, not a traceback."""
    dealbook = Path(sys.executable).parent / "dealbook"
    need(dealbook.exists(), "dealbook in the virtualenv")
    deal = project.write_deal("serve-test.yml", DEAL)
    other = project.write_deal("other-deal.yml", MINIMAL_DEAL.replace("ERP rollout", "Another deal"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}/"
    own = {lang: base + prefix + SITE_PATHS.url(SITE_PATHS.deal_page("serve-test"))
           for lang, prefix in (("en", ""), ("zh", "zh/"))}
    gone = [base + prefix + SITE_PATHS.url(SITE_PATHS.deal_page("other-deal")) for prefix in ("", "zh/")]
    log = project.root / "serve.log"
    broken = DEAL.replace("stage: 2", "stage: 12")
    # What `dealbook check` says of the broken deal, in each language: the panel says the same.
    deal.write_text(broken, encoding="utf-8")
    said = {lang: subprocess.run([str(dealbook), "check", "--lang", lang, "deals/serve-test.yml"], cwd=project.root,
                                 capture_output=True, text=True, timeout=60).stdout.strip()
            for lang in ("en", "zh")}
    assert said["en"].startswith("deals/serve-test.yml:4:8: error: stage:"), said
    assert said["zh"] != said["en"] and said["zh"].startswith("deals/serve-test.yml:4:8:"), said
    deal.write_text(DEAL, encoding="utf-8")

    def panel_says(url: str, line: str) -> bool:
        status, body = _get(url)
        return status == 200 and 'class="dealbook-errors"' in body and html.escape(line, quote=False) in body

    with _server(dealbook, project, port, log) as server:
        _wait_for(lambda: all(_get(url)[0] == 200 for url in [*own.values(), *gone]), STARTUP_TIMEOUT,
                  "the deal pages", server, log)
        assert 'class="dealbook-errors"' not in _get(own["en"])[1]
        deal.write_text(broken, encoding="utf-8")
        for lang in ("en", "zh"):
            _wait_for(lambda lang=lang: panel_says(own[lang], said[lang]), RELOAD_TIMEOUT,
                      f"the error panel on the broken deal's own page ({lang})", server, log)
        assert panel_says(gone[0], said["en"]) and panel_says(gone[1], said["zh"])  # and on every other page
        assert "Before the edit" not in _get(own["en"])[1]  # not the last good content

        deal.write_text(DEAL, encoding="utf-8")
        workbook = base + SITE_PATHS.url(SITE_PATHS.deal_workbook("other-deal"))
        _wait_for(lambda: _get_status(workbook) == 200, RELOAD_TIMEOUT, "the other deal's workbook", server, log)
        other.unlink()
        _wait_for(lambda: all(_get(url)[0] == 404 for url in gone), RELOAD_TIMEOUT,
                  "the deleted deal's pages gone", server, log)
        assert _get_status(workbook) == 404
        _wait_for(lambda: "Before the edit" in _get(own["zh"])[1], RELOAD_TIMEOUT, "the fixed deal's page", server,
                  log)
        assert 'class="dealbook-errors"' not in _get(own["en"])[1]
        for prefix in ("", "zh/"):
            index = json.loads(_get(base + prefix + "search/search_index.json")[1])
            locations = [entry["location"] for entry in index["docs"]]
            assert not any("other-deal" in location for location in locations), prefix
            assert any("serve-test" in location for location in locations), prefix

        assert _get(base + "deals/%00.html")[0] == 404
        assert _get(base + "zh/%00")[0] == 404
        assert _get(own["en"])[0] == 200  # the server still answers
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in text and "500" not in re.findall(r'"GET [^"]*" (\d+)', text), text[-3000:]
