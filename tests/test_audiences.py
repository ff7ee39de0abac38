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

SECRET = "an audience test's share secret"
EMAIL = "zqx.rep7740@example.com"  # team.email: in no site at all (the team file's addresses are never kept)
QUOTA = "7364919"  # team.quotas: a number no other file of the project holds
MEMBER = f"""\
  - name: Zqx Rep
    email: {EMAIL}
    quotas: {{2026-Q4: {QUOTA}, 2027-Q1: {QUOTA}}}
"""
# What a sample deal is given when it has none, so that every text field of the deal spec is in every deal.
ADDED = {
    "summary": "x",
    "stakeholders": [{"name": "x", "role": "user", "influence": "low", "stance": "neutral"}],
    "exits": {1: {"date": date(2026, 6, 1)}},
    "next_steps": [{"action": "x", "due": date(2026, 12, 10)}],
    "plan": [{"milestone": "x", "side": "customer", "owner": "x", "due": date(2026, 12, 18), "stage": 2}],
    "competitors": [{"name": "x"}],
    "negotiation": {"terms": [{"topic": "price"}]},
}
# A lost deal deleted after it was committed: only its version in git has it, for the history pages.
DELETED = {"title": "x", "account": "x", "owner": "Zqx Rep", "stage": 5, "status": "lost", "lost_reason": "x",
           "amount": 900000, "expected_close": date(2026, 11, 10), "competitors": [{"name": "x"}]}
# Deal text that is not the deal's to leave out: the owner is the team member's name (required, every
# audience has it; the buyer's page shows its own people, not ours).
NOT_MARKED = {"owner"}


def _text_fields(model) -> list[str]:
    """Every free-text field of the deal spec, dotted (`stakeholders.notes`): what can carry a marker."""
    from generator.sources.deal_format import deal_spec
    from generator.sources.spec import Record, Text

    out: list[str] = []

    def walk(spec, prefix: str) -> None:
        for key, field in spec.fields.items():
            inner = getattr(field.spec, "item", None) or getattr(field.spec, "value", None) or field.spec
            if isinstance(inner, Text):
                out.append(prefix + key)
            elif isinstance(inner, Record):
                walk(inner, f"{prefix}{key}.")

    walk(deal_spec(model), "")
    return [name for name in out if name not in NOT_MARKED]


def _mark(node: dict, parts: list[str], marker) -> None:
    """Give the field at `parts` a fresh marker in the deal's data, in every list item or map value on the way."""
    head, rest = parts[0], parts[1:]
    if not rest:
        node[head] = marker()
        return
    value = node.get(head)
    items = value.values() if isinstance(value, dict) and head != "negotiation" else (
        value if isinstance(value, list) else [value] if value is not None else [])
    for item in items:
        _mark(item, rest, marker)


