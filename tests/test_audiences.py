"""Audiences (`audiences:` in the stage model): a build for the company leaves out what it declares, in
every file of the site; the team's build has it all; an audience is checked where it is declared."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import fields, replace
from datetime import date
from pathlib import Path

import openpyxl
from conftest import ROOT, Project, run_check
from test_team_privacy import readable, site_files

from generator.sources.audiences import Audience, field_names, leave_out, removable
from generator.sources.deal_files import Competitor, Deal, Exit, Milestone, NegotiationTerm, NextStep, Stakeholder
from generator.sources.stage_model import load_stage_model

# One marker per left-out field, each in no other file of the project: found in the team's site,
# in none of the company's.
LEFT_OUT = {
    "negotiation.terms.opening": "Zqxopening7731", "negotiation.terms.target": "Zqxtarget7732",
    "negotiation.terms.walk_away": "Zqxwalkaway7733", "negotiation.terms.customer_position": "Zqxcustpos7734",
    "negotiation.terms.concessions": "Zqxconcede7735", "stakeholders.notes": "Zqxnotes7736",
    "competitors.name": "Zqxrival7737", "competitors.strengths": "Zqxstrong7738",
    "competitors.weaknesses": "Zqxweak7739", "team.quotas": "7364919",
}
EMAIL = "zqx.rep7740@example.com"  # team.email: in no site at all (the team file's addresses are never kept)
KEPT = {"title": "Zqxtitle7741", "stakeholders.name": "Zqxperson7742", "summary": "Zqxsummary7743"}

SENTINEL_DEAL = f"""\
title: {KEPT["title"]}
account: Zqx Account
owner: Zqx Rep
stage: 7
status: open
amount: 2500000
expected_close: 2027-02-26
forecast: omitted
summary: {KEPT["summary"]}
stakeholders:
  - name: {KEPT["stakeholders.name"]}
    role: decision-maker
    influence: high
    stance: champion
    notes: {LEFT_OUT["stakeholders.notes"]}
competitors:
  - name: {LEFT_OUT["competitors.name"]}
    strengths: {LEFT_OUT["competitors.strengths"]}
    weaknesses: {LEFT_OUT["competitors.weaknesses"]}
negotiation:
  terms:
    - topic: price
      opening: {LEFT_OUT["negotiation.terms.opening"]}
      target: {LEFT_OUT["negotiation.terms.target"]}
      walk_away: {LEFT_OUT["negotiation.terms.walk_away"]}
      customer_position: {LEFT_OUT["negotiation.terms.customer_position"]}
      concessions: {LEFT_OUT["negotiation.terms.concessions"]}
"""
# A lost deal, deleted after it was committed: the history pages and /history.json report its competitor,
# read from its version in git.
LOST_DEAL = """\
title: Zqx lost deal
account: Zqx Account
owner: Zqx Rep
stage: 5
status: lost
lost_reason: price
amount: 900000
expected_close: 2026-11-10
competitors:
  - name: Zqxhistoryrival7744
"""
LEFT_OUT["competitors (history)"] = "Zqxhistoryrival7744"
MEMBER = f"""\
  - name: Zqx Rep
    email: {EMAIL}
    quotas: {{2026-Q4: {LEFT_OUT["team.quotas"]}, 2027-Q1: {LEFT_OUT["team.quotas"]}}}
"""


def _build(project: Project, *args: str) -> subprocess.CompletedProcess:
    """`dealbook build` as a user runs it (the fixture's as-of date is in the environment)."""
    return subprocess.run([sys.executable, "-m", "generator", "build", *args], cwd=project.root,
                          capture_output=True, text=True, timeout=600)


def _found(site: Path, markers: dict[str, str]) -> dict[str, list[str]]:
    """Each marker's field → the files (workbook parts one by one) it is in."""
    found: dict[str, list[str]] = {}
    for name, data in site_files(site):
        text = readable(data)
        for field, marker in markers.items():
            if marker.casefold() in text:
                found.setdefault(field, []).append(name)
    return found


def _deal_json(site: Path) -> dict:
    return next(d for d in json.loads((site / "deals.json").read_text(encoding="utf-8")) if d["title"] == KEPT["title"])


def _stakeholder_row(workbook: Path) -> list:
    """The sentinel stakeholder's row of the deal workbook's Stakeholders sheet (the third sheet)."""
    book = openpyxl.load_workbook(workbook)
    sheet = book.worksheets[2]
    return next([c.value for c in row] for row in sheet.iter_rows() if row[0].value == KEPT["stakeholders.name"])


def _hidden_sheet_text(workbook: Path) -> str:
    book = openpyxl.load_workbook(workbook)
    hidden = [ws for ws in book.worksheets if ws.sheet_state == "hidden"]
    assert len(hidden) == 1
    return "".join(str(c.value) for row in hidden[0].iter_rows() for c in row if c.value is not None)


def _sheet_names(workbook: Path) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(workbook.read_bytes())) as book:
        return re.findall(r'<sheet name="([^"]+)"', book.read("xl/workbook.xml").decode("utf-8"))


