"""Deal pages, the pipeline, stage-page lists and /deals.json, from deals written in the test."""

from __future__ import annotations

import html
import json
import logging
import re
import shutil

import openpyxl
import pytest
from conftest import BASE_DEAL, ROOT, Project, new_project

from generator.diagnostics import Problem, command_name, listed
from generator.sources.stage_model import load_stage_model

ACME = """\
title: ERP rollout
account: Acme Manufacturing
owner: Li Wei
stage: 3
status: open
amount: 1000000
currency: CNY
expected_close: 2027-01-15
qualification: {project_level: 5, funding: 5, technical_fit: 5, relationship: 5, credibility: 5,
                product: 4, price: 4, solution: 4, service: 4}
summary: |
  Plant **two** first.
stakeholders:
  - {name: Zhang San, title: CIO, role: decision-maker, influence: high, stance: champion}
  - {name: Wang Wu, role: procurement, influence: medium, stance: skeptic}
exits:
  1: {date: 2026-09-01, evidence: First meeting booked}
  2: {date: 2026-10-10, evidence: Asked for a proposal}
next_steps:
  - {action: Send the proposal, due: 2026-11-20}
  - {action: Book the demo, due: 2026-12-20}
"""

BETA = """\
title: MES upgrade
account: Beta Steel
owner: Chen Jing
stage: 3
status: open
amount: 500000
currency: CNY
expected_close: 2027-08-01
stakeholders: [{name: Liu, role: decision-maker}]
exits: {1: {date: 2026-01-01, evidence: ok}, 2: {date: 2026-02-01, evidence: ok}}
"""

GAMMA = """\
title: Fleet telematics
account: Gamma Logistics
owner: Anna
stage: 6
status: open
amount: 200000
currency: USD
probability: 0.5
expected_close: 2027-02-01
stakeholders: [{name: Bob, role: decision-maker}]
exits: {1: {date: 2026-01-01}, 2: {date: 2026-02-01}, 3: {date: 2026-03-01}, 4: {date: 2026-04-01},
        5: {date: 2026-05-01}}
"""

LOST = """\
title: Old deal
account: Delta
owner: Anna
stage: 4
status: lost
amount: 900000
expected_close: 2026-06-01
lost_reason: Price
"""

