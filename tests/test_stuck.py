"""One definition of a stuck deal and of a passed close date, shown alike everywhere; the Best case tile.

On a project whose deals are past their stages' thresholds, the board's red cards, the dashboard's
stuck list, "Needs attention", the deals tables and `/pipeline.json` name the same deals; a deal whose
expected close has passed is flagged on its page, on the board, in "Needs attention" and in
`/pipeline.json`; the Best case tile is commit + best case of its period and says so.
"""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from conftest import Project, new_project

from generator.model.rules import CLOSE_PASSED, STUCK_IN_STAGE, STUCK_NO_UPDATE, deal_flags
from generator.model.timeline import Timeline
from generator.sources.stage_model import load_stage_model

AS_OF = date(2026, 11, 27)  # conftest.AS_OF_EPOCH


def _deal(stage: int, exits: dict[int, str], *, status: str = "open", close: str = "2027-03-31",
          amount: int = 100000, contact: str | None = None, title: str = "") -> str:
    lines = [f"title: {title or 'Deal'}", "account: Example Co", "owner: Test Rep", f"stage: {stage}",
             f"status: {status}", f"amount: {amount}", f"expected_close: {close}", "stakeholders:",
             "  - name: Ann", "    role: decision-maker"]
    if contact:
        lines.append(f"    last_contact: {contact}")
    lines.append("exits:")
    lines += [f"  {n}: {{date: {day}, evidence: Done}}" for n, day in sorted(exits.items())]
    return "\n".join(lines) + "\n"


def _exits(upto: int, last: str, before: str = "2026-08-01") -> dict[int, str]:
    """Exit evidence for stages 1..upto, the last one dated `last`."""
    return {n: (last if n == upto else before) for n in range(1, upto + 1)}


# id → the flags it must carry (the shipped stage model: stage 2 stuck after 21 days, 3 after 30, 6 and 7 after 14).
DEALS = {
    # 87 days in stage 3, but a stakeholder contacted a week ago: stuck in the stage only.
    "instage": (_deal(3, _exits(2, "2026-09-01"), contact="2026-11-20", title="Long in stage"),
                {STUCK_IN_STAGE}),
    # 87 days in stage 2 and nothing since: stuck in both ways.
    "silent": (_deal(2, _exits(1, "2026-09-01"), title="Silent deal"), {STUCK_IN_STAGE, STUCK_NO_UPDATE}),
    # fresh in stage 6 (best case), but its expected close was 12 days ago.
    "late": (_deal(6, _exits(5, "2026-11-20"), close="2026-11-15", amount=500000, contact="2026-11-25",
                   title="Late deal"), {CLOSE_PASSED}),
    # fresh in stage 7 (commit), closing this quarter.
    "committed": (_deal(7, _exits(6, "2026-11-20"), close="2026-12-20", amount=300000, contact="2026-11-25",
                        title="Committed deal"), set()),
    # fresh in stage 2.
    "fresh": (_deal(2, _exits(1, "2026-11-20"), title="Fresh deal"), set()),
    # closed long ago, its close date passed: closed deals are never flagged.
    "won": (_deal(8, _exits(7, "2026-08-20"), status="won", close="2026-10-01", amount=200000, title="Won deal"),
            set()),
}
STUCK = {i for i, (_, flags) in DEALS.items() if flags & {STUCK_IN_STAGE, STUCK_NO_UPDATE}}
LATE = {i for i, (_, flags) in DEALS.items() if CLOSE_PASSED in flags}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Project:
    mp = pytest.MonkeyPatch()
    project = new_project(tmp_path_factory.mktemp("stuck") / "project")
    for deal_id, (text, _) in DEALS.items():
        project.write_deal(f"{deal_id}.yml", text)
    mp.setenv("SOURCE_DATE_EPOCH", "1795737600")
    mp.chdir(project.root)
    try:
        project.build()
    finally:
        mp.undo()
    return project


def _ids(pattern: str, text: str) -> set[str]:
    return set(re.findall(pattern, text))


def _section(page: str, start: str, end: str) -> str:
    return page[page.index(start):page.index(end, page.index(start))]


def test_the_model_flags_each_deal_once_with_codes_and_parameters(built: Project) -> None:
    deals = {d["id"]: d for d in json.loads((built.site / "deals.json").read_text(encoding="utf-8"))}
    for deal_id, (_, expected) in DEALS.items():
        assert {f["code"] for f in deals[deal_id]["flags"]} == expected, deal_id
        assert deals[deal_id]["stale"] is (deal_id in STUCK), deal_id
    instage = next(f for f in deals["instage"]["flags"] if f["code"] == STUCK_IN_STAGE)
    assert instage == {"code": STUCK_IN_STAGE, "days": 87, "limit": 30, "stage": 3}
    assert deals["late"]["flags"] == [{"code": CLOSE_PASSED, "date": "2026-11-15", "days": 12}]


