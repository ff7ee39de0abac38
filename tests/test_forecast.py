"""The forecast: one reporting currency, categories, fiscal periods, owners and quotas — against figures worked out by hand.

One site is built (module scope) with a fiscal year starting in April, deals in CNY, USD and EUR, a rep's
override, a won, a lost and an abandoned deal, and a team file; its /deals.json and /pipeline.json must equal
the numbers below, each computed by hand in the comments.
"""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from datetime import date
from pathlib import Path

import pytest
from conftest import AS_OF_EPOCH, ROOT, SITE_PATHS, Project, run_check

from generator.model.forecast import period_formula, period_of, shift_period
from generator.site.paths import SitePaths, owner_slug
from generator.sources.stage_model import load_stage_model

# As of 2026-11-27 with the fiscal year starting in April: FY2027 runs from April 2026 to March 2027, so this
# period is FY2027-Q3 (October–December 2026) and the next FY2027-Q4. Rates (playbook.yml): USD 7.10, EUR 7.70.
DEALS = {
    # Stage 7 is `commit`; win probability 0.80. 1,000,000 CNY → weighted 800,000.
    "alpha": """\
        title: Alpha ERP
        account: Alpha Co
        owner: Ann Lee
        stage: 7
        status: open
        amount: 1000000
        currency: CNY
        expected_close: 2026-12-15
        """,
    # Stage 5 is `best-case`, the rep says commit. 200,000 USD × 7.10 = 1,420,000; × 0.45 = 639,000.
    "bravo": """\
        title: Bravo MES
        account: Bravo GmbH
        owner: Ann Lee
        stage: 5
        status: open
        amount: 200000
        currency: USD
        forecast: commit
        expected_close: 2027-02-10
        """,
    # Stage 3 is `pipeline`. 123,456.78 EUR × 7.70 = 950,617.206 → 950,617.21; × 0.20 = 190,123.442 → 190,123.44.
    # April 2027 is the first quarter of FY2028.
    "charlie": """\
        title: Charlie WMS
        account: Charlie SA
        owner: Bo Chen
        stage: 3
        status: open
        amount: 123456.78
        currency: EUR
        expected_close: 2027-04-20
        """,
    # Won: 500,000 CNY, probability 1, weighted 500,000; closed in November 2026 → FY2027-Q3.
    "delta": """\
        title: Delta SCADA
        account: Delta Ltd
        owner: Bo Chen
        stage: 8
        status: won
        amount: 500000
        expected_close: 2026-11-01
        """,
    # Lost: 50,000 USD × 7.10 = 355,000, weighted 0; October 2026 → FY2027-Q3.
    "echo": """\
        title: Echo LIMS
        account: Echo AG
        owner: Ann Lee
        stage: 4
        status: lost
        amount: 50000
        currency: USD
        expected_close: 2026-10-05
        lost_reason: Price
        """,
    # The rep leaves it out of the forecast: 10,000 EUR × 7.70 = 77,000; probability 0.5 → 38,500. Its owner
    # is not in the team file: a warning, not an error.
    "foxtrot": """\
        title: Foxtrot APC
        account: Foxtrot Oy
        owner: Cy Unknown
        stage: 2
        status: open
        amount: 10000
        currency: EUR
        probability: 0.5
        forecast: omitted
        expected_close: 2027-03-31
        """,
    # Abandoned counts as lost, whatever the rep's forecast said: 40,000 CNY, weighted 0; January 2027 → FY2027-Q4.
    "golf": """\
        title: Golf TOS
        account: Golf Port
        owner: Cy Unknown
        stage: 2
        status: abandoned
        amount: 40000
        currency: CNY
        forecast: commit
        expected_close: 2027-01-10
        lost_reason: Budget cut
        """,
}

TEAM = """\
members:
  - name: Ann Lee
    email: ann.lee@example.com
    quotas: {FY2027-Q3: 2000000, FY2027-Q4: 2500000}
  - name: Bo Chen
    quotas: {FY2027-Q3: 1000000, FY2028-Q1: 1500000}
  - name: Dee Park
    quotas: {FY2027-Q4: 300000}
"""


