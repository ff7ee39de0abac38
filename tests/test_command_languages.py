"""Every command speaks every configured language: `dealbook check`, `new` and `import` answer in the
language of `--lang`, of DEALBOOK_LANG, or of the site's first language, and a word a rep writes for a key
(in any language of the stage model) is answered with the key to write."""

from __future__ import annotations

import html
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from conftest import AS_OF_EPOCH, BASE_DEAL, Project
from test_workbook_import import DEAL, DEAL_ID, edit, row_of, score_row, workbook

from generator.labels import LANGUAGES, Labels, catalog
from generator.sources.stage_model import load_stage_model

CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
PLACEHOLDER = re.compile(r"{(\w+)}")
# Words a Chinese line may hold although they are ASCII: names of things that have no other name.
NAMES = {"Dealbook", "dealbook", "YAML", "XML", "DTD", "UTF", "xlsx", "MiB", "YYYY", "help", "model", "deals",
         "check", "import", "new", "dry", "run", "a-z", "YYYY-MM-DD", "zip"}


def dealbook(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """A `dealbook` command as a rep runs it, at the tests' as-of date, with no DEALBOOK_LANG unless given."""
    environment = {k: v for k, v in os.environ.items() if k != "DEALBOOK_LANG"}
    environment |= {"SOURCE_DATE_EPOCH": AS_OF_EPOCH, **(env or {})}
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=120)


def english_words(line: str, allowed: set[str] = frozenset()) -> list[str]:
    """The ASCII words of 3+ letters in a Chinese line, outside its file position (everything before the
    first Chinese character: path, line, column, sheet!cell, severity, field), quoted values, code spans,
    keys (`allowed`) and names."""
    assert CJK.search(line), f"not a Chinese line: {line!r}"
    text = line[CJK.search(line).start():]
    text = re.sub(r"'[^']*'|`[^`]*`|\S+\.(?:ya?ml|xlsx)\b|[\w./-]+/[\w./-]+", " ", text)
    words = re.findall(r"[A-Za-z][A-Za-z-]*[A-Za-z]", text)
    return [w for w in words if len(w) >= 3 and w not in allowed and w not in NAMES
            and not all(part in allowed for part in w.split("-"))]


def model_keys(project_root: Path) -> set[str]:
    model = load_stage_model(project_root / "playbook" / "playbook.yml")
    keys = {t.key for terms in model.vocabularies.values() for t in terms}
    return keys | {s.key for s in model.stages} | {f.key for f in model.evaluation.factors}


# --- The catalogs: every message of these commands in every language --------------------------

COMMAND_CODES = ("cli_", "import_", "xlsx_", "edit_", "key_for")


def test_every_command_message_has_a_text_in_every_catalog_with_the_same_values() -> None:
    english = {code: text for code, text in catalog("en")["messages"].items() if code.startswith(COMMAND_CODES)}
    assert len(english) > 80  # the walk found them
    for language in LANGUAGES:
        texts = catalog(language)["messages"]
        for code, text in english.items():
            assert code in texts, (language, code)
            assert set(PLACEHOLDER.findall(texts[code])) == set(PLACEHOLDER.findall(text)), (language, code)


def test_the_chinese_texts_of_these_commands_are_chinese() -> None:
    english = {code: english_words(PLACEHOLDER.sub(" ", text)) for code, text in catalog("zh")["messages"].items()
               if code.startswith(COMMAND_CODES) and code != "import_cell_of"}  # 'Stage' 的 'Summary': no CJK
    assert {code: words for code, words in english.items() if words} == {}


def test_lang_choices_are_the_catalogs_and_the_help_names_no_list(tmp_path: Path) -> None:
    for command in ("check", "new", "import"):
        result = dealbook(tmp_path, command, "--help")
        assert result.returncode == 0, result.stderr
        assert "[" + "|".join(LANGUAGES) + "]" in result.stdout
        assert "(en, zh)" not in result.stdout and "DEALBOOK_LANG" in result.stdout


# --- dealbook new and the command line's own errors ----------------------------------------------

