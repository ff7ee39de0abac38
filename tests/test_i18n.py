"""The site in English and Chinese: every text in both languages, one build for both sites, the
language switch, Chinese search, Chinese workbooks, and `dealbook check`/`new` in Chinese."""

from __future__ import annotations

import html
import json
import logging
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import openpyxl
import pytest
from browser_support import DESKTOP, chromium, logged_tab, need_chromium, serve
from conftest import AS_OF_EPOCH, ROOT, SITE_PATHS, Project, Recalc, new_project, run_check
from mkdocs.exceptions import Abort
from test_workbooks import assert_same_figures, forecast_figures, named_cell, named_range, results

from generator.labels import Labels, catalog
from generator.model.forecast import CATEGORIES
from generator.site.paths import SitePaths
from generator.sources.stage_model import PROSE, TOOLS, StageModel, StageModelError, load_stage_model

EN, ZH = Labels("en"), Labels("zh")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _text(page_html: str) -> str:
    """The words of a page's article (no navigation, header or footer), tags removed."""
    article = page_html[page_html.index("<article"):page_html.index("</article>")]
    article = re.sub(r"<(script|style)\b.*?</\1>", " ", article, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", article)).split())


def _prose(model: StageModel, language: str) -> dict[str, list[str]]:
    """Every prose text of the model in one language, by where it is shown."""
    pick = Labels(language).pick
    out: dict[str, list[str]] = {}
    for stage in model.stages:
        out[f"stage {stage.number}"] = [pick(stage, "name"), pick(stage, "customer_step"), pick(stage, "goal"),
                                        *pick(stage, "activities"), pick(stage, "exit_criterion"),
                                        *pick(stage, "pitfalls")]
    ev = model.evaluation
    out["evaluation"] = [t for g in ev.groups for t in (pick(g, "name"), *(x for f in g.factors
                         for x in (pick(f, "name"), pick(f, "question"))))]
    out["grading"] = [t for r in model.grading for t in (pick(r, "meaning"), pick(r, "action"))]
    out["stakeholders"] = [t for v in ("roles", "influence", "stance") for term in model.vocabularies[v]
                           for t in (pick(term, "label"), pick(term, "description")) if t]
    out["negotiation"] = [pick(term, "label") for term in model.vocabularies["topics"]]
    return out


def _sentences(texts: list[str]) -> list[str]:
    """English texts of two words or more: what must never appear on a Chinese page."""
    return [t for t in texts if len(re.findall(r"[A-Za-z]+", t)) >= 2]


# --- Every text in both languages ----------------------------------------------------------


def test_the_shipped_stage_model_gives_every_text_in_both_languages() -> None:
    model = load_stage_model(ROOT / "playbook" / "playbook.yml")
    assert model.languages == ("zh",) and model.untranslated == ()
    english, chinese = _prose(model, "en"), _prose(model, "zh")
    assert english.keys() == chinese.keys()
    for where in english:
        assert len(english[where]) == len(chinese[where]), where
        for en, zh in zip(english[where], chinese[where], strict=True):
            assert en and zh and en != zh and CJK.search(zh), (where, en, zh)


def _model_with_texts(tmp_path: Path, change: tuple[str, str] = ("", ""), language: str = "zh",
                      texts: str | None = None) -> Path:
    """The shipped model in `tmp_path`, with its Chinese texts changed by `change` (or `texts` as a language's file)."""
    path = tmp_path / "playbook.yml"
    path.write_bytes((ROOT / "playbook" / "playbook.yml").read_bytes())
    if texts is None:
        texts = (ROOT / "playbook" / "playbook.zh.yml").read_text(encoding="utf-8")
        assert change[0] in texts
        texts = texts.replace(*change)
    (tmp_path / f"playbook.{language}.yml").write_text(texts, encoding="utf-8")
    return path


def test_no_stage_model_file_names_a_language_in_its_fields() -> None:
    shipped = (ROOT / "playbook" / "playbook.yml").read_text(encoding="utf-8") + \
        (ROOT / "playbook" / "playbook.zh.yml").read_text(encoding="utf-8")
    assert not re.search(r"^[ {,-]*\w+_zh:|, \w+_zh:", shipped, re.M)


@pytest.mark.parametrize("change,field", [
    (("  - key: negotiation\n", "  - key: negotiatoin\n"), "stages[7].key"),  # no such stage in the model
    (("  - key: signing\n", "  - number: 9\n"), "stages[8].number"),
    (("  - key: signing\n", "  - key: negotiation\n"), "stages[8]"),  # the same stage twice
    (("  - key: signing\n    name: 签约成交\n", "  - name: 签约成交\n"), "stages[8]"),  # which stage?
    (("      - 商定签约事宜。\n", ""), "stages[7].activities"),  # one item fewer than the model's
    (("label: 中立者", "label_x: 1"), "vocabularies.stance[3].label_x"),  # an unknown key
    (("    - {key: other, label: 其他}", "    - {key: other, label: 其他, description: 其余一切}"),
     "vocabularies.topics[7].description"),  # no English text to translate
    (("    - grade: D\n", "    - grade: E\n"), "grading.rules[4].grade"),
    (("        - {key: funding, name: 资金状况,", "        - {key: funds, name: 资金状况,"),
     "evaluation.groups[1].factors[2].key"),
])
def test_a_mistake_in_a_languages_texts_is_an_error_at_its_line(tmp_path: Path, change: tuple[str, str],
                                                                 field: str) -> None:
    path = _model_with_texts(tmp_path, change)
    with pytest.raises(StageModelError) as caught:
        load_stage_model(path, "playbook/playbook.yml")
    problems = caught.value.problems
    assert [p.field for p in problems] == [field], [str(p) for p in problems]
    assert problems[0].path == "playbook/playbook.zh.yml" and problems[0].line > 1
    assert str(problems[0]).startswith(f"playbook/playbook.zh.yml:{problems[0].line}:")
    # A code and its values, worded at the edge: in Chinese for a Chinese reader.
    assert problems[0].code and CJK.search(ZH.problem_message(problems[0])), problems[0]
    assert not CJK.search(EN.problem_message(problems[0]))
    assert all(name in PROSE for name in ("goal", "activities", "label", "description"))


def test_a_stage_may_be_named_by_number_in_a_languages_texts(tmp_path: Path) -> None:
    model = load_stage_model(_model_with_texts(tmp_path, ("  - key: signing\n", "  - number: 8\n")))
    assert model.stage(8).text("name", "zh") == "签约成交" and model.untranslated == ()


def test_a_text_a_language_leaves_out_or_copies_is_shown_in_english_and_reported(tmp_path: Path) -> None:
    english_goal = "Turn the proposal into contract terms both sides accept."
    path = _model_with_texts(tmp_path, ("    goal: 进入客户的候选供应商名单。\n", ""))
    zh_file = tmp_path / "playbook.zh.yml"
    zh_file.write_text(zh_file.read_text(encoding="utf-8").replace("把方案落实为双方都接受的合同条款。", english_goal),
                       encoding="utf-8")
    model = load_stage_model(path, "playbook/playbook.yml")  # a warning, not an error: the model is usable
    assert ZH.pick(model.stage(2), "goal") == model.stage(2).goal == "Become one of the shortlisted candidate suppliers."
    assert ZH.pick(model.stage(7), "goal") == english_goal and model.stage(7).translations("goal") == {}
    assert ZH.pick(model.stage(2), "name") == "客户拜访与初步调研"
    warnings = model.untranslated
    assert [(p.severity, p.field, p.path) for p in warnings] == [
        ("warning", "stages[2].goal", "playbook/playbook.zh.yml"), ("warning", "stages[7].goal", "playbook/playbook.zh.yml")]
    lines = zh_file.read_text(encoding="utf-8").splitlines()
    assert lines[warnings[0].line - 1].strip() == "- key: visit-and-research"  # the stage that lacks it
    assert lines[warnings[1].line - 1].strip() == f"goal: {english_goal}"  # the text to translate
    assert [p.code for p in warnings] == ["untranslated_missing", "untranslated_same"]
    assert ZH.problem_message(warnings[0]) == "没有 zh 文本：显示的是 en 文本"
    assert EN.problem_message(warnings[1]) == "the same as the en text: not yet translated into zh"
    assert ZH.problem_hint(warnings[1]) == "请在 playbook.zh.yml 中翻译"


def test_a_third_language_is_a_file_not_code(tmp_path: Path) -> None:
    texts = "stages:\n  - number: 1\n    name: Kundenplanung und Telefonakquise\n" \
            "vocabularies:\n  roles:\n    - {key: decision-maker, label: Entscheider}\n"
    path = _model_with_texts(tmp_path, language="de", texts=texts)
    (tmp_path / "playbook.zh.yml").write_bytes((ROOT / "playbook" / "playbook.zh.yml").read_bytes())
    model = load_stage_model(path)
    (tmp_path / "playbook.zh.yml").unlink()  # so that the next read sees German alone: a new model
    assert model.languages == ("de", "zh")
    assert model.stage(1).text("name", "de") == "Kundenplanung und Telefonakquise"
    assert model.stage(1).text("goal", "de") == model.stage(1).goal  # not translated: the default's
    assert model.stage(1).translations("name") == {"de": "Kundenplanung und Telefonakquise", "zh": "客户规划与电话邀约"}
    assert model.vocabularies["roles"][0].text("label", "de") == "Entscheider"
    german = [p for p in model.untranslated if p.path.endswith("playbook.de.yml")]
    empty = tmp_path / "empty"
    empty.mkdir()
    every_text = load_stage_model(_model_with_texts(empty, language="de", texts="")).untranslated
    assert len(every_text) > 100 and len(german) == len(every_text) - 2  # all but the two given
    assert {"stages[1].goal", "stages[1].activities", "vocabularies.roles[1].description"} <= {p.field for p in german}
    assert not {"stages[1].name", "vocabularies.roles[1].label"} & {p.field for p in german}
    alone = load_stage_model(tmp_path / "playbook.yml")
    assert alone.languages == ("de",) and alone.stage(1).text("name", "zh") == alone.stage(1).name


def _flat(labels: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in labels.items():
        out.update(_flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key: value})
    return out


# Catalog entries that are the same in both languages on purpose: codes, formats and the words of data.
SAME_IN_BOTH = {"message_parts.bool", "message_parts.bool_value"}


def test_every_catalog_text_is_written_in_both_languages() -> None:
    en, zh = _flat(catalog("en")), _flat(catalog("zh"))
    assert en.keys() == zh.keys()
    untranslated = []
    for key, english in en.items():
        # A text with an English word (outside `code` and {placeholders}) needs Chinese in its twin.
        words = re.findall(r"[A-Za-z]{3,}", re.sub(r"`[^`]*`|{\w+(:[^}]*)?}|'[^']*'", "", english))
        if words and key not in SAME_IN_BOTH and key != "language_tag" and not CJK.search(zh[key]):
            untranslated.append((key, zh[key]))
    assert untranslated == []


def test_every_hand_written_page_has_a_chinese_version() -> None:
    docs = ROOT / "playbook"
    english = {p.relative_to(docs).as_posix() for p in docs.rglob("*.md") if not p.name.endswith(".zh.md")}
    chinese = {p.relative_to(docs).as_posix().replace(".zh.md", ".md") for p in docs.rglob("*.zh.md")}
    assert english == chinese
    for name in english:
        twin = (docs / name.replace(".md", ".zh.md")).read_text(encoding="utf-8")
        assert len(CJK.findall(twin)) > 100, name


# --- One build, two sites ------------------------------------------------------------------


@dataclass
class Built:
    project: Project
    model: StageModel
    deals: list[dict]

    def zh(self, url: str) -> str:
        return self.project.page(f"zh/{url.strip('/')}")

    def en(self, url: str) -> str:
        return self.project.page(url)


def _copy_project(root: Path) -> Project:
    project = new_project(root, team=True)  # the sample deals and the team file that lists their owners
    for path in sorted((ROOT / "deals").glob("*.y*ml")):
        shutil.copy(path, project.deals / path.name)
    return project


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    project = _copy_project(tmp_path_factory.mktemp("i18n") / "project")
    assert "languages: [en, zh]" in (project.root / "mkdocs.yml").read_text(encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", AS_OF_EPOCH)
        mp.chdir(project.root)
        project.build(strict=True)
    deals = json.loads((project.site / "deals.json").read_text(encoding="utf-8"))
    return Built(project, load_stage_model(project.model), deals)


def test_stage_tool_and_reference_pages_under_zh_are_chinese(built: Built) -> None:
    model = built.model
    english, chinese = _prose(model, "en"), _prose(model, "zh")
    everything_english = _sentences([t for texts in english.values() for t in texts])
    pages = {SitePaths.stage_page(s)[:-3]: f"stage {s.number}" for s in model.stages}
    pages.update({SitePaths.tool_page(t)[:-3]: t for t in TOOLS})
    pages["reference/deal-file"] = None
    for url, shown in pages.items():
        text = _text(built.zh(url))
        for wanted in chinese.get(shown, []):
            assert wanted in text, f"/zh/{url}/ does not show {wanted!r}"
        leaked = [sentence for sentence in everything_english if sentence in text]
        assert leaked == [], f"/zh/{url}/ shows English from the stage model: {leaked}"
        assert len(CJK.findall(text)) > 100, url
    reference = _text(built.zh("reference/deal-file"))
    assert ZH.reference_title in reference and ZH.field_help("stakeholders.role") in reference
    assert EN.reference_intro not in reference
    raw = built.zh("reference/deal-file")  # the catalog's Markdown escaped once: <id>.yml, not &lt;id&gt;.yml
    assert "<code>&lt;id&gt;.yml</code>" in raw and "&amp;lt;" not in raw
    # …and the English site shows the English texts.
    stage = _text(built.en(SitePaths.stage_page(model.stage(4))[:-3]))
    assert all(t in stage for t in english["stage 4"])


def test_each_language_is_a_whole_site_of_its_own(built: Built) -> None:
    site = built.project.site
    home, zh_home = built.en(""), built.zh("")
    assert '<html lang="en"' in home and '<html lang="zh"' in zh_home
    assert "Dealbook — 大客户销售作战手册" in zh_home  # per_language: site_name
    for label in (ZH.nav_process, ZH.nav_tools, ZH.nav_deals, ZH.nav_reference):
        assert label in zh_home, label
    assert EN.nav_reference not in zh_home and ZH.nav_reference not in home
    # Its own search index, in its own language, Chinese segmented for search.
    en_index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    zh_index = json.loads((site / "zh" / "search" / "search_index.json").read_text(encoding="utf-8"))
    zh_words = " ".join(d["text"] for d in zh_index["docs"])
    en_words = " ".join(d["text"] for d in en_index["docs"])
    assert "\u200b出口\u200b标准\u200b" in zh_words and "出口" not in en_words
    assert built.model.stage(1).exit_criterion in en_words and built.model.stage(1).exit_criterion not in zh_words
    assert {d["location"].split("#")[0] for d in zh_index["docs"]} >= {d["url"] for d in built.deals}
    # Deal pages, the pipeline and workbooks in both; /deals.json once, linked from both pipelines.
    for deal in built.deals:
        assert (site / "zh" / deal["url"]).is_file() or (site / "zh" / deal["url"] / "index.html").is_file()
        assert (site / "zh" / "workbooks" / f"{deal['id']}-zh.xlsx").is_file()  # named apart from the English one
    assert (site / "deals.json").is_file() and not (site / "zh" / "deals.json").exists()
    pipeline = SITE_PATHS.pipeline_page
    assert f'href="../{SITE_PATHS.link(pipeline, SITE_PATHS.deals_json)}"' in built.zh("deals")
    assert f'href="{SITE_PATHS.link(pipeline, SITE_PATHS.deals_json)}"' in built.en("deals")


def _english_fragments() -> set[str]:
    """Every piece of English the generator may write (catalog texts cut at their {placeholders}) of two
    words or more, where the Chinese catalog says something else: what a Chinese page must not show."""
    en, zh = _flat(catalog("en")), _flat(catalog("zh"))
    out = set()
    for key, english in en.items():
        if isinstance(english, str) and english != zh[key]:
            for part in re.split(r"{[^}]*}", english):
                part = part.strip(" .,:;()·—-'\"")
                if len(re.findall(r"[A-Za-z]{2,}", part)) >= 2:
                    out.add(part)
    return out


def test_the_managers_pages_under_zh_are_chinese(built: Built) -> None:
    """The dashboard, the stage board, every owner page and the history pages exist under /zh/, in Chinese."""
    forecast = json.loads((built.project.site / "pipeline.json").read_text(encoding="utf-8"))
    owners = SitePaths.owner_pages(o["owner"] for o in forecast["owners"])
    pages = ["deals", "deals/board", "deals/changes", "deals/insights", *(src[:-3] for src in owners.values())]
    english = _english_fragments()
    for url in pages:
        text = _text(built.zh(url))
        assert [e for e in english if e in text] == [], f"/zh/{url}: English on a Chinese page"
        assert len(CJK.findall(text)) > 20, url
    dashboard = _text(built.zh("deals"))
    for label in (ZH.kpi_open, ZH.forecast_by_period, ZH.cat_commit, ZH("cat_best-case"), ZH.owners):
        assert label in dashboard, label
    assert ZH.board in _text(built.zh("deals/board")) and EN.board not in _text(built.zh("deals/board"))


def test_deal_text_is_as_the_rep_wrote_it_and_dates_and_amounts_as_each_language_writes_them(built: Built) -> None:
    deal = next(d for d in built.deals if d["id"] == "hospital-his-2027")
    page = built.zh(f"deals/{deal['id']}")
    assert html.escape(deal["title"], quote=False) in page
    english = built.en(f"deals/{deal['id']}")
    assert html.escape(deal["title"], quote=False) in english
    assert "截至2026年11月27日" in page and "as of 2026-11-27" in english
    close = deal["expected_close"]
    year, month, day = (int(x) for x in close.split("-"))
    assert f"{year}年{month}月{day}日" in page and close in english
    amount = f"{deal['amount']:,.0f}" if float(deal["amount"]).is_integer() else f"{deal['amount']:,.2f}"
    assert f"{amount} {deal['currency']}" in page and f"{amount} {deal['currency']}" in english
    assert ZH.term(built.model, "status", deal["status"]) in page


def test_labels_are_joined_with_each_language_s_punctuation_and_months_written_its_way(built: Built) -> None:
    """"Label: text" and "text (note)" take the catalog's punctuation: ：and （） in Chinese, no ASCII."""
    deal = built.zh("deals/chenghu-metro-afc")
    assert "/ 100（通过）" in deal  # the score in the facts
    assert "评估得分：<strong>" in deal and "及格线 60：<strong" in deal  # the line under the evaluation
    assert "(通过)" not in deal and "评估得分:" not in deal
    lost = built.zh("deals/porthaven-terminal-tos")
    assert "原因：<bdi>" in lost and "原因: " not in lost
    pipeline, english = built.zh("deals"), built.en("deals")
    assert "<th>金额（CNY）</th>" in pipeline and "<th>加权金额（CNY）</th>" in pipeline
    assert "<th>Amount (CNY)</th>" in english
    # The closing-by-month table gave way to the forecast by quarter (issue 13): periods read the same in both.
    assert 'class="db-months"' not in pipeline and '<tr data-period="2027-Q1">' in pipeline
    assert "下一期 2027-Q1：" in pipeline and "next, 2027-Q1: " in english  # the headline figures' colon


def test_a_chinese_workbook_is_chinese_throughout(built: Built) -> None:
    model = built.model
    deal = next(d for d in built.deals if d["id"] == "hospital-his-2027")
    wb = openpyxl.load_workbook(built.project.site / "zh" / "workbooks" / f"{deal['id']}-zh.xlsx")
    assert wb.sheetnames[:6] == [ZH.wb_sheet_summary, ZH.wb_sheet_scorecard, ZH.wb_sheet_stakeholders,
                                 ZH.wb_sheet_negotiation, ZH.wb_sheet_plan, ZH.wb_sheet_stages]
    status = named_cell(wb, "Status")
    assert status.value == ZH.term(model, "status", deal["status"])
    zh_statuses = [ZH.term(model, "status", k) for k in model.keys("status")]
    validations = [dv for dv in status.parent.data_validations.dataValidation if status.coordinate in dv.sqref]
    assert validations[0].formula1 == '"' + ",".join(zh_statuses) + '"'
    people = wb[ZH.wb_sheet_stakeholders]
    roles = {people.cell(row, 3).value for row in range(3, 8)} - {None}
    assert roles and roles <= {ZH.term(model, "roles", k) for k in model.keys("roles")}
    stages = wb[ZH.wb_sheet_stages]
    assert [stages.cell(3 + i, 3).value for i in range(len(model.stages))] == [s.text("exit_criterion", "zh")
                                                                               for s in model.stages]
    english_words = [c.value for ws in wb if ws.sheet_state == "visible" for row in ws.iter_rows() for c in row
                     if isinstance(c.value, str) and c.data_type == "s" and c.value in
                     {EN.wb_sheet_summary, EN.probability, EN.exit_criterion, "won", "open", "decision-maker"}]
    assert english_words == []
    pipeline = openpyxl.load_workbook(built.project.site / "zh" / "workbooks" / "pipeline-zh.xlsx")
    table = pipeline[ZH.wb_sheet_deals]
    assert {c.value for c in table["G"][1:]} <= set(zh_statuses)
    formulas = [c.value for row in pipeline[ZH.wb_sheet_summary].iter_rows() for c in row if c.data_type == "f"]
    assert any(f'DealStatus,"{ZH.term(model, "status", "open")}"' in f for f in formulas)
    # Forecast categories too: the cells, their dropdown and the Forecast sheet's formulas say 承诺, 最佳情况…
    words = {c: ZH(f"cat_{c}") for c in CATEGORIES}
    assert {c.value for c in table["P"][1:]} == {words[d["forecast_category"]] for d in built.deals}
    (dv,) = [v for v in table.data_validations.dataValidation if "P2" in v.sqref]
    assert dv.formula1 == '"' + ",".join(words.values()) + '"'
    forecast = [c.value for row in pipeline[ZH.wb_sheet_forecast].iter_rows() for c in row if c.data_type == "f"]
    assert any(f'DealForecast,"{words["best-case"]}"' in f for f in forecast)
    assert any(f'DealStatus,"{ZH.term(model, "status", "open")}"' in f for f in forecast)
    assert not any(f'"{c}"' in f for f in forecast for c in CATEGORIES)


def test_chinese_workbooks_recalculated_by_libreoffice_equal_deals_json(
        built: Built, libreoffice: Recalc, tmp_path: Path) -> None:
    folder = built.project.site / "zh" / "workbooks"
    paths = [folder / f"{d['id']}-zh.xlsx" for d in built.deals] + [folder / "scorecard-template-zh.xlsx",
                                                                     folder / "pipeline-zh.xlsx"]
    done = libreoffice(paths, tmp_path / "zh")
    # The pipeline workbook's forecast, counted by the Chinese category and status words, equals /pipeline.json.
    forecast = json.loads((built.project.site / "pipeline.json").read_text(encoding="utf-8"))
    assert_same_figures(forecast_figures(done["pipeline-zh"]), forecast)
    assert_same_figures(forecast_figures(folder / "pipeline-zh.xlsx"), forecast)  # the results stored in it, too
    closed = 0
    for deal in built.deals:
        got = results(done[f"{deal['id']}-zh"])
        assert got["Grade"] == deal["grade"], (deal["id"], got)
        assert got["Probability"] == deal["probability"], (deal["id"], got)
        assert got["WeightedAmount"] == pytest.approx(deal["weighted_amount"], rel=1e-12, abs=1e-9)
        assert (got["Score"] in (None, "")) if deal["score"] is None else got["Score"] == deal["score"]
        closed += deal["status"] != "open"
    assert closed >= 1, "a won or lost deal checks the Chinese status words in the formulas"
    template = results(done["scorecard-template-zh"])
    assert template["Probability"] == built.model.stage(1).probability
    # A rep who changes the status in the Chinese dropdown changes the results.
    deal = next(d for d in built.deals if d["status"] == "open")
    wb = openpyxl.load_workbook(folder / f"{deal['id']}-zh.xlsx")
    named_cell(wb, "Status").value = ZH.term(built.model, "status", "won")
    edited = tmp_path / "edited" / f"{deal['id']}.xlsx"
    edited.parent.mkdir()
    wb.save(edited)
    got = results(libreoffice([edited], tmp_path / "edited-out")[deal["id"]])
    assert got["Probability"] == 1 and got["WeightedAmount"] == pytest.approx(deal["amount"])
    assert len(named_range(wb, "FactorScores")) == len(built.model.evaluation.factors)


def test_chinese_alone_is_served_at_the_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _copy_project(tmp_path / "project")
    config = project.root / "mkdocs.yml"
    config.write_text(config.read_text(encoding="utf-8").replace("languages: [en, zh]", "languages: [zh]"),
                      encoding="utf-8")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", AS_OF_EPOCH)
    monkeypatch.chdir(project.root)
    project.build(strict=True)
    home = project.page("")
    assert '<html lang="zh"' in home and not (project.site / "zh").exists()
    stage = _text(project.page("stages/1-account-planning"))
    model = load_stage_model(project.model)
    assert model.stage(1).text("exit_criterion", "zh") in stage and model.stage(1).exit_criterion not in stage
    assert "md-select__link" not in home  # one language: no language selector
    assert (project.site / "deals.json").is_file()
    assert openpyxl.load_workbook(project.site / "workbooks" / "pipeline.xlsx").sheetnames[0] == ZH.wb_sheet_summary


def test_the_chinese_site_is_built_in_the_same_process_and_reports_to_the_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    project = _copy_project(tmp_path / "project")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", AS_OF_EPOCH)
    monkeypatch.chdir(project.root)
    # A page with no Chinese version: only the Chinese site's build warns about it.
    (project.root / "playbook" / "extra.md").write_text("# Extra\n\nEnglish only.\n", encoding="utf-8")
    caplog.set_level(logging.INFO)
    project.build()
    said = [r for r in caplog.records if "extra.md has no zh version" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.WARNING and said[0].name == "mkdocs.plugins.dealbook"
    assert "English only." in project.page("zh/extra")
    # Built again in this process with nothing cached.
    shutil.rmtree(project.root / ".cache")
    with pytest.raises(Abort, match="strict"):  # so `--strict` counts the Chinese site's warnings too
        project.build(strict=True)
    # A mistake in a Chinese page fails the whole build, saying where.
    (project.root / "playbook" / "extra.zh.md").write_text("# 额外\n\n{{ link( }}\n", encoding="utf-8")
    caplog.clear()
    with pytest.raises(Abort):
        project.build()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and errors[-1].startswith("extra.md: cannot render the page's stage-model macros")


# --- In the browser ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(built: Built) -> Iterator[object]:
    need_chromium()
    with chromium() as running:
        yield running


@pytest.fixture(scope="module")
def base(built: Built) -> Iterator[str]:
    with serve(built.project.site) as url:
        yield url


def test_the_language_switch_on_a_deal_page_leads_to_the_same_deal(built: Built, browser, base: str) -> None:
    deal = next(d for d in built.deals if d["id"] == "hospital-his-2027")
    with logged_tab(browser, viewport=DESKTOP) as tab:
        tab.goto(base + deal["url"], settle=True)
        page = tab.page
        page.locator(".md-header .md-select").hover()
        page.locator('.md-select__link[hreflang="zh"]').click()
        page.wait_for_url(f"**/zh/{deal['url']}")
        assert urlsplit(page.url).path == f"/zh/{deal['url']}"
        assert page.locator(".db-next-exit__criterion").inner_text().strip() == \
            built.model.stage(deal["stage"]).text("exit_criterion", "zh")
        page.locator(".md-header .md-select").hover()
        page.locator('.md-select__link[hreflang="en"]').click()
        page.wait_for_url(f"**/{deal['url']}")
        assert urlsplit(page.url).path == f"/{deal['url']}"
        assert page.locator("html").get_attribute("lang") == "en"
        # The switch on the home pages and a stage page, both ways.
        home, stage3 = SITE_PATHS.url(SITE_PATHS.home), SITE_PATHS.url("stages/3-preliminary-proposal.md")
        home = "" if home == "./" else home
        for path, other in (("", "zh/" + home), ("zh/" + home, home), ("zh/" + stage3, stage3)):
            tab.goto(base + path)
            target = "zh" if not path.startswith("zh/") else "en"
            href = page.locator(f'.md-select__link[hreflang="{target}"]').get_attribute("href")
            assert urlsplit(page.evaluate("h => new URL(h, location.href).href", href)).path == "/" + other
        tab.assert_clean()


@pytest.mark.parametrize("query", ["退出标准", "出口标准"])
def test_searching_the_chinese_site_for_exit_criterion_finds_the_stage_pages(
        built: Built, browser, base: str, query: str) -> None:
    stages = {"/zh/" + SITE_PATHS.url(SITE_PATHS.stage_page(s)) for s in built.model.stages}
    with logged_tab(browser, viewport=DESKTOP) as tab:
        tab.goto(base + "zh/", settle=True)
        box = tab.page.locator("input.md-search__input")
        box.click()
        box.fill(query)  # Chinese comes from an input method: insert the text, then release a key
        box.press("End")
        links = tab.page.locator(".md-search-result__list > li > a")
        links.first.wait_for(state="visible", timeout=15_000)
        tab.page.wait_for_timeout(500)
        found = [urlsplit(a.get_attribute("href") or "").path for a in links.all()]
        assert stages & set(found), f"{query!r} found {found}"
        assert len(stages & set(found)) >= 4, f"{query!r} found only {found}"
        box.fill("火星人")  # …and a word on no page finds nothing: the search does not just list every page
        box.press("End")
        tab.page.wait_for_timeout(1000)
        assert links.count() == 0
        tab.assert_clean()


# --- dealbook check and dealbook new in Chinese --------------------------------------------

MISTAKES = {
    "role.yml": "title: T\naccount: A\nowner: O\nstage: 2\nstatus: open\namount: 1\nexpected_close: 2027-01-31\n"
                "stakeholders:\n  - {name: Ann, role: emperor}\n",
    "stage.yml": "title: T\naccount: A\nowner: O\nstage: 12\nstatus: opne\namount: 460万\nexpected_close: 2027-02-30\n",
    "keys.yml": "title: T\naccount: A\nowner: O\nstage: 1\nstatus: open\namount: 1\nexpected_close: 2027-01-31\n"
                "stakge: 2\nowner: B\n",
    "missing.yml": "account: A\nowner: O\nstage: 1\nstatus: open\namount: 1\nexpected_close: 2027-01-31\n",
    "syntax.yml": "title: T\naccount：A\n",
    "tab.yml": "title: T\n\taccount: A\n",
    "Bad Name.yml": "title: T\n",
    "warnings.yml": "title: T\naccount: A\nowner: O\nstage: 3\nstatus: open\namount: 1\nexpected_close: 2026-11-01\n"
                    "next_steps:\n  - {action: Call Ann, due: 2026-11-20}\n",
}


def test_dealbook_check_speaks_chinese_when_asked(tmp_path: Path) -> None:
    (tmp_path / "deals").mkdir()
    shutil.copytree(ROOT / "playbook", tmp_path / "playbook")
    for name, text in MISTAKES.items():
        (tmp_path / "deals" / name).write_text(text, encoding="utf-8")
    english = run_check(tmp_path)
    chinese = run_check(tmp_path, "--lang", "zh")
    assert english.returncode == chinese.returncode == 1
    en_lines, zh_lines = english.stdout.splitlines(), chinese.stdout.splitlines()
    assert len(en_lines) == len(zh_lines) >= 14
    for en, zh in zip(en_lines, zh_lines, strict=True):
        position = re.match(r"(.+?:\d+:\d+: (?:error|warning): )(\S+: )?", en)
        assert position and zh.startswith(position.group(0)), (en, zh)  # file, line, column and field as they are
        rest = zh[len(position.group(0)):]
        assert CJK.search(rest), zh
        leftover = re.sub(r"'[^']*'|“[^”]*”|`[^`]*`|\S+\.yml|[a-z_-]+: |decision-maker|YYYY-MM-DD|true|false", "", rest)
        assert not re.search(r"[A-Za-z]{4,} [A-Za-z]{3,}", leftover), f"untranslated: {zh}"
    assert "已检查 8 个项目文件" in chinese.stderr
    assert "stakeholders[1].role: 'emperor' 不在可选取值之中" in chinese.stdout


def test_dealbook_new_writes_a_chinese_skeleton_that_passes(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "playbook", tmp_path / "playbook")
    run = subprocess.run([sys.executable, "-m", "generator", "new", "hz-metro", "--lang", "zh"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    text = (tmp_path / "deals" / "hz-metro.yml").read_text(encoding="utf-8")
    assert "title: \"新商机\"" in text and "# 销售机会评估" in text and "stage: 1" in text
    assert "expected_close:" in text and "status: open" in text
    check = run_check(tmp_path, "--lang", "zh")
    assert check.returncode == 0, check.stdout
    # The untouched skeleton passes, and says in Chinese what is still to fill in (title, account, owner, amount).
    assert "已检查 1 个项目文件：0 个错误，4 个提醒" in check.stderr


def test_the_preview_follows_an_edit_of_a_languages_texts_and_never_serves_the_file(project: Project) -> None:
    """Saving playbook.zh.yml while `dealbook serve` runs redoes the Chinese stage page, the hand-written
    Chinese pages that show the text, and the Chinese name under the English stage name."""
    from test_serve import RELOAD_TIMEOUT, STARTUP_TIMEOUT, _free_port, _get, _get_status, _server, _wait_for

    dealbook = Path(sys.executable).parent / "dealbook"
    port = _free_port()
    base = f"http://127.0.0.1:{port}/"
    stage = SITE_PATHS.url(SITE_PATHS.stage_page(load_stage_model(project.model).stage(1)))
    pages = [base + stage, base + "zh/" + stage, base + "zh/" + SITE_PATHS.url("process.md")]
    texts = project.model.with_name("playbook.zh.yml")
    log = project.root / "serve.log"

    def all_say(text: str) -> bool:
        return all(status == 200 and text in body for status, body in map(_get, pages))

    with _server(dealbook, project, port, log) as server:
        _wait_for(lambda: all_say("客户规划与电话邀约"), STARTUP_TIMEOUT, "the Chinese stage name", server, log)
        texts.write_text(texts.read_text(encoding="utf-8").replace("name: 客户规划与电话邀约", "name: 大客户规划"),
                         encoding="utf-8")
        _wait_for(lambda: all_say("大客户规划"), RELOAD_TIMEOUT, "the new Chinese name on every page", server, log)
        assert not any("客户规划与电话邀约" in _get(url)[1] for url in pages)
        assert _get_status(base + "playbook.zh.yml") == 404 and _get_status(base + "playbook.yml") == 404


def test_a_new_language_starts_from_the_models_texts_every_one_untranslated(tmp_path: Path) -> None:
    """What `dealbook language add` writes for the stage model: the texts of a language in a texts file's shape."""
    import yaml

    from generator.sources.stage_model import texts_document

    shipped = load_stage_model(ROOT / "playbook" / "playbook.yml")
    path = _model_with_texts(tmp_path, language="de", texts=yaml.safe_dump(texts_document(shipped, "en"),
                                                                            allow_unicode=True, sort_keys=False))
    (tmp_path / "playbook.zh.yml").write_text(yaml.safe_dump(texts_document(shipped, "zh"), allow_unicode=True,
                                                             sort_keys=False), encoding="utf-8")
    model = load_stage_model(path)
    german = [p for p in model.untranslated if p.path.endswith("playbook.de.yml")]
    assert {p.code for p in german} == {"untranslated_same"} and len(german) > 100  # every text, at its own line
    assert len({p.line for p in german}) == len(german)
    assert [p for p in model.untranslated if p not in german] == []  # the Chinese, written back, is whole
    assert _prose(model, "zh") == _prose(shipped, "zh")


def test_a_language_tag_is_its_primary_subtag_and_a_language_is_a_catalog() -> None:
    from generator.labels import LANGUAGES, language_code
    from generator.site.languages import LanguageError, SiteLanguages

    assert LANGUAGES == ("en", *sorted(p.stem for p in (ROOT / "generator" / "catalog").glob("*.yml") if p.stem != "en"))
    assert [language_code(tag) for tag in ("zh", "zh-CN", "zh_TW", "ZH-Hant-HK", "en-GB", "", None)] == \
        ["zh", "zh", "zh", "zh", "en", "en", "en"]
    assert language_code("xx") == "en"  # no catalog: the default language's words
    assert SiteLanguages.configured(["en-US", "zh-CN"], None).codes == ("en", "zh")
    with pytest.raises(LanguageError, match="'xx' is not one of"):
        SiteLanguages.configured(["en", "xx"], None)


def test_a_model_with_its_chinese_beside_the_english_says_where_each_text_goes(tmp_path: Path) -> None:
    """A model written before playbook.zh.yml (`name_zh:` beside `name:`): one error per such text, at its line."""
    old = subprocess.run(["git", "show", "71cef50:playbook/playbook.yml"], cwd=ROOT, capture_output=True, text=True)
    if old.returncode != 0:
        pytest.skip("the repository's history is not here")
    path = tmp_path / "playbook.yml"
    path.write_text(old.stdout, encoding="utf-8")
    with pytest.raises(StageModelError) as caught:
        load_stage_model(path, "playbook/playbook.yml")
    problems = caught.value.problems
    lines = old.stdout.splitlines()
    assert len(problems) == sum(len(re.findall(r"\b\w+_zh:", line)) for line in lines) > 100
    assert {p.code for p in problems} == {"texts_moved"}
    for p in problems:
        assert re.search(rf"\b{re.escape(p.field.rsplit('.', 1)[-1])}:", lines[p.line - 1]), str(p)
    assert problems[0].field == "stages[1].name_zh"
    assert ZH.problem_message(problems[0]) == "其他语言的文本应写在 playbook.zh.yml 中"