def _marked_project(project: Project, model) -> tuple[dict[tuple[str, str], list[str]], set[str]]:
    """The sample deals, each of whose text fields holds markers of its own; ((deal id, field) → markers,
    the ids of deals shared with the buyer)."""
    import yaml

    markers: dict[tuple[str, str], list[str]] = {}
    shared: set[str] = set()
    datas = {path.stem: yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(project.deals.glob("*.yml"))}
    datas["zqx-deleted"] = dict(DELETED)
    for number, (deal_id, data) in enumerate(datas.items()):
        for key, value in ADDED.items():
            data.setdefault(key, json.loads(json.dumps(value, default=str)) if key != "exits" else dict(value))
        if data["status"] not in ("lost", "abandoned"):
            data.pop("lost_reason", None)
        else:
            data.setdefault("lost_reason", "x")
        for field in _text_fields(model):
            def marker(key: tuple[str, str] = (deal_id, field), number: int = number) -> str:
                made = f"zqm{number:02d}n{sum(len(m) for m in markers.values()):03d}q"
                markers.setdefault(key, []).append(made)
                return made
            _mark(data, field.split("."), marker)
        if data.get("share"):
            shared.add(deal_id)
        (project.deals / f"{deal_id}.yml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                                                      encoding="utf-8")
    return markers, shared


def _build(project: Project, *args: str, secret: str | None = None) -> subprocess.CompletedProcess:
    """`dealbook build` as a user runs it (the fixture's as-of date is in the environment)."""
    env = {k: v for k, v in os.environ.items() if k != "DEALBOOK_SHARE_SECRET"}
    if secret is not None:
        env["DEALBOOK_SHARE_SECRET"] = secret
    return subprocess.run([sys.executable, "-m", "generator", "build", *args], cwd=project.root, env=env,
                          capture_output=True, text=True, timeout=600)


def _found(site: Path, markers: set[str]) -> dict[str, list[str]]:
    """Each marker found → the files (workbook parts one by one) it is in."""
    found: dict[str, list[str]] = {}
    pattern = re.compile("|".join(re.escape(m) for m in sorted(markers, key=len, reverse=True)))
    for name, data in site_files(site):
        for marker in set(pattern.findall(readable(data))):
            found.setdefault(marker, []).append(name)
    return found


def _deal_json(site: Path, deal_id: str) -> dict:
    return next(d for d in json.loads((site / "deals.json").read_text(encoding="utf-8")) if d["id"] == deal_id)


def _stakeholder_row(workbook: Path, name: str) -> list:
    """A stakeholder's row of the deal workbook's Stakeholders sheet (the third sheet)."""
    book = openpyxl.load_workbook(workbook)
    sheet = book.worksheets[2]
    return next([c.value for c in row] for row in sheet.iter_rows() if row[0].value == name)


def _hidden_sheet_text(workbook: Path) -> str:
    book = openpyxl.load_workbook(workbook)
    hidden = [ws for ws in book.worksheets if ws.sheet_state == "hidden"]
    assert len(hidden) == 1
    return "".join(str(c.value) for row in hidden[0].iter_rows() for c in row if c.value is not None)


def _sheet_names(workbook: Path) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(workbook.read_bytes())) as book:
        return re.findall(r'<sheet name="([^"]+)"', book.read("xl/workbook.xml").decode("utf-8"))