def test_the_company_build_leaves_out_every_declared_field_and_the_team_build_has_them(
        sample_project: Project) -> None:
    project = sample_project
    team_file = project.root / "playbook" / "team.yml"
    team_file.write_text(team_file.read_text(encoding="utf-8") + MEMBER, encoding="utf-8")
    project.write_deal("zqx-sentinel.yml", SENTINEL_DEAL)
    project.write_deal("zqx-lost.yml", LOST_DEAL)
    # A git history, so that the history pages and /history.json are built from the deals' past versions.
    git = ["git", "-c", "user.name=Zqx Tester", "-c", "user.email=tester@example.invalid"]
    subprocess.run(["git", "init", "-q"], cwd=project.root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=project.root, check=True)
    # Committed before the tests' as-of date (2026-11-27): a later commit is not history yet.
    for day, args in (("2026-11-02", ["commit", "-q", "-m", "deals"]),
                      # The lost deal then deleted: its competitor is only in its past version, in git.
                      ("2026-11-20", ["rm", "-q", "deals/zqx-lost.yml"]),
                      ("2026-11-20", ["commit", "-q", "-m", "lost deal gone"])):
        stamp = f"{day}T10:00:00+00:00"
        subprocess.run([*git, *args], cwd=project.root, check=True,
                       env={**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp})

    team = _build(project, "--site-dir", "site-team")
    assert team.returncode == 0, team.stderr[-3000:]
    # The company build second: it must not take any page or workbook the team build cached.
    company = _build(project, "--audience", "company")
    assert company.returncode == 0, company.stderr[-3000:]
    team_site, company_site = project.root / "site-team", project.site

    in_team = _found(team_site, {**LEFT_OUT, **KEPT, "team.email": EMAIL})
    in_company = _found(company_site, {**LEFT_OUT, **KEPT, "team.email": EMAIL})
    assert {field: where[:3] for field, where in in_company.items() if field not in KEPT} == {}
    assert sorted(in_team) == sorted({**LEFT_OUT, **KEPT}), "the team's site has every marker (else the scan is blind)"
    assert sorted(in_company) == sorted(KEPT)
    # Both languages, the data, the search index and the sitemap were among the files read.
    for site in (team_site, company_site):
        names = {name for name, _ in site_files(site)}
        assert {"deals.json", "pipeline.json", "history.json", "sitemap.xml.gz", "search/search_index.js",
                "zh/search/search_index.js"} <= names
    assert any("zh/" in where for where in in_team["stakeholders.notes"])
    assert any(".xlsx!" in where for where in in_team["negotiation.terms.walk_away"])

    # Influence and stance are words every site shows (the vocabularies): the sentinel's own page and
    # workbook row hold none of them, in the company's site.
    for site, has in ((team_site, True), (company_site, False)):
        for prefix in ("", "zh/"):
            page = (site / prefix / project.paths.deal_page("zqx-sentinel").removesuffix(".md")).with_suffix(".html")
            html = page.read_text(encoding="utf-8")
            assert ('class="db-matrix"' in html) is has
            assert ("db-negotiation" in html) is has
        workbook = site / "workbooks" / "zqx-sentinel.xlsx"
        row = _stakeholder_row(workbook)
        assert ("champion" in row) is has and ("high" in row) is has, row
        assert bool(re.search(r'"(stance|influence)"\],"[a-z]', _hidden_sheet_text(workbook))) is has
        assert ("Negotiation" in _sheet_names(workbook)) is has
    assert _stakeholder_row(company_site / "workbooks" / "zqx-sentinel.xlsx")[:3] == \
        [KEPT["stakeholders.name"], None, "decision-maker"]

    # The rep's forecast call left out: the deal counts in its stage's category (stage 7: commit).
    assert _deal_json(team_site)["forecast_category"] == "omitted"
    assert _deal_json(company_site)["forecast_category"] == "commit"
    # No quota anywhere in the company's pipeline data (the whole team's included).
    pipeline = json.loads((company_site / "pipeline.json").read_text(encoding="utf-8"))
    quotas = re.findall(r'"quota": ?([^,}\]]+)', json.dumps(pipeline))
    assert quotas and set(quotas) == {"null"}

    # Every page says whom it is for, in its language.
    assert "Built for the company audience" in (company_site / "index.html").read_text(encoding="utf-8")
    assert "本站面向的读者范围：company" in (company_site / "zh" / "index.html").read_text(encoding="utf-8")
    assert "Built for the team audience" in (team_site / "deals" / "index.html").read_text(encoding="utf-8")


