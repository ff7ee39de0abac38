"""What moved and where deals die: events, conversion, weekly snapshots and the two pages, from a real git history.

One repository is built commit by commit at set dates (every kind of event, a deleted file, a commit
made in another time zone, and changes not committed yet) and built once; the tests read
`/history.json` and the pages it made. The model's rules that need many deals (the flag on a
probability gap) are checked on the pure computation.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from conftest import AS_OF_EPOCH, ROOT, SITE_PATHS, Project, new_project

from generator.labels import Labels
from generator.model import movement as mv
from generator.site.history_pages import compact
from generator.sources import deal_versions
from generator.sources.deal_versions import DealVersions, Facts, Unread, Version, facts
from generator.sources.stage_model import load_stage_model

AS_OF = date(2026, 11, 27)


def deal(stage: int, status: str = "open", amount: int = 1000, currency: str = "", close: str = "2027-03-31",
         owner: str = "Ann", reason: str = "", competitors: tuple[str, ...] = ()) -> str:
    lines = [f"title: Deal at stage {stage}", "account: Example Co", f"owner: {owner}", f"stage: {stage}",
             f"status: {status}", f"amount: {amount}", f"expected_close: {close}"]
    if currency:
        lines.append(f"currency: {currency}")
    if reason:
        lines.append(f"lost_reason: {reason}")
    if competitors:
        lines.append("competitors:")
        lines += [f"  - name: {name}" for name in competitors]
    return "\n".join(lines) + "\n"


def git(root: Path, *args: str, when: str | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Rita Rep", "GIT_AUTHOR_EMAIL": "rep@example.com",
           "GIT_COMMITTER_NAME": "Rita Rep", "GIT_COMMITTER_EMAIL": "rep@example.com"}
    if when:
        env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True).stdout


def commit(project: Project, when: str, message: str) -> None:
    git(project.root, "add", "-A")
    git(project.root, "commit", "-qm", message, when=when if "T" in when else f"{when}T10:00:00+00:00")


def make_history(project: Project) -> None:
    """The scenario every assertion below is worked out from (as of 2026-11-27, a Friday)."""
    git(project.root, "init", "-q", "-b", "main")
    write = project.write_deal
    write("alpha.yml", deal(2, competitors=("Rival",)))
    write("beta.yml", deal(3, amount=2000, currency="USD", close="2027-01-31", owner="Bo", competitors=("Rival",)))
    write("gamma.yml", deal(1, amount=500, close="2027-02-28"))
    commit(project, "2026-10-01", "Three new deals")
    write("alpha.yml", deal(3, competitors=("Rival",)))
    write("delta.yml", deal(4, amount=4000, owner="Bo"))
    commit(project, "2026-10-10", "alpha advances; delta")
    write("alpha.yml", deal(2, competitors=("Rival",)))
    commit(project, "2026-10-20", "alpha back to stage 2")
    write("alpha.yml", deal(2, amount=1500, close="2027-06-30", competitors=("Rival",)))
    commit(project, "2026-11-02", "alpha slips, and grows")
    write("beta.yml", deal(3, "lost", amount=2000, currency="USD", close="2027-01-31", owner="Bo",
                           reason="Price too high", competitors=("Rival",)))
    commit(project, "2026-11-10", "beta lost")
    write("gamma.yml", deal(1, "abandoned", amount=500, close="2027-02-28", reason="No budget"))
    commit(project, "2026-11-12", "gamma abandoned")
    (project.deals / "delta.yml").unlink()
    commit(project, "2026-11-18", "delta deleted")
    write("gamma.yml", deal(1, amount=500, close="2027-02-28"))
    commit(project, "2026-11-20", "gamma reopened")
    write("alpha.yml", deal(8, "won", amount=1500, close="2027-06-30", competitors=("Rival",)))
    # 23:30 in New York is 04:30 the next day in UTC: the event is dated by the UTC day.
    commit(project, "2026-11-23T23:30:00-05:00", "alpha won")
    write("eps.yml", deal(2, amount=800, currency="EUR", close="2027-05-31"))
    write("gamma.yml", deal(1, amount=500, close="2027-01-15"))
    commit(project, "2026-11-25", "eps; gamma's close date brought forward")
    # Not committed: eps moves on, and a new deal.
    write("eps.yml", deal(3, amount=800, currency="EUR", close="2027-05-31"))
    write("new-one.yml", deal(1, amount=300, owner="Cy"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Project, dict]]:
    project = new_project(tmp_path_factory.mktemp("history") / "project")
    root = project.root
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", AS_OF_EPOCH)
        patch.chdir(root)
        make_history(project)
        project.build()
        yield project, json.loads((project.site / "history.json").read_text(encoding="utf-8"))


# playbook/playbook.yml: CNY is the reporting currency; one USD is 7.10 CNY, one EUR 7.70.
RATES = {"CNY": 1, "USD": 7.10, "EUR": 7.70}


def event(day: str, deal_id: str, kind: str, old: object, new: object, stage: int, amount: float,
          currency: str = "CNY") -> dict:
    return {"date": day, "deal": deal_id, "kind": kind, "from": old, "to": new,
            "amount_reporting": round(amount * RATES[currency], 2), "stage": stage, "amount": amount,
            "currency": currency}


def test_every_event_in_order(built: tuple[Project, dict]) -> None:
    _, history = built
    assert history["as_of"] == "2026-11-27" and history["available"] is True
    assert history["events"] == [
        event("2026-10-01", "alpha", "created", None, 2, 2, 1000),
        event("2026-10-01", "beta", "created", None, 3, 3, 2000, "USD"),
        event("2026-10-01", "gamma", "created", None, 1, 1, 500),
        event("2026-10-10", "alpha", "advanced", 2, 3, 3, 1000),
        event("2026-10-10", "delta", "created", None, 4, 4, 4000),
        event("2026-10-20", "alpha", "moved-back", 3, 2, 2, 1000),
        event("2026-11-02", "alpha", "slipped", "2027-03-31", "2027-06-30", 2, 1500),
        event("2026-11-02", "alpha", "increased", 1000, 1500, 2, 500),  # the sum of a change is the change
        event("2026-11-10", "beta", "lost", "open", "lost", 3, 2000, "USD"),
        event("2026-11-12", "gamma", "abandoned", "open", "abandoned", 1, 500),
        event("2026-11-18", "delta", "deleted", 4, None, 4, 4000),
        event("2026-11-20", "gamma", "reopened", "abandoned", "open", 1, 500),
        event("2026-11-24", "alpha", "advanced", 2, 8, 8, 1500),
        event("2026-11-24", "alpha", "won", "open", "won", 8, 1500),
        event("2026-11-25", "eps", "created", None, 2, 2, 800, "EUR"),
        event("2026-11-25", "gamma", "pulled-in", "2027-02-28", "2027-01-15", 1, 500),
        event("2026-11-27", "eps", "advanced", 2, 3, 3, 800, "EUR"),  # not committed: dated the as-of day
        event("2026-11-27", "new-one", "created", None, 1, 1, 300),
    ]


def test_conversion_rows(built: tuple[Project, dict]) -> None:
    _, history = built
    probabilities = [0.05, 0.10, 0.20, 0.30, 0.45, 0.60, 0.80, 0.95]

    def row(stage: int, entered: int, moved_on: int, won: int, lost: int, still_open: int,
            median: float | None, exits: int = 0) -> dict:
        return {"stage": stage, "entered": entered, "moved_on": moved_on, "won": won, "lost": lost,
                "open": still_open, "median_days": median, "model_probability": probabilities[stage - 1],
                "observed_win_rate": None,  # fewer than 5 closed deals everywhere
                "exits": exits}

    assert history["conversion"] == [
        # gamma: 42 days open, then abandoned, reopened 11-20: 5 + 2 more; new-one: 0 days so far.
        # Stays ended: gamma's first (abandoned); its second and new-one's go on.
        row(1, entered=2, moved_on=0, won=0, lost=0, still_open=2, median=24.5, exits=1),
        # alpha: 9 + 13 + 22 days over two visits, then won; eps: 2 days, then moved on (not committed).
        # Stays ended: alpha's two (to 3, to 8) and eps's (to 3); alpha's slip in stage 2 ends none.
        row(2, entered=2, moved_on=2, won=1, lost=0, still_open=1, median=23, exits=3),
        # alpha 10 days, beta 40 days until lost, eps 0 days. Stays ended: alpha's (back to 2), beta's (lost).
        row(3, entered=3, moved_on=1, won=1, lost=1, still_open=1, median=10, exits=2),
        # delta: 39 days, then its file was deleted: neither won, lost nor open (its stay ended).
        row(4, entered=1, moved_on=0, won=0, lost=0, still_open=0, median=39, exits=1),
        row(5, 0, 0, 0, 0, 0, None), row(6, 0, 0, 0, 0, 0, None), row(7, 0, 0, 0, 0, 0, None),
        row(8, entered=1, moved_on=0, won=1, lost=0, still_open=0, median=None),  # won on arrival
    ]


def test_two_weekly_snapshots(built: tuple[Project, dict]) -> None:
    _, history = built
    weeks = {w["week_end"]: w for w in history["weekly"]}
    assert len(history["weekly"]) == 26
    assert history["weekly"][0]["week_end"] == "2026-05-31" and history["weekly"][-1]["week_end"] == "2026-11-22"
    # In the reporting currency (CNY), so nothing per currency.
    # Sunday 11-15: alpha (stage 2, 1500 since 11-02) and delta (stage 4); beta lost, gamma abandoned.
    assert weeks["2026-11-15"] == {
        "week_end": "2026-11-15", "by_stage": {"2": 1500.0, "4": 4000.0}, "open_deals": 2,
        "weighted": 1350.0, "per_currency": {}}  # 1500 × 10 % + 4000 × 30 %
    # Sunday 11-22: delta deleted, gamma reopened; alpha is won only on 11-24.
    assert weeks["2026-11-22"] == {
        "week_end": "2026-11-22", "by_stage": {"1": 500.0, "2": 1500.0}, "open_deals": 2, "weighted": 175.0,
        "per_currency": {}}
    # Sunday 10-04: beta's 2,000 USD (14,200 CNY, stage 3) beside alpha and gamma.
    assert weeks["2026-10-04"]["by_stage"] == {"1": 500.0, "2": 1000.0, "3": 14200.0}
    assert weeks["2026-09-27"]["open_deals"] == 0 and weeks["2026-09-27"]["by_stage"] == {}


def _svg_values(page: str, currency: str) -> list[str]:
    figure = re.search(rf'<figure class="db-chart db-waterfall" data-currency="{currency}">(.*?)</figure>', page, re.S)
    assert figure, currency
    return re.findall(r'<span class="db-wf__value" role="cell">([^<]*)</span>', figure.group(1))


def test_changes_page(built: tuple[Project, dict]) -> None:
    project, _ = built
    page = project.page("deals/changes")
    # The waterfall of the last 30 days (from 10-28), in CNY: start, new, increases, decreases, won, lost,
    # deleted (only when something was), end. Start: alpha 1,000 + beta 2,000 USD (14,200) + gamma 500 +
    # delta 4,000; new: gamma reopened 500, new-one 300, eps 800 EUR (6,160); lost: gamma 500, beta 14,200.
    assert _svg_values(page, "CNY") == ["19,700", "+6,960", "+500", "0", "−1,500", "−14,700", "−4,000", "6,960"]
    assert re.findall(r'<figure class="db-chart db-waterfall" data-currency="(\w+)"', page) == ["CNY"]
    week, earlier = page.split('id="last-7-days"')[1].split('id="earlier"')
    kinds = re.findall(r'data-kind="([a-z-]+)"', week)
    assert kinds == ["created", "advanced", "pulled-in", "won"]
    assert re.findall(r'data-kind="([a-z-]+)"', earlier) == ["slipped", "increased", "lost", "abandoned",
                                                              "reopened", "deleted"]
    created = re.search(r'data-kind="created">(.*?)</section>', week, re.S).group(1)
    assert "2 · 6,460 CNY" in created  # the count and the sum: 300 CNY + 800 EUR (6,160 CNY)
    eps = SITE_PATHS.link("deals/changes.md", SITE_PATHS.deal_page("eps"))
    assert f'<a href="{eps}"><bdi>Deal at stage 3</bdi></a>' in created  # a link to the deal's page
    deleted = re.search(r'data-kind="deleted">(.*?)</section>', earlier, re.S).group(1)
    assert "<bdi>delta</bdi>" in deleted and "href" not in deleted  # no page to link to any more
    summary = re.search(r'<tr data-kind="won">(.*?)</tr>', page).group(1)
    assert summary == "<td>Won</td><td><strong>1</strong> · 1,500 CNY</td><td><strong>1</strong> · 1,500 CNY</td>"
    changes = SITE_PATHS.link(SITE_PATHS.pipeline_page, "deals/changes.md")
    assert f'<a href="{changes}">What moved</a>' in project.page("deals")  # linked from the pipeline page


def test_insights_page(built: tuple[Project, dict]) -> None:
    project, _ = built
    page = project.page("deals/insights")
    stage = re.escape(SITE_PATHS.link("deals/insights.md", "stages/3-KEY.md")).replace("KEY", "[a-z-]+")
    assert re.search(rf'<tr data-stage="3"><td><a href="{stage}">3\. [^<]+</a></td>'
                     r"<td>3</td><td>1</td><td>1</td><td>1</td><td>1</td><td>20%</td>"
                     r'<td class="db-observed"><span class="db-too-few">too few: 2/5</span></td></tr>', page)
    # From which day, and what the history is too short for: rates (2 closed deals), not time in stage (stage 2
    # has 3 ended stays) nor the weekly chart (8 Sundays from 10-04).
    assert "Counted from 2026-10-01, the first commit of the deal files (57 days up to the as-of date)." in page
    assert re.findall(r'data-too-short="(\w+)"', page) == ["rates"]
    assert "A stage&#39;s median is shown once 3 stays in it have ended" in page  # some stages have too few
    assert "Deals closed since 2026-10-01: 2. A stage&#39;s observed win rate is shown once 5" in page
    times = re.search(r'<table class="db-time-in-stage">(.*?)</table>', page, re.S).group(1)
    assert re.search(r'<tr data-stage="2"><td>[^<]+</td><td>2</td><td>3</td><td class="db-median"><span class="db-meter"'
                     r'[^>]*></span>23</td></tr>', times)
    assert re.search(r'<tr data-stage="3"><td>[^<]+</td><td>3</td><td>2</td><td class="db-median">'
                     r'<span class="db-too-few">too few: 2/3</span></td></tr>', times)
    reasons = re.search(r'<table class="db-by-reason">(.*?)</table>', page, re.S).group(1)
    assert "<td><bdi>Price too high</bdi></td><td>1</td><td>14,200 CNY</td>" in reasons  # 2,000 USD
    assert "No budget" not in reasons  # gamma was reopened: it did not end abandoned
    at_stage = re.search(r'<table class="db-by-stage-lost">(.*?)</table>', page, re.S).group(1)
    assert re.search(rf'<tr data-stage="3"><td><a href="{stage}">3\. Preliminary proposal</a></td><td>1</td>'
                     r"<td>14,200 CNY</td></tr>", at_stage)  # the stage by its name, as in the other tables
    competitors = re.search(r'<table class="db-by-competitor">(.*?)</table>', page, re.S).group(1)
    assert ("<td><bdi>Rival</bdi></td><td>1</td><td>1</td><td><span class=\"db-too-few\">too few: 2/5</span>"
            "</td><td>1,500 CNY</td>") in competitors
    owners = re.search(r'<table class="db-by-owner">(.*?)</table>', page, re.S).group(1)
    assert re.findall(r"<bdi>(\w+)</bdi>", owners) == ["Ann", "Bo"]
    # One chart, in the reporting currency.
    assert re.findall(r'<figure class="db-chart db-weekly" data-currency="(\w+)"', page) == ["CNY"]
    numbers = re.search(r'<table class="db-weekly-table" data-currency="CNY">(.*?)</table>', page, re.S).group(1)
    assert "<tr><td>2026-11-15</td><td>2</td><td>5,500</td><td>1,350</td></tr>" in numbers
    assert not re.search(r'(src|url\()=?"?(https?:)?//', page)  # nothing is requested from another host


def test_versions_are_parsed_once_each(built: tuple[Project, dict], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    source, history = built
    project = Project(tmp_path / "copy")  # with its .git and .cache: the other tests keep their repository
    shutil.copytree(source.root, project.root, ignore=shutil.ignore_patterns("site"))
    monkeypatch.chdir(project.root)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", AS_OF_EPOCH)
    parsed: list[bytes] = []
    real = deal_versions.facts
    monkeypatch.setattr(deal_versions, "facts", lambda data: parsed.append(data) or real(data))
    logs: list[str] = []
    real_log = deal_versions._read_log
    monkeypatch.setattr(deal_versions, "_read_log", lambda top, folder, since=None: logs.append(folder)
                        or real_log(top, folder, since))
    project.build()  # the same HEAD and deals: the pages come from the cache; no version is read or parsed
    assert parsed == [] and logs == []
    assert json.loads((project.site / "history.json").read_text(encoding="utf-8")) == history
    cache = project.root / ".cache" / "versions"
    entries = len(list(cache.iterdir()))
    git(project.root, "add", "deals/eps.yml")
    git(project.root, "commit", "-qm", "eps advances", when="2026-11-26T10:00:00+00:00")
    project.build()  # a new commit: the log is read again, and only its one new version is parsed
    assert len(parsed) == 1 and b"stage: 3" in parsed[0] and logs == ["deals"]
    assert len(list(cache.iterdir())) == entries  # the old HEAD's entry was replaced, not kept
    events = json.loads((project.site / "history.json").read_text(encoding="utf-8"))["events"]
    assert event("2026-11-26", "eps", "advanced", 2, 3, 3, 800, "EUR") in events
    gamma = project.deals / "gamma.yml"
    gamma.write_text(gamma.read_text(encoding="utf-8").replace("title: Deal at stage 1", "title: Gamma"),
                     encoding="utf-8")
    git(project.root, "commit", "-qam", "gamma renamed", when="2026-11-26T11:00:00+00:00")
    project.build()  # a commit that changes no field the history reads: git does not even list it
    assert len(parsed) == 1 and logs == ["deals", "deals"]
    assert "<bdi>Gamma</bdi>" in project.page("deals/changes")


def test_the_chinese_site_of_a_two_language_build_has_the_pages_too(built: tuple[Project, dict]) -> None:
    project, _ = built  # the shipped mkdocs.yml: English at /, Chinese at /zh/
    changes = project.page("zh/deals/changes")
    assert "项目动态" in changes and "新增" in changes and "What moved" not in changes
    assert "阶段转化" in project.page("zh/deals/insights")
    link = SITE_PATHS.link(SITE_PATHS.pipeline_page, "deals/changes.md")
    assert f'<a href="{link}">项目动态</a>' in project.page("zh/deals")  # linked from the Chinese pipeline
    # /history.json is the same in both languages: written once, at the root, and linked from /zh/.
    assert not (project.site / "zh" / "history.json").exists()
    up = "../" + SITE_PATHS.link("deals/changes.md", SITE_PATHS.history_json)
    assert f'href="{up}"' in changes


# --- fallbacks --------------------------------------------------------------------------------------

def test_without_git_the_pages_say_why_and_what_to_do(project: Project) -> None:
    project.write_deal("alpha.yml", deal(2))
    project.build(strict=True)
    for url in ("deals/changes", "deals/insights"):
        page = project.page(url)
        assert "No history to show" in page and "the project is not in a git repository" in page
        assert "Keep the project in a git repository and commit the deal files" in page
    history = json.loads((project.site / "history.json").read_text(encoding="utf-8"))
    assert history["available"] is False and history["reason"] == "history_not_repo" and history["events"] == []


def test_in_a_shallow_clone_the_pages_say_why(project: Project, tmp_path: Path) -> None:
    git(project.root, "init", "-q", "-b", "main")
    project.write_deal("alpha.yml", deal(2))
    commit(project, "2026-10-01", "one")
    project.write_deal("alpha.yml", deal(3))
    commit(project, "2026-10-02", "two")
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{project.root}", str(clone))
    os.chdir(clone)
    Project(clone).build()
    page = Project(clone).page("deals/changes")
    assert "shallow clone" in page and "git fetch --unshallow" in page


def test_a_chinese_site_words_the_pages_in_chinese(built: tuple[Project, dict], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    source, _ = built
    root = tmp_path / "zh"
    shutil.copytree(source.root, root, ignore=shutil.ignore_patterns("site", ".cache"))
    config = root / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    assert "languages: [en, zh]" in text
    config.write_text(text.replace("languages: [en, zh]", "languages: [zh]"), encoding="utf-8")  # Chinese at /
    monkeypatch.chdir(root)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", AS_OF_EPOCH)
    Project(root).build()
    page = Project(root).page("deals/changes")
    assert "项目动态" in page and "新增" in page and "What moved" not in page
    assert "阶段转化" in Project(root).page("deals/insights")


# --- the model on its own -------------------------------------------------------------------------

def _facts(stage: int, status: str = "open", amount: float = 100) -> Facts:
    return Facts(stage, status, amount, "CNY", date(2027, 1, 1), None, "Ann")


def test_a_gap_to_the_model_is_flagged_from_ten_closed_deals() -> None:
    model = load_stage_model(ROOT / "playbook" / "playbook.yml")
    # Twelve deals reach stage 5 (model: 45 %); 9 are won, 3 lost: 75 %, 30 points above the model.
    versions = DealVersions({f"d{n}": [Version(date(2026, 9, 1), _facts(5)),
                                       Version(date(2026, 10, 1), _facts(8, "won") if n < 9 else _facts(5, "lost"))]
                             for n in range(12)})
    result = mv.movement(versions, [], set(versions.deals), model, AS_OF)
    row = result.conversion[4]
    assert (row.entered, row.won, row.lost, row.observed_win_rate, row.flagged) == (12, 9, 3, 0.75, True)
    assert row.median_days == 30
    assert not result.conversion[7].flagged  # stage 8: 9 won of 9, 100 % against 95 %
    # Six closed deals: a rate, but no flag yet.
    six = {f"d{n}": versions.deals[f"d{n}"] for n in range(6, 12)}  # 3 won, 3 lost
    few = mv.movement(DealVersions(six), [], set(six), model, AS_OF)
    assert few.conversion[4].observed_win_rate == 0.5 and not few.conversion[4].flagged


def test_axis_labels_are_short_and_never_in_exponent_form() -> None:
    zh, en = Labels("zh"), Labels("en")
    assert [compact(v, zh) for v in (5e7, 3.75e7, 1.25e7, 1.6e6, 4e5, 2.5e8, 0)] == [
        "5000万", "3750万", "1250万", "160万", "40万", "2.5亿", "0"]
    # Babel's short forms for the locale (CLDR): 400K, and trillions as T.
    assert [compact(v, en) for v in (5e7, 3.75e7, 1.6e6, 4e5, 2.5e12)] == ["50M", "37.5M", "1.6M", "400K", "2.5T"]


def test_the_waterfall_adds_up_and_a_reporting_currency_is_used_when_the_model_has_one() -> None:
    shipped = load_stage_model(ROOT / "playbook" / "playbook.yml")
    model = dataclasses.replace(shipped, reporting_currency="EUR", exchange_rates={"CNY": 0.125, "USD": 0.9})

    versions = DealVersions({
        "a": [Version(date(2026, 10, 1), _facts(2, amount=800)), Version(date(2026, 11, 20), _facts(2, amount=1600))],
        "b": [Version(date(2026, 10, 1), _facts(3, amount=400)._replace(currency="USD")),
              Version(date(2026, 11, 21), _facts(3, "lost", amount=400)._replace(currency="USD"))],
    })
    result = mv.movement(versions, [], {"a", "b"}, model, AS_OF)
    assert result.reporting == "EUR"
    assert [(e.kind, e.value_reporting) for e in result.events if e.date > date(2026, 11, 1)] == \
        [("increased", 100.0), ("lost", 360.0)]
    steps = result.waterfall.steps["EUR"]
    assert steps["start"] == 100 + 360 and steps["increases"] == 100 and steps["lost"] == 360 and steps["end"] == 200
    assert steps["start"] + steps["new"] + steps["increases"] - steps["decreases"] - steps["won"] - steps["lost"] \
        - steps["removed"] == steps["end"]
    week = result.as_json()["weekly"][-1]
    assert week["by_stage"] == {"2": 200.0} and week["weighted"] == 20.0 and week["per_currency"] == {}


# --- reading a version ------------------------------------------------------------------------------

QUICK = [  # read by the scan itself
    deal(3, "lost", amount=2500, currency="USD", reason="Price", competitors=("A", "B c")),
    "title: T\naccount: A\nowner: 'O''Brien'\nstage: 3   # moved on 2026-10-01\nstatus: \"won\"\namount: 12.5\n"
    "expected_close: 2027-01-31\ncompetitors:\n- name: X\n  strengths: fast\n",
    "\ufefftitle: T\r\naccount: A\r\nowner: O\r\nstage: 2\r\nstatus: open\r\namount: 1_000\r\nexpected_close: 2027-01-31\r\n",
]


@pytest.mark.parametrize("text", QUICK + [  # and those the scan leaves to the YAML reader
    "title: T\naccount: A\nowner: O\nstage: 2\nstatus: lost\namount: 10\nexpected_close: 2027-01-31\n"
    "lost_reason: the customer\n  chose another vendor\n",
    "title: T\naccount: A\nowner: O\nstage: 2\nstatus: lost\namount: 10\nexpected_close: 2027-01-31\n"
    "lost_reason: >\n  folded\n  text\ncompetitors: [{name: Flow}]\n",
    "title: \"T\n  continued: x\"\nstage: 4\nstatus: open\namount: 5\nexpected_close: 2027-01-31\nowner: O\n",
    "{title: T, stage: 5, status: open, amount: 7, expected_close: 2027-01-31, owner: O}\n",
    "---\nstage: 1\nstatus: open\namount: 1\nexpected_close: 2027-01-31\n",
])
def test_the_quick_scan_reads_what_the_yaml_reader_reads(text: str) -> None:
    plain = text.removeprefix("\ufeff").replace("\r\n", "\n")
    slow = deal_versions._read_nodes(plain)
    assert slow is not None
    assert facts(text.encode("utf-8")) == deal_versions._to_facts(*slow) is not None
    if text in QUICK:
        assert deal_versions._scan(plain) == slow


@pytest.mark.parametrize(("data", "field", "why"), [
    (b"stage: [1\n", "", "history_why_unreadable"),  # not YAML
    (b"stage: x\nstatus: open\namount: 1\n", "stage", "history_why_stage"),
    (b"- a\n- b\n", "stage", "history_why_missing"),
    (b"stage: 1\nstatus: open\n", "amount", "history_why_missing"),
    (b"\xff\xfe", "", "history_why_unreadable"),
    (b"", "stage", "history_why_missing"),
])
def test_a_version_that_is_not_a_deal_is_left_out(data: bytes, field: str, why: str) -> None:
    unread = facts(data)
    assert isinstance(unread, Unread) and (unread.field, unread.why) == (field, why)


def test_a_title_change_reuses_the_movement_and_a_stage_change_computes_it_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While serving, saving a deal whose history facts did not change must not recompute the movement."""
    from generator.build import history_movement
    from generator.cache import Cache
    from generator.diagnostics import Problems
    from generator.sources.deal_files import DealLoader, deal_files

    model = load_stage_model(ROOT / "playbook" / "playbook.yml")
    paths = deal_files(ROOT / "deals")
    deals = DealLoader(model, ROOT, Cache(None)).load_all(paths, Problems())
    movements: dict = {}  # a session's memo (`Session.movements`), nothing computed by an earlier test in it
    computed = []
    real = mv.movement
    monkeypatch.setattr(mv, "movement", lambda *args: computed.append(1) or real(*args))

    def source(deals: list) -> mv.MovementSource:
        return history_movement(None, ROOT / "deals", Cache(None), deals, paths, model, date(2026, 11, 27),
                                movements)

    first = source(deals)
    assert first.get().titles[deals[0].id] == deals[0].title and len(computed) == 1
    renamed = [dataclasses.replace(deals[0], title="A new title"), *deals[1:]]
    second = source(renamed)
    assert second.key != first.key  # the pages change, the numbers do not
    assert second.get().titles[deals[0].id] == "A new title" and len(computed) == 1
    # /history.json has no titles: what is made for it once serves the copy with the new title too.
    assert second.get().derived is first.get().derived
    moved = [dataclasses.replace(deals[0], stage=deals[0].stage % 8 + 1), *deals[1:]]
    third = source(moved)
    assert third.get().derived is not first.get().derived
    assert len(computed) == 2


