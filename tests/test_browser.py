"""The built site in headless Chromium: Debian's `chromium` driven by Playwright (no browser download).

One build (the sample deals plus tests/data/hostile.yml) and one browser per module. Every page is
opened in a fresh browser context that records each request, console error and page error; a request
to any host but 127.0.0.1 is recorded and aborted, and fails the test.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from browser_support import DESKTOP, PHONE, chromium, logged_tab, need_chromium, serve
from conftest import AS_OF_EPOCH, ROOT, SITE_PATHS, Project

from generator.labels import Labels
from generator.sources.stage_model import StageModel, load_stage_model

ARTIFACTS = ROOT / "tests" / "artifacts"
LABELS = Labels("en")  # mkdocs.yml: languages: [en, zh], English at the root
PIPELINE = SITE_PATHS.url(SITE_PATHS.pipeline_page)

# Anything in the page body that could run code, or that only hostile deal text would produce.
INJECTED_JS = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('.md-content *')) {
    for (const a of el.attributes) if (/^on/i.test(a.name)) bad.push(el.tagName + '[' + a.name + ']');
    if (['SCRIPT', 'IFRAME', 'OBJECT', 'EMBED', 'STYLE'].includes(el.tagName)) bad.push(el.tagName);
    if (el.tagName === 'IMG' && el.getAttribute('src') === 'x') bad.push('IMG from deal text');
    const href = el.getAttribute('href') || el.getAttribute('src') || '';
    if (/^\\s*javascript:/i.test(href)) bad.push(el.tagName + ' javascript: link');
  }
  return bad;
}"""


# Tables whose content is wider than the box around them (which then scrolls sideways): (class, overflow px).
TABLES_WIDER_THAN_BOX = """() => [...document.querySelectorAll('.md-content table')].map(t => {
  const box = t.closest('.md-typeset__table') || t.parentElement;
  return [t.className || '(hand-written)', Math.round(t.getBoundingClientRect().width - box.clientWidth)];
}).filter(([, over]) => over > 1)"""


@dataclass
class Site:
    project: Project
    base: str
    model: StageModel
    deals: list[dict]

    def url(self, path: str = "") -> str:
        return self.base + path

    def deal(self, deal_id: str) -> dict:
        return next(d for d in self.deals if d["id"] == deal_id)

    def owner_url(self, owner: str) -> str:
        pipeline = json.loads((self.project.site / "pipeline.json").read_text(encoding="utf-8"))
        return next(o["url"] for o in pipeline["owners"] if o["owner"] == owner)

    def rich_deal(self) -> dict:
        """The open sample deal with the most content (longest YAML file): the one worth a screenshot."""
        samples = [d for d in self.deals if d["id"] != "hostile" and d["status"] == "open"]
        return max(samples, key=lambda d: next(self.project.deals.glob(f"{d['id']}.y*ml")).stat().st_size)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    need_chromium()
    root = tmp_path_factory.mktemp("browser") / "project"
    root.mkdir()
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(ROOT / "playbook", root / "playbook")
    project = Project(root)
    project.deals.mkdir()
    for path in sorted((ROOT / "deals").glob("*.y*ml")):
        shutil.copy(path, project.deals / path.name)
    shutil.copy(ROOT / "tests" / "data" / "hostile.yml", project.deals / "hostile.yml")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", AS_OF_EPOCH)
        mp.chdir(root)
        project.build()

    deals = json.loads((project.site / "deals.json").read_text(encoding="utf-8"))
    model = load_stage_model(project.model)
    with serve(project.site) as base:
        yield Site(project, base, model, deals)


@pytest.fixture(scope="module")
def browser(site: Site):
    with chromium() as running:
        yield running


open_tab = logged_tab


def _column(page, index: int) -> list[tuple[str, str]]:
    """(deal id, sort key) of every body row of the deals table, in the order shown."""
    return page.eval_on_selector_all(
        "table.db-deals tbody tr",
        "(rows, i) => rows.map(r => [r.dataset.id, r.cells[i].dataset.sort ?? r.cells[i].textContent.trim()])",
        index,
    )


