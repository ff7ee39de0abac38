"""Bidi isolation: a right-to-left override (U+202E) left open in deal text reorders only that text.

A deal has U+202E appended to every text field. The site is built with mkdocs and opened in
Debian's Chromium; what the page prints after each poisoned field must read left to right. The
order is checked where it is visible, from the boxes the browser laid the text out in (a Range
per piece of text): in an LTR page, "5,000" must be left of "USD", "2026" left of "10-15".
"""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

from browser_support import DESKTOP, HOST, chromium, logged_tab, serve
from conftest import SITE_PATHS
from test_url_safety import build_project

from generator.labels import Labels
from generator.sources.stage_model import load_stage_model

RLO = "\u202e"
LABELS = Labels("en")  # mkdocs.yml sets theme.language: en
SCREENSHOT = Path("/tmp/bidi.png")


def _q(text: str) -> str:
    """A YAML double-quoted scalar with U+202E appended (JSON strings are valid YAML)."""
    return json.dumps(text + RLO)


POISONED = f"""\
title: {_q("Bidi title")}
account: {_q("Bidi account")}
owner: {_q("Olivia Owner")}
stage: 3
status: open
amount: 5000
currency: USD
expected_close: 2027-01-15
summary: {_q("Summary paragraph")}
stakeholders:
  - {{name: {_q("Alice Able")}, title: {_q("CIO")}, role: decision-maker, influence: high, stance: champion,
      notes: {_q("Met twice")}, last_contact: 2026-11-02}}
  - {{name: {_q("Bob Baker")}, title: {_q("CFO")}, influence: high, stance: champion}}
exits:
  1: {{date: 2026-01-10, evidence: {_q("First call")}}}
  2: {{date: 2026-02-10, evidence: {_q("Proposal asked")}}}
next_steps:
  - {{action: {_q("Call back")}, owner: {_q("Carol Cole")}, due: 2026-10-15}}
competitors:
  - {{name: {_q("Rival Inc")}, strengths: {_q("Cheap")}, weaknesses: {_q("Slow")}}}
negotiation:
  terms:
    - {{topic: price, opening: {_q("List")}, target: {_q("Ten off")}, walk_away: {_q("Twenty off")},
        customer_position: {_q("Thirty off")}, concessions: {_q("Training")}}}
"""

# The same deal, lost at stage 4: its page shows the lost reason instead of the next exit.
LOST = (POISONED.replace(_q("Bidi title"), _q("Bidi lost")).replace(_q("Bidi account"), _q("Lost account"))
        .replace("stage: 3\nstatus: open\namount: 5000", "stage: 4\nstatus: lost\namount: 7000")
        .replace("expected_close: 2027-01-15", f"expected_close: 2026-06-01\nlost_reason: {_q('Too pricey')}"))

# The boxes of `parts`, found in this order in the element's text, each as the browser laid it out.
BOXES_JS = """(el, parts) => {
  const nodes = [];
  let text = '';
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) { nodes.push([n, text.length]); text += n.data; }
  const at = (offset, end) => {
    for (let i = nodes.length - 1; i >= 0; i--) {
      const [node, start] = nodes[i];
      if (end ? start < offset : start <= offset) return [node, offset - start];
    }
  };
  let from = 0;
  return parts.map(part => {
    const index = text.indexOf(part, from);
    if (index < 0) return {part, missing: true, text};
    from = index + part.length;
    const range = document.createRange();
    range.setStart(...at(index, false));
    range.setEnd(...at(index + part.length, true));
    const box = range.getBoundingClientRect();
    return {part, left: box.left, right: box.right, top: box.top, bottom: box.bottom};
  });
}"""


def boxes(locator, parts: list[str]) -> list[dict]:
    found = locator.evaluate(BOXES_JS, parts)
    missing = [b["part"] for b in found if b.get("missing")]
    assert not missing, f"{missing} not in {found[0].get('text', '')!r}" if missing else ""
    return found


def on_one_line(a: dict, b: dict) -> bool:
    """The two boxes share most of their height: a pill or a smaller font beside the text is on its line,
    wherever the installed fonts put its baseline."""
    overlap = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
    return overlap > 0.5 * min(a["bottom"] - a["top"], b["bottom"] - b["top"])


def reads_left_to_right(found: list[dict]) -> bool:
    """Each piece starts right of the previous one on its line, or on a later line (below its middle)."""
    for a, b in pairwise(found):
        if on_one_line(a, b):
            if not a["left"] < b["left"]:
                return False
        elif not (b["top"] + b["bottom"]) / 2 > a["bottom"]:
            return False
    return True


def assert_in_order(locator, parts: list[str]) -> None:
    found = boxes(locator, parts)
    assert reads_left_to_right(found), "shown out of order: " + ", ".join(
        f"{b['part']!r}@{b['left']:.0f},{b['top']:.0f}" for b in found)