def row(period: str, quota: float | None, commit: float = 0, best_case: float = 0, pipeline: float = 0,
        omitted: float = 0, won: float = 0, lost: float = 0, weighted: float = 0) -> dict:
    return {"period": period, "commit": commit, "best_case": best_case, "pipeline": pipeline, "omitted": omitted,
            "won": won, "lost": lost, "weighted": weighted, "quota": quota}


EXPECTED_DEALS = {  # id: (amount_reporting, weighted_amount_reporting, forecast_category, close_period)
    "alpha": (1_000_000, 800_000, "commit", "FY2027-Q3"),
    "bravo": (1_420_000, 639_000, "commit", "FY2027-Q4"),
    "charlie": (950_617.21, 190_123.44, "pipeline", "FY2028-Q1"),
    "delta": (500_000, 500_000, "won", "FY2027-Q3"),
    "echo": (355_000, 0, "lost", "FY2027-Q3"),
    "foxtrot": (77_000, 38_500, "omitted", "FY2027-Q4"),
    "golf": (40_000, 0, "lost", "FY2027-Q4"),
}
EXPECTED_PERIODS = [
    # alpha commit; delta won; echo lost. Weighted 800,000 + 500,000 + 0. Quotas 2,000,000 + 1,000,000.
    row("FY2027-Q3", 3_000_000, commit=1_000_000, won=500_000, lost=355_000, weighted=1_300_000),
    # bravo commit; foxtrot omitted; golf lost. Weighted 639,000 + 38,500. Quotas 2,500,000 + 300,000.
    row("FY2027-Q4", 2_800_000, commit=1_420_000, omitted=77_000, lost=40_000, weighted=677_500),
    row("FY2028-Q1", 1_500_000, pipeline=950_617.21, weighted=190_123.44),
]
EXPECTED_OWNERS = [  # sorted by name; Dee Park has no deal but a quota; Cy Unknown has deals but no quota
    {"owner": "Ann Lee", "periods": [
        row("FY2027-Q3", 2_000_000, commit=1_000_000, lost=355_000, weighted=800_000),
        row("FY2027-Q4", 2_500_000, commit=1_420_000, weighted=639_000),
        row("FY2028-Q1", 0)]},
    {"owner": "Bo Chen", "periods": [
        row("FY2027-Q3", 1_000_000, won=500_000, weighted=500_000),
        row("FY2027-Q4", 0),
        row("FY2028-Q1", 1_500_000, pipeline=950_617.21, weighted=190_123.44)]},
    {"owner": "Cy Unknown", "periods": [
        row("FY2027-Q3", None),
        row("FY2027-Q4", None, omitted=77_000, lost=40_000, weighted=38_500),
        row("FY2028-Q1", None)]},
    {"owner": "Dee Park", "periods": [row("FY2027-Q3", 0), row("FY2027-Q4", 300_000), row("FY2028-Q1", 0)]},
]
# Open deals only: foxtrot at 2, charlie at 3, bravo at 5, alpha at 7.
EXPECTED_STAGES = {2: (1, 77_000, 38_500), 3: (1, 950_617.21, 190_123.44), 5: (1, 1_420_000, 639_000),
                   7: (1, 1_000_000, 800_000)}


def make_forecast_project(root: Path, fiscal_year_start: int = 4, team: str | None = TEAM) -> Project:
    root.mkdir(parents=True)
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(ROOT / "playbook", root / "playbook")
    project = Project(root)
    model = project.model.read_text(encoding="utf-8")
    assert "\nfiscal_year_start: 1\n" in model
    project.model.write_text(model.replace("\nfiscal_year_start: 1\n", f"\nfiscal_year_start: {fiscal_year_start}\n"),
                             encoding="utf-8")
    team_file = root / "playbook" / "team.yml"
    if team is None:
        team_file.unlink()
    else:
        team_file.write_text(team, encoding="utf-8")
    project.deals.mkdir()
    for name, text in DEALS.items():
        project.write_deal(f"{name}.yml", text)
    return project


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Project:
    project = make_forecast_project(tmp_path_factory.mktemp("forecast") / "project")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", AS_OF_EPOCH)
        mp.chdir(project.root)
        project.build()
    return project