def test_new_answers_in_chinese(project: Project) -> None:
    result = dealbook(project.root, "new", "--lang", "zh", "Huaxin MES")
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "错误：'Huaxin MES' 不是有效的项目编号：只能使用 a-z、0-9 和 '-'，例如 huaxin-mes"
    assert lines[1].startswith("运行 `") and lines[1].endswith(" new --help` 查看可用选项。")
    for line in lines:
        assert english_words(line, {"huaxin-mes"}) == [], line  # the id to use is a value
    assert list(project.deals.iterdir()) == []  # nothing written

    made = dealbook(project.root, "new", "--lang", "zh", "huaxin-mes")
    assert made.returncode == 0 and made.stdout.startswith("已写入 deals/huaxin-mes.yml："), made.stdout
    again = dealbook(project.root, "new", "--lang", "zh", "huaxin-mes")
    assert again.returncode == 2 and again.stderr.startswith("错误：deals/huaxin-mes.yml：已有这个编号的项目")
    reserved = dealbook(project.root, "new", "--lang", "zh", "board")
    assert reserved.returncode == 2 and reserved.stderr.startswith("错误：'board' 是保留的项目编号")
    for line in again.stderr.splitlines() + reserved.stderr.splitlines():
        assert english_words(line, {"board-deal"}) == [], line


def test_the_default_language_is_dealbook_lang_then_the_sites_first(project: Project) -> None:
    config = project.root / "mkdocs.yml"
    english = "Error: 'board' is a reserved deal id"
    chinese = "错误：'board' 是保留的项目编号"
    assert dealbook(project.root, "new", "board").stderr.startswith(english)  # languages: [en, zh]
    assert dealbook(project.root, "new", "board", env={"DEALBOOK_LANG": "zh"}).stderr.startswith(chinese)
    assert dealbook(project.root, "new", "board", env={"DEALBOOK_LANG": "zh_CN.UTF-8"}).stderr.startswith(chinese)
    config.write_text(config.read_text(encoding="utf-8").replace("languages: [en, zh]", "languages: [zh, en]"),
                      encoding="utf-8")
    assert dealbook(project.root, "new", "board").stderr.startswith(chinese)  # the site's first language
    # DEALBOOK_LANG wins over the site; one with no catalog is not a language: the site's is used.
    assert dealbook(project.root, "new", "board", env={"DEALBOOK_LANG": "en"}).stderr.startswith(english)
    assert dealbook(project.root, "new", "board", env={"DEALBOOK_LANG": "xx"}).stderr.startswith(chinese)
    assert dealbook(project.root, "new", "--lang", "en", "board").stderr.startswith(english)
    # make check runs `dealbook check` as it is: DEALBOOK_LANG reaches it through the environment.
    result = dealbook(project.root, "check", "missing.yml", env={"DEALBOOK_LANG": "zh"})
    assert result.returncode == 2 and result.stderr.startswith("错误：missing.yml：没有这个文件或文件夹")
    result = dealbook(project.root, "import", "missing.xlsx", env={"DEALBOOK_LANG": "zh"})
    assert result.returncode == 2 and result.stderr.startswith("错误：missing.xlsx：没有这个文件")


# --- dealbook check: a word for a key names the key ----------------------------------------------

