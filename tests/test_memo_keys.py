"""A memo key misses no input: one change to a deal, the team file or the stage model changes exactly the outputs
that show it, and a build that reuses the cache makes what a clean build makes.

Each case builds the sample site, changes one field, builds again with the cache of the first build, and then
builds the same files with no cache: the two must be byte for byte the same (a key that leaves out an input the
output shows would bring back the old output), and the files that differ from the first build must be the
outputs that show the field (in both languages), and no others.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Project

LARCHMERE = "deals/larchmere-dairy-erp.yml"
# What every change shows besides its own outputs: the search index (its two forms) and the sitemap are one
# file per language, rebuilt whenever any indexed page changes.
ALWAYS = r"(zh/)?search/search_index\.(json|js)"


def _outputs(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


def _replace(path: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        file = root / path
        text = file.read_text(encoding="utf-8")
        assert old in text, f"{path} no longer holds {old!r}: the test's edit needs updating"
        file.write_text(text.replace(old, new, 1), encoding="utf-8")

    return edit


CASES = {
    # A stakeholder's notes: the deal's page (its matrix and list), its search entry and its workbook, in each
    # language. No list of deals shows notes, nor /deals.json (it holds no stakeholders).
    "stakeholder notes": (
        _replace(LARCHMERE, "slow but thorough.", "slow, thorough and now on our side."),
        {"deals/larchmere-dairy-erp.html", "zh/deals/larchmere-dairy-erp.html",
         "workbooks/larchmere-dairy-erp.xlsx", "zh/workbooks/larchmere-dairy-erp-zh.xlsx"},
        r"(zh/)?deals/larchmere-dairy-erp\.html|(zh/)?workbooks/larchmere-dairy-erp(-zh)?\.xlsx",
    ),
    # A quota: the owner's page, the dashboard (won against quota), /pipeline.json and the pipeline workbook; no
    # deal page shows a quota.
    "team quota": (
        _replace("playbook/team.yml", "quotas: {2026-Q4: 4000000,", "quotas: {2026-Q4: 4700000,"),
        {"deals/owners/chen-jing.html", "zh/deals/owners/chen-jing.html", "pipeline.json"},
        r"(zh/)?deals/(owners/[a-z0-9-]+|index|forecast|board)\.html|pipeline\.json|forecast\.json"
        r"|(zh/)?workbooks/pipeline(-zh)?\.xlsx|(zh/)?as-of/.*",
    ),
    # An exchange rate: every amount converted from euros (the deals in EUR, every total), never the deals'
    # own pages of another currency.
    "exchange rate": (
        _replace("playbook/playbook.yml", "  EUR: 7.70", "  EUR: 7.90"),
        {"deals/index.html", "zh/deals/index.html", "pipeline.json"},
        None,
    ),
    # A stage's name, in English: most of the English site, and nothing of the Chinese site's words.
    "stage name": (
        _replace("playbook/playbook.yml", "name: Preliminary proposal", "name: First proposal"),
        {"stages/3-preliminary-proposal.html", "index.html", "deals.json"},
        None,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_one_change_changes_what_shows_it_and_a_cached_build_equals_a_clean_one(
        sample_project: Project, case: str) -> None:
    change, must, only = CASES[case]
    root = sample_project.root
    sample_project.build()
    before = _outputs(sample_project.site)
    change(root)
    sample_project.build()  # with the first build's cache
    cached = _outputs(sample_project.site)
    shutil.rmtree(root / ".cache")
    shutil.rmtree(sample_project.site)
    sample_project.build()
    clean = _outputs(sample_project.site)
    stale = sorted(p for p in clean.keys() | cached.keys() if clean.get(p) != cached.get(p))
    assert not stale, f"{case}: a build with the cache made these differently from a clean build: {stale}"
    changed = {p for p in clean.keys() | before.keys() if clean.get(p) != before.get(p)}
    assert must <= changed, f"{case}: unchanged though they show it: {sorted(must - changed)}"
    if only is not None:
        extra = sorted(p for p in changed if not re.fullmatch(f"{only}|{ALWAYS}|(zh/)?sitemap\\.xml(\\.gz)?", p))
        assert not extra, f"{case}: changed though they do not show it: {extra}"
    if case == "stage name":  # the Chinese site words the stage from playbook.zh.yml: none of its pages changes
        assert not [p for p in changed if p.startswith("zh/") and p.endswith(".html")], sorted(changed)