def _json(project: Project, name: str):
    return json.loads((project.site / name).read_text(encoding="utf-8"))


# --- /deals.json and /pipeline.json equal the hand-computed figures ---------------------------

def test_deals_json_carries_each_deal_in_the_reporting_currency(built: Project) -> None:
    deals = {d["id"]: d for d in _json(built, "deals.json")}
    assert set(deals) == set(EXPECTED_DEALS)
    for deal_id, (amount, weighted, category, period) in EXPECTED_DEALS.items():
        d = deals[deal_id]
        got = (d["amount_reporting"], d["weighted_amount_reporting"], d["forecast_category"], d["close_period"])
        assert got == (amount, weighted, category, period), deal_id
    # the original amount and currency stay as the rep wrote them
    assert (deals["charlie"]["amount"], deals["charlie"]["currency"]) == (123456.78, "EUR")


def test_pipeline_json_equals_the_hand_computed_forecast(built: Project) -> None:
    data = _json(built, "pipeline.json")
    assert data["as_of"] == "2026-11-27" and data["reporting_currency"] == "CNY"
    assert data["periods"] == EXPECTED_PERIODS
    assert [{"owner": o["owner"], "periods": o["periods"]} for o in data["owners"]] == EXPECTED_OWNERS
    stages = {s["stage"]: (s["deals"], s["amount"], s["weighted"]) for s in data["stages"]}
    assert sorted(stages) == list(range(1, 9))
    assert stages == {n: EXPECTED_STAGES.get(n, (0, 0, 0)) for n in range(1, 9)}
    # every owner's page exists where pipeline.json says
    for owner in data["owners"]:
        src = SitePaths.owner_pages(o["owner"] for o in data["owners"])[owner["owner"]]
        assert owner["url"] == SITE_PATHS.url(src)
        built.page(src.removesuffix(".md"))  # and the page is there


def test_the_sums_are_the_sums_of_deals_json(built: Project) -> None:
    """Anyone adding up /deals.json gets /pipeline.json: the totals are sums of the rounded per-deal figures."""
    deals = _json(built, "deals.json")
    for period in _json(built, "pipeline.json")["periods"]:
        mine = [d for d in deals if d["close_period"] == period["period"]]
        assert period["weighted"] == pytest.approx(sum(d["weighted_amount_reporting"] for d in mine), abs=0.005)
        for category in ("commit", "best-case", "pipeline", "omitted", "won", "lost"):
            total = sum(d["amount_reporting"] for d in mine if d["forecast_category"] == category)
            assert period[category.replace("-", "_")] == pytest.approx(total, abs=0.005), (period, category)


def test_the_dashboard_board_and_owner_pages_show_the_forecast(built: Project) -> None:
    page = built.page("deals")
    forecast = re.search(r'<table class="db-forecast[^"]*">(.*?)</table>', page, re.S).group(1)
    this = re.search(r'<tr data-period="FY2027-Q3" class="is-current">(.*?)</tr>', forecast, re.S).group(1)
    assert "1,000,000" in this and "500,000" in this and "3,000,000" in this  # commit, won, quota
    assert 'data-period="FY2027-Q4"' in forecast and 'data-period="FY2028-Q1"' in forecast
    kpis = re.search(r'<dl class="db-kpis">(.*?)</dl>', page, re.S).group(1)
    assert "Commit FY2027-Q3" in kpis and "next, FY2027-Q4: 1,420,000" in kpis
    assert "17% of the quota of 3,000,000" in kpis  # won 500,000 of 3,000,000
    assert "Amounts in CNY, converted at the rates of 2026-11-20" in page
    # the deals table sorts on the converted amount and shows the original beside it
    charlie = re.search(r'<tr data-id="charlie"[^>]*>(.*?)</tr>', page, re.S).group(1)
    assert 'data-sort="950617.21"' in charlie and "123,456.78 EUR" in charlie and "≈ 950,617.21 CNY" in charlie
    assert re.search(r'<tr data-id="charlie" data-owner="Bo Chen" data-stage="3" data-grade="\w" '
                     r'data-forecast="pipeline">', page)
    # the owners table marks whose won + committed deals fall short of this period's quota
    assert '<tr data-owner="Ann Lee" class="is-thin">' in page  # won + commit 1,000,000 of 2,000,000
    assert '<tr data-owner="Bo Chen" class="is-thin">' in page  # 500,000 of 1,000,000
    assert '<tr data-owner="Dee Park">' in page and '<tr data-owner="Cy Unknown">' in page  # no quota this period

    board = built.page("deals/board")
    columns = re.findall(r'<section class="db-board__column" data-stage="(\d)"', board)
    assert columns == [str(n) for n in range(1, 9)]
    cards = re.findall(r'<li class="db-card db-card--\w+" data-id="([a-z]+)"', board)
    assert sorted(cards) == ["alpha", "bravo", "charlie", "foxtrot"]  # open deals only

    ann = built.page(SitePaths.owner_page(owner_slug("Ann Lee")).removesuffix(".md"))
    # The team file stays private: the e-mail address given there is not on the page.
    assert "ann.lee@example.com" not in ann and 'data-id="alpha"' in ann and 'data-id="delta"' not in ann
    cy = built.page("deals/owners/cy-unknown")
    assert "not in the team file" in cy
    # every deal page links to its owner's page
    ann_lee = SITE_PATHS.link(SITE_PATHS.deal_page("alpha"), SitePaths.owner_page("ann-lee"))
    assert f'href="{ann_lee}"' in built.page("deals/alpha")


