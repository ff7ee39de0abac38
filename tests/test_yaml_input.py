"""What people type into deal files by accident, as `dealbook check` reports it (issues 11 and 12).

Every bad file must give exactly one line `path:line:col: error: field: what (hint)` at the line of
the mistake, in every output format, and never a traceback. The bad files are checked in one run
(a module fixture) and each case then looks at its own file's lines.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import AS_OF_EPOCH, BASE_DEAL, ROOT, make_workdir

from generator.diagnostics import Problem, format_problems
from generator.labels import Labels
from generator.sources.spec import LIMIT, Integer, Number

BASE = BASE_DEAL
# Line 11 of BASE is `exits:`; line 10 is `    role: decision-maker`.


def amount(text: str) -> str:
    return BASE.replace("amount: 1000", f"amount: {text}")


def run_check(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SOURCE_DATE_EPOCH": AS_OF_EPOCH}
    return subprocess.run([sys.executable, "-m", "generator", "check", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


NOT_A_SEPARATOR = "(the full-width '：' is not a separator)"

# (case: also the file name, content, expected "line:col", expected words in the one error line)
BAD = [
    # 1. Numbers have bounds, and what PyYAML cannot construct is an error, not a traceback.
    ("huge-amount", amount("1" + "0" * 29), "6:9",
     "amount: 100000000000000000000000000000 is out of range (use a number up to 1,000,000,000,000,000)"),
    ("just-over-limit", amount("1000000000000001"), "6:9", "(use a number up to 1,000,000,000,000,000)"),
    ("digits-5000", amount("9" * 5000), "6:9", "amount: 999999999999999999999999… (5,000 characters) is out of range"),
    ("stage-digits-5000", BASE.replace("stage: 2", "stage: " + "9" * 5000), "4:8",
     "stage: 999999999999999999999999… (5,000 characters) is out of range (use a whole number from 1 to 8)"),
    ("score-digits-5000", BASE + "qualification: {funding: " + "4" * 4301 + "}\n", "13:26",
     "qualification.funding: 444444444444444444444444… (4,301 characters) is out of range"),
    ("sexagesimal-5000", amount("5" * 5000 + ":30"), "6:9", "is out of range"),
    ("hex-5000", amount("0x" + "f" * 5000), "6:9", "is out of range (use a number up to"),
    ("negative-huge", amount("-" + "9" * 30), "6:9", "is out of range (use a number from 0 to 1,000,000,000,000,000)"),
    ("float-overflow", amount("1.0e+400"), "6:9", "amount: 1.0e+400 is out of range (use a number up to"),
    ("long-float", amount("9" * 400 + ".0"), "6:9", "(402 characters) is out of range"),
    ("text-1e400", amount("1e400"), "6:9", "got text '1e400' (1e400 is far too large; use a number up to"),
    ("inf", amount(".inf"), "6:9", "amount: '.inf' is not a usable number"),
    ("nan", amount(".nan"), "6:9", "amount: '.nan' is not a usable number"),
    ("probability-inf", BASE + "probability: -.inf\n", "13:14", "probability: '-.inf' is not a usable number"),
    ("stage-inf", BASE.replace("stage: 2", "stage: .inf"), "4:8", "stage: expected a whole number from 1 to 8"),
    ("stage-overflow", BASE.replace("stage: 2", "stage: 1.0e+400"), "4:8", "stage: expected a whole number"),
    ("scientific-text", amount("1.5e6"), "6:9",
     "got text '1.5e6' (write 1500000 (YAML reads 1.5e6 as text; 1.5e+6 also works))"),
    ("scientific-share", BASE + "probability: 5e-1\n", "13:14", "(write 0.5 (YAML reads 5e-1 as text; 5.0e-1 also works))"),
    ("hex-nothing", amount("0x_"), "6:9", "amount: '0x_' cannot be read as a whole number"),
    ("binary-nothing", BASE + "qualification: {funding: 0b_}\n", "13:26", "'0b_' cannot be read as a whole number"),
    ("int-tag-fraction", BASE + "qualification: {funding: !!int 1.5}\n", "13:26",
     "qualification.funding: '1.5' cannot be read as a whole number (use a whole number from 1 to 5)"),
    ("float-tag-text", amount("!!float abc"), "6:9", "amount: 'abc' cannot be read as a number"),
    ("int-tag-empty", amount('!!int ""'), "6:9", "amount: '' cannot be read as a whole number"),
    # 2. Control characters: at their own line and column, named, on one line.
    ("nul", BASE.replace("    role: decision-maker", "    role: deci\x00sion-maker"), "10:15",
     "error: the file contains the control character U+0000 NUL "
     "(remove the control character (it is often pasted in by accident))"),
    ("nul-line-start", BASE.replace("exits:", "\x00exits:"), "11:1", "U+0000 NUL"),
    ("escape", BASE.replace("Test Rep", "Test\x1b[31m Rep"), "3:12", "U+001B ESC"),
    ("bell-twice", BASE.replace("Test Rep", "Te\x07st Rep\x07"), "3:10", "U+0007 BEL (and 1 more like it)"),
    ("delete", BASE.replace("Example Co", "Example\x7f Co"), "2:17", "U+007F DEL"),
    ("c1-control", BASE.replace("Example Co", "Example\x9b Co"), "2:17", "U+009B (a C1 control character)"),
    # YAML reads U+0085, U+2028 and U+2029 as line breaks, editors do not: refused where they are,
    # so that no line number after them is off by one.
    ("line-separator", BASE.replace("Example Co", "Example\u2028Co"), "2:17", "U+2028 LINE SEPARATOR, which YAML"),
    ("next-line-then-nul", BASE.replace("Test Rep", "Test\x85Rep").replace("exits:", "\x00exits:"), "3:12",
     "U+0085 NEXT LINE"),
    ("nul-after-crlf", BASE.replace("\n", "\r\n").replace("Example Co", "Exa\x00mple"), "2:13", "U+0000 NUL"),
    ("utf-16", BASE.encode("utf-16-le"), "1:2", "U+0000 NUL (and 226 more like it) (the file looks saved as UTF-16"),
    # 3. YAML slips, at the line of the slip, with the fix named.
    ("fullwidth-colon", BASE.replace("owner: Test Rep", "owner：王磊"), "3:6",
     f"(use an ASCII colon ':' after the key 'owner' {NOT_A_SEPARATOR})"),
    ("fullwidth-colon-first-line", BASE.replace("title: ERP rollout", "title：ERP rollout"), "1:6",
     f"after the key 'title' {NOT_A_SEPARATOR}"),
    ("fullwidth-colon-space", BASE.replace("owner: Test Rep", "owner： 王磊"), "3:6", "after the key 'owner'"),
    ("fullwidth-colon-nested", BASE.replace("    role: decision-maker", "    role：decision-maker"), "10:9",
     "after the key 'role'"),
    ("fullwidth-colon-list-item", BASE.replace("  - name: Ann", "  - name：Ann"), "9:9", "after the key 'name'"),
    ("fullwidth-colon-only-key", BASE.replace("  - name: Ann\n    role: decision-maker", "  - name：Ann"), "9:5",
     f"stakeholders[1]: expected a mapping of keys to values, got text 'name：Ann' (use an ASCII colon ':' after "
     f"the key 'name' {NOT_A_SEPARATOR})"),
    ("no-space", BASE.replace("stage: 2", "stage:3"), "4:6", "no space after ':' in 'stage:3' (put a space after ':')"),
    ("no-space-last-line", BASE + "probability:0.5\n", "13:12", "(put a space after ':')"),
    ("no-space-list-item", BASE.replace("  - name: Ann", "  - name:Ann"), "9:9", "(put a space after ':')"),
    ("no-space-as-value", BASE + "qualification:\n  funding:3\n", "14:3",
     "qualification: expected a mapping of keys to values, got text 'funding:3' (put a space after ':')"),
    ("no-space-flow", BASE + "qualification: {funding:3}\n", "13:17",
     "qualification.funding:3: unknown key (put a space after ':')"),
    ("tab-before-key", BASE.replace("    role: decision-maker", "\trole: decision-maker"), "10:1",
     "a tab is used to indent this line (indent with spaces, not tabs)"),
    ("tab-after-spaces", BASE.replace("    role: decision-maker", "  \trole: decision-maker"), "10:3", "a tab"),
    ("tab-top-level", BASE.replace("amount: 1000", "\tamount: 1000"), "6:1", "(indent with spaces, not tabs)"),
    ("tab-list", BASE + "competitors:\n\t- name: X\n", "14:1", "(indent with spaces, not tabs)"),
    ("wan", amount("460万"), "6:9", "got text '460万' (write 4600000 for 460万)"),
    ("wan-yuan", amount("460万元"), "6:9", "(write 4600000 for 460万元)"),
    ("yi", amount("1.2亿"), "6:9", "(write 120000000 for 1.2亿)"),
    ("million", amount("4.6M"), "6:9", "(write 4600000 for 4.6M)"),
    ("thousand", amount("12k"), "6:9", "(write 12000 for 12k)"),
    # 4. A big file is not an alias bomb.
    ("many-keys", BASE + "".join(f"k{k:06d}: 1\n" for k in range(60_000)), "1:1",
     "the file has more than 100,000 values (a deal file is small; split it up or remove pasted material)"),
    ("many-items", BASE + "extra:\n" + "  - 1\n" * 100_001, "1:1", "the file has more than 100,000 values"),
    # 5. Two keys for one stage.
    ("exit-twice", BASE + "  01: {date: 2026-11-21, evidence: again}\n", "13:3",
     "exits.01: stage 1 is given twice (first on line 12) (keep one of them: '1' and '01' are the same number)"),
    ("exit-twice-plus", BASE + "  +1: {date: 2026-11-21, evidence: again}\n", "13:3", "exits.+1: stage 1 is given twice"),
    # 6. Fuzz findings: deep nesting, other PyYAML errors, merge keys.
    ("deep-flow", BASE + "summary: " + "[" * 999 + "x" + "]" * 999 + "\n", "13:10", "summary: expected text, got a list"),
    ("deep-block", BASE + "competitors:\n  " + "- " * 499 + "x\n", "14:5", "competitors[1]: expected a mapping"),
    ("too-deep", BASE + "summary: " + "[" * 20_000 + "]" * 20_000 + "\n", "13:", "exceeded maximum nesting depth"),
    ("two-documents", BASE + "---\nstage: 3\n", "13:1",
     "expected a single document in the stream, but found another document"),
    ("undefined-alias", amount("*nowhere"), "6:9", "found undefined alias"),
    ("merge-key", BASE + "<<: {stage: 3}\n", "13:1", "the merge key '<<' is not allowed"),
    ("list-as-key", BASE + "? [a, b]\n: value\n", "13:3", "(file): a key must be a word, got a list"),
    ("long-key", BASE + "k" * 500 + ": 1\n", "13:1", "kkkkkkkkkkkkkkkkkkkkkkkk… (500 characters): unknown key"),
    ("map-as-exit", BASE + "  {a: 1}: {date: 2026-11-21}\n", "13:3", "exits.?: expected a whole number from 1 to 8"),
]


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[list[str], list[dict]]]:
    """Every BAD file checked in one run: file name -> (its text lines, its JSON problems)."""
    workdir = make_workdir(tmp_path_factory.mktemp("bad"))
    for case, content, _, _ in BAD:
        data = content if isinstance(content, bytes) else content.encode()
        (workdir / "deals" / f"{case}.yml").write_bytes(data)
    text, as_json = run_check(workdir), run_check(workdir, "--format", "json")
    for result in (text, as_json):
        assert result.returncode == 1
        assert "Traceback" not in result.stdout + result.stderr, result.stderr[-2000:]
    problems = json.loads(as_json.stdout)
    out: dict[str, tuple[list[str], list[dict]]] = {}
    for case, *_ in BAD:
        path = f"deals/{case}.yml"
        lines = [line for line in text.stdout.split("\n") if line.startswith(path + ":")]
        out[case] = (lines, [p for p in problems if p["path"] == path])
    return out


@pytest.mark.parametrize("case,content,where,words", BAD, ids=[b[0] for b in BAD])
def test_bad_input_gives_one_clear_line(checked, case: str, content, where: str, words: str) -> None:
    lines, problems = checked[case]
    errors = [line for line in lines if ": error: " in line]
    assert len(errors) == 1, lines
    assert errors[0].startswith(f"deals/{case}.yml:{where}"), errors[0]
    assert words in errors[0], errors[0]
    assert len(errors[0]) < 400, "a value must be shortened in the message"
    error = next(p for p in problems if p["severity"] == "error")
    assert not any("\n" in str(v) or "\r" in str(v) for v in error.values()), error


GOOD = [
    ("the limit itself", amount("1000000000000000")),
    ("a signed exponent", amount("1.5e+6")),
    ("underscores", amount("1_000_000")),
    ("a tiny float", BASE + "probability: 1.0e-400\n"),
    ("a full-width colon inside a value", BASE.replace("title: ERP rollout", "title: 项目：ERP")),
    ("a tab inside a block text", BASE + "summary: |\n  a\ttab\n"),
    ("a URL", BASE + "summary: see http://example.com/x\n"),
]


@pytest.mark.parametrize("case,content", GOOD, ids=[g[0] for g in GOOD])
def test_good_input_still_passes(workdir: Path, case: str, content: str) -> None:
    (workdir / "deals" / "good.yml").write_text(content, encoding="utf-8")
    result = run_check(workdir)
    assert result.returncode == 0, result.stdout
    assert ": error: " not in result.stdout


def test_alias_bomb_keeps_its_message(workdir: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    (workdir / "deals" / "bomb.yml").write_text("\n".join(lines) + "\n")
    result = run_check(workdir)
    assert "deals/bomb.yml:1:1: error: anchors and aliases expand to more than 100,000 values" in result.stdout
    assert "the file has more than" not in result.stdout


@pytest.mark.parametrize("style", ["text", "json", "github"])
def test_every_format_is_one_line_per_problem(workdir: Path, style: str) -> None:
    (workdir / "deals" / "nul.yml").write_bytes(BASE.replace("exits:", "ex\x00its:").encode())
    (workdir / "deals" / "key.yml").write_text(BASE + '"multi\\nline\\rkey\\u2028": 1\n', encoding="utf-8")
    result = run_check(workdir, "--format", style)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    if style == "json":
        problems = json.loads(result.stdout)
        assert [(p["path"], p["line"], p["col"]) for p in problems] == [("deals/key.yml", 13, 1),
                                                                        ("deals/nul.yml", 11, 3)]
        assert not any("\n" in p["message"] + p["field"] + p["hint"] for p in problems)
        return
    lines = result.stdout.strip().split("\n")
    assert len(lines) == 2, lines
    first = "::error file=deals/key.yml,line=13,col=1::" if style == "github" else "deals/key.yml:13:1: error: "
    assert lines[0].startswith(first + "multi line key : unknown key"), lines[0]
    assert "position" not in result.stdout  # PyYAML's second line never gets through


def test_problem_text_never_breaks_a_line() -> None:
    problem = Problem("deals/a.yml", 3, 4, "error", "a\nb", "one\r\ntwo\u2028three", "hint\rwith\x1b escape")
    assert str(problem) == r"deals/a.yml:3:4: error: a b: one two three (hint with\x1b escape)"
    assert problem.as_github() == r"::error file=deals/a.yml,line=3,col=4::a b: one two three (hint with\x1b escape)"
    assert json.loads(format_problems([problem], "json"))[0]["message"] == "one two three"


def test_reference_and_schema_state_the_bound() -> None:
    words = Labels("en").types
    assert Number(0).describe(words) == "number from 0 to 1,000,000,000,000,000"
    assert Number(0, 1).describe(words) == "number from 0 to 1"
    assert Integer(1, 8).describe(words) == "whole number from 1 to 8"
    assert Number(0).json_schema() == {"type": "number", "minimum": 0, "maximum": LIMIT}
    assert Labels("zh").types["number_range"].format(min="0", max="1,000,000,000,000,000") in \
        Number(0).describe(Labels("zh").types)


def test_reference_page_lists_the_amount_bound() -> None:
    from generator.sources.deal_format import reference_rows
    from generator.sources.stage_model import load_stage_model

    model = load_stage_model(ROOT / "playbook" / "playbook.yml")
    rows = {row[0]: row for row in reference_rows(model, Labels("en"))}
    assert rows["amount"][1] == "number from 0 to 1,000,000,000,000,000"
    assert "460万" in rows["amount"][3]
