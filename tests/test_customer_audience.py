"""The customer audience (issue 28, item 4): `dealbook build --audience customer` builds, for each deal with
`share: true`, one standalone page for the buyer at an address made from a secret, with the plan in the buyer's
purchasing steps, both sides' milestones, the agreed next steps, an `.ics` and a plan workbook, and nothing else:
no other deal, no amount, no negotiation, no stakeholder, no theme, search index or sitemap."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import AS_OF_EPOCH, Project
from icalendar import Calendar

from generator.labels import Labels
from generator.site.share import share_token
from generator.sources.stage_model import load_stage_model

SECRET = "correct horse battery staple"

SHARED = """\
title: LIMS for the QC labs
account: Hohenfels Biologics GmbH
owner: Zed Sentinelowner
stage: 6
status: open
amount: 7351946
currency: EUR
expected_close: 2027-02-26
probability: 0.37
grade: A
share: true
summary: Background SENTINEL-SUMMARY
stakeholders:
  - name: SENTINEL-STAKEHOLDER-NAME
    title: SENTINEL-STAKEHOLDER-TITLE
    role: decision-maker
    influence: high
    stance: skeptic
    notes: SENTINEL-STAKEHOLDER-NOTES
exits:
  5: {date: 2026-11-01, evidence: SENTINEL-EXIT-EVIDENCE}
competitors:
  - name: SENTINEL-COMPETITOR
    strengths: SENTINEL-STRENGTHS
negotiation:
  terms:
    - topic: price
      opening: SENTINEL-OPENING
      walk_away: SENTINEL-WALK-AWAY
      concessions: SENTINEL-CONCESSIONS
next_steps:
  - action: Send the validation package to QA
    owner: Sophie Hartmann
    due: 2026-12-01
plan:
  - milestone: Demo scoring by the evaluation team
    side: customer
    owner: Dr. Matthias Keller
    due: 2026-12-11
    stage: 6
  - milestone: "=HYPERLINK(\\"http://example.com\\") contract draft sent"
    side: us
    owner: Sophie Hartmann
    due: 2027-01-22
    stage: 7
  - milestone: Reference visit
    side: us
    owner: Sophie Hartmann
    due: 2026-11-20
"""

OTHER = """\
title: SENTINEL-OTHER-TITLE
account: SENTINEL-OTHER-ACCOUNT
owner: Other Rep
stage: 3
status: open
amount: 1000
expected_close: 2027-03-31
next_steps:
  - action: SENTINEL-OTHER-STEP
plan:
  - milestone: SENTINEL-OTHER-MILESTONE
    side: customer
    owner: Someone
    due: 2027-01-10