def test_the_team_file_is_not_published(built: Project) -> None:
    assert not (built.site / "team.yml").exists() and not (built.site / "playbook.yml").exists()


# --- Problems: one line each, where they are -----------------------------------------------

def _check_project(tmp_path: Path, team: str | None = TEAM) -> Project:
    return make_forecast_project(tmp_path / "p", team=team)


def test_an_unknown_owner_is_a_warning_at_the_owner_line(tmp_path: Path) -> None:
    project = _check_project(tmp_path)
    result = run_check(project.root)
    assert result.returncode == 0, result.stdout
    lines = [line for line in result.stdout.splitlines() if "team" in line]
    assert lines == [
        "deals/foxtrot.yml:3:1: warning: owner: 'Cy Unknown' is not a member of the team in playbook/team.yml "
        "(add them under members: in playbook/team.yml, or correct the name)",
        "deals/golf.yml:3:1: warning: owner: 'Cy Unknown' is not a member of the team in playbook/team.yml "
        "(add them under members: in playbook/team.yml, or correct the name)"]
    project.write_deal("hotel.yml", DEALS["alpha"].replace("Ann Lee", "Ann Le"))
    assert "(did you mean 'Ann Lee'? Otherwise add them under members: in playbook/team.yml)" in \
        run_check(project.root).stdout
    # Without a team file nobody is questioned, and there are no quotas.
    (project.root / "playbook" / "team.yml").unlink()
    assert "team" not in run_check(project.root).stdout


def test_a_currency_without_a_rate_is_one_error_line_at_the_deals_currency(tmp_path: Path) -> None:
    project = _check_project(tmp_path)
    model = project.model.read_text(encoding="utf-8")
    project.model.write_text(model.replace("  JPY: 0.047\n", ""), encoding="utf-8")
    project.write_deal("yen.yml", DEALS["alpha"].replace("currency: CNY", "currency: JPY"))
    result = run_check(project.root)
    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert errors == ["deals/yen.yml:7:1: error: currency: there is no exchange rate for JPY into the reporting "
                      "currency CNY (add 'JPY: …' (how many CNY one JPY is worth) under exchange_rates in "
                      "playbook/playbook.yml)"]