def test_a_word_for_a_key_in_any_language_names_the_key(project: Project) -> None:
    project.write_deal("words.yml", BASE_DEAL.replace("stage: 2", "stage: 提交初步方案").replace(
        "role: decision-maker", "role: 决策人\n    influence: 高\n    stance: 支持者\n  - name: Bo\n    role: 决策者"))
    project.write_deal("english.yml", BASE_DEAL.replace("stage: 2", "stage: Preliminary proposal"))
    result = dealbook(project.root, "check", "--lang", "zh")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    model = load_stage_model(project.model)
    proposal = next(s.number for s in model.stages if s.name == "Preliminary proposal")
    expected = {
        "deals/english.yml:4:8: error: stage:": f"(Preliminary proposal 请写作 {proposal})",
        "deals/words.yml:4:8: error: stage:": f"(提交初步方案 请写作 {proposal})",
        "deals/words.yml:10:11: error: stakeholders[1].role:": "(决策人 请写作 'decision-maker')",
        "deals/words.yml:11:16: error: stakeholders[1].influence:": "(高 请写作 'high')",
        "deals/words.yml:12:13: error: stakeholders[1].stance:": "(支持者 请写作 'supporter')",
        "deals/words.yml:14:11: error: stakeholders[2].role:": "(决策者 请写作 'decision-maker')",
    }
    assert len(lines) == len(expected), lines
    keys = model_keys(project.root) | {"Preliminary", "proposal"}  # the value as the rep wrote it
    for line, (start, end) in zip(lines, expected.items(), strict=True):
        assert line.startswith(start) and line.endswith(end), line
        assert english_words(line, keys) == [], line
    english = dealbook(project.root, "check", "--lang", "en", "deals/english.yml")
    assert english.stdout.strip().endswith(f"(write {proposal} for Preliminary proposal)"), english.stdout
    words = dealbook(project.root, "check", "--lang", "en", "deals/words.yml").stdout
    assert "(write 'decision-maker' for 决策人)" in words and "(write 'high' for 高)" in words


# --- dealbook import: a Chinese workbook, answered in Chinese -----------------------------------

def _stance(value: str) -> Callable[[openpyxl.Workbook, Callable], None]:
    def change(wb: openpyxl.Workbook, cells: Callable) -> None:
        row_of(cells, "StakeholderRows", "Ann Li")[4].value = value
    return change


@pytest.fixture
def deal(project: Project) -> Path:
    path = project.deals / f"{DEAL_ID}.yml"
    path.write_text(DEAL, encoding="utf-8")
    return path


def test_a_chinese_workbooks_dropdown_words_are_listed_in_chinese(project: Project, deal: Path) -> None:
    zh = Labels("zh")
    model = load_stage_model(project.model)
    path = edit(workbook(project, DEAL_ID, f"{DEAL_ID}-zh.xlsx", language="zh"), _stance("很支持"))
    result = dealbook(project.root, "import", "--lang", "zh", str(path))
    assert result.returncode == 1 and result.stderr == "", result.stdout + result.stderr
    line, last = result.stdout.splitlines()
    dropdown = "、".join(zh.value_words(model, "stance").values())
    assert "倡导者、支持者" in dropdown
    assert re.fullmatch(rf"{DEAL_ID}-zh\.xlsx: {zh.wb_sheet_stakeholders}!E\d+: stance '很支持' "
                        rf"不是下拉列表中的选项：{dropdown}", line), line
    assert last == "没有写入任何文件"
    for shown in (line, last):
        assert english_words(shown, {"stance"}) == [], shown  # the field name stays
    assert deal.read_text(encoding="utf-8") == DEAL
    # In English the same workbook's line still lists the Chinese dropdown: they are the workbook's words.
    english = dealbook(project.root, "import", "--lang", "en", str(path)).stdout.splitlines()[0]
    assert english.endswith(f"stance '很支持' is not one of {', '.join(zh.value_words(model, 'stance').values())}")