def _shown_ids(page) -> list[str]:
    return page.eval_on_selector_all(
        "table.db-deals tbody tr", "rows => rows.filter(r => r.getClientRects().length > 0).map(r => r.dataset.id)")


# a. -------------------------------------------------------------------------------------------------


def test_pages_stay_on_localhost_run_no_deal_script_and_log_no_error(site: Site, browser) -> None:
    assert any(d["id"] == "hostile" for d in site.deals)
    named = ["", SITE_PATHS.url(SITE_PATHS.stage_page(site.model.stage(6))), PIPELINE, site.deal("hostile")["url"]]
    paths = named + [d["url"] for d in site.deals if d["url"] not in named]
    with open_tab(browser, viewport=DESKTOP) as tab:
        for path in paths:
            tab.goto(site.url(path), settle=path in named)
            assert tab.page.evaluate("typeof window.__pwned") == "undefined", f"deal text ran as script on /{path}"
            assert tab.page.evaluate(INJECTED_JS) == [], f"/{path} has markup that only deal text could have made"
        # the hostile text is shown literally, as text
        tab.goto(site.url(site.deal("hostile")["url"]), settle=True)
        assert tab.page.locator("h1.db-title").inner_text().startswith("<script>window.__pwned = 'title'</script>")
        tab.page.locator(".db-chip").first.hover()  # the stakeholder chip holds an onmouseover attempt
        assert tab.page.evaluate("typeof window.__pwned") == "undefined"
        tab.assert_clean()
        visited = {urlsplit(u).path for u in tab.requests}
        assert {"/", "/" + PIPELINE, "/" + site.deal("hostile")["url"]} <= visited
        assert any(p.endswith("/dealbook.js") for p in visited) and any(p.endswith("/dealbook.css") for p in visited)


# b. -------------------------------------------------------------------------------------------------


def test_search_finds_a_stage_page_by_its_chinese_name(site: Site, browser) -> None:
    stage = site.model.stage(6)
    target = "/" + SITE_PATHS.url(SITE_PATHS.stage_page(stage))
    with open_tab(browser, viewport=DESKTOP) as tab:
        tab.goto(site.url(), settle=True)
        box = tab.page.locator("input.md-search__input")
        box.click()
        # Material reads the query on keyup; Chinese comes from an input method, which Playwright's
        # keyboard cannot drive, so the text is inserted and a key is released as an IME commit does.
        box.fill(stage.text("name", "zh"))
        box.press("End")
        results = tab.page.locator(".md-search-result__list a")
        results.first.wait_for(state="visible", timeout=15_000)
        hrefs = [urlsplit(a.get_attribute("href") or "").path for a in results.all()]
        assert target in hrefs, f"searching {stage.text('name', 'zh')!r} found {hrefs}"
        tab.assert_clean()


def test_a_chinese_word_is_searched_as_a_word_not_as_its_first_character(site: Site, browser) -> None:
    """Material's worker searched 地铁 as 地 (every page with 地点, 地图, …): the mended worker finds the word."""
    with open_tab(browser, viewport=DESKTOP) as tab:
        tab.goto(site.url("zh/index.html"), settle=True)
        box = tab.page.locator("input.md-search__input")
        box.click()
        box.fill("地铁")
        box.press("End")
        results = tab.page.locator(".md-search-result__list a")
        results.first.wait_for(state="visible", timeout=15_000)
        pages = sorted({urlsplit(a.get_attribute("href") or "").path for a in results.all()})
        assert pages, "no result"
        for path in pages:
            text = (site.project.site / path.lstrip("/")).read_text(encoding="utf-8")
            assert "地铁" in re.sub(r"<[^>]+>", "", text), f"{path} was found for 地铁 but does not contain it"
        marks = set(tab.page.locator(".md-search-result__list mark").all_inner_texts())
        assert marks == {"地铁"}, marks
        tab.assert_clean()


