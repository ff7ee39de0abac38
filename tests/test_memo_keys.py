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
from datetime import date
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


# --- Every field of a deal, in-process ---------------------------------------------------------------------

def _leaf_fields(spec, prefix: str = "") -> list[tuple[str, object]]:
    """Every leaf field of the deal spec, dotted (`stakeholders.stance`), with its spec: walked from the spec, so a
    field added later is covered."""
    from generator.sources.spec import ListOf, MapOf, Record

    out: list[tuple[str, object]] = []
    for key, field in spec.fields.items():
        inner = field.spec
        while isinstance(inner, ListOf | MapOf):
            inner = inner.item if isinstance(inner, ListOf) else inner.value
        if isinstance(inner, Record):
            out += _leaf_fields(inner, f"{prefix}{key}.")
        else:
            out.append((prefix + key, inner))
    return out


def _changed(value: object, spec) -> object:
    """Another valid value of a field."""
    from datetime import date, timedelta

    from generator.sources.spec import Boolean, Choice, Date, Integer, Keyed, Text

    inner = spec.inner if isinstance(spec, Keyed) else spec
    if isinstance(inner, Boolean):
        return not value
    if isinstance(inner, Choice):
        return next(o for o in inner.options if o != value)
    if isinstance(inner, Date):
        return (value if isinstance(value, date) else date.fromisoformat(str(value))) + timedelta(days=1)
    if isinstance(inner, Integer):  # Number too: one step inside its bounds
        low = inner.minimum if inner.minimum is not None else 0
        high = inner.maximum if inner.maximum is not None else value + 1
        step = 0.1 if isinstance(value, float) or (high - low) <= 1 else 1
        return round(value + step, 6) if value + step <= high else round(value - step, 6)
    assert isinstance(inner, Text), f"a field of a kind this test cannot change: {inner!r}"
    # One letter changed, the length kept: the file keeps its lines, so no warning's line number moves (a line
    # moved would change the deal's view, and hide a key that leaves this field out).
    text = str(value)
    at = max(i for i, ch in enumerate(text) if ch.isalnum())
    return text[:at] + ("q" if text[at] != "q" else "z") + text[at + 1:]


def _set(node: dict, parts: list[str], spec) -> bool:
    """Change the field at `parts` in the first list item or map value on the way; False if the deal lacks it."""
    head, rest = parts[0], parts[1:]
    value = node.get(head)
    if value is None:
        return False
    if not rest:
        node[head] = _changed(value, spec)
        return True
    if isinstance(value, list):
        return bool(value) and _set(value[0], rest, spec)
    if isinstance(value, dict) and head == "exits":
        return _set(next(iter(value.values())), rest, spec)
    return isinstance(value, dict) and _set(value, rest, spec)


# Optional parts the sample deal lacks, so that every field has a value to change.
_FILLED = {"probability": 0.6, "forecast": "commit", "share": False,
           "plan": [{"milestone": "Pilot sign-off", "side": "customer", "owner": "Plant IT", "due": date(2026, 12, 10),
                     "done": False, "stage": 8}]}


def test_a_change_to_any_field_of_a_deal_reaches_every_memo_and_cache_key(sample_project: Project,
                                                                         tmp_path: Path) -> None:
    """For every field of the deal spec, one deal's value changed: a rebuild that keeps what a live preview keeps
    (the deals read, their views, the rows, pages and worded warnings of each language) and reads the page cache
    makes the same pages, JSON files and calendars as a build with nothing kept; and a workbook whose bytes change
    gets a new cache key (else the cached, old workbook would be published)."""
    import datetime

    import yaml

    from generator.build import Kept, read_project, site_outputs
    from generator.cache import Cache
    from generator.labels import Labels
    from generator.model.pipeline import ViewMemo
    from generator.site.pages import Remembered
    from generator.site.paths import SitePaths
    from generator.sources.deal_format import deal_spec
    from generator.sources.stage_model import load_stage_model

    root = sample_project.root
    as_of = datetime.date(2026, 11, 27)
    model = load_stage_model(sample_project.model)
    grades = {"grade": model.grades[0]}
    deals = {"larchmere-dairy-erp": LARCHMERE, "lost": "deals/porthaven-terminal-tos.yml"}
    datas = {name: yaml.safe_load((root / path).read_text(encoding="utf-8")) for name, path in deals.items()}
    for data in datas.values():
        for key, value in {**_FILLED, **grades}.items():
            data.setdefault(key, value)
        scores = data.setdefault("qualification", {})
        for factor in model.evaluation.factors:
            scores.setdefault(factor.key, model.evaluation.scale_min + 1)

    def write(name: str) -> None:
        (root / deals[name]).write_text(yaml.safe_dump(datas[name], allow_unicode=True, sort_keys=False),
                                        encoding="utf-8")

    for name in datas:
        write(name)
    remembered_deals, views, kept = {}, ViewMemo(), Kept(histories={}, emptied={}, snapshots={})
    made = {"en": Remembered(), "zh": Remembered()}
    made["zh"].deal_reprs, made["zh"].view_keys = made["en"].deal_reprs, made["en"].view_keys  # as the session shares
    cache = Cache(tmp_path / "cache")

    def build(keep: bool) -> tuple[dict, dict]:
        project = read_project(root, sample_project.model, sample_project.deals, as_of, Labels("en"),
                               cache if keep else Cache(None), remembered=remembered_deals if keep else None,
                               views=views if keep else None, kept=kept if keep else None, history="none")
        assert project.pipeline is not None and not project.problems.errors, project.problems.errors
        pipeline, pages, jobs = project.pipeline, {}, {}
        for language in made:
            remembered = made[language] if keep else None
            if remembered is not None and language == "en":
                for view in pipeline.deals:
                    remembered.view_key(view)
                remembered.forget_views_except(pipeline.deals)
            outputs, _ = site_outputs(pipeline, Labels(language), SitePaths(), cache if keep else Cache(None),
                                      first_language=language == "en", remembered=remembered)
            for src, page in {**outputs.pages.files, **outputs.pages.finished}.items():
                body = page.body() if callable(getattr(page, "body", None)) else getattr(page, "body", None)
                pages[(language, src)] = (page.markdown, body, page.search) if hasattr(page, "search") else page
            jobs.update({(language, job.path): job for job in outputs.workbooks})
        return pages, jobs

    _, jobs_before = build(keep=True)
    fields = _leaf_fields(deal_spec(model))
    changed_fields = []
    for field, spec in fields:
        name = "lost" if field == "lost_reason" else "larchmere-dairy-erp"
        if field == "status":
            continue  # another status changes which fields a deal may have (a lost reason): the cases above
        if not _set(datas[name], field.split("."), spec):
            continue
        write(name)
        kept_pages, jobs = build(keep=True)
        fresh_pages, _ = build(keep=False)
        stale = sorted(f"{language}:{src}" for (language, src), page in fresh_pages.items()
                       if kept_pages.get((language, src)) != page)
        assert not stale, f"{field}: a rebuild keeping its memos shows the old value in {stale}"
        # The changed deal's workbook and the pipeline's, in each language (no other workbook reads the deal).
        for where, job in jobs.items():
            old = jobs_before.get(where)
            if old is not None and old.key == job.key and (Path(deals[name]).stem in where[1] or "pipeline" in where[1]):
                assert old.render() == job.render(), f"{field}: {where[1]} changed under the same cache key"
        jobs_before = jobs
        changed_fields.append(field)
    assert changed_fields == [field for field, _ in fields if field != "status"]  # none the deals lacked
