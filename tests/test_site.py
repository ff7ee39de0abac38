"""The built site: playbook pages from the stage model, and nothing fetched from another host."""

from __future__ import annotations

import html
import re
from pathlib import Path

from conftest import Project

from generator.site.paths import SitePaths
from generator.sources.stage_model import load_stage_model

EXTERNAL = re.compile(
    r"""<(?:script|img|iframe|audio|video|source|embed)\b[^>]*\bsrc\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|<link\b[^>]*\bhref\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|url\(\s*["']?\s*(?:https?:)?//|@import\s+["'](?:https?:)?//""", re.I)


def _text(page_html: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page_html))


def test_home_and_stage_pages_show_the_model(project: Project) -> None:
    project.build(strict=True)
    assert (project.site / "index.html").is_file()
    model = load_stage_model(project.model)
    for stage in model.stages:
        page = _text(project.page(SitePaths.stage_page(stage)[:-3]))
        assert stage.exit_criterion in page
        assert f"{round(stage.probability * 100)}%" in page
        assert stage.text("name", "zh") in page  # the Chinese name under the English one
    assert not (project.site / "playbook.yml").exists(), "the stage model is data, not a published file"
    assert not list(project.site.rglob("playbook.*.yml")), "nor are its languages' texts"


def test_changed_stage_model_changes_the_pages(project: Project) -> None:
    text = project.model.read_text(encoding="utf-8")
    assert "key: funding, name: Funding, weight: 15" in text
    project.model.write_text(text.replace("name: Funding, weight: 15", "name: Funding, weight: 37")
                             .replace("probability: 0.30", "probability: 0.33"), encoding="utf-8")
    project.build()
    evaluation = _text(project.page("tools/evaluation"))
    assert re.search(r"Funding\s.*?\b37\b", evaluation, re.S), "the new weight is not on the evaluation page"
    assert "33%" in _text(project.page("stages/4-demo-and-technical-exchange"))


def test_no_page_loads_anything_from_another_host(sample_project: Project) -> None:
    sample_project.build()
    offenders = []
    for path in sample_project.site.rglob("*"):
        if path.suffix in (".html", ".css") and path.is_file():
            for match in EXTERNAL.finditer(path.read_text(encoding="utf-8", errors="replace")):
                offenders.append(f"{path.relative_to(sample_project.site)}: {match.group(0)}")
    assert offenders == []
    assert "fonts.googleapis.com" not in (sample_project.site / "index.html").read_text()


def test_external_check_catches_a_cdn_script(tmp_path: Path) -> None:
    # The check above is only worth something if it can fail.
    assert EXTERNAL.search('<script src="https://cdn.example/x.js"></script>')
    assert EXTERNAL.search("<link rel=stylesheet href='//fonts.example/css'>")
    assert EXTERNAL.search("body { background: url( https://x.example/a.png) }")
    assert not EXTERNAL.search('<a href="https://example.com/">a link is not a request</a>')


def test_build_writes_only_site_and_cache(project: Project) -> None:
    before = {p for p in project.root.rglob("*") if ".cache" not in p.parts}
    project.build()
    after = {p for p in project.root.rglob("*") if ".cache" not in p.parts and "site" not in p.relative_to(
        project.root).parts[:1]}
    assert after == {p for p in before if "site" not in p.relative_to(project.root).parts[:1]}