def test_the_site_opened_from_disk_follows_links_and_searches(site: Site, browser) -> None:
    """The README says "open site/index.html": from file:// the tabs, the pipeline, deal and stage
    links and search work, and nothing is fetched from another host."""
    root = site.project.site

    def on_disk(url: str) -> str:
        return (root / url).as_uri()

    deal = site.deal("hospital-his-2027")
    stage = site.model.stage(deal["stage"])
    wanted = site.deal("porthaven-terminal-tos")
    with open_tab(browser, viewport=DESKTOP) as tab:
        page = tab.page
        page.goto(on_disk("index.html"))
        page.get_by_role("navigation", name="Tabs").get_by_role("link", name=LABELS.nav_deals, exact=True).click()
        page.wait_for_url(on_disk(PIPELINE))
        assert page.locator("table.db-deals tbody tr").count() == len(site.deals)
        page.locator("table.db-deals thead th").first.click()  # the vendored table sorter runs from disk too
        assert page.locator("table.db-deals thead th").first.get_attribute("aria-sort") in ("ascending", "descending")
        page.locator(f"table.db-deals tr[data-id='{deal['id']}'] td:first-child a").click()
        page.wait_for_url(on_disk(deal["url"]))
        assert page.locator("h1.db-title").inner_text() == deal["title"]
        page.locator(".db-next-exit a").click()
        page.wait_for_url(on_disk(SITE_PATHS.url(SITE_PATHS.stage_page(stage))))
        assert page.locator("h1").first.inner_text().startswith(f"{stage.number}. {stage.name}")

        box = page.locator("input.md-search__input")
        box.click()
        box.fill(wanted["account"].split()[0])
        box.press("End")  # Material reads the query on keyup
        results = page.locator(".md-search-result__list a")
        results.first.wait_for(state="visible", timeout=15_000)
        found = [urlsplit(a.get_attribute("href") or "").path for a in results.all()]
        assert urlsplit(on_disk(wanted["url"])).path in found, found
        results.first.click()
        page.wait_for_url(lambda url: urlsplit(url).path == urlsplit(on_disk(wanted["url"])).path)
        assert page.locator("h1.db-title").inner_text() == wanted["title"]
        tab.assert_clean()
        assert all(url.startswith("file://") for url in tab.requests), [u for u in tab.requests if "file:" not in u]


# c. -------------------------------------------------------------------------------------------------


def test_deal_pages_mark_the_current_stage_and_show_its_exit_criterion(site: Site, browser) -> None:
    open_deals = [d for d in site.deals if d["status"] == "open"]
    assert len({d["stage"] for d in open_deals}) >= 2
    with open_tab(browser, viewport=DESKTOP) as tab:
        for deal in open_deals:
            tab.goto(site.url(deal["url"]))
            page, n = tab.page, deal["stage"]
            steps = page.locator("ol.db-tracker > li")
            assert steps.count() == len(site.model.stages) == 8
            current = page.locator("ol.db-tracker > li[aria-current='step']")
            assert current.count() == 1, deal["id"]
            assert "is-current" in (current.get_attribute("class") or "")
            assert current.locator(".db-tracker__number").inner_text() == str(n), deal["id"]
            classes = [steps.nth(i).get_attribute("class") or "" for i in range(8)]
            assert all("is-done" in c for c in classes[: n - 1]), (deal["id"], classes)
            assert all("is-todo" in c for c in classes[n:]), (deal["id"], classes)
            criterion = page.locator(".db-next-exit__criterion")
            assert criterion.is_visible()
            assert criterion.inner_text().strip() == site.model.stage(n).exit_criterion
        tab.assert_clean()


# d. -------------------------------------------------------------------------------------------------