@pytest.mark.parametrize("change,where,words", [
    (lambda m: m.replace("  USD: 7.10\n", "  USD: 7.10\n  CNY: 2\n"), "playbook/playbook.yml:30:3",
     "exchange_rates.CNY: CNY is the reporting currency, so its rate is 1, not 2"),
    (lambda m: m.replace("  USD: 7.10\n", "  USD: 0\n"), "playbook/playbook.yml:29:3",
     "exchange_rates.USD: a rate of 0 would make every USD deal worth nothing"),
    (lambda m: m.replace("  USD: 7.10\n", "  USD: 7.10\n  XYZ: 1.5\n"), "playbook/playbook.yml:30:3",
     "exchange_rates.XYZ: XYZ is not in currencies"),
    (lambda m: m.replace("reporting_currency: CNY", "reporting_currency: RMB"), "playbook/playbook.yml:27:1",
     "reporting_currency: the reporting currency RMB is not in currencies"),
    (lambda m: m.replace("fiscal_year_start: 4", "fiscal_year_start: 13"), "playbook/playbook.yml:42:20",
     "fiscal_year_start: 13 is out of range"),
    (lambda m: m.replace("    forecast: commit     # preferred", "    forecast: pipeline   # preferred"),
     "playbook/playbook.yml:", "stages[7].forecast: 'pipeline' is less certain than the stage before it"),
    (lambda m: m.replace("    forecast: best-case\n", "    forecast: maybe\n", 1), "playbook/playbook.yml:",
     "'maybe' is not one of pipeline, best-case, commit"),
])
def test_a_broken_forecast_setting_in_the_stage_model_is_one_line(tmp_path: Path, change, where, words) -> None:
    project = _check_project(tmp_path)
    project.model.write_text(change(project.model.read_text(encoding="utf-8")), encoding="utf-8")
    result = run_check(project.root)
    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert len(errors) == 1 and errors[0].startswith(where) and words in errors[0], result.stdout


@pytest.mark.parametrize("team,where,words", [
    (TEAM.replace("FY2027-Q4: 300000", "2027-Q4: 300000"), "playbook/team.yml:8:14",
     "members[3].quotas.2027-Q4: '2027-Q4' is not a period of this team: the fiscal year starts in month 4 "
     "(name it like 'FY2027-Q4')"),
    (TEAM.replace("FY2027-Q4: 300000", "Q4-2027: 300000"), "playbook/team.yml:8:14",
     "'Q4-2027' is not a quarter such as 2027-Q1 or FY2027-Q1"),
    (TEAM.replace("name: Dee Park", "name: Bo Chen"), "playbook/team.yml:7:5",
     "members[3].name: 'Bo Chen' is also member 2"),
    (TEAM.replace("2500000}", "lots}"), "playbook/team.yml:4:45", "expected a number"),
    (TEAM.replace("    email: ann.lee@example.com\n", "    mail: ann.lee@example.com\n"), "playbook/team.yml:3:5",
     "unknown key (did you mean 'email'?)"),
])
def test_a_mistake_in_the_team_file_is_one_line(tmp_path: Path, team, where, words) -> None:
    project = _check_project(tmp_path, team=team)
    result = run_check(project.root)
    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert len(errors) == 1 and errors[0].startswith(where + ": error: ") and words in errors[0], result.stdout


# --- Periods, slugs, reserved names --------------------------------------------------------

@pytest.mark.parametrize("day,start,period", [
    (date(2027, 1, 1), 1, "2027-Q1"), (date(2027, 3, 31), 1, "2027-Q1"), (date(2027, 4, 1), 1, "2027-Q2"),
    (date(2027, 12, 31), 1, "2027-Q4"),
    (date(2026, 4, 1), 4, "FY2027-Q1"), (date(2026, 6, 30), 4, "FY2027-Q1"), (date(2026, 12, 31), 4, "FY2027-Q3"),
    (date(2027, 1, 1), 4, "FY2027-Q4"), (date(2027, 3, 31), 4, "FY2027-Q4"), (date(2027, 4, 1), 4, "FY2028-Q1"),
    (date(2026, 7, 1), 7, "FY2027-Q1"), (date(2027, 6, 30), 7, "FY2027-Q4"), (date(2026, 12, 1), 12, "FY2027-Q1"),
    (date(2026, 11, 30), 12, "FY2026-Q4"),
])
def test_periods_of_calendar_and_fiscal_years(day: date, start: int, period: str) -> None:
    assert period_of(day, start) == period


def test_shifting_periods() -> None:
    assert shift_period("2026-Q4", 1) == "2027-Q1" and shift_period("2027-Q1", -1) == "2026-Q4"
    assert shift_period("FY2027-Q3", 2) == "FY2028-Q1" and shift_period("FY2027-Q1", -5) == "FY2025-Q4"