def test_a_chinese_dropdown_word_is_imported_as_its_key(project: Project, deal: Path) -> None:
    path = edit(workbook(project, DEAL_ID, f"{DEAL_ID}-zh.xlsx", language="zh"), _stance("支持者"))
    result = dealbook(project.root, "import", "--lang", "zh", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == f"已写入 deals/{DEAL_ID}.yml"
    assert deal.read_text(encoding="utf-8") == DEAL.replace("    stance: neutral\n", "    stance: supporter\n", 1)
    again = dealbook(project.root, "import", "--lang", "zh", str(path))
    # The deal file changed since the workbook was made (by the import itself): merged, nothing left to take.
    assert (again.returncode, again.stdout.splitlines()) == (0, [
        f"{DEAL_ID}-zh.xlsx: 工作簿生成之后 deals/{DEAL_ID}.yml 也有改动；将合并双方的改动",
        f"{DEAL_ID}-zh.xlsx: 没有需要导入的内容"])
    for line in result.stdout.splitlines()[-1:] + again.stdout.splitlines():
        assert english_words(line) == [], line


def _score(value: object) -> Callable[[openpyxl.Workbook, Callable], None]:
    def change(wb: openpyxl.Workbook, cells: Callable) -> None:
        cells("FactorScores")[1].value = value  # funding
    return change


@pytest.mark.parametrize("case", ["not a workbook", "not a dealbook workbook", "score 7", "score text",
                                  "changed on both sides"])
def test_import_answers_a_chinese_reader_in_chinese(project: Project, deal: Path, case: str) -> None:
    zh = Labels("zh")
    name = f"{DEAL_ID}-zh.xlsx"
    if case == "not a workbook":
        path = project.root / name
        path.write_text("no zip here", encoding="utf-8")
        expected = [f"{name}: 无法作为 .xlsx 工作簿读取（它不是 zip 文件）"]
    elif case == "not a dealbook workbook":
        path = project.root / name
        openpyxl.Workbook().save(path)
        expected = [f"{name}: 不是 Dealbook 生成的项目工作簿或评分表：其中没有 Dealbook 数据表"]
    elif case in ("score 7", "score text"):
        path = edit(workbook(project, DEAL_ID, name, language="zh"), _score(7 if case == "score 7" else "很好"))
        cell = f"{zh.wb_sheet_scorecard}!E{score_row(project, 'funding')}"
        expected = [f"{name}: {cell}: 评分 7 不在 1 到 5 之间" if case == "score 7" else
                    f"{name}: {cell}: 评分 '很好' 不是 1 到 5 之间的数字"]
    else:
        path = edit(workbook(project, DEAL_ID, name, language="zh"), _score(5))
        deal.write_text(DEAL.replace("  funding: 2 ", "  funding: 3 "), encoding="utf-8")
        expected = [f"{name}: 工作簿生成之后 deals/{DEAL_ID}.yml 也有改动；将合并双方的改动",
                    f"{name}: qualification.funding: 工作簿（5）和 deals/{DEAL_ID}.yml（3）在工作簿生成之后都改了这一项；"
                    "请把其中一方改成与另一方一致，再导入一次"]
    before = deal.read_bytes()
    result = dealbook(project.root, "import", "--lang", "zh", str(path))
    lines = result.stdout.splitlines()
    assert lines[:-1] == expected, lines
    assert (result.returncode, lines[-1], result.stderr) == (1, "没有写入任何文件", "")
    for line in lines:
        assert english_words(line) == [], line
    assert deal.read_bytes() == before


# --- The live preview's error panel --------------------------------------------------------------

def test_the_preview_error_panel_on_zh_is_chinese(project: Project) -> None:
    project.write_deal("bad.yml", BASE_DEAL.replace("stage: 2", "stage: 提交初步方案").replace(
        "role: decision-maker", "role: 决策人"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {k: v for k, v in os.environ.items() if k != "DEALBOOK_LANG"} | {"SOURCE_DATE_EPOCH": AS_OF_EPOCH}
    server = subprocess.Popen([sys.executable, "-m", "generator", "serve", "-a", f"127.0.0.1:{port}"],
                              cwd=project.root, env=environment, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        page = ""
        deadline = time.monotonic() + 180  # a first build of both languages; generous for a loaded machine
        while time.monotonic() < deadline and 'class="dealbook-errors"' not in page:
            time.sleep(1)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/zh/", timeout=10) as response:
                    page = response.read().decode("utf-8")
            except OSError:
                continue
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    panel = re.search(r'<div class="dealbook-errors".*?</div>', page, re.S)
    assert panel, page[:2000]
    lines = [html.unescape(re.sub(r"<[^>]+>", "", item)) for item in
             re.findall(r"<(?:strong|li)>(.*?)</(?:strong|li)>", panel[0], re.S)]
    assert lines[0].startswith("项目文件中有 2 个问题"), lines
    assert lines[1].startswith("deals/bad.yml:4:8: error: stage: 应为 1 到 8 的整数") and lines[1].endswith(
        "(提交初步方案 请写作 3)"), lines
    assert lines[2].endswith("(决策人 请写作 'decision-maker')"), lines
    for line in lines:
        assert english_words(line, model_keys(project.root)) == [], line