def test_pipeline_table_sorts_and_filters(site: Site, browser) -> None:
    with open_tab(browser, viewport=DESKTOP) as tab:
        tab.goto(site.url(PIPELINE))
        page = tab.page
        headers = [h.strip() for h in page.locator("table.db-deals thead th").all_inner_texts()]
        stage_col, amount_col = headers.index(LABELS.stage), headers.index(LABELS.amount)
        stage_of = {d["id"]: d["stage"] for d in site.deals}

        before = [(i, int(k)) for i, k in _column(page, stage_col)]
        assert len(before) == len(site.deals)
        stage_header = page.locator("table.db-deals thead th").nth(stage_col)
        for _ in range(2):  # ascending, then descending
            stage_header.click()
            order = stage_header.get_attribute("aria-sort")
            assert order in ("ascending", "descending")
            after = [(i, int(k)) for i, k in _column(page, stage_col)]
            keys = [k for _, k in after]
            assert keys == sorted(keys, reverse=order == "descending"), (order, keys)
            assert keys != [k for _, k in before]
            assert all(stage_of[i] == k for i, k in after), "cells moved without their rows"

        amount_header = page.locator("table.db-deals thead th").nth(amount_col)
        amount_header.click()
        amounts = [float(k) for _, k in _column(page, amount_col)]
        assert amounts == sorted(amounts, reverse=amount_header.get_attribute("aria-sort") == "descending")

        everyone = _shown_ids(page)
        assert sorted(everyone) == sorted(stage_of)
        box = page.locator("input.db-filter")
        wanted = next(d for d in site.deals if re.search(r"[a-z]", d["account"]) and d["id"] != "hostile")
        word = wanted["account"].split()[0].upper()  # typed in capitals: matching ignores case
        box.press_sequentially(word)
        shown = _shown_ids(page)
        assert wanted["id"] in shown
        assert 0 < len(shown) < len(everyone)
        texts = dict(page.eval_on_selector_all(
            "table.db-deals tbody tr", "rows => rows.map(r => [r.dataset.id, r.textContent.toLowerCase()])"))
        assert all(word.lower() in texts[i] for i in shown)
        assert all(word.lower() not in texts[i] for i in set(everyone) - set(shown))

        box.fill("no deal is called this")
        assert _shown_ids(page) == []
        box.fill("")
        assert sorted(_shown_ids(page)) == sorted(everyone)
        tab.assert_clean()