def test_the_period_formula_is_period_of_in_spreadsheet_terms() -> None:
    """The workbook's formula, evaluated with the few spreadsheet functions it uses, gives period_of for every month."""
    for start in (1, 4, 10):
        for month in range(1, 13):
            day = date(2027, month, 15)
            assert _spreadsheet_like(period_formula("D", start), day) == period_of(day, start), (start, month)


def _spreadsheet_like(formula: str, day: date) -> str:
    """A tiny evaluator for the few functions the period formula uses (& joins text)."""
    expression = formula.replace("YEAR(D)", str(day.year)).replace("MONTH(D)", str(day.month))
    expression = re.sub(r"\bIF\(", "_if(", expression).replace("MOD(", "_mod(").replace("INT(", "_int(")
    parts = [p.strip() for p in _split_amp(expression)]
    env = {"_if": lambda c, a, b: a if c else b, "_mod": lambda a, b: a % b, "_int": lambda x: int(x // 1)}
    return "".join(str(eval(p, env)) for p in parts)  # noqa: S307 - our own formula text


def _split_amp(expression: str) -> list[str]:
    out, depth, current, quoted = [], 0, "", False
    for ch in expression:
        if ch == '"':
            quoted = not quoted
        if not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        if ch == "&" and depth == 0 and not quoted:
            out.append(current)
            current = ""
        else:
            current += ch
    return [*out, current]


def test_owner_slugs_are_stable_safe_and_distinct() -> None:
    assert owner_slug("Sophie Hartmann") == "sophie-hartmann"
    assert re.fullmatch(r"jose-nunez-[0-9a-f]{8}", owner_slug("José Núñez"))  # "Jose Nunez" has jose-nunez
    assert re.fullmatch(r"owner-[0-9a-f]{8}", owner_slug("刘洋"))
    assert owner_slug("刘洋") == owner_slug("刘洋") != owner_slug("周婷")
    assert re.fullmatch(r"li-[0-9a-f]{8}", owner_slug("Li 伟"))
    assert re.fullmatch(r"etc-passwd-[0-9a-f]{8}", owner_slug("../../etc/passwd"))
    assert re.fullmatch(r"script-x-script-[0-9a-f]{8}", owner_slug("<script>x</script>"))
    pages = SitePaths.owner_pages(["Li Wei", "li wei", "Index", "刘洋"])
    assert len(set(pages.values())) == 4 and all(p.startswith("deals/owners/") for p in pages.values())
    assert "deals/owners/index.md" not in pages.values()
    assert all("/" not in p.removeprefix("deals/owners/") for p in pages.values())


def test_board_and_owners_are_reserved_deal_ids(tmp_path: Path) -> None:
    model = load_stage_model(ROOT / "playbook" / "playbook.yml")
    assert {"board", "owners"} <= SitePaths().reserved_ids(model)
    project = _check_project(tmp_path)
    for name in ("board", "owners"):
        project.write_deal(f"{name}.yml", textwrap.dedent(DEALS["alpha"]))
    result = run_check(project.root)
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert [e.split(":")[0] for e in errors] == ["deals/board.yml", "deals/owners.yml"], result.stdout
    assert all("is reserved" in e for e in errors)


def test_without_a_team_file_quotas_are_null(tmp_path: Path) -> None:
    from generator.build import read_project
    from generator.cache import Cache
    from generator.labels import Labels

    project = make_forecast_project(tmp_path / "p", fiscal_year_start=1, team=None)
    pipeline = read_project(project.root, project.model, project.deals, date(2026, 11, 27), Labels("en"),
                            Cache(None), history="none").pipeline
    assert pipeline is not None and pipeline.team is None
    data = pipeline.forecast.as_json()
    assert [p["period"] for p in data["periods"]] == ["2026-Q4", "2027-Q1", "2027-Q2"]
    assert all(p["quota"] is None for p in data["periods"])
    assert all(p["quota"] is None for o in data["owners"] for p in o["periods"])
    assert pipeline.forecast.this_period == "2026-Q4" and pipeline.forecast.next_period == "2027-Q1"
