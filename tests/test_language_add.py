"""A third language is files in the project, not code: `dealbook language add de`, then `languages: [en, zh, de]`."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import AS_OF_EPOCH, ROOT, Project, run_check

from generator.labels import use_project_catalogs
from generator.site.paths import SitePaths
from generator.sources.stage_model import load_stage_model

PACKAGE = ROOT / "generator"


def _digest(folder: Path) -> str:
    """Every file of a folder, by path and bytes (compiled bytecode aside: Python writes it on import)."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _dealbook(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SOURCE_DATE_EPOCH": AS_OF_EPOCH}
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_a_language_added_by_command_is_a_whole_site_and_the_package_is_untouched(sample_project: Project) -> None:
    project, package_before = sample_project, _digest(PACKAGE)
    playbook = project.root / "playbook"

    added = _dealbook(project.root, "language", "add", "de", "--from", "en")
    assert added.returncode == 0, added.stderr
    catalog, texts = playbook / "catalog" / "de.yml", playbook / "playbook.de.yml"
    pages = sorted(playbook.rglob("*.de.md"))
    assert catalog.is_file() and texts.is_file()
    assert {p.name for p in pages} == {p.name.replace(".md", ".de.md") for p in playbook.rglob("*.md")
                                       if p.name.count(".") == 1}
    # Every file is marked as not yet translated, where a translator sees it first.
    assert catalog.read_text(encoding="utf-8").startswith("# untranslated:")
    assert texts.read_text(encoding="utf-8").startswith("# untranslated:")
    assert all(p.read_text(encoding="utf-8").startswith("{# untranslated:") for p in pages)
    # Twice: refused in one line, in the reader's language, nothing written.
    playbook_before = _digest(playbook)
    for reader, words in (("en", "exists already"), ("zh", "文件已存在")):
        again = _dealbook(project.root, "language", "add", "de", "--lang", reader)
        assert again.returncode == 1 and again.stderr.count("\n") == 1, again.stderr
        assert again.stderr.startswith(f"{Path('playbook', 'catalog', 'de.yml')}: error: ") and words in again.stderr
    assert _digest(playbook) == playbook_before

    # `dealbook check` lists what de leaves untranslated: warnings, one per file, at a position.
    check = run_check(project.root)
    assert check.returncode == 0, check.stdout + check.stderr  # warnings are not errors
    lines = [line for line in check.stdout.splitlines() if "translated into de" in line]
    shown = {line.split(":", 1)[0] for line in lines}
    assert shown == {"playbook/catalog/de.yml", "playbook/playbook.de.yml",
                     *(p.relative_to(project.root).as_posix() for p in pages)}, lines
    assert all(": warning: " in line for line in lines)
    model_line = next(line for line in lines if line.startswith("playbook/playbook.de.yml:"))
    assert int(model_line.split(" texts not yet")[0].rsplit(" ", 1)[1]) > 100  # every text of the stage model

    config = project.root / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    assert "languages: [en, zh]" in text
    config.write_text(text.replace("languages: [en, zh]", "languages: [en, zh, de]"), encoding="utf-8")
    try:
        project.build()
    finally:
        use_project_catalogs(None)  # the build read the project's catalogs into this process: later tests do not
    site, model = project.site, load_stage_model(project.model)
    deal_ids = sorted(p.stem for p in project.deals.glob("*.yml"))
    urls = [SitePaths.stage_page(stage) for stage in model.stages]
    urls += [SitePaths.deal_page(deal_id) for deal_id in deal_ids]
    urls += [SitePaths.home, SitePaths.process, SitePaths.pipeline_page, SitePaths.board_page,
             SitePaths.changes_page, SitePaths.insights_page, "tools/evaluation.md"]
    for url in urls:
        html = project.page("de/" + url.removesuffix(".md").removesuffix("index"))
        assert '<html lang="de"' in html, url
        assert 'class="md-select__link"' in html and 'hreflang="zh"' in html, url  # the language switch
    # Search in German (lunr's German stemmer, which the theme ships), one index of its own.
    index = json.loads((site / "de" / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert index["config"]["lang"] == ["de"]
    assert (site / "de" / "assets" / "javascripts" / "lunr" / "min" / "lunr.de.min.js").is_file()
    assert {d["location"].split("#")[0] for d in index["docs"]} >= {project.paths.url(SitePaths.deal_page(d))
                                                                     for d in deal_ids}
    # The workbooks, named apart from the other languages'.
    paths = SitePaths(workbook_language="de")
    books = [paths.pipeline_workbook, paths.template_workbook, *(paths.deal_workbook(d) for d in deal_ids)]
    for book in books:
        with zipfile.ZipFile(site / "de" / book) as opened:
            assert "xl/workbook.xml" in opened.namelist(), book
    # The language's files are data: not published, here or under /de/.
    assert not [p for p in site.rglob("*") if p.name.endswith((".de.md", "de.yml"))]
    # The English site shows no German stage names (none is translated yet) and the Chinese ones as before.
    stage_one = project.page(SitePaths.stage_page(model.stage(1)).removesuffix(".md"))
    assert re.findall(r'<p class="db-stage__\w+" lang="(\w+)">([^<]*)<', stage_one) == \
        [("zh", model.stage(1).text("name", "zh"))]

    assert _digest(PACKAGE) == package_before  # nothing of the procedure wrote into the package


def test_what_check_lists_shrinks_as_a_translator_works(tmp_path: Path) -> None:
    """Per file, a count that falls as texts are translated; a page leaves the list when its marker line goes."""
    shutil.copytree(ROOT / "playbook", tmp_path / "playbook", ignore=shutil.ignore_patterns("team.yml"))
    (tmp_path / "deals").mkdir()
    assert _dealbook(tmp_path, "language", "add", "de").returncode == 0
    assert _dealbook(tmp_path, "language", "add", "fr", "--from", "zh").returncode == 2  # copied from English only

    def listed() -> dict[str, str]:
        lines = run_check(tmp_path).stdout.splitlines()
        return {line.split(":", 1)[0]: line for line in lines if "translated into de" in line}

    def count(line: str) -> int:
        return int(re.search(r"warning: (\d+) ", line)[1])

    before = listed()
    catalog, texts, index = (Path("playbook", "catalog", "de.yml"), Path("playbook", "playbook.de.yml"),
                             Path("playbook", "index.de.md"))
    (tmp_path / catalog).write_text((tmp_path / catalog).read_text(encoding="utf-8")
                                    .replace("\nowner: Owner\n", "\nowner: Verantwortlich\n"), encoding="utf-8")
    (tmp_path / texts).write_text((tmp_path / texts).read_text(encoding="utf-8")
                                  .replace("name: Signing", "name: Vertragsabschluss", 1), encoding="utf-8")
    page = (tmp_path / index).read_text(encoding="utf-8")
    (tmp_path / index).write_text(page.split("\n", 1)[1], encoding="utf-8")  # translated: the marker line goes
    after = listed()
    assert count(after[catalog.as_posix()]) == count(before[catalog.as_posix()]) - 1
    assert count(after[texts.as_posix()]) == count(before[texts.as_posix()]) - 1
    assert index.as_posix() in before and index.as_posix() not in after
    # The English site's words are untouched: only the project's own catalog has changed.
    assert "owner: Owner\n" in (ROOT / "generator" / "catalog" / "en.yml").read_text(encoding="utf-8")