# e. -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_screenshots_fit_the_screen_in_both_schemes(site: Site, browser, width: str, scheme: str) -> None:
    """Saves tests/artifacts/<page>-<width>-<scheme>.png; someone looks at them before a change is done.

    The manager's pages are taken on the Chinese site too (<page>-zh-…): longer words, other line breaks."""
    ARTIFACTS.mkdir(exist_ok=True)
    viewport = DESKTOP if width == "desktop" else PHONE
    pages = {"deal": site.rich_deal()["url"], "pipeline": PIPELINE, "hostile": site.deal("hostile")["url"],
             "board": SITE_PATHS.url(SITE_PATHS.board_page), "owner": site.owner_url(site.rich_deal()["owner"])}
    pages.update({f"{name}-zh": "zh/" + pages[name] for name in ("pipeline", "board", "owner")})
    with open_tab(browser, viewport=viewport, color_scheme=scheme) as tab:
        page = tab.page
        for name, path in pages.items():
            tab.goto(site.url(path), settle=True)  # fonts and late layout in place before the screenshot
            expected = "slate" if scheme == "dark" else "default"
            assert page.evaluate("document.body.dataset.mdColorScheme") == expected
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name} at {width} width is {overflow}px wider than the screen"
            wide = page.evaluate(TABLES_WIDER_THAN_BOX)
            if width == "desktop":
                assert wide == [], f"{name}: tables wider than their box at 1280 px: {wide}"
            else:  # only the pipeline's deals table scrolls inside its box (its first column stays put)
                assert [c for c, _ in wide] in ([], ["db-deals"]), f"{name}: tables wider than the phone: {wide}"
            if name in ("deal", "hostile"):
                # Notes are read on the phone itself: every cell of a notes table lies within the screen.
                outside = page.evaluate("[...document.querySelectorAll('table.db-stack td')]"
                                        ".filter(td => td.getBoundingClientRect().right > window.innerWidth + 1).length")
                assert outside == 0, f"{name}: {outside} cells of the notes tables are off the screen"
                boxes = [li.bounding_box() for li in page.locator("ol.db-tracker > li").all()]
                if width == "desktop":  # one row of eight steps
                    assert len({round(b["y"]) for b in boxes}) == 1
                    assert [b["x"] for b in boxes] == sorted(b["x"] for b in boxes)
                else:  # one column
                    assert len({round(b["x"]) for b in boxes}) == 1
                    assert [b["y"] for b in boxes] == sorted(b["y"] for b in boxes)
                current = page.locator("ol.db-tracker > li.is-current")
                todo = page.locator("ol.db-tracker > li.is-todo").first
                style = "el => getComputedStyle(el).backgroundColor"
                if todo.count():
                    assert current.evaluate(style) != todo.evaluate(style), "current stage is not highlighted"
            if name in ("pipeline", "pipeline-zh"):
                if width == "phone":  # a card per deal: every value, amount and close date too, on the screen
                    outside = page.evaluate("[...document.querySelectorAll('table.db-deals td')]"
                                            ".filter(td => td.getBoundingClientRect().right > window.innerWidth + 1)"
                                            ".length")
                    assert outside == 0, f"{name}: {outside} cells of the deals table are off the screen"
                fill, background = page.evaluate(
                    "[getComputedStyle(document.querySelector('.db-funnel__value')).fill,"
                    " getComputedStyle(document.body).backgroundColor]")
                assert fill != background, "funnel labels have the page's background colour"
                assert _luminance(fill) > 0.5 if scheme == "dark" else _luminance(fill) < 0.5, fill
            page.screenshot(path=str(ARTIFACTS / f"{name}-{width}-{scheme}.png"), full_page=True)
        tab.assert_clean()


def test_the_deals_table_is_a_card_per_deal_on_a_phone(site: Site, browser) -> None:
    """At 390 px each deal is a card: its name across the top, then each value under its column's name, the
    amount and the close date among them, all within the screen, in both languages; filters still work."""
    with open_tab(browser, viewport=PHONE) as tab:
        for prefix, labels in (("", LABELS), ("zh/", Labels("zh"))):
            tab.goto(site.url(prefix + PIPELINE), settle=True)
            page = tab.page
            row = page.locator("table.db-deals tbody tr[data-id='korvath-fleet-dispatch']")
            title, amount, close = (row.locator(f"td:nth-child({n})").bounding_box() for n in (1, 7, 9))
            screen = page.viewport_size["width"]
            for box in (title, amount, close):
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= screen, (prefix, box)
            assert title["y"] + title["height"] <= min(amount["y"], close["y"]), "the name heads the card"
            assert amount["y"] + amount["height"] <= close["y"], "values follow one another down the card"
            # each value is named by its column's header, which the table itself hides on a phone
            label = row.locator("td:nth-child(7)").evaluate("td => getComputedStyle(td, '::before').content")
            assert label == f'"{labels.amount}"', label
            assert labels.flag_close_passed in row.inner_text()  # its close date passed: flagged on the card
            assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
            page.locator("select.db-select[data-key='stage']").select_option("5")
            assert _shown_ids(page) == ["korvath-fleet-dispatch"]
            page.screenshot(path=str(ARTIFACTS / f"deals-cards-{prefix.strip('/') or 'en'}-phone.png"), full_page=True)
        tab.assert_clean()


