"""Every site path and URL comes from `generator.site.paths`, following mkdocs' own rules."""

from __future__ import annotations

import json
import re

import pytest
from conftest import ROOT, Project
from mkdocs.structure.files import File

from generator.site.paths import SitePaths, default_url_of
from generator.sources.stage_model import load_stage_model

SOURCES = ["index.md", "process.md", "deals/index.md", "deals/acme.md", "stages/1-account-planning.md",
           "reference/deal-file.md", "deals.json", "workbooks/acme.xlsx", "schema/deal.schema.json"]


@pytest.mark.parametrize("directory_urls", [True, False])
def test_the_fallback_url_rule_agrees_with_mkdocs(directory_urls: bool) -> None:
    ours = default_url_of(directory_urls)
    for src in SOURCES:
        assert ours(src) == File(src, "", "", directory_urls).url, src


@pytest.mark.parametrize("directory_urls,expected", [
    (True, {("deals/acme.md", "deals/index.md"): "../", ("deals/index.md", "deals/acme.md"): "acme/",
            ("deals/acme.md", "workbooks/acme.xlsx"): "../../workbooks/acme.xlsx",
            ("index.md", "stages/1-account-planning.md"): "stages/1-account-planning/"}),
    (False, {("deals/acme.md", "deals/index.md"): "index.html", ("deals/index.md", "deals/acme.md"): "acme.html",
             ("deals/acme.md", "workbooks/acme.xlsx"): "../workbooks/acme.xlsx",
             ("index.md", "stages/1-account-planning.md"): "stages/1-account-planning.html"}),
])
def test_links_between_pages(directory_urls: bool, expected: dict) -> None:
    paths = SitePaths(lambda src: File(src, "", "", directory_urls).url)
    for (here, there), link in expected.items():
        assert paths.link(here, there) == link, (here, there)


def test_source_links_are_relative_source_paths() -> None:
    md = SitePaths.source_linker("tools/evaluation.md")
    assert md("stages/1-account-planning.md") == "../stages/1-account-planning.md"
    assert SitePaths.source_linker("index.md")("tools/grading.md") == "tools/grading.md"


def test_reserved_ids_are_the_generated_names_a_deal_could_take() -> None:
    model = load_stage_model(ROOT / "playbook" / "playbook.yml")
    reserved = SitePaths().reserved_ids(model)
    assert reserved == {"index", "pipeline", "scorecard-template", "board", "owners", "changes", "insights"}
    for deal_id in reserved - {"owners"}:
        taken = {SitePaths.deal_page(deal_id), SitePaths.deal_workbook(deal_id)}
        assert taken & set(SitePaths().fixed_paths(model))
    # deals/owners.md would be the page at the URL of the folder of owner pages
    assert SitePaths.deal_page("owners")[:-3] in SitePaths().generated_folders()


@pytest.mark.parametrize("directory_urls", [True, False])
def test_deals_json_urls_resolve_to_real_files(sample_project: Project, directory_urls: bool) -> None:
    config = sample_project.root / "mkdocs.yml"
    text = re.sub(r"^use_directory_urls: .*$", f"use_directory_urls: {str(directory_urls).lower()}",
                  config.read_text(encoding="utf-8"), flags=re.M)
    if directory_urls:  # the offline plugin (for opening the site from disk) would turn them off again
        text = text.replace("\n  - offline\n", "\n")
    config.write_text(text, encoding="utf-8")
    sample_project.build()
    deals = json.loads((sample_project.site / "deals.json").read_text(encoding="utf-8"))
    assert len(deals) == len(list((ROOT / "deals").glob("*.yml")))
    for deal in deals:
        url = deal["url"]
        target = sample_project.site / url
        page = target / "index.html" if url.endswith("/") else target
        assert page.is_file(), url
        assert url.endswith("/") == directory_urls
        assert f'data-deal="{deal["id"]}"' in page.read_text(encoding="utf-8")