def test_board_dashboard_attention_and_pipeline_json_name_the_same_stuck_deals(built: Project) -> None:
    board = built.page("deals/board")
    red = _ids(r'<li class="db-card db-card--stale" data-id="([a-z]+)"', board)
    dashboard = built.page("deals")
    stuck_list = _ids(r'<li data-id="([a-z]+)"', _section(dashboard, '<ul class="db-stale-list">', "</ul>"))
    attention = _section(dashboard, '<ul class="db-attention">', '<h2 id="owners">')
    flagged_attention = {i for i, flags in re.findall(r'<li data-id="([a-z]+)" data-flags="([^"]*)"', attention)
                         if "stuck." in flags}
    pipeline = json.loads((built.site / "pipeline.json").read_text(encoding="utf-8"))
    in_json = {e["id"] for e in pipeline["stuck"]}
    assert red == stuck_list == flagged_attention == in_json == STUCK
    # each stuck deal says why, in "Needs attention" too, and is not called stuck by one page and fresh by another
    assert "In stage 3 for 87 days (a deal in stage 3 counts as stuck after 30)." in attention
    assert "No change for 87 days (a deal in stage 2 counts as stuck after 21)." in attention
    assert "No open deal is stuck." not in dashboard
    # the deals table (dashboard and owner pages alike) marks them with the same chip
    rows = dict(re.findall(r'<tr data-id="([a-z]+)"[^>]*>(.*?)</tr>', dashboard, re.S))
    assert {i for i, row in rows.items() if "db-flag--stuck" in row} == STUCK
    owner = built.page("deals/owners/test-rep")
    assert {i for i, row in re.findall(r'<tr data-id="([a-z]+)"[^>]*>(.*?)</tr>', owner, re.S)
            if "db-flag--stuck" in row} == STUCK


def test_a_passed_close_date_is_flagged_on_its_page_the_board_attention_and_pipeline_json(built: Project) -> None:
    assert LATE == {"late"}
    page = built.page("deals/late")
    close = re.search(r'<dd class="db-close">(.*?)</dd>', page, re.S).group(1)
    assert "close date passed" in close and "2026-11-15" in close
    assert "close date passed" not in built.page("deals/fresh")
    board = built.page("deals/board")
    cards = dict(re.findall(r'<li class="db-card[^"]*" data-id="([a-z]+)"(?: data-flags="([^"]*)")?', board))
    assert {i for i, flags in cards.items() if CLOSE_PASSED in flags} == LATE
    assert "close date passed" in re.search(r'data-id="late".*?</li>', board, re.S).group(0)
    attention = _section(built.page("deals"), '<ul class="db-attention">', '<h2 id="owners">')
    assert {i for i, flags in re.findall(r'<li data-id="([a-z]+)" data-flags="([^"]*)"', attention)
            if CLOSE_PASSED in flags} == LATE
    assert "Expected close 2026-11-15 has passed." in attention
    pipeline = json.loads((built.site / "pipeline.json").read_text(encoding="utf-8"))
    assert [(e["id"], e["flags"]) for e in pipeline["close_date_passed"]] == \
        [("late", [{"code": CLOSE_PASSED, "date": "2026-11-15", "days": 12}])]
    # the Chinese site flags the same deals in its own words
    zh_board = built.page("zh/deals/board")
    assert "成交日期已过" in re.search(r'data-id="late".*?</li>', zh_board, re.S).group(0)
    assert _ids(r'<li class="db-card db-card--stale" data-id="([a-z]+)"', zh_board) == STUCK


def test_the_best_case_tile_is_commit_plus_best_case_and_says_so(built: Project) -> None:
    pipeline = json.loads((built.site / "pipeline.json").read_text(encoding="utf-8"))
    this = next(p for p in pipeline["periods"] if p["period"] == "2026-Q4")
    assert (this["commit"], this["best_case"]) == (300000, 500000)
    for url, title, words in (("deals", "Best case 2026-Q4", "commit 300,000 + best case 500,000"),
                              ("zh/deals", "2026-Q4 最佳情况", "承诺 300,000 + 最佳情况 500,000")):
        tile = re.search(r'<div class="db-kpi db-kpi--best-case">(.*?)</div>', built.page(url), re.S).group(1)
        assert title in tile and words in tile
        assert '<dd class="db-kpi__value">800,000</dd>' in tile


def test_the_dashboard_says_which_measure_of_days_in_stage_it_shows(built: Project) -> None:
    dashboard = built.page("deals")
    table = _section(dashboard, '<h2 id="days-in-stage">', "</table>")
    assert "median" in table.lower() and "open deal" in table.lower() and "Average" not in table
    # stage 2 holds "silent" (87 days) and "fresh" (7 days): the median of the two
    assert re.search(r'<tr data-stage="2">.*?<td class="db-avg">47</td>', table, re.S)
    assert "中位数" in _section(built.page("zh/deals"), '<h2 id="days-in-stage">', "</table>")


def test_stuck_means_too_long_in_the_stage_or_too_long_without_a_change() -> None:
    from conftest import ROOT

    model = load_stage_model(ROOT / "playbook" / "playbook.yml")
    limit = model.stage(3).stale_days

    class Deal:  # the fields deal_flags reads
        stage, status, expected_close = 3, "open", date(2027, 1, 1)

    def flags(in_stage: int | None, since_update: int | None, status: str = "open") -> set[str]:
        deal = Deal()
        deal.status = status
        times = Timeline("git", (), None, None, in_stage, since_update, False, limit)
        return {f.code for f in deal_flags(deal, times, model, AS_OF)}  # type: ignore[arg-type]

    assert flags(limit, limit) == set()  # the threshold itself is not past it
    assert flags(limit + 1, 2) == {STUCK_IN_STAGE}
    assert flags(2, limit + 1) == {STUCK_NO_UPDATE}
    assert flags(None, None) == set()  # nothing known: not flagged
    assert flags(limit + 9, limit + 9, status="lost") == set()