def test_the_board_the_stuck_list_and_needs_attention_agree_in_the_browser(site: Site, browser) -> None:
    """What a manager sees: the red cards are the stuck deals of the dashboard, each also under Needs attention."""
    stuck = sorted(d["id"] for d in site.deals if d["stale"])
    assert stuck, "the sample deals, as of the tests' date, include stuck ones"
    with open_tab(browser, viewport=DESKTOP) as tab:
        tab.goto(site.url(SITE_PATHS.url(SITE_PATHS.board_page)))
        red = tab.page.eval_on_selector_all("li.db-card", "cs => cs.filter(c => c.classList.contains('db-card--stale'))"
                                            ".map(c => c.dataset.id)")
        tab.goto(site.url(PIPELINE))
        listed = tab.page.eval_on_selector_all("ul.db-stale-list > li", "ls => ls.map(l => l.dataset.id)")
        attention = tab.page.eval_on_selector_all("ul.db-attention > li[data-flags*='stuck.']",
                                                  "ls => ls.map(l => l.dataset.id)")
        assert sorted(red) == sorted(listed) == sorted(attention) == stuck
        tab.assert_clean()


# f. -------------------------------------------------------------------------------------------------


def test_the_dashboard_headline_and_forecast_fit_one_screen(site: Site, browser) -> None:
    """A manager reads the headline figures and the forecast table at 1280 × 900 without scrolling, in both languages."""
    with open_tab(browser, viewport={"width": 1280, "height": 900}) as tab:
        for path in (PIPELINE, "zh/" + PIPELINE):
            tab.goto(site.url(path), settle=True)
            page = tab.page
            for selector in ("dl.db-kpis", "table.db-forecast"):
                box = page.locator(selector).first.bounding_box()
                assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 900, (path, selector, box)
            kpis = page.locator("dl.db-kpis > div").all_inner_texts()
            assert len(kpis) == 5 and "2026-Q4" in kpis[2] and "2027-Q1" in kpis[2]  # commit: this period and next
            current = page.locator("table.db-forecast tr.is-current th").inner_text()
            assert current.startswith("2026-Q4")
        tab.assert_clean()


def test_all_deals_filter_by_owner_stage_grade_and_category(site: Site, browser) -> None:
    with open_tab(browser, viewport=DESKTOP) as tab:
        tab.goto(site.url(PIPELINE))
        page = tab.page
        everyone = _shown_ids(page)
        assert sorted(everyone) == sorted(d["id"] for d in site.deals)
        # the amount column sorts on the converted amount: 2,900,000 USD is more than 3,200,000 CNY
        keys = dict(_column(page, [h.strip() for h in page.locator("table.db-deals thead th").all_inner_texts()]
                            .index(LABELS.amount)))
        assert all(float(keys[d["id"]]) == d["amount_reporting"] for d in site.deals)
        assert float(keys["porthaven-terminal-tos"]) > float(keys["larchmere-dairy-erp"])

        def choose(key: str, value: str) -> None:
            page.locator(f"select.db-select[data-key='{key}']").select_option(value)

        owner = site.deal("hohenfels-biologics-lims")["owner"]
        choose("owner", owner)
        assert sorted(_shown_ids(page)) == sorted(d["id"] for d in site.deals if d["owner"] == owner)
        choose("stage", "6")
        assert _shown_ids(page) == ["hohenfels-biologics-lims"]
        choose("owner", "")
        assert sorted(_shown_ids(page)) == sorted(d["id"] for d in site.deals if d["stage"] == 6)
        choose("stage", "")
        choose("forecast", "lost")
        lost = sorted(d["id"] for d in site.deals if d["forecast_category"] == "lost")
        assert lost and sorted(_shown_ids(page)) == lost
        assert page.locator(".db-filter__count").inner_text() == f"{len(lost)} / {len(everyone)}"
        choose("forecast", "")
        grade = site.deal("hohenfels-biologics-lims")["grade"]
        choose("grade", grade)
        assert sorted(_shown_ids(page)) == sorted(d["id"] for d in site.deals if d["grade"] == grade)
        page.locator("input.db-filter").fill("no deal is called this")
        assert _shown_ids(page) == []
        page.locator("input.db-filter").fill("")
        choose("grade", "")
        assert sorted(_shown_ids(page)) == sorted(everyone)
        # a hostile owner name is an option like any other, matched exactly, never run
        choose("owner", site.deal("hostile")["owner"])
        assert _shown_ids(page) == ["hostile"]
        tab.assert_clean()


