"""The computed pipeline while serving: a rebuild keeps the views of the deals that did not change."""

from __future__ import annotations

from datetime import date, timedelta

from conftest import BASE_DEAL, Project

from generator.build import read_project
from generator.cache import Cache
from generator.labels import Labels
from generator.model.pipeline import Pipeline, ViewMemo

AS_OF = date(2026, 11, 27)


def _read(project: Project, remembered: dict | None, views: ViewMemo | None, as_of: date = AS_OF) -> Pipeline:
    found = read_project(project.root, project.model, project.deals, as_of, Labels("en"), Cache(None),
                         history="none", remembered=remembered, views=views)
    assert found.pipeline is not None and not found.problems.errors, found.problems
    return found.pipeline


def _by_id(pipeline: Pipeline) -> dict:
    return {view.id: view for view in pipeline.deals}


def _facts(pipeline: Pipeline) -> list:
    """Each deal's entry in `/deals.json` but the worded warnings, and its warnings as codes and values."""
    return [(view.as_json([]), view.warnings) for view in pipeline.deals]


def test_a_rebuild_keeps_the_views_of_unchanged_deals_and_computes_the_changed_one(project: Project) -> None:
    project.write_deal("kept.yml", BASE_DEAL)
    project.write_deal("edited.yml", BASE_DEAL.replace("ERP rollout", "To be edited"))
    remembered, views = {}, ViewMemo()
    first = _read(project, remembered, views)

    project.write_deal("edited.yml", BASE_DEAL.replace("ERP rollout", "Edited").replace("amount: 1000", "amount: 0"))
    second = _read(project, remembered, views)

    before, after = _by_id(first), _by_id(second)
    assert after["kept"] is before["kept"]
    assert after["edited"] is not before["edited"] and after["edited"].deal.title == "Edited"
    # The view holds the warning as a code; each language words the one view.
    assert [w.code for w in after["edited"].warnings] == ["w_zero_amount"]
    assert before["edited"].warnings == []
    for language, text in (("en", "the amount is 0"), ("zh", "金额为 0")):
        wording = Labels(language).with_model(second.model)
        assert [wording.problem_message(w) for w in after["edited"].warnings] == [text]
    # What was kept is what a build computing everything afresh gets.
    fresh = _read(project, None, None)
    assert _facts(second) == _facts(fresh)
    assert [str(p) for p in second.problems] == [str(p) for p in fresh.problems]


def test_nothing_is_kept_when_the_date_changes(project: Project) -> None:
    project.write_deal("kept.yml", BASE_DEAL)
    remembered, views = {}, ViewMemo()
    first = _by_id(_read(project, remembered, views))
    same_day = _by_id(_read(project, remembered, views))
    next_day = _by_id(_read(project, remembered, views, AS_OF + timedelta(days=1)))
    assert same_day["kept"] is first["kept"]
    assert next_day["kept"] is not first["kept"] and next_day["kept"].deal is first["kept"].deal


def _pages(outputs) -> dict[str, str]:
    """Every generated text file, pages by their Markdown, HTML body and search entry."""
    return {src: (page.markdown, page.html, page.search) if src in outputs.pages.finished else page
            for src, page in {**outputs.pages.files, **outputs.pages.finished}.items()}


def test_a_rebuild_remakes_the_pages_that_show_the_changed_deal_and_keeps_the_others(project: Project) -> None:
    from generator.build import site_outputs
    from generator.site.pages import Remembered
    from generator.site.paths import SitePaths

    project.write_deal("kept.yml", BASE_DEAL.replace("Test Rep", "Kim Keeper").replace("stage: 2", "stage: 3")
                       .replace("exits:", "exits:\n  2: {date: 2026-11-21, evidence: Asked}"))
    project.write_deal("edited.yml", BASE_DEAL.replace("ERP rollout", "Before the edit"))
    remembered, views, made = {}, ViewMemo(), {"en": Remembered(), "zh": Remembered()}

    def rebuild() -> dict[str, dict]:
        pipeline = _read(project, remembered, views)
        return {lang: site_outputs(pipeline, Labels(lang), SitePaths(), Cache(None), workbooks=False,
                                   first_language=lang == "en", remembered=made[lang])[0]
                for lang in made}

    first = rebuild()
    project.write_deal("edited.yml", BASE_DEAL.replace("ERP rollout", "After the edit"))
    second = rebuild()
    owner, other_owner = "deals/owners/test-rep.md", "deals/owners/kim-keeper.md"
    stages = {n: f"stages/{n}-" for n in (2, 3)}
    for lang, outputs in second.items():
        finished, before = outputs.pages.finished, first[lang].pages.finished
        assert finished[other_owner] is before[other_owner]  # nothing of Kim's changed
        assert finished[owner] is not before[owner] and "After the edit" in finished[owner].html
        stage_of = {n: next(src for src in outputs.pages.files if src.startswith(prefix) and src.endswith(".md"))
                    for n, prefix in stages.items()}
        assert outputs.pages.files[stage_of[3]] is first[lang].pages.files[stage_of[3]]
        assert "After the edit" in outputs.pages.files[stage_of[2]]
        # What was kept is what a build making everything afresh makes.
        pipeline = _read(project, None, None)
        fresh = site_outputs(pipeline, Labels(lang), SitePaths(), Cache(None), workbooks=False,
                             first_language=lang == "en")[0]
        assert _pages(outputs) == _pages(fresh)


def test_the_worded_warnings_a_preview_keeps_go_when_the_catalog_or_the_model_changes(project: Project) -> None:
    """Each view's warnings stay worded between saves while the words are the same: a catalog read again (a
    translator saved it) or another stage model words them again; an equal model (an audience's, made anew for
    every build) keeps them."""
    from dataclasses import replace

    from generator.site.pages import Remembered

    project.write_deal("edited.yml", BASE_DEAL.replace("amount: 1000", "amount: 0"))
    pipeline = _read(project, None, None)
    remembered, labels = Remembered(), Labels("en")
    kept = remembered.worded_by(labels.texts, pipeline.model)
    kept[1] = ("view", ["worded"])
    assert remembered.worded_by(labels.texts, replace(pipeline.model)) is kept and 1 in kept
    assert 1 not in remembered.worded_by(dict(labels.texts), pipeline.model)  # a catalog read again
    kept[1] = ("view", ["worded"])
    assert 1 not in remembered.worded_by(labels.texts, replace(pipeline.model, currency="EUR"))