# Chinese written over several lines: YAML folds and Markdown soft breaks between CJK characters.
ZH = """\
title: 新一代医院信息系统
  建设项目
account: 西岭省人民医院
owner: 周婷
stage: 2
status: open
amount: 12800000
currency: CNY
expected_close: 2027-07-31
summary: |
  现有 HIS 无法满足
  电子病历五级。签约定在 **12 月 18 日**，见[方案](https://example.com/)。
stakeholders:
  - name: 陈静怡
    role: decision-maker
    notes: 采购小组组长，认可我们的
      集成平台方案。
exits:
  1: {date: 2026-06-10, evidence: 同意会面}
qualification: {project_level: 5, funding: 4, technical_fit: 4, relationship: 3, credibility: 5}
next_steps:
  - {action: 第二步, due: 2026-12-20}
  - {action: 已完成, due: 2026-11-01, done: true}
  - {action: 没有日期}
  - {action: 第一步, due: 2026-12-01}
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory, monkeypatch_module) -> Project:
    project = new_project(tmp_path_factory.mktemp("deals") / "project")
    root = project.root
    for name, text in {"acme.yml": ACME, "beta.yml": BETA, "gamma.yml": GAMMA, "lost-one.yml": LOST,
                       "zh-his.yml": ZH}.items():
        project.write_deal(name, text)
    shutil.copy(ROOT / "tests" / "data" / "hostile.yml", project.deals / "hostile.yml")
    monkeypatch_module.chdir(root)
    project.build()
    return project


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    mp.setenv("SOURCE_DATE_EPOCH", "1795737600")
    yield mp
    mp.undo()


@pytest.fixture(scope="module")
def deals_json(built: Project) -> dict[str, dict]:
    return {d["id"]: d for d in json.loads((built.site / "deals.json").read_text(encoding="utf-8"))}


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_deal_page_answers_at_a_glance(built: Project) -> None:
    model = load_stage_model(built.model)
    page = built.page("deals/acme")
    text = text_of(page)
    for expected in ("ERP rollout", "Acme Manufacturing", "Li Wei", "1,000,000 CNY", "2027-01-15", "as of 2026-11-27",
                     model.stage(3).exit_criterion, "Zhang San", "Wang Wu", "First meeting booked", "Send the proposal"):
        assert expected in text, expected
    current = re.search(r'<li class="db-tracker__stage[^"]*is-current[^"]*"[^>]*>\s*<span class="db-tracker__number">'
                        r"(\d)</span>", page)
    assert current and current.group(1) == "3"
    assert page.count("is-done") >= 2
    for activity in model.stage(3).activities:
        assert activity in text
    assert "<strong>Plant <strong>two</strong> first.</strong>" not in page and "Plant <strong>two</strong>" in page
    overdue = re.search(r'<li class="is-overdue">([^<]*Send the proposal)', page)
    assert overdue, "the overdue next step is not marked"
    assert 'class="is-overdue">Book the demo' not in page
    paths = built.paths
    assert f'href="{paths.link("deals/acme.md", paths.stage_page(model.stage(3)))}"' in page


def test_numbers_are_computed_once(built: Project, deals_json) -> None:
    model = load_stage_model(built.model)
    acme = deals_json["acme"]
    weights = {f.key: f.weight for f in model.evaluation.factors}
    scores = {"project_level": 5, "funding": 5, "technical_fit": 5, "relationship": 5, "credibility": 5,
              "product": 4, "price": 4, "solution": 4, "service": 4}
    expected = sum(weights[k] * v for k, v in scores.items()) / sum(weights.values()) / 5 * 100
    assert acme["score"] == pytest.approx(round(expected, 1))
    assert acme["probability"] == model.stage(3).probability
    assert acme["weighted_amount"] == pytest.approx(1_000_000 * model.stage(3).probability)
    assert acme["grade"] == "A"  # closes in 49 days, score well above the A threshold
    assert deals_json["lost-one"]["probability"] == 0 and deals_json["lost-one"]["weighted_amount"] == 0
    assert deals_json["gamma"]["probability"] == 0.5 and deals_json["gamma"]["score"] is None
    assert deals_json["beta"]["grade"] != "A"
    for key in ("id", "title", "account", "owner", "stage", "stage_name", "status", "amount", "currency",
                "expected_close", "probability", "weighted_amount", "score", "grade", "next_exit_criterion",
                "warnings", "url"):
        assert key in acme, key
    assert acme["url"] == built.paths.url("deals/acme.md")
    assert acme["next_exit_criterion"] == model.stage(3).exit_criterion
    assert any("was due 2026-11-20" in w for w in acme["warnings"])
    page = text_of(built.page("deals/acme"))
    assert f"{acme['score']:g} / 100" in page
    assert f"{acme['weighted_amount']:,.0f} CNY" in page


def test_pipeline_totals_are_in_the_reporting_currency(built: Project, deals_json) -> None:
    page = built.page("deals")
    totals = re.search(r'<table class="db-stage-totals" data-currency="CNY">(.*?)</table>', page, re.S).group(1)
    assert page.count('class="db-stage-totals"') == 1, "one table, not one per currency"
    stage3 = re.search(r'<tr data-stage="3">.*?class="db-count">(\d+)<.*?class="db-sum">([\d,]+)<', totals, re.S)
    assert stage3.groups() == ("2", "1,500,000")  # acme + beta; the lost deal is not in the funnel
    # gamma: 200,000 USD at 7.10 CNY per USD
    assert re.search(r'<tr data-stage="6">.*?class="db-count">1<.*?class="db-sum">1,420,000<', totals, re.S)
    assert deals_json["gamma"]["amount_reporting"] == 1_420_000 and deals_json["gamma"]["currency"] == "USD"
    assert 'data-currency="CNY"' in page and 'data-currency="USD"' not in page and "<svg" in page
    assert page.count('<tr data-id="') == len(deals_json)
    attention = re.search(r'<ul class="db-attention">(.*?)</ul>\s*\n', page, re.S).group(1)
    assert "ERP rollout" in attention


def test_stage_pages_list_their_deals(built: Project) -> None:
    stage3 = built.page("stages/3-preliminary-proposal")
    listed = re.search(r'<ul class="db-stage-deals">(.*?)</ul>', stage3, re.S).group(1)
    assert "ERP rollout" in listed and "MES upgrade" in listed and "Fleet telematics" not in listed
    stage4 = built.page("stages/4-demo-and-technical-exchange")
    assert "Old deal" not in stage4, "closed deals are not 'now in this stage'"
    assert "db-stage-deals-empty" in built.page("stages/1-account-planning")


def test_hostile_text_stays_text(built: Project, deals_json) -> None:
    page = built.page("deals/hostile")
    body = page[page.index('<div class="db-deal"'):]
    for raw in ("<script>window.__pwned", "<img src=x onerror", "<b onmouseover", "<iframe", "<style>body",
                "javascript:window.__pwned='summary-link'", "<a href=\"javascript:", "</table><script>"):
        assert raw not in body, raw
    text = text_of(body)
    assert "<script>window.__pwned = 'title'</script>{{ 7*7 }} | pipe" in text
    assert "{% raw %}" in text and "{{ 1+1 }}" in text and "{{ config.site_name }}" in text
    assert "=HYPERLINK(" in text
    assert "line one<br>line two<br><br>| a | b |" in body
    assert 'href="https://example.com/"' in body
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert "<script" not in title and "&lt;script&gt;" in title
    assert deals_json["hostile"]["title"].startswith("<script>")  # JSON carries the text as typed


def test_deal_pages_are_not_in_the_sidebar(built: Project) -> None:
    home, paths = built.page(""), built.paths
    assert paths.url(paths.deal_page("acme")) not in home
    assert f'href="{paths.url(paths.pipeline_page)}"' in home


def test_invalid_deal_stops_the_build_with_the_checks_message(project: Project, caplog) -> None:
    from mkdocs.exceptions import Abort

    project.write_deal("bad.yml", ACME.replace("stage: 3", "stage: 11"))
    with pytest.raises(Abort):
        project.build()
    assert "deals/bad.yml:4:8: error: stage: 11 is out of range" in caplog.text


def test_edit_link_when_repo_url_is_set(project: Project) -> None:
    config = project.root / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    project.write_deal("acme.yml", ACME)
    project.build()
    assert "db-edit" not in project.page("deals/acme")
    config.write_text(text.replace("# repo_url: https://git.example.com/sales/dealbook",
                                   "repo_url: https://git.example.com/sales/dealbook"), encoding="utf-8")
    project.build()
    assert 'href="https://git.example.com/sales/dealbook/edit/main/deals/acme.yml"' in project.page("deals/acme")


def test_closed_deal_shows_how_it_ended_not_a_next_step(built: Project) -> None:
    page = built.page("deals/lost-one")
    assert "db-next-exit" not in page and 'aria-current="step"' not in page
    closed = re.search(r'<div class="admonition failure db-closed">(.*?)</div>', page, re.S).group(1)
    assert "This deal is closed: Lost." in closed and "Price" in closed
    assert re.search(r'class="db-tracker__stage is-ended"[^>]*>\s*<span class="db-tracker__number">4<', page)
    # Stages 1-3 were passed with no exit evidence: not ticked off as done.
    assert len(re.findall(r'class="db-tracker__stage is-done is-unproven"', page)) == 3
    assert "no exit evidence recorded" in page
    assert "is-unproven" not in built.page("deals/acme")


def test_cached_pages_follow_their_inputs(project: Project, monkeypatch) -> None:
    project.write_deal("acme.yml", ACME)
    project.build()
    assert "as of 2026-11-27" in project.page("deals/acme")
    assert list((project.root / ".cache" / "pages").glob("*")) and list((project.root / ".cache" / "deals").glob("*"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795824000")  # a day later: every date-dependent page changes
    project.build()
    assert "as of 2026-11-28" in project.page("deals/acme")
    project.write_deal("acme.yml", ACME.replace("title: ERP rollout", "title: ERP rollout, phase two"))
    project.build()
    assert "ERP rollout, phase two" in project.page("deals/acme")
    assert json.loads((project.site / "deals.json").read_text())[0]["title"] == "ERP rollout, phase two"


def test_chinese_lines_join_without_a_space_on_the_page_in_json_and_in_the_workbook(built: Project, deals_json) -> None:
    assert deals_json["zh-his"]["title"] == "新一代医院信息系统建设项目"
    page = built.page("deals/zh-his")
    assert "现有 HIS 无法满足电子病历五级。" in page  # the space before HIS was typed: it stays
    assert "采购小组组长，认可我们的集成平台方案。" in page
    wb = openpyxl.load_workbook(built.site / built.paths.deal_workbook("zh-his"))
    texts = {c.value for ws in wb for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert "新一代医院信息系统建设项目" in texts
    assert "采购小组组长，认可我们的集成平台方案。" in texts
    # The summary cell holds plain text: no asterisks, the link's text without its address.
    assert "现有 HIS 无法满足电子病历五级。签约定在 12 月 18 日，见方案。" in texts


def test_warnings_speak_plainly_and_keep_the_file_position_for_the_rep(built: Project) -> None:
    line_no, line = next((n, text) for n, text in enumerate(ACME.splitlines(), start=1) if "Send the proposal" in text)
    where = f"deals/acme.yml:{line_no}:{line.index('due') + 1}"
    page = built.page("deals/acme")
    box = re.search(r'<div class="admonition warning db-warnings">(.*?)</div>', page, re.S).group(1)
    shown, detail = box.split('<details class="db-fix">')
    assert "Next step 'Send the proposal' was due 2026-11-20." in text_of(shown)
    assert "deals/acme.yml" not in shown and "next_steps[" not in shown
    assert f"{where}: warning: next_steps[1].due: 'Send the proposal' was due 2026-11-20 (do it and set done: " \
        "true, or set a new due date)" in text_of(detail)  # as `dealbook check` prints it
    attention = re.search(r'<ul class="db-attention">(.*?)</ul>\s*\n', built.page("deals"), re.S).group(1)
    assert "Next step 'Send the proposal' was due 2026-11-20." in text_of(attention)
    assert "next_steps[" not in attention and "deals/acme.yml" not in attention and "expected_close:" not in attention


def test_an_incomplete_score_says_how_much_of_the_weight_is_scored(built: Project, deals_json) -> None:
    # Five of nine factors, weights 10+15+15+15+10 of 100: 4 not scored, 35% of the weight.
    assert deals_json["zh-his"]["scored_weight"] == 0.65
    assert deals_json["acme"]["scored_weight"] == 1 and deals_json["beta"]["scored_weight"] == 0
    page = text_of(built.page("deals/zh-his"))
    assert "4 of 9 factors not scored (35% of the weight)" in page
    assert "35% of the weight not scored" in page  # the short form, in the facts at the top
    assert "factors not scored" not in text_of(built.page("deals/acme"))
    row = re.search(r'<tr data-id="zh-his"[^>]*>(.*?)</tr>', built.page("deals"), re.S).group(1)
    assert "65% scored" in text_of(row) and 'title="4 of 9 factors not scored (35% of the weight)"' in row


def test_next_steps_are_listed_by_due_date(built: Project) -> None:
    steps = re.search(r'<ul class="db-steps">(.*?)</ul>', built.page("deals/zh-his"), re.S).group(1)
    order = re.findall(r"第一步|第二步|没有日期|已完成", steps)
    assert order == ["第一步", "第二步", "没有日期", "已完成"]  # by date, undated after, done last
    row = re.search(r'<tr data-id="zh-his"[^>]*>(.*?)</tr>', built.page("deals"), re.S).group(1)
    assert "第一步" in row and "2026-12-01" in row


def test_a_deal_page_links_back_to_the_pipeline(built: Project) -> None:
    paths = built.paths
    page = built.page("deals/acme")
    back = paths.link(paths.deal_page("acme"), paths.pipeline_page)
    assert f'data-section="{back}"' in page
    assert re.search(rf'<a class="db-crumbs__up" href="{re.escape(back)}">← Pipeline: all deals</a>', page)


def test_search_keeps_words_apart_and_chinese_lines_joined(built: Project) -> None:
    docs = json.loads((built.site / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]

    def indexed(deal_id: str) -> str:
        url = built.paths.url(built.paths.deal_page(deal_id))
        return " ".join(d["text"] for d in docs if d["location"].startswith(url))

    assert "Zhang San CIO Wang Wu" in indexed("acme")  # cells of the stakeholder table, not "Zhang SanCIO"
    # Search tokenises Chinese into words with zero-width spaces; the stray space of the line break is gone.
    assert "认可我们的集成平台方案" in indexed("zh-his").replace("\u200b", "")


def test_the_build_log_lists_its_warnings(project: Project, caplog) -> None:
    caplog.set_level(logging.INFO, logger="mkdocs")
    project.write_deal("zero.yml", BASE_DEAL.replace("amount: 1000", "amount: 0"))
    project.build()
    assert "(as of 2026-11-27, 1 warnings)" in caplog.text
    assert "dealbook:   deals/zero.yml:6:1: warning: amount: the amount is 0" in caplog.text


def test_a_long_list_of_warnings_stops_at_twenty() -> None:
    problems = [Problem(f"deals/d{n:02}.yml", 6, 1, "warning", "amount", "the amount is 0") for n in range(25)]
    lines = listed(problems)
    assert len(lines) == 21 and lines[0].startswith("deals/d00.yml:6:1: warning:")
    assert lines[-1] == f"… and 5 more: run `{command_name()} check` for all of them"  # as it can be run
    assert len(listed(problems[:20])) == 20


def test_a_page_body_is_fetched_when_written_and_survives_its_cache_entry_vanishing(project: Project) -> None:
    # Deal page bodies are not held for the whole build (10,000 of them are ~300 MB): each is read
    # back from the cache when the page is written, and rendered again if the entry is gone by then.
    from datetime import date

    from generator.build import read_project, site_outputs
    from generator.cache import Cache
    from generator.labels import Labels
    from generator.site.paths import SitePaths

    project.write_deal("acme.yml", ACME)
    cache = Cache(project.root / ".cache")
    pipeline = read_project(project.root, project.model, project.deals, date(2026, 11, 27), Labels("en"), cache,
                            history="none").pipeline
    assert pipeline is not None
    outputs, _ = site_outputs(pipeline, Labels("en"), SitePaths(), cache, workbooks=False)
    page = outputs.pages.finished["deals/acme.md"]
    assert not isinstance(page.body, str)  # not held: fetched on demand
    fetched = page.html
    assert "ERP rollout" in fetched and "db-title" in fetched
    shutil.rmtree(project.root / ".cache" / "pages")
    assert page.html == fetched
    uncached, _ = site_outputs(pipeline, Labels("en"), SitePaths(), Cache(None), workbooks=False)
    assert uncached.pages.finished["deals/acme.md"].html == fetched  # no cache: held as before, same body