def test_while_serving_a_title_change_remakes_only_the_history_page_that_shows_the_deal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from generator.build import read_project, site_outputs
    from generator.cache import Cache
    from generator.model.pipeline import ViewMemo
    from generator.site.pages import Remembered
    from generator.site.paths import SitePaths

    # Its own repository: a commit made after the built one's last (2026-11-25) could not be dated
    # 2026-09-01 (a back-dated commit takes the day of the one before it).
    project = new_project(tmp_path / "copy")
    monkeypatch.chdir(project.root)
    git(project.root, "init", "-q", "-b", "main")
    project.write_deal("quiet.yml", deal(2, owner="Cy"))
    commit(project, "2026-09-01", "A deal with nothing new in the last 30 days")
    project.write_deal("gamma.yml", deal(1, amount=500))
    commit(project, "2026-11-20", "gamma")
    remembered, views, made = {}, ViewMemo(), Remembered()

    def rebuild(kept: bool = True) -> dict[str, str]:
        pipeline = read_project(project.root, project.model, project.deals, AS_OF, Labels("en"),
                                Cache(project.root / ".cache"), movement=True, remembered=remembered if kept else None,
                                views=views if kept else None).pipeline
        return site_outputs(pipeline, Labels("en"), SitePaths(), Cache(project.root / ".cache"), workbooks=False,
                            remembered=made if kept else None)[0].pages.files

    changes, insights = SITE_PATHS.changes_page, SITE_PATHS.insights_page
    first = rebuild()
    assert "Deal at stage 1" in first[changes]  # gamma's events are on it; quiet's (2026-09-01) are not
    project.write_deal("quiet.yml", deal(2, owner="Cy").replace("Deal at stage 2", "Quiet renamed"))
    second = rebuild()
    assert second[changes] is first[changes] and second[insights] is first[insights]
    gamma = project.deals / "gamma.yml"
    gamma.write_text(gamma.read_text(encoding="utf-8").replace("title: Deal at stage 1", "title: Gamma renamed"),
                     encoding="utf-8")
    third = rebuild()
    assert third[changes] is not second[changes] and "<bdi>Gamma renamed</bdi>" in third[changes]
    assert third[insights] is second[insights]  # it shows no title
    fresh = rebuild(kept=False)
    assert (third[changes], third[insights]) == (fresh[changes], fresh[insights])