def test_no_output_file_of_an_audience_holds_a_field_it_leaves_out(sample_project: Project) -> None:
    """Every text field of every deal of the sample project holds markers of its own; each shipped audience is
    built (both languages), and every file it writes, every workbook part, calendar, search index and sitemap
    read: no marker of a field the audience leaves out, every marker of a field it keeps."""
    project = sample_project
    model = load_stage_model(project.model)
    team_file = project.root / "playbook" / "team.yml"
    team_file.write_text(team_file.read_text(encoding="utf-8") + MEMBER, encoding="utf-8")
    # A rep's own forecast call (left out of the company's build) on a stage-7 deal.
    chenghu = project.deals / "chenghu-metro-afc.yml"
    chenghu.write_text(chenghu.read_text(encoding="utf-8") + "forecast: omitted\n", encoding="utf-8")
    markers, shared = _marked_project(project, model)
    fields_marked = {field for _, field in markers}
    assert fields_marked == set(_text_fields(model)) and len(shared) >= 2
    # A git history, so that the history pages and /history.json are built from the deals' past versions.
    git = ["git", "-c", "user.name=Zqx Tester", "-c", "user.email=tester@example.invalid"]
    subprocess.run(["git", "init", "-q"], cwd=project.root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=project.root, check=True)
    # Committed before the tests' as-of date (2026-11-27): a later commit is not history yet.
    for day, args in (("2026-11-02", ["commit", "-q", "-m", "deals"]),
                      ("2026-11-20", ["rm", "-q", "deals/zqx-deleted.yml"]),
                      ("2026-11-20", ["commit", "-q", "-m", "lost deal gone"])):
        stamp = f"{day}T10:00:00+00:00"
        subprocess.run([*git, *args], cwd=project.root, check=True,
                       env={**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp})

    sites = {}
    # The team's build first: the others must not take any page or workbook it cached.
    for audience in ("team", "company", "customer"):
        sites[audience] = project.root / f"site-{audience}"
        done = _build(project, "--audience", audience, "--site-dir", str(sites[audience]), secret=SECRET)
        assert done.returncode == 0, done.stderr[-3000:]
    every = {m for found in markers.values() for m in found} | {EMAIL, QUOTA}
    for audience in model.audiences:
        site = sites[audience.name]
        found = _found(site, every)
        names = {name for name, _ in site_files(site)}
        left_out = {m for (deal_id, field), ms in markers.items() for m in ms if not audience.shows(field)}
        if audience.builds_site:
            kept = {m for (deal_id, field), ms in markers.items() for m in ms
                    if audience.shows(field) and deal_id != "zqx-deleted"}
            # Both languages, the data, the search index, the sitemap and the calendars were among the files read.
            assert {"deals.json", "pipeline.json", "history.json", "sitemap.xml.gz", "search/search_index.js",
                    "zh/search/search_index.js", "zh/deals/hospital-his-2027.html"} <= names
            assert any(n.endswith(".ics") for n in names) and any(".xlsx!" in n for n in names)
        else:  # the buyer's pages: one per shared deal, nothing of any other deal
            left_out |= {m for (deal_id, _), ms in markers.items() for m in ms if deal_id not in shared}
            kept = {m for (deal_id, field), ms in markers.items() for m in ms
                    if audience.shows(field) and deal_id in shared}
            assert {n for n in names if n.startswith("zh/plan/")} and any(n.endswith(".ics") for n in names)
        leaked = {m: where[:2] for m, where in found.items() if m in left_out}
        assert leaked == {}, (audience.name, leaked)
        missing = sorted(field for (deal_id, field), ms in markers.items() for m in ms if m in kept - set(found))
        assert missing == [], (audience.name, missing)
        assert EMAIL not in found  # the team file's addresses are in no build
        assert (QUOTA in found) is audience.shows("team.quotas"), audience.name
        if audience.name == "team":
            assert left_out == set() and len(kept) > 300
            # The deleted deal's competitor, only in git, is on the history pages.
            assert markers[("zqx-deleted", "competitors.name")][0] in found
            assert any("zh/" in where for where in found[markers[("hospital-his-2027", "stakeholders.notes")][0]])
        else:
            assert len(left_out) > 100 and kept
    team_site, company_site = sites["team"], sites["company"]

    # Influence and stance are words every site shows (the vocabularies): a deal's own page and
    # workbook row hold none of them, in the company's site.
    person = markers[("korvath-fleet-dispatch", "stakeholders.name")][1]  # Priya Raman: a champion, medium
    for site, has in ((team_site, True), (company_site, False)):
        for prefix in ("", "zh/"):
            page = site / prefix / project.paths.deal_page("korvath-fleet-dispatch").replace(".md", ".html")
            html = page.read_text(encoding="utf-8")
            assert ('class="db-matrix"' in html) is has
            assert ("db-negotiation" in html) is has
        workbook = site / "workbooks" / "korvath-fleet-dispatch.xlsx"
        row = _stakeholder_row(workbook, person)
        assert ("champion" in row) is has and ("medium" in row) is has, row
        assert bool(re.search(r'"(stance|influence)"\],"[a-z]', _hidden_sheet_text(workbook))) is has
        assert ("Negotiation" in _sheet_names(workbook)) is has
    assert _stakeholder_row(company_site / "workbooks" / "korvath-fleet-dispatch.xlsx", person)[2] == "evaluator"

    # The rep's forecast call left out: the deal counts in its stage's category (stage 7: commit).
    assert _deal_json(team_site, "chenghu-metro-afc")["forecast_category"] == "omitted"
    assert _deal_json(company_site, "chenghu-metro-afc")["forecast_category"] == "commit"
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