"""

SENTINELS = ["SENTINEL", "Sentinelowner", "7351946", "7,351,946", "7 351 946", "735万", "skeptic"]


def _build(project: Project, secret: str | None, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DEALBOOK_SHARE_SECRET"}
    env["SOURCE_DATE_EPOCH"] = AS_OF_EPOCH
    if secret is not None:
        env["DEALBOOK_SHARE_SECRET"] = secret
    return subprocess.run([sys.executable, "-m", "generator", "build", "--audience", "customer", *args],
                          cwd=project.root, env=env, capture_output=True, text=True, timeout=120)


def _every_text(site: Path) -> dict[str, str]:
    """Every file of the site as text, each part of a workbook on its own (`x.xlsx!xl/worksheets/sheet1.xml`)."""
    out = {}
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        name = path.relative_to(site).as_posix()
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                for part in book.namelist():
                    out[f"{name}!{part}"] = book.read(part).decode("utf-8", "replace")
        else:
            out[name] = path.read_bytes().decode("utf-8", "replace")
    return out


@pytest.fixture
def shared_project(project: Project) -> Project:
    project.write_deal("hohenfels.yml", SHARED)
    project.write_deal("other.yml", OTHER)
    return project


def test_the_buyer_gets_one_page_of_the_plan_and_nothing_else(shared_project: Project) -> None:
    project = shared_project
    done = _build(project, SECRET)
    assert done.returncode == 0, done.stderr
    token = share_token(SECRET, "hohenfels")
    assert len(token) >= 20 and token in done.stdout  # the rep is told the address to send
    # Exactly these files: the page in each language with its calendar and workbook, and empty folder pages.
    files = {p.relative_to(project.site).as_posix() for p in project.site.rglob("*") if p.is_file()}
    pages = {f"{prefix}plan/{token}/{name}" for prefix in ("", "zh/") for name in ("index.html", "plan.ics", "plan.xlsx")}
    assert files == pages | {"robots.txt", "index.html", "plan/index.html", "zh/index.html", "zh/plan/index.html"}
    # The leak test: no file, no workbook part holds anything of the other deal or what the buyer may not see.
    found = [(name, s) for name, text in _every_text(project.site).items() for s in SENTINELS if s in text]
    assert found == []
    page = (project.site / "plan" / token / "index.html").read_text(encoding="utf-8")
    model = load_stage_model(project.model)
    for labels, html in ((Labels("en"), page),
                         (Labels("zh"), (project.site / "zh/plan" / token / "index.html").read_text(encoding="utf-8"))):
        # The plan in the buyer's purchasing steps, not our stage names.
        for stage in model.stages:
            assert labels.pick(stage, "customer_step").replace("'", "&#39;") in html
            assert labels.stage_name(stage) not in html
        assert "Demo scoring by the evaluation team" in html and "Dr. Matthias Keller" in html
        assert "Send the validation package to QA" in html  # the agreed next steps
        assert labels.share_sides["customer"] in html and labels.share_sides["us"] in html
    # Milestones under the step whose exit they achieve; an unstaged one under "other milestones".
    step6, step7 = page.index('<span class="step__number">Step 6</span>'), page.index(">Step 7<")
    assert step6 < page.index("Demo scoring") < step7 < page.index("contract draft sent") < page.index("Other milestones") \
        < page.index("Reference visit")
    assert "you are here" in page[step6:step7]
    # The only links: its own downloads and the same page in the other language.
    hrefs = set(__import__("re").findall(r'href="([^"]*)"', page))
    assert hrefs == {"plan.ics", "plan.xlsx", f"../../zh/plan/{token}/index.html"}
    events = Calendar.from_ical((project.site / "plan" / token / "plan.ics").read_bytes()).walk("VEVENT")
    assert sorted(str(e["SUMMARY"]) for e in events) == sorted(
        ["Demo scoring by the evaluation team", '=HYPERLINK("http://example.com") contract draft sent',
         "Reference visit"])
    # The workbook holds the plan, the formula-looking milestone as text.
    import openpyxl

    sheet = openpyxl.load_workbook(project.site / "plan" / token / "plan.xlsx").active
    values = [c.value for row in sheet.iter_rows() for c in row if c.value is not None]
    assert '=HYPERLINK("http://example.com") contract draft sent' in values
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


def test_the_address_changes_with_the_secret(shared_project: Project) -> None:
    project = shared_project
    assert _build(project, SECRET).returncode == 0
    assert _build(project, "another secret").returncode == 0
    assert share_token(SECRET, "hohenfels") != share_token("another secret", "hohenfels")
    assert share_token(SECRET, "hohenfels") != share_token(SECRET, "other")
    folders = sorted(p.name for p in (project.site / "plan").iterdir() if p.is_dir())
    assert folders == [share_token("another secret", "hohenfels")]  # the old address is gone with the old build


def test_without_the_secret_nothing_is_built(shared_project: Project) -> None:
    project = shared_project
    assert _build(project, SECRET).returncode == 0
    before = {p: p.read_bytes() for p in project.site.rglob("*") if p.is_file()}
    for secret in (None, "", "   "):
        refused = _build(project, secret)
        assert refused.returncode == 1
        assert refused.stdout == "" and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert "DEALBOOK_SHARE_SECRET" in refused.stderr and "Traceback" not in refused.stderr
        assert {p: p.read_bytes() for p in project.site.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in project.root.iterdir() if "building" in p.name) == []


def test_mkdocs_yml_may_name_the_customer_audience(shared_project: Project) -> None:
    project = shared_project
    config = project.root / "mkdocs.yml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "  - dealbook:\n", "  - dealbook:\n      audience: customer\n", 1), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("DEALBOOK_SHARE_SECRET", "DEALBOOK_AUDIENCE")}
    env.update(SOURCE_DATE_EPOCH=AS_OF_EPOCH, DEALBOOK_SHARE_SECRET=SECRET)
    done = subprocess.run([sys.executable, "-m", "generator", "build"], cwd=project.root, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (project.site / "plan" / share_token(SECRET, "hohenfels") / "index.html").is_file()
    assert not (project.site / "deals").exists()
