"""Hints that lead to the fix (issue 25, item 6), in English and in Chinese.

Each slip a rep makes gets one line at its own position with the fix in it; every full-width colon
and tab indentation of a file is reported in one run; `dealbook new` refuses the ids `check` would
refuse; a message that tells the reader to run a command names it as the reader can run it; and
files in `deals/` that are not deals are a warning each. All bad files are checked in one run per
language (a module fixture), and each case then looks at its own file's lines.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import AS_OF_EPOCH, BASE_DEAL, make_workdir

from generator.build import read_project
from generator.cache import Cache
from generator.diagnostics import Problems, command_name, listed
from generator.labels import Labels
from generator.sources.yaml_nodes import read_yaml

BASE = BASE_DEAL  # line 4 `stage: 2`, line 6 `amount: 1000`, line 7 `expected_close: 2027-01-31`
AMOUNT_AT, STAGE_AT, CLOSE_AT = "6:9", "4:8", "7:17"
WIDE = re.compile(r"[\u4e00-\u9fff]")


def run(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "SOURCE_DATE_EPOCH": AS_OF_EPOCH}
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def amount(text: str) -> str:
    return BASE.replace("amount: 1000", f"amount: {text}")


# (case: also the file name, content, "line:col", the English hint, the Chinese hint)
SLIPS = [
    ("quoted-stage", BASE.replace("stage: 2", 'stage: "4"'), STAGE_AT,
     "(remove the quotes: write 4)", "(去掉引号，写作 4)"),
    ("single-quoted-stage", BASE.replace("stage: 2", "stage: '4'"), STAGE_AT,
     "(remove the quotes: write 4)", "(去掉引号，写作 4)"),
    ("full-width-stage", BASE.replace("stage: 2", "stage: ４"), STAGE_AT,
     "(write 4 with half-width digits)", "(请用半角数字，写作 4)"),
    ("quoted-full-width-stage", BASE.replace("stage: 2", 'stage: "４"'), STAGE_AT,
     "(write 4 with half-width digits)", "(请用半角数字，写作 4)"),
    ("unpadded-date", BASE.replace("2027-01-31", "2027-2-26"), CLOSE_AT,
     "'2027-2-26' is not a date in the form YYYY-MM-DD (write the date as 2027-02-26)",
     "'2027-2-26' 不是 YYYY-MM-DD 格式的日期 (日期请写作 2027-02-26)"),
    ("slashed-date", BASE.replace("2027-01-31", "2027/02/26"), CLOSE_AT,
     "(write the date as 2027-02-26)", "(日期请写作 2027-02-26)"),
    ("chinese-date", BASE.replace("2027-01-31", "2027年2月26日"), CLOSE_AT,
     "(write the date as 2027-02-26)", "(日期请写作 2027-02-26)"),
    ("date-as-number", BASE.replace("2027-01-31", "20270226"), CLOSE_AT,
     "got a whole number '20270226' (write the date as 2027-02-26)", "(日期请写作 2027-02-26)"),
    ("yuan-sign", amount("¥4600000"), AMOUNT_AT,
     "(write the number alone, 4600000, and the currency in `currency: CNY`)",
     "(金额只写数字 4600000，币种写在 `currency: CNY`)"),
    ("full-width-yuan-sign", amount("￥4600000"), AMOUNT_AT,
     "(write the number alone, 4600000, and the currency in `currency: CNY`)", "币种写在 `currency: CNY`"),
    ("dollar-sign", amount("$4,600,000"), AMOUNT_AT,
     "(write the number alone, 4600000, and the currency in `currency: USD`)", "币种写在 `currency: USD`"),
    ("euro-sign", amount("€4600000"), AMOUNT_AT,
     "(write the number alone, 4600000, and the currency in `currency: EUR`)", "币种写在 `currency: EUR`"),
    ("code-after", amount("4600000 USD"), AMOUNT_AT,
     "(write the number alone, 4600000, and the currency in `currency: USD`)", "币种写在 `currency: USD`"),
    ("yuan-and-wan", amount("¥460万"), AMOUNT_AT,
     "(write the number alone, 4600000, and the currency in `currency: CNY`)", "金额只写数字 4600000"),
    ("wan", amount("460万"), AMOUNT_AT, "(write 4600000 for 460万)", "(460万 请写作 4600000)"),
    ("separators", amount("4,600,000"), AMOUNT_AT,
     "(write the number without separators: 4600000)", "(数字不要带分隔符：写作 4600000)"),
    ("quoted-amount", amount('"4600000"'), AMOUNT_AT,
     "(remove the quotes: write 4600000)", "(去掉引号，写作 4600000)"),
    ("full-width-amount", amount("４６０００００"), AMOUNT_AT,
     "(write 4600000 with half-width digits)", "(请用半角数字，写作 4600000)"),
]


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, list[str]]]:
    """Every SLIPS file checked in one run per language: language -> file name -> its lines."""
    workdir = make_workdir(tmp_path_factory.mktemp("slips"))
    for case, content, *_ in SLIPS:
        (workdir / "deals" / f"{case}.yml").write_text(content, encoding="utf-8")
    out: dict[str, dict[str, list[str]]] = {}
    for language in ("en", "zh"):
        result = run(workdir, "check", "--lang", language)
        assert result.returncode == 1
        assert "Traceback" not in result.stdout + result.stderr, result.stderr[-2000:]
        out[language] = {case: [line for line in result.stdout.split("\n") if line.startswith(f"deals/{case}.yml:")]
                         for case, *_ in SLIPS}
    return out


@pytest.mark.parametrize("case,content,where,english,chinese", SLIPS, ids=[s[0] for s in SLIPS])
def test_each_slip_gets_one_line_with_the_fix_at_its_position(checked, case, content, where, english,
                                                             chinese) -> None:
    for language, words in (("en", english), ("zh", chinese)):
        lines = checked[language][case]
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"deals/{case}.yml:{where}: error: "), lines[0]
        assert words in lines[0], lines[0]
    # The Chinese line has no English sentence left: after the field name, the text is Chinese.
    said = checked["zh"][case][0].split(": error: ", 1)[1].split(": ", 1)[1]
    assert WIDE.search(said) and not re.search(r"\b(?:write|the|remove|expected|number|not)\b", said), said


def test_a_number_that_is_text_on_purpose_gets_no_number_hint(workdir: Path) -> None:
    # A title may be any text: quoting a number there is the right thing, and no hint says otherwise.
    (workdir / "deals" / "ok.yml").write_text(BASE.replace("title: ERP rollout", 'title: "2027"'), encoding="utf-8")
    result = run(workdir, "check")
    assert result.returncode == 0 and ": error: " not in result.stdout, result.stdout


FIVE_SLIPS = """\
title： ERP rollout
account: Example Co
owner：王磊
stage: 2
status： open
amount: 1000
expected_close: 2027-01-31
stakeholders:
\t- name: Ann
\t  role: decision-maker
"""


@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_full_width_colon_and_tab_of_a_file_in_one_run(workdir: Path, language: str) -> None:
    (workdir / "deals" / "five.yml").write_text(FIVE_SLIPS, encoding="utf-8")
    result = run(workdir, "check", "--lang", language)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stdout.strip().split("\n")
    assert [line.split(": error: ")[0] for line in lines] == [
        "deals/five.yml:1:6", "deals/five.yml:3:6", "deals/five.yml:5:7", "deals/five.yml:9:1", "deals/five.yml:10:1"]
    colon, tab = (("use an ASCII colon ':' after the key", "indent with spaces, not tabs") if language == "en" else
                  ("后面请用半角冒号 ':'", "请用空格缩进，不要用 Tab"))
    assert [colon in line for line in lines] == [True, True, True, False, False], lines
    assert [tab in line for line in lines] == [False, False, False, True, True], lines
    assert "'owner'" in lines[1] and "'status'" in lines[2]
    # Fixed as the lines say, the file passes.
    fixed = FIVE_SLIPS.replace("：", ": ").replace(":  ", ": ").replace("\t", "  ")
    (workdir / "deals" / "five.yml").write_text(fixed, encoding="utf-8")
    assert run(workdir, "check").returncode == 0


def test_a_full_width_colon_or_tab_inside_text_is_not_a_slip(workdir: Path) -> None:
    # Only slips that stop the YAML parser are reported: these are the rep's own text.
    text = BASE + "summary: The customer said\n  Q3： budget approved\nnotes_block: |\n  code\n  \tindented\n"
    (workdir / "deals" / "text.yml").write_text(text.replace("notes_block", "lost_reason"), encoding="utf-8")
    result = run(workdir, "check")
    assert ": error: " not in result.stdout, result.stdout


def test_a_slip_then_another_syntax_error_reports_the_slips_first(workdir: Path) -> None:
    # What is left after the slips is reported at its real place on the next run, never at a guessed one.
    (workdir / "deals" / "mixed.yml").write_text(FIVE_SLIPS + 'summary: "never closed\n', encoding="utf-8")
    first = run(workdir, "check").stdout.strip().split("\n")
    assert len(first) == 5 and all(": error: YAML syntax error: " in line for line in first), first
    fixed = FIVE_SLIPS.replace("：", ": ").replace(":  ", ": ").replace("\t", "  ")
    (workdir / "deals" / "mixed.yml").write_text(fixed + 'summary: "never closed\n', encoding="utf-8")
    second = run(workdir, "check").stdout.strip().split("\n")
    assert len(second) == 1 and second[0].startswith("deals/mixed.yml:12:1: error: YAML syntax error"), second


def slips_of(text: str) -> list[str]:
    problems = Problems()
    assert read_yaml(Path("x.yml"), "x.yml", problems, text.encode()) is None
    return sorted((str(p) for p in problems), key=lambda line: [int(n) for n in line.split(":")[1:3]])


def test_a_line_indented_with_two_tabs_is_one_line_and_the_search_goes_on() -> None:
    lines = slips_of("title： x\nstakeholders:\n\t- name: a\n\t\t role: user\n\t- name: b\nstatus： open\n")
    assert [line.split(": error: ")[0] for line in lines] == ["x.yml:1:6", "x.yml:3:1", "x.yml:4:1", "x.yml:5:1",
                                                              "x.yml:6:7"], lines


def test_the_search_for_slips_is_bounded() -> None:
    # Every slip costs a parse of the file up to it: a file made of slips is answered in bounded time,
    # with as many lines as the bound allowed (the next run shows the rest).
    started = time.process_time()
    many = slips_of("s:\n" + "\t- x\n" * 3000)
    big = slips_of("".join(f"k{i}: {i}\n" for i in range(60_000)) + "s:\n" + "\t- x\n" * 100)
    assert time.process_time() - started < 15  # about 2 s; the bound alone is about half a second
    assert 100 < len(many) < 3000 and many[0].startswith("x.yml:2:1: error: YAML syntax error: a tab")
    assert 1 <= len(big) < 100 and big[0].startswith("x.yml:60002:1: error: YAML syntax error: a tab")


@pytest.mark.parametrize("language,words", [
    ("en", "'board' is a reserved deal id: its page or workbook would replace one the site generates; "
           "use another id, e.g. board-deal"),
    ("zh", "'board' 是保留的项目编号：以它为名的项目页面或工作簿会顶替网站生成的同名文件；请换一个编号，例如 board-deal"),
])
def test_new_refuses_a_reserved_id_and_suggests_one_that_check_accepts(workdir: Path, language: str,
                                                                      words: str) -> None:
    for reserved in ("board", "owners"):
        result = run(workdir, "new", "--lang", language, reserved)
        assert result.returncode == 2, result.stdout + result.stderr
        assert words.replace("board", reserved) in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert list((workdir / "deals").iterdir()) == []  # nothing written
    assert run(workdir, "new", "board-deal").returncode == 0
    check = run(workdir, "check")
    assert check.returncode == 0 and "reserved" not in check.stdout, check.stdout


def test_the_suggested_id_is_free(workdir: Path) -> None:
    (workdir / "deals" / "board-deal.yml").write_text(BASE, encoding="utf-8")
    result = run(workdir, "new", "board")
    assert "e.g. board-deal-2" in result.stderr, result.stderr


def backticked(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_new_names_a_check_command_the_reader_can_run(workdir: Path, language: str) -> None:
    result = run(workdir, "new", "--lang", language, "acme-mes")
    assert result.returncode == 0, result.stderr
    commands = backticked(result.stdout)
    assert len(commands) == 1 and commands[0].endswith(" check deals/acme-mes.yml"), result.stdout
    # Not the bare `dealbook`, unless the shell finds it; and it runs, from here, as printed.
    words = shlex.split(commands[0])
    assert words[0] != "dealbook" or _on_path("dealbook"), commands
    ran = subprocess.run(words, cwd=workdir, env={**os.environ, "SOURCE_DATE_EPOCH": AS_OF_EPOCH},
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "deals/acme-mes.yml:" in ran.stdout and ": warning: " in ran.stdout  # the skeleton's placeholders


def _on_path(name: str) -> bool:
    import shutil

    return shutil.which(name) is not None


def test_the_empty_file_hint_names_a_new_command_that_runs(workdir: Path) -> None:
    (workdir / "deals" / "empty.yml").write_text("", encoding="utf-8")
    for language in ("en", "zh"):
        line = run(workdir, "check", "--lang", language).stdout.strip()
        commands = backticked(line)
        assert len(commands) == 1 and commands[0].endswith(" new <id>"), line
        words = shlex.split(commands[0].replace("<id>", f"fresh-{language}"))
        assert subprocess.run(words, cwd=workdir, capture_output=True, timeout=120).returncode == 0
        assert (workdir / "deals" / f"fresh-{language}.yml").is_file()


def test_command_name_follows_how_the_command_can_be_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "project" / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "dealbook"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setattr(sys, "argv", [str(script), "new", "x"])
    monkeypatch.setenv("PATH", "/nonexistent")
    assert command_name(tmp_path / "project") == ".venv/bin/dealbook"  # as the README has it
    assert command_name(bin_dir) == "./dealbook"
    assert command_name(tmp_path / "elsewhere") == str(script)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert command_name(tmp_path / "elsewhere") == "dealbook"  # what the shell finds


STRAY = {
    ".hz-metro.yml.k3j2a9x1": "a temporary file of hz-metro.yml, left by an interrupted write",
    "hz-metro.yml~": "a backup or swap file of hz-metro.yml, left by an editor or a tool",
    ".hz-metro.yml.swp": "a backup or swap file of hz-metro.yml",
    "notes.txt": "not a deal file: only .yml and .yaml files in the deal folder are read",
    "archive": "a folder inside the deal folder is not read",
}
STRAY_ZH = {
    ".hz-metro.yml.k3j2a9x1": "这是 hz-metro.yml 的临时文件",
    "hz-metro.yml~": "这是 hz-metro.yml 的备份或交换文件",
    ".hz-metro.yml.swp": "这是 hz-metro.yml 的备份或交换文件",
    "notes.txt": "不是项目文件：项目文件夹里只读取 .yml 和 .yaml 文件",
    "archive": "项目文件夹里的子文件夹不会被读取",
}


def make_strays(deals: Path) -> None:
    (deals / "hz-metro.yml").write_text(BASE, encoding="utf-8")
    (deals / "deal.schema.json").write_text("{}", encoding="utf-8")  # meant to be there: no warning
    (deals / ".gitkeep").write_text("", encoding="utf-8")
    for name in STRAY:
        if name == "archive":
            (deals / name).mkdir()
            (deals / name / "old.yml").write_text(BASE, encoding="utf-8")
        else:
            (deals / name).write_text(BASE, encoding="utf-8")


@pytest.mark.parametrize("language,words", [("en", STRAY), ("zh", STRAY_ZH)])
def test_stray_files_in_deals_are_one_warning_each(workdir: Path, language: str, words: dict[str, str]) -> None:
    make_strays(workdir / "deals")
    for args in ((), ("deals",)):  # every deal, or the folder given
        result = run(workdir, "check", "--lang", language, *args)
        assert result.returncode == 0, result.stdout  # warnings, not errors
        lines = result.stdout.strip().split("\n")
        assert len(lines) == len(STRAY), lines
        for name, text in words.items():
            line = next(line for line in lines if line.startswith(f"deals/{name}:"))
            assert line.startswith(f"deals/{name}:1:1: warning: ") and text in line, line
    assert run(workdir, "check", "--strict").returncode == 1


def test_stray_files_reach_the_build_log(workdir: Path) -> None:
    make_strays(workdir / "deals")
    project = read_project(workdir, workdir / "playbook" / "playbook.yml", workdir / "deals",
                           __import__("datetime").date(2026, 11, 27), Labels("en"), Cache(None), history="none")
    assert project.pipeline is not None and not project.problems.errors
    logged = listed(project.pipeline.problems.warnings)  # what the plugin writes to the build log
    for name, text in STRAY.items():
        assert any(line.startswith(f"deals/{name}:1:1: warning: ") and text in line for line in logged), logged
