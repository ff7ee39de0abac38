"""Dealbook under either engine: mkdocs 1.6.1 and ProperDocs 1.6.7 (a maintained fork of mkdocs 1.x).

`dealbook build` runs the engine that DEALBOOK_ENGINE names (mkdocs when unset). The sample site built by
each is the same, file for file and byte for byte, but for the `<meta name="generator">` of every page;
a `--strict` build that ProperDocs fails on a warning leaves the site as it was.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import BASE_DEAL, SITE_PATHS, Project, need

GENERATOR_META = re.compile(rb'<meta name="generator" content="([^"]*)">')


@pytest.fixture(autouse=True)
def _properdocs() -> None:
    # In the `test` extra, so CI has it: there its absence is a failure, not a skip.
    need(importlib.util.find_spec("properdocs") is not None, "ProperDocs (pip install properdocs==1.6.7)")


def _dealbook(root: Path, engine: str | None, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    env.pop("DEALBOOK_ENGINE", None)
    if engine is not None:
        env["DEALBOOK_ENGINE"] = engine
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=600)


def _files(site: Path) -> dict[str, bytes]:
    return {str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


def _generators(files: dict[str, bytes]) -> set[bytes]:
    return {m.group(1) for name, data in files.items() if name.endswith(".html")
            for m in GENERATOR_META.finditer(data)}


def test_the_sample_site_is_the_same_under_both_engines(sample_project: Project) -> None:
    root = sample_project.root
    sites = {}
    for engine in ("mkdocs", "properdocs"):
        shutil.rmtree(root / ".cache", ignore_errors=True)  # each engine renders every page itself
        done = _dealbook(root, engine, "build", "-d", f"site-{engine}")
        assert done.returncode == 0, done.stderr[-3000:]
        assert "properdocs.yml" not in done.stderr  # mkdocs.yml is named to ProperDocs: no "rename it" notice
        sites[engine] = _files(root / f"site-{engine}")
    mkdocs, properdocs = sites["mkdocs"], sites["properdocs"]
    # Each engine did build its own site (the generator meta names it).
    assert _generators(mkdocs) and all(g.startswith(b"mkdocs-1.") for g in _generators(mkdocs))
    assert _generators(properdocs) and all(b"ProperDocs 1.6" in g for g in _generators(properdocs))
    assert len(mkdocs) > 100 and {"deals.json", "pipeline.json", "history.json", "index.html"} <= set(mkdocs)
    assert set(properdocs) == set(mkdocs)
    differ = sorted(name for name in mkdocs if mkdocs[name] != properdocs[name])
    assert differ and all(name.endswith(".html") for name in differ)  # the generator meta is in every page
    beyond_meta = [name for name in differ
                   if GENERATOR_META.sub(b"", mkdocs[name]) != GENERATOR_META.sub(b"", properdocs[name])]
    assert beyond_meta == []


def test_a_strict_build_that_properdocs_fails_leaves_the_site_as_it_was(project: Project) -> None:
    project.write_deal("good.yml", BASE_DEAL)  # no warning
    first = _dealbook(project.root, "properdocs", "build", "--strict")
    assert first.returncode == 0, first.stderr[-3000:]
    before = _files(project.site)
    assert "index.html" in before and all(b"ProperDocs" in g for g in _generators(before))

    # A page with no Chinese version: the Chinese site's build warns about it, and only that.
    (project.root / "playbook" / "only-english.md").write_text("# Only in English\n", encoding="utf-8")
    strict = _dealbook(project.root, "properdocs", "build", "--strict")
    said = strict.stdout + strict.stderr
    assert strict.returncode == 1 and "strict mode" in said and "only-english.md has no zh version" in said
    assert _files(project.site) == before  # every file, byte for byte, and no other
    assert sorted(p.name for p in project.root.iterdir() if p.name.startswith("site.")) == []

    # Without --strict the same build is published (so the warning was what held it back).
    lenient = _dealbook(project.root, "properdocs", "build")
    assert lenient.returncode == 0, lenient.stderr[-3000:]
    assert "only-english.html" in _files(project.site) or "only-english/index.html" in _files(project.site)


def test_an_engine_that_is_not_one_is_one_line(project: Project) -> None:
    done = _dealbook(project.root, "sphinx", "build")
    assert done.returncode == 2
    assert done.stderr.strip() == "Error: DEALBOOK_ENGINE=sphinx: not an engine (mkdocs or properdocs)"
    assert not project.site.exists()


def _page(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode("utf-8")
    except (urllib.error.URLError, OSError):  # not serving yet, or a 404 while the page is rebuilt
        return ""


def test_the_live_preview_under_properdocs_redoes_both_languages_on_a_save(project: Project) -> None:
    deal = project.write_deal("engine-test.yml", BASE_DEAL)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    page = SITE_PATHS.url(SITE_PATHS.deal_page("engine-test"))
    pages = [f"http://127.0.0.1:{port}/{page}", f"http://127.0.0.1:{port}/zh/{page}"]
    log = project.root / "serve.log"
    env = {**os.environ, "DEALBOOK_ENGINE": "properdocs"}
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "generator", "serve", "--dev-addr", f"127.0.0.1:{port}"],
                                  cwd=project.root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        try:
            def wait_for(text: str, timeout: float) -> None:
                deadline = time.monotonic() + timeout
                while not all(text in _page(url) for url in pages):
                    assert server.poll() is None and time.monotonic() < deadline, \
                        f"no {text!r} on {pages}:\n" + log.read_text(encoding="utf-8", errors="replace")[-3000:]
                    time.sleep(0.25)

            wait_for("ERP rollout", 180)
            assert GENERATOR_META.search(_page(pages[0]).encode())[1].startswith(b"mkdocs-ProperDocs")
            deal.write_text(deal.read_text(encoding="utf-8").replace("ERP rollout", "Renamed under ProperDocs"),
                            encoding="utf-8")
            wait_for("Renamed under ProperDocs", 60)
        finally:
            server.terminate()
            server.wait(timeout=30)
    said = log.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in said and "properdocs.yml" not in said