def test_an_unclosed_rlo_in_deal_text_reorders_nothing_around_it(tmp_path: Path) -> None:
    with chromium() as browser:
        project = build_project(tmp_path / "project", {"bidi.yml": POISONED, "bidi-lost.yml": LOST})
        deals = {d["title"].rstrip(RLO): d for d in json.loads((project.site / "deals.json").read_text("utf-8"))}
        assert deals["Bidi title"]["title"] == "Bidi title" + RLO  # the text itself is kept as typed (as-of 2026-11-27)
        with serve(project.site) as base, logged_tab(browser, viewport=DESKTOP) as tab:
            page = tab.page
            page.goto(base + deals["Bidi title"]["url"], wait_until="networkidle")

            # The measuring works: the same kind of line without isolation is visibly reordered.
            page.evaluate("""() => {
              const p = document.createElement('p');
              p.id = 'db-control';
              p.textContent = 'Call back\\u202e — Carol Cole · Due 2026-10-15';
              document.querySelector('.db-deal').append(p);
            }""")
            control = boxes(page.locator("#db-control"), ["Call back", "Carol", "Due", "2026", "10-15"])
            assert not reads_left_to_right(control), control
            page.evaluate("document.getElementById('db-control').remove()")

            # The facts: read as text and as laid out.
            amount = page.locator("dd.db-amount")
            # the amount as typed, and beneath it in the reporting currency (7.10 CNY per USD)
            assert amount.inner_text().strip() == "5,000 USD\n≈ 35,500 CNY"
            assert_in_order(amount, ["5", ",000", "USD", "35,500", "CNY"])
            assert_in_order(page.locator("dd.db-weighted"), ["USD"])  # present and readable
            subtitle = page.locator("p.db-subtitle")
            assert_in_order(subtitle, ["Bidi account", "Open", "as of", "2026", "11-27"])
            assert page.locator("h1.db-title").inner_text().startswith("Bidi title")

            # The tracker: a date after another stage's poisoned evidence.
            assert_in_order(page.locator("ol.db-tracker > li").nth(1), ["2026", "02-10", "Proposal asked"])

            # The next step: owner after the poisoned action, the due date in normal order.
            step = page.locator("ul.db-steps > li").first
            text = step.inner_text()
            assert "Call back" in text and "Carol Cole" in text and "2026-10-15" in text
            assert text.index("Call back") < text.index("Carol Cole") < text.index("2026-10-15")
            assert_in_order(step, ["Call back", "—", "Carol", "Cole", LABELS.due, "2026", "-10-", "15", LABELS.overdue])

            # The warning that quotes the action: its date reads in order too.
            warning = page.locator(".db-warnings__list > li", has_text="2026-10-15")
            assert_in_order(warning, ["Call back", "2026", "10-15"])
            page.locator(".db-fix > summary").click()  # and in the rep's detail, as `dealbook check` prints it
            assert_in_order(page.locator(".db-fix li", has_text="2026-10-15"), ["deals/bidi.yml", "Call back", "2026",
                                                                                "10-15", "do it"])

            # Stakeholders: two names in one cell of the matrix, and the table row.
            cell = page.locator(".db-matrix__cell", has_text="Alice Able")
            assert_in_order(cell, ["Alice Able", "Bob Baker"])
            assert_in_order(page.locator("table.db-stakeholders tbody tr").first,
                            ["Alice Able", "CIO", "2026", "11-02", "Met twice"])
            assert_in_order(page.locator("table.db-competitors tbody tr").first, ["Rival Inc", "Cheap", "Slow"])
            assert_in_order(page.locator("table.db-negotiation tbody tr").first,
                            ["Price", "List", "Ten off", "Twenty off", "Thirty off", "Training"])
            assert_in_order(page.locator(".db-summary"), ["Summary paragraph"])
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            # A closed deal: the reason, then nothing reordered after it in the box.
            page.goto(base + deals["Bidi lost"]["url"], wait_until="networkidle")
            assert_in_order(page.locator(".db-closed"), [LABELS.lost_reason, "Too pricey"])
            assert_in_order(page.locator("dd.db-amount"), ["7", ",000", "USD"])

            # The pipeline: rows, lists, and the line under a poisoned title.
            page.goto(base + SITE_PATHS.url(SITE_PATHS.pipeline_page), wait_until="networkidle")
            row = page.locator("table.db-deals tbody tr", has_text="Bidi title")
            assert_in_order(row, ["Bidi title", "3", "Olivia Owner", "5,000", "USD", "2027", "01-15", "Call back",
                                  "2026", "10-15"])
            assert_in_order(row.locator("td").first, ["Bidi title", "Bidi account"])  # the account under the deal
            attention = page.locator("ul.db-attention > li", has_text="Bidi title")
            assert_in_order(attention, ["Bidi title", "—", "Olivia", "Owner", "Call back", "2026", "10-15"])
            grade_item = page.locator(".db-grades li", has_text="Bidi title")
            assert_in_order(grade_item, ["Bidi title", "Bidi", "account"])

            # The stage page lists the deal with its amount after two poisoned fields.
            stage = load_stage_model(project.model).stage(3)
            page.goto(base + SITE_PATHS.url(SITE_PATHS.stage_page(stage)), wait_until="networkidle")
            listed = page.locator("ul.db-stage-deals > li", has_text="Bidi title")
            assert_in_order(listed, ["Bidi title", "—", "Bidi", "account", "5", ",000", "USD", LABELS.grade])
            assert tab.foreign == [], f"requests left {HOST}: {tab.foreign}"