def test_an_audience_no_site_can_be_built_for_is_one_line_and_the_site_stays(project: Project) -> None:
    project.site.mkdir()
    (project.site / "index.html").write_text("the last good site", encoding="utf-8")
    for name, words in (("nobody", "'nobody' is not an audience of playbook/playbook.yml; it declares team, "
                                   "company, customer"),
                        ("customer", "the 'customer' audience's pages need DEALBOOK_SHARE_SECRET, which is not set")):
        done = _build(project, "--audience", name)
        assert done.returncode == 1
        assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert done.stderr.startswith(f"error: --audience: {words}")
        assert sorted(p.name for p in project.site.iterdir()) == ["index.html"]
        assert (project.site / "index.html").read_text(encoding="utf-8") == "the last good site"
    # The same refusal from mkdocs.yml's `audience:`, before mkdocs empties anything.
    config = project.root / "mkdocs.yml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "  - dealbook:\n", "  - dealbook:\n      audience: nobody\n", 1), encoding="utf-8")
    done = _build(project)
    assert done.returncode == 1
    assert "mkdocs.yml: error: audience: 'nobody' is not an audience of playbook/playbook.yml" in done.stderr
    assert "Traceback" not in done.stderr
    assert (project.site / "index.html").read_text(encoding="utf-8") == "the last good site"


def test_a_field_an_audience_cannot_leave_out_is_an_error_at_its_line(project: Project) -> None:
    model = project.model
    text = model.read_text(encoding="utf-8")
    wrong = text.replace("      - stakeholders.notes\n", "      - stakeholders.mood\n      - amount\n"
                         "      - stakeholders.role\n", 1)
    assert wrong != text
    model.write_text(wrong, encoding="utf-8")
    lines = wrong.splitlines()
    line = next(i for i, t in enumerate(lines, start=1) if t == "      - stakeholders.mood")
    en = run_check(project.root).stdout
    assert (f"playbook/playbook.yml:{line}:9: error: audiences.company.leaves_out[4]: 'stakeholders.mood' is not a "
            "field of a deal file or of the team file (did you mean 'stakeholders'?)") in en
    assert (f"playbook/playbook.yml:{line + 1}:9: error: audiences.company.leaves_out[5]: 'amount' cannot be left "
            "out: every deal has it, and the pipeline is computed from it") in en
    assert (f"playbook/playbook.yml:{line + 2}:9: error: audiences.company.leaves_out[6]: 'stakeholders.role' "
            "cannot be left out: a check warns when it is missing") in en
    zh = run_check(project.root, "--lang", "zh").stdout
    assert (f"playbook/playbook.yml:{line}:9: error: audiences.company.leaves_out[4]: 'stakeholders.mood' "
            "不是项目文件或团队名单中的字段") in zh


def _values(deal: Deal, name: str) -> list:
    """What a deal holds at a dotted field name (the file's `negotiation.terms` is the deal's list of terms)."""
    parts = name.replace("negotiation.terms", "negotiation").split(".")
    value = getattr(deal, parts[0])
    if len(parts) == 1:
        return [value]
    if isinstance(value, dict) and parts[0] == "qualification":
        return [value.get(parts[1])]
    items = value.values() if isinstance(value, dict) else value
    return [getattr(item, parts[1]) for item in items]


def test_every_field_an_audience_may_leave_out_is_emptied_and_nothing_else() -> None:
    model = load_stage_model(ROOT / "playbook" / "playbook.yml")
    factor = model.evaluation.factors[0].key
    full = Deal(id="x", path="deals/x.yml", title="T", account="A", owner="O", stage=7, status="open", amount=5.0,
                currency="CNY", expected_close=date(2027, 1, 1), lost_reason="L", summary="S", probability=0.5,
                forecast="commit", grade="A", qualification={f.key: 3 for f in model.evaluation.factors},
                stakeholders=[Stakeholder("N", date(2026, 1, 1), "T", "user", "high", "champion", "No")],
                exits={1: Exit(date(2026, 1, 2), "E")}, next_steps=[NextStep("Do", "Me", date(2026, 2, 1), True)],
                competitors=[Competitor("C", "S", "W")],
                negotiation=[NegotiationTerm("price", "o", "t", "w", "c", "k")],
                plan=[Milestone("M", "us", "Me", date(2026, 3, 1), True, 2)], share=True)
    names = field_names(model)
    can = sorted(n for n in names if removable(n, names) and not n.startswith("team."))
    assert {"negotiation", "stakeholders.stance", "stakeholders.notes", "competitors", "forecast",
            f"qualification.{factor}"} <= set(can)
    assert not {"title", "amount", "currency", "stakeholders", "stakeholders.role", "stakeholders.name",
                "lost_reason", "exits"} & set(can)
    for name in can:
        audience = replace(model, audience=Audience("x", (name,)))
        [emptied] = leave_out([full], audience)
        assert all(v in (None, "", [], {}, False) for v in _values(emptied, name)), name
        assert any(v not in (None, "", [], {}, False) for v in _values(full, name)), name
        changed = {f.name for f in fields(Deal) if getattr(full, f.name) != getattr(emptied, f.name)}
        assert changed == {name.split(".")[0]}, (name, changed)