def test_the_board_and_owner_pages(site: Site, browser) -> None:
    open_ids = sorted(d["id"] for d in site.deals if d["status"] == "open")
    with open_tab(browser, viewport=DESKTOP) as tab:
        tab.goto(site.url(SITE_PATHS.url(SITE_PATHS.board_page)), settle=True)
        page = tab.page
        columns = page.locator("section.db-board__column")
        assert columns.count() == len(site.model.stages)
        assert len({round(b["y"]) for b in (c.bounding_box() for c in columns.all())}) == 1, "one row of columns"
        cards = page.eval_on_selector_all("li.db-card", "cards => cards.map(c => [c.dataset.id, c.className])")
        assert sorted(i for i, _ in cards) == open_ids
        assert {c.split("--")[1] for _, c in cards} <= {"fresh", "ageing", "stale", "unknown"}
        assert len({c for _, c in cards}) >= 2, "cards age in colour"
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        # a card's owner link leads to the owner's page, which lists their deals and their forecast
        deal = site.deal("hospital-his-2027")
        page.locator(f"li.db-card[data-id='{deal['id']}'] a.db-owner-link").click()
        page.wait_for_load_state()
        assert page.url.endswith("/" + site.owner_url(deal["owner"]))
        assert page.locator("h1").inner_text() == deal["owner"]
        assert deal["id"] in page.eval_on_selector_all("table.db-deals tbody tr", "rows => rows.map(r => r.dataset.id)")
        assert page.locator("table.db-forecast").count() >= 1
        assert page.locator("ul.db-overdue-steps > li").count() >= 1  # this deal's visit was due 2026-11-20
        # and every deal page links to its owner's page
        tab.goto(site.url(deal["url"]))
        href = page.locator("dl.db-facts a.db-owner-link").get_attribute("href")
        owners = SITE_PATHS.owner_pages(d["owner"] for d in site.deals)
        assert href == SITE_PATHS.link(SITE_PATHS.deal_page(deal["id"]), owners[deal["owner"]])
        tab.assert_clean()


def _luminance(css_colour: str) -> float:
    r, g, b = (int(x) / 255 for x in re.findall(r"[\d.]+", css_colour)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_playbook_tables_fit_the_screen(site: Site, browser, width: str) -> None:
    """The tool pages and the deal-file reference: the page never scrolls sideways and no table is wider
    than its box, so the question to answer and the meaning of a field are read without scrolling."""
    pages = [SITE_PATHS.url(SITE_PATHS.tool_page(tool)) for tool in ("evaluation", "grading", "stakeholders",
                                                                        "negotiation")]
    pages += [SITE_PATHS.url(SITE_PATHS.reference_page), SITE_PATHS.url(SITE_PATHS.editing)]
    with open_tab(browser, viewport=DESKTOP if width == "desktop" else PHONE) as tab:
        for path in pages:
            tab.goto(site.url(path))
            assert tab.page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0, path
            assert tab.page.evaluate(TABLES_WIDER_THAN_BOX) == [], path
        tab.assert_clean()


def test_a_deal_page_marks_the_deals_tab_and_leads_back_to_the_pipeline(site: Site, browser) -> None:
    deal = site.deal("hospital-his-2027")
    with open_tab(browser, viewport=DESKTOP) as tab:
        tab.goto(site.url(deal["url"]))
        active = tab.page.locator(".md-tabs__item--active")
        assert active.count() == 1 and active.inner_text().strip() == LABELS.nav_deals
        tab.page.locator("a.db-crumbs__up").click()
        tab.page.wait_for_url(site.url(PIPELINE))
        assert tab.page.locator(".md-tabs__item--active").inner_text().strip() == LABELS.nav_deals
        tab.assert_clean()
