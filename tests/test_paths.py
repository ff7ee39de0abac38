"""Every site path and URL comes from `generator.site.paths`, following mkdocs' own rules."""

from __future__ import annotations

import html
import json
import random
import re
from pathlib import Path

import pytest
from conftest import ROOT, Project
from mkdocs.structure.files import File

from generator.site.paths import SitePaths, default_url_of, owner_slug
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
    assert reserved == {"index", "pipeline", "scorecard-template", "board", "owners", "changes", "insights", "forecast"}
    for deal_id in reserved - {"owners"}:
        taken = {SitePaths.deal_page(deal_id), SitePaths().deal_workbook(deal_id)}
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


# --- owner pages ------------------------------------------------------------------------------

def test_plain_owner_names_keep_their_slugs() -> None:
    # The sample team's URLs from before the rule that made slugs independent of other names.
    for name, slug in [("Li Wei", "li-wei"), ("Chen Jing", "chen-jing"), ("Sophie Hartmann", "sophie-hartmann"),
                       ("Daniel Okafor", "daniel-okafor"), ("Rep 12", "rep-12"), ("刘洋", "owner-d3921458")]:
        assert owner_slug(name) == slug, name


@pytest.mark.parametrize("name,pattern", [
    ("LI WEI", r"li-wei-[0-9a-f]{8}"), ("li wei", r"li-wei-[0-9a-f]{8}"), ("Li  Wei", r"li-wei-[0-9a-f]{8}"),
    ("Li-Wei", r"li-wei-[0-9a-f]{8}"), ("José Núñez", r"jose-nunez-[0-9a-f]{8}"), ("Li 伟", r"li-[0-9a-f]{8}"),
    ("Index", r"index-[0-9a-f]{8}"), ("Owner Deadbeef", r"owner-deadbeef-[0-9a-f]{8}"), ("周婷", r"owner-[0-9a-f]{8}"),
    ("../../etc/passwd", r"etc-passwd-[0-9a-f]{8}"),
])
def test_other_names_carry_the_hash_of_the_exact_name(name: str, pattern: str) -> None:
    assert re.fullmatch(pattern, owner_slug(name)), owner_slug(name)


def _names(count: int, seed: int) -> list[str]:
    """Names that differ in case, accents, spacing, script and hex-looking words: the ones that could collide."""
    words = ["li", "Li", "LI", "wei", "Wei", "WEI", "Wéi", "伟", "李", "Index", "index", "Deadbeef", "0badcafe",
             "O'Brien", "Jean-Luc", "1st", "Owner", "Ann", "ann", "Ánn", "Chen", "chen"]
    rng = random.Random(seed)
    out: set[str] = set()
    while len(out) < count:
        out.add(rng.choice([" ", "  ", "-", ""]).join(rng.choice(words) for _ in range(rng.randint(1, 3))))
    return sorted(out)


def test_owner_pages_depend_on_the_name_alone_and_never_collide() -> None:
    names = _names(1500, seed=24)
    pages = SitePaths.owner_pages(names)
    assert len(set(pages.values())) == len(names)  # every name its own page
    assert "deals/owners/index.md" not in pages.values()
    assert all(re.fullmatch(r"deals/owners/[a-z0-9-]+\.md", page) for page in pages.values())
    rng = random.Random(7)
    for _ in range(50):  # any part of the team, in any order, gives each the same page
        part = rng.sample(names, 40)
        assert SitePaths.owner_pages(part) == {name: pages[name] for name in part}


def test_adding_li_wei_in_capitals_moves_no_page() -> None:
    before = SitePaths.owner_pages(["Li Wei", "Chen Jing"])
    after = SitePaths.owner_pages(["Li Wei", "Chen Jing", "LI WEI"])
    assert after["Li Wei"] == before["Li Wei"] == "deals/owners/li-wei.md"
    assert after["LI WEI"] != after["Li Wei"]


def test_two_names_with_one_slug_still_get_two_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only a deliberate SHA-256 prefix collision gets here; the pages must still differ.
    monkeypatch.setattr("generator.site.paths.owner_slug", lambda name: "same-0badcafe")
    pages = SitePaths.owner_pages(["A b", "A c"])
    assert len(set(pages.values())) == 2


def _owner_page_file(site: Path, name: str) -> str:
    """The page on the site that says it is `name`'s (found by its content, not by the slug rule)."""
    marker = f'data-owner="{html.escape(name)}"'
    found = [p.name for p in (site / "deals" / "owners").glob("*.html") if marker in p.read_text(encoding="utf-8")]
    assert len(found) == 1, (name, found)
    return found[0]


def test_a_new_member_li_wei_in_capitals_leaves_li_weis_page_where_it_was(project: Project) -> None:
    team = project.root / "playbook" / "team.yml"
    team.write_text("members:\n  - name: Li Wei\n    quotas: {2027-Q1: 100000}\n", encoding="utf-8")
    deal = ("title: ERP rollout\naccount: Example Co\nowner: {owner}\nstage: 2\nstatus: open\n"
            "amount: 1000\nexpected_close: 2027-01-31\n")
    project.write_deal("a.yml", deal.format(owner="Li Wei"))
    project.build()
    first = _owner_page_file(project.site, "Li Wei")
    assert first == "li-wei.html"
    with team.open("a", encoding="utf-8") as out:
        out.write("  - name: LI WEI\n    quotas: {2027-Q1: 200000}\n")
    project.write_deal("b.yml", deal.format(owner="LI WEI"))
    project.build()
    assert _owner_page_file(project.site, "Li Wei") == first
    assert _owner_page_file(project.site, "LI WEI") != first
    assert _owner_page_file(project.site / "zh", "Li Wei") == first
    dashboard = project.page("deals/index")
    assert f'href="owners/{first}"' in dashboard and 'data-owner="LI WEI"' in dashboard
