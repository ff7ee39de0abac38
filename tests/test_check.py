"""`dealbook check` as a rep runs it: a corpus of bad files, one per mistake."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import AS_OF_EPOCH, BASE_DEAL, run_check

BASE = BASE_DEAL


# (case, file name, content, expected "line:col", expected words in the message)
BAD = [
    ("yaml syntax", "a.yml", BASE + 'summary: "never closed\n', "14:1", "YAML syntax error"),
    ("tab indent", "a.yml", BASE + "competitors:\n\t- name: X\n", "14:1", "YAML syntax error"),
    ("duplicate key", "a.yml", BASE + "stage: 3\n", "13:1", "stage: duplicate key (first given on line 4)"),
    ("nested duplicate", "a.yml", BASE.replace("    role: decision-maker\n",
                                                "    role: decision-maker\n    role: user\n"),
     "11:5", "stakeholders[1].role: duplicate key (first given on line 10)"),
    ("unknown key", "a.yml", BASE.replace("stage: 2", "stge: 2"), "4:1", "stge: unknown key (did you mean 'stage'?)"),
    ("missing field", "a.yml", BASE.replace("owner: Test Rep\n", ""), "1:1", "owner: required field is missing"),
    ("wrong type", "a.yml", BASE.replace("amount: 1000", "amount: lots"), "6:9", "amount: expected a number"),
    ("text as number", "a.yml", BASE.replace("title: ERP rollout", "title: 2027"), "1:8",
     "title: expected text, got a whole number '2027' (put the value in quotes to make it text)"),
    ("percent", "a.yml", BASE + "probability: 80%\n", "13:14",
     "probability: expected a number from 0 to 1, got text '80%' (write a share as a fraction: 0.8 for 80%)"),
    ("thousands separators", "a.yml", BASE.replace("amount: 1000", "amount: 1,000,000"), "6:9",
     "(write the number without separators: 1000000)"),
    ("currency alias", "a.yml", BASE + "currency: RMB\n", "13:11",
     "currency: 'RMB' is not one of CNY, USD, EUR, HKD, JPY, GBP, SGD, AUD, … (write the ISO code 'CNY')"),
    ("no such date", "a.yml", BASE.replace("2027-01-31", "2027-02-30"), "7:17", "2027-02-30 is not a real date"),
    ("stage 9", "a.yml", BASE.replace("stage: 2", "stage: 9"), "4:8", "stage: 9 is out of range"),
    ("score 11", "a.yml", BASE + "qualification: {funding: 11}\n", "13:26", "qualification.funding: 11 is out of range"),
    ("negative amount", "a.yml", BASE.replace("amount: 1000", "amount: -5"), "6:9", "amount: -5 is out of range"),
    ("probability 1.5", "a.yml", BASE + "probability: 1.5\n", "13:14", "probability: 1.5 is out of range"),
    ("bad role", "a.yml", BASE.replace("role: decision-maker", "role: emperor"), "10:11",
     "stakeholders[1].role: 'emperor' is not one of decision-maker, evaluator"),
    ("bad status", "a.yml", BASE.replace("status: open", "status: Open"), "5:9",
     "'Open' is not one of open, won, lost, abandoned (values are case-sensitive: write 'open')"),
    ("exit for no stage", "a.yml", BASE + "  9: {date: 2026-10-02, evidence: x}\n", "13:3", "exits.9: 9 is out of range"),
    ("empty file", "a.yml", "", "1:1", "the file is empty"),
    ("only comments", "a.yml", "# nothing yet\n", "1:1", "the file is empty"),
    ("not a mapping", "a.yml", "- title: x\n", "1:1", "expected a mapping of keys to values, got a list"),
    ("not utf-8", "a.yml", BASE.encode() + b"notes: caf\xe9\n", "13:11", "not valid UTF-8"),
    ("bad file name", "Acme Deal.yml", BASE, "1:1", "rename the file to acme-deal.yml"),
    ("python tag", "a.yml", BASE + "summary: !!python/object/apply:os.system [echo hi]\n", "13:10",
     "the tag '!!python/object/apply:os.system' is not allowed"),
    ("custom tag", "a.yml", BASE + "summary: !secret x\n", "13:10", "the tag '!secret' is not allowed"),
]


@pytest.mark.parametrize("case,name,content,where,words", BAD, ids=[b[0] for b in BAD])
def test_bad_file_gives_one_clear_line(workdir: Path, case, name, content, where, words) -> None:
    path = workdir / "deals" / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = run_check(workdir)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert len(errors) == 1, result.stdout
    assert errors[0].startswith(f"deals/{name}:{where}: error: "), errors[0]
    assert words in errors[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_every_problem_is_reported_in_one_run(workdir: Path) -> None:
    bad = BASE.replace("stage: 2", "stage: 0").replace("status: open", "status: opne").replace("2027-01-31", "soon")
    (workdir / "deals" / "a.yml").write_text(bad + "stakeholders: []\n")
    (workdir / "deals" / "b.yml").write_text(BASE.replace("amount: 1000", "amount: -1"))
    result = run_check(workdir)
    assert result.returncode == 1
    fields = [line.split(": error: ")[1].split(":")[0] for line in result.stdout.splitlines() if ": error: " in line]
    assert fields == ["stage", "status", "expected_close", "stakeholders", "amount"]


def test_a_file_with_an_error_stays_wrong_on_the_next_run(workdir: Path) -> None:
    # The tag is refused while reading, and the value under it passes its field's check: the file
    # must still be wrong the second time, when the first run's cache is there.
    (workdir / "deals" / "a.yml").write_text(BASE + "currency: !!python/name:os.system CNY\n")
    first, second = run_check(workdir), run_check(workdir)
    assert (workdir / ".cache").is_dir()
    for result in (first, second):
        assert result.returncode == 1, result.stdout
        assert "is not allowed" in result.stdout


def test_two_files_with_the_same_id(workdir: Path) -> None:
    (workdir / "deals" / "acme.yml").write_text(BASE)
    (workdir / "deals" / "acme.yaml").write_text(BASE)
    result = run_check(workdir)
    assert result.returncode == 1
    assert "deals/acme.yml:1:1: error: deal id 'acme' is also used by deals/acme.yaml" in result.stdout


def test_alias_bomb_is_rejected_quickly(workdir: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    (workdir / "deals" / "bomb.yml").write_text("\n".join(lines) + "\n")
    started = time.perf_counter()
    result = run_check(workdir)
    assert time.perf_counter() - started < 10
    assert result.returncode == 1
    assert "deals/bomb.yml:1:1: error: anchors and aliases expand to more than 100,000 values" in result.stdout


def test_good_file_passes_without_problems(workdir: Path) -> None:
    (workdir / "deals" / "good.yml").write_text(BASE)
    result = run_check(workdir)
    assert result.returncode == 0, result.stdout
    assert result.stdout == ""
    assert "1 deal file(s) checked: 0 error(s), 0 warning(s)" in result.stderr


WARNINGS = [
    ("missing exit evidence", BASE.replace("stage: 2", "stage: 3"), "stage 2 (Customer visit and initial research) "
     "has no exit evidence"),
    ("won not at the last stage", BASE.replace("status: open", "status: won"), "the deal is won but is at stage 2"),
    ("lost without reason", BASE.replace("status: open", "status: lost"), "a lost deal has no lost_reason"),
    ("no decision maker", BASE.replace("role: decision-maker", "role: user"),
     "no stakeholder has the role decision-maker"),
    ("no negotiation", BASE.replace("stage: 2", "stage: 7") + "".join(
        f"  {n}: {{date: 2026-11-1{n}, evidence: ok}}\n" for n in range(2, 7)), "no negotiation terms are prepared"),
    ("below pass mark", BASE + "qualification: {funding: 1, price: 2}\n", "is below the pass mark"),
    ("past expected close", BASE.replace("2027-01-31", "2026-11-01"), "expected_close: 2026-11-01 is in the past"),
    ("overdue step", BASE + "next_steps:\n  - {action: Call Ann, due: 2026-11-20}\n", "'Call Ann' was due 2026-11-20"),
    # The whole line, as a rep sees it.
    ("exit evidence for the current stage", BASE + "  2: {date: 2026-11-25, evidence: Asked for a proposal}\n",
     "deals/w.yml:13:3: warning: exits.2: exit evidence is recorded for stage 2, the current stage "
     "(did you mean to move to stage 3? Set stage: 3)"),
    ("amount left at 0", BASE.replace("amount: 1000", "amount: 0"),
     "deals/w.yml:6:1: warning: amount: the amount is 0 (write the expected contract value as a plain number, "
     "e.g. 4600000)"),
    ("placeholder left in", BASE.replace("account: Example Co", "account: Customer name"),
     "deals/w.yml:2:1: warning: account: 'Customer name' is what `dealbook new` wrote here (write the real account)"),
]


@pytest.mark.parametrize("case,content,words", WARNINGS, ids=[w[0] for w in WARNINGS])
def test_warnings_do_not_fail_unless_strict(workdir: Path, case, content, words) -> None:
    (workdir / "deals" / "w.yml").write_text(content)
    result = run_check(workdir)
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and ": warning: " in lines[0] and words in lines[0], lines
    assert run_check(workdir, "--strict").returncode == 1


def test_an_untouched_skeleton_is_not_taken_for_a_deal(workdir: Path) -> None:
    new = subprocess.run([sys.executable, "-m", "generator", "new", "acme-erp"], cwd=workdir, capture_output=True,
                         text=True, env={**os.environ, "SOURCE_DATE_EPOCH": AS_OF_EPOCH})
    assert new.returncode == 0, new.stderr
    result = run_check(workdir)
    assert result.returncode == 0  # warnings: the file is valid, only not filled in
    assert result.stdout.splitlines() == [
        "deals/acme-erp.yml:3:1: warning: title: 'New opportunity' is what `dealbook new` wrote here "
        "(write the real deal's title)",
        "deals/acme-erp.yml:4:1: warning: account: 'Customer name' is what `dealbook new` wrote here "
        "(write the real account)",
        "deals/acme-erp.yml:5:1: warning: owner: 'Your name' is what `dealbook new` wrote here (write the real owner)",
        "deals/acme-erp.yml:8:1: warning: amount: the amount is 0 (write the expected contract value as a plain "
        "number, e.g. 4600000)",
    ]


def test_output_formats(workdir: Path) -> None:
    (workdir / "deals" / "a.yml").write_text(BASE.replace("role: decision-maker", "role: emperor"))
    as_json = json.loads(run_check(workdir, "--format", "json").stdout)
    assert as_json[0]["path"] == "deals/a.yml" and as_json[0]["line"] == 10 and as_json[0]["field"] == \
        "stakeholders[1].role"
    github = run_check(workdir, "--format", "github").stdout.strip()
    assert github.startswith("::error file=deals/a.yml,line=10,col=11::stakeholders[1].role: 'emperor'")


def test_usage_errors_exit_2(workdir: Path) -> None:
    assert run_check(workdir, "--format", "xml").returncode == 2
    missing = run_check(workdir, "no-such-file.yml")
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_broken_stage_model_gets_file_line_col(workdir: Path) -> None:
    model = workdir / "playbook" / "playbook.yml"
    text = model.read_text().replace("probability: 0.80", "probability: 0.1", 1).replace("weight: 15", "weight: heavy", 1)
    model.write_text(text)
    result = run_check(workdir)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stdout.splitlines()
    assert any(line.startswith("playbook/playbook.yml:") and "weight: expected a number" in line for line in lines)
    model.write_text(text.replace("weight: heavy", "weight: 15"))
    lines = run_check(workdir).stdout.splitlines()
    assert any("stages[7].probability: 0.1 is lower than the stage before it" in line for line in lines), lines


def test_a_cold_read_in_two_processes_gives_what_one_process_gives(workdir: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Many files and no cache: half of them are parsed by a forked reader. The deals, and the problems
    in the order a single reader finds them, must be the same, errors in both halves included."""
    from generator.build import fork_part
    from generator.cache import Cache
    from generator.diagnostics import Problems
    from generator.sources import deal_files
    from generator.sources.stage_model import load_stage_model

    for number in range(12):
        text = BASE.replace("title: ERP rollout", f"title: Deal {number}")
        if number in (2, 9):  # one error in each half
            text = text.replace("amount: 1000", "amount: -5")
        if number == 10:
            text += "currency: !!python/name:os.system CNY\n"
        (workdir / "deals" / f"d{number:02d}.yml").write_text(text)
    model = load_stage_model(workdir / "playbook" / "playbook.yml")
    paths = deal_files.deal_files(workdir / "deals")

    def read(parallel_from: int, cache_dir: Path | None) -> tuple[list, list[str], bool]:
        monkeypatch.setattr(deal_files, "PARALLEL_MIN", parallel_from)
        loader = deal_files.DealLoader(model, workdir, Cache(cache_dir))
        loader.start(paths, fork_part)
        forked = loader._helper is not None
        problems = Problems()
        deals = loader.load_all(paths, problems)
        loader.save_cache(prune=True)
        return deals, [str(p) for p in problems], forked

    one, one_problems, forked = read(10_000, workdir / "cache-one")
    assert not forked
    two, two_problems, forked = read(2, workdir / "cache-two")
    assert forked
    assert two == one and [d.id for d in two] == [f"d{n:02d}" for n in range(12) if n not in (2, 9, 10)]
    assert two_problems == one_problems and len([p for p in two_problems if ": error: " in p]) == 3
    # With no cache to write to (the benchmark's own reading, a read-only folder), the same.
    assert read(2, None)[:2] == (one, one_problems)
    # What the forked reader parsed went into the cache: a second read takes every deal from it.
    again, again_problems, forked = read(2, workdir / "cache-two")
    assert not forked and again == one and again_problems == one_problems
