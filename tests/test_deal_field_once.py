"""A deal field declared once: an optional text named in the deal spec (`deal_format.SHOWN_TEXTS`), with its words
in the catalogs, is checked, shown on the deal page, written in `/deals.json`, listed on the reference page and in
the JSON Schema, shown in the deal workbook and left out by an audience — and no other code changes for it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest
from conftest import ROOT, Project, new_project

from generator import labels
from generator.cache import Cache
from generator.diagnostics import Problems
from generator.labels import Labels
from generator.sources import deal_format
from generator.sources.audiences import Audience, leave_out
from generator.sources.deal_files import Deal, DealLoader
from generator.sources.stage_model import load_stage_model

FIELD = "decision_process"
TEXT = "Board vote after a pilot on line 3"
WORDS = {"en": ("Decision process", "How the customer decides: who signs, after what."),
         "zh": ("决策流程", "客户如何决策：谁签字，在什么之后。")}

DEAL = f"""\
title: Line 3 signalling
account: Hangzhou Metro
owner: Test Rep
stage: 2
status: open
amount: 1000
currency: CNY
expected_close: 2027-03-31
{FIELD}: {TEXT}
"""
OTHER = DEAL.replace("title: Line 3 signalling", "title: Depot").replace(f"{FIELD}: {TEXT}\n", "")


@pytest.fixture
def declared(monkeypatch: pytest.MonkeyPatch) -> None:
    """The field added as a team would add it: a name in the spec, a word and a meaning in each catalog."""
    monkeypatch.setattr(deal_format, "SHOWN_TEXTS", (FIELD,))
    # Patched where every catalog is read (`labels.catalog` looks it up at each call), not `labels.catalog` itself:
    # a module that imports `catalog` while the patch is on would keep the patched function after this test.
    read = labels._catalog_at

    def with_words(path: Path, changed: int) -> dict:
        words = read(path, changed)
        if path.stem not in WORDS:
            return words
        label, meaning = WORDS[path.stem]
        return {**words, "field_labels": {**words["field_labels"], FIELD: label},
                "fields": {**words["fields"], FIELD: meaning}}

    with_words.cache_clear = read.cache_clear  # type: ignore[attr-defined]  # the project catalogs' reset calls it
    monkeypatch.setattr(labels, "_catalog_at", with_words)


def test_the_shipped_spec_declares_no_shown_text_the_deal_type_already_has() -> None:
    names = set(deal_format.SHOWN_TEXTS)
    assert not names & {f for f in Deal.__dataclass_fields__ if f != "texts"}


def test_an_optional_text_declared_in_the_spec_is_everywhere_the_deal_is(
        declared: None, tmp_path: Path) -> None:
    project: Project = new_project(tmp_path / "p")
    project.write_deal("line-3.yml", DEAL)
    project.write_deal("depot.yml", OTHER)
    project.build()

    # The deal page, in each language, under the catalog's word; a deal without it shows no row for it.
    page = project.page("deals/line-3")
    assert f'<dt>Decision process</dt> <dd class="db-text" data-field="{FIELD}"><bdi>{TEXT}</bdi></dd>' in page
    assert "Decision process" not in project.page("deals/depot")
    assert "<dt>决策流程</dt>" in project.page("zh/deals/line-3")

    # /deals.json: under its name, "" for a deal without it.
    entries = {e["id"]: e for e in json.loads((project.site / "deals.json").read_text(encoding="utf-8"))}
    assert entries["line-3"][FIELD] == TEXT and entries["depot"][FIELD] == ""

    # The reference page lists it with its meaning, in each language.
    reference = project.page("reference/deal-file")
    assert f'<code class="db-key">{FIELD}</code>' in reference and WORDS["en"][1] in reference
    assert WORDS["zh"][1] in project.page("zh/reference/deal-file")

    # The deal workbook's facts: a row below the summary, and the results below it still computed from names.
    book = openpyxl.load_workbook(project.site / "workbooks" / "line-3.xlsx")
    summary = book.worksheets[0]
    rows = {summary.cell(r, 1).value: r for r in range(1, summary.max_row + 1) if summary.cell(r, 1).value}
    assert summary.cell(rows["Decision process"], 2).value == TEXT
    assert rows["Decision process"] == rows[Labels("en").summary] + 1 < rows[Labels("en").score]
    assert summary.cell(rows[Labels("en").score], 2).value == "=Score"
    other = openpyxl.load_workbook(project.site / "workbooks" / "depot.xlsx").worksheets[0]
    assert [other.cell(r, 1).value for r in range(1, other.max_row + 1)].count("Decision process") == 1


def test_the_schema_checks_it_as_text_and_an_audience_can_leave_it_out(declared: None, tmp_path: Path) -> None:
    model = load_stage_model(ROOT / "playbook" / "playbook.yml")
    schema = deal_format.json_schema(model, Labels("en"))
    assert schema["properties"][FIELD]["type"] == "string" and FIELD not in schema["required"]
    assert schema["properties"][FIELD]["description"] == WORDS["en"][1]

    folder = tmp_path / "deals"
    folder.mkdir()
    (folder / "x.yml").write_text(DEAL.replace(f"{FIELD}: {TEXT}", f"{FIELD}: [not, text]"), encoding="utf-8")
    (folder / "y.yml").write_text(DEAL, encoding="utf-8")
    problems = Problems()
    loader = DealLoader(model, tmp_path, Cache(None))
    deals = loader.load_all(sorted(folder.iterdir()), problems)
    assert [d.id for d in deals] == ["y"] and deals[0].texts == {FIELD: TEXT}
    assert [(p.line, p.field) for p in problems.errors] == [(9, FIELD)]

    [emptied] = leave_out(deals, replace(model, audience=Audience("x", (FIELD,))))
    assert emptied.texts == {FIELD: ""} and replace(emptied, texts=deals[0].texts) == deals[0]
