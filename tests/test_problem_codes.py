"""Problems are codes with parameters, worded only at the edges from each language's catalog."""

from __future__ import annotations

import ast
import json
import os
import re
import string
from pathlib import Path

import pytest
from conftest import BASE_DEAL, MINIMAL_DEAL, ROOT, Project, run_check
from test_check import BAD

from generator.diagnostics import Problem, StageText, Term, Worded, format_problems, worded
from generator.labels import Labels
from generator.sources import spec
from generator.sources.spec import KIND_CODES, Boolean, Integer, Number, Text

CATALOGS = sorted(p.stem for p in (ROOT / "generator" / "catalog").glob("*.yml"))
PLACEHOLDER = re.compile(r"{(\w+)(?:[:!][^}]*)?}")


def _names(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


WARNED: set[str] = set()  # the deal warnings' message keys, each with a `<key>_plain` sentence for the site


def _codes_in_source() -> dict[str, set[str] | None]:
    """Every problem code written in generator/: code → the parameter names given with it (None when the
    call passes them otherwise, e.g. a deal warning's `**values`)."""
    found: dict[str, set[str] | None] = {}
    for path in (ROOT / "generator").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            texts = [a for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if name in ("Worded", "worded") and node.args and node.args[0] in texts:
                code = node.args[0].value
                given = {k.arg for k in node.keywords if k.arg}
                if name == "Worded" and len(node.args) == 1:
                    given = set()
                found[code] = given if code not in found or found[code] == given else None
            elif name == "warn" and len(texts) >= 2:  # model/rules.py: warn(field, message key, hint key, **values)
                for constant in texts[-2:]:
                    found.setdefault(constant.value, None)
                if isinstance(node.args[1], ast.Constant):
                    WARNED.add(node.args[1].value)
            for keyword in node.keywords:  # Problem(..., code="e_no_rate", hint_code="e_no_rate_hint")
                if keyword.arg in ("code", "hint_code", "what_code") and isinstance(keyword.value, ast.Constant) \
                        and isinstance(keyword.value.value, str) and keyword.value.value:
                    found.setdefault(keyword.value.value, None)
    return found


def _dynamic_codes() -> set[str]:
    """The codes made from a name at run time (`f"{kind}_value"`, `f"{WANTED}_from_to"`, a history reason)."""
    scalars = {KIND_CODES[spec.CORE + tag] for tag in ("str", "int", "float", "bool", "null", "timestamp")}
    codes = set(KIND_CODES.values()) | {"value", "value_value"} | {f"{kind}_value" for kind in scalars}
    for number in (Integer, Number):
        codes |= {f"{number.WANTED}_{suffix}" for suffix in ("up_to", "at_least", "from_to")}
    codes |= {Text.WANTED, Boolean.WANTED, Boolean.HINT, "stage", "control_character", "character"}
    codes |= {"bad_control_more", "bad_character_more", "bad_control", "bad_character"}
    codes |= {f"history_why_{why}" for why in ("unreadable", "missing", "number", "stage")}
    _codes_in_source()
    codes |= {f"{code}_plain" for code in WARNED}
    return codes


def test_every_problem_code_has_a_text_in_every_catalog_with_the_same_parameters() -> None:
    in_source = _codes_in_source()
    assert len(in_source) > 100, sorted(in_source)  # the walk found the sources' codes
    codes = set(in_source) | _dynamic_codes()
    wordings = {language: Labels(language) for language in CATALOGS}
    missing = [(language, code) for code in sorted(codes) for language, labels in wordings.items()
               if labels.text_of(code) is None]
    assert not missing
    for code in sorted(codes):
        names = {language: _names(labels.text_of(code) or "") for language, labels in wordings.items()}
        assert len({frozenset(n) for n in names.values()}) == 1, (code, names)
        given = in_source.get(code)
        if given is not None:
            assert given == names["en"], (code, given, names["en"])


def test_a_problem_is_worded_in_the_readers_language_at_the_edge() -> None:
    problem = Problem("deals/a.yml", 4, 8, "error", "stage",
                      code="expected", params=(("wanted", worded("whole_from_to", low=1, high=8)),
                                               ("got", worded("text_value", value="'3'"))),
                      hint_code="remove_quotes", hint_params=(("number", "3"),))
    line = "deals/a.yml:4:8: error: stage: expected a whole number from 1 to 8, got text '3' (remove the quotes: write 3)"
    assert str(problem) == line == Labels("en").problem_line(problem)
    assert Labels("zh").problem_line(problem) == \
        "deals/a.yml:4:8: error: stage: 应为 1 到 8 的整数，实际是文本 '3' (去掉引号，写作 3)"
    assert Worded("empty") == worded("empty") and str(Worded("empty")) == "the file is empty"
    # A value with a line break in it is still one line when worded.
    broken = Problem("a.yml", 1, 1, "error", "", code="cannot_read_file", params=(("why", "a\nb"),))
    assert "\n" not in Labels("zh").problem_line(broken)


def test_no_regular_expression_translates_english_text() -> None:
    source = (ROOT / "generator" / "labels.py").read_text(encoding="utf-8")
    for gone in ("check_message", "_translated", "_message_patterns"):
        assert gone not in source
    for path in (ROOT / "generator").rglob("*.py"):
        assert "check_message" not in path.read_text(encoding="utf-8"), path


def _english_left(text: str, values: list[str]) -> list[str]:
    """Runs of two or more English words in `text` once values, code spans and quoted text are taken out."""
    for value in sorted(values, key=len, reverse=True):
        if value:
            text = text.replace(value, " ")
    text = re.sub(r"`[^`]*`|'[^']*'|\"[^\"]*\"", " ", text)
    return re.findall(r"[A-Za-z]{2,}(?:[ ,]+[A-Za-z]{2,})+", text)


def _values(params: dict) -> list[str]:
    out = []
    for value in params.values():
        if isinstance(value, dict):  # a Worded (code and params), or a stage model text or term (its fields)
            out.extend(_values(value["params"]) if "params" in value else [str(v) for v in value.values()])
        else:
            out.append(str(value))
    return out


def _broken_deals(deals: Path) -> None:
    """Many kinds of wrong deal files, and what else can sit in a deal folder."""
    for index, (_case, name, content, _, _) in enumerate(BAD):
        target = deals / (name if name != "a.yml" else f"case-{index}.yml")
        if target.exists():
            continue
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        target.write_bytes(data)
    (deals / "ok.yml").write_text(BASE_DEAL.replace("status: open", "status: lost"), encoding="utf-8")
    (deals / "nested.yml").write_text("title: T\n\tstage: 2\naccount：X\nowner:Y\n", encoding="utf-8")
    (deals / "keys.yml").write_text(BASE_DEAL + "stakeholders: {a: 1}\nexits: {2: x, 02: y}\n", encoding="utf-8")
    (deals / "amount.yml").write_text(BASE_DEAL.replace("amount: 1000", "amount: ¥4,600,000"), encoding="utf-8")
    (deals / "sci.yml").write_text(BASE_DEAL.replace("amount: 1000", "amount: 1.5e6"), encoding="utf-8")
    (deals / "when.yml").write_text(BASE_DEAL.replace("2027-01-31", "2027/2/26"), encoding="utf-8")
    (deals / "c1.yml").write_text(BASE_DEAL + "notes: a\x81b\n", encoding="utf-8")
    (deals / "nonchar.yml").write_text(BASE_DEAL + "notes: a\ufffeb\n", encoding="utf-8")
    (deals / "case-x.yml~").write_text("x", encoding="utf-8")
    (deals / "notes.txt").write_text("x", encoding="utf-8")
    (deals / "old").mkdir()
    (deals / "gone.yml").symlink_to(deals / "nowhere.yml")
    (deals / "loop.yml").symlink_to(deals / "loop.yml")
    if hasattr(os, "mkfifo"):
        os.mkfifo(deals / "pipe.yml")


def test_chinese_check_json_gives_every_problem_a_code_and_no_english_sentence(tmp_path: Path) -> None:
    (tmp_path / "playbook").mkdir()
    for model_file in (ROOT / "playbook").glob("playbook*.yml"):
        (tmp_path / "playbook" / model_file.name).write_bytes(model_file.read_bytes())
    (tmp_path / "deals").mkdir()
    _broken_deals(tmp_path / "deals")
    result = run_check(tmp_path, "--lang", "zh", "--format", "json")
    assert result.returncode == 1, result.stderr
    problems = json.loads(result.stdout)
    assert len(problems) > 30 and len({p["code"] for p in problems}) > 15, problems
    english = run_check(tmp_path, "--format", "json")
    assert [(p["path"], p["line"], p["code"]) for p in json.loads(english.stdout)] == \
        [(p["path"], p["line"], p["code"]) for p in problems]
    for problem in problems:
        assert problem["code"], problem
        assert set(problem) >= {"code", "params", "hint_code", "hint_params", "message", "hint"}
        left = _english_left(problem["message"], [problem["field"], problem["path"], *_values(problem["params"])])
        assert not left, (left, problem)
        if problem["hint"]:
            assert problem["hint_code"], problem
            left = _english_left(problem["hint"], [problem["field"], *_values(problem["hint_params"])])
            assert not left, (left, problem)


@pytest.mark.parametrize("language", [c for c in CATALOGS if c != "en"])
def test_every_message_the_checker_can_report_is_free_of_english_in_another_language(language: str) -> None:
    """The catalog walked: each message and part, its values filled with a marker, holds no run of English
    words once the marker, code spans and quoted text are taken out (field names and keys are quoted)."""
    catalog = Labels(language)._labels
    for section in ("messages", "message_parts"):
        for code, text in catalog[section].items():
            filled = PLACEHOLDER.sub("\u2063", text)
            # Commands and file names a reader types are kept as written (dealbook check, playbook/calls.yml).
            filled = re.sub(r"(?:dealbook|make|git)(?: [a-z-]+)*|[\w./-]+\.(?:ya?ml|md|xlsx|json)|--[a-z-]+", " ", filled)
            left = _english_left(filled, [])
            assert not left, (language, section, code, text, left)


@pytest.mark.parametrize("language", CATALOGS)
def test_every_catalog_words_every_message_and_part(language: str) -> None:
    labels, english = Labels(language), Labels("en")
    for section in ("messages", "message_parts"):
        for code, text in english._labels[section].items():
            assert _names(labels.text_of(code) or "") == _names(text), (language, code)


def test_the_model_imports_nothing_from_the_catalog() -> None:
    """The model computes and words nothing: no module of generator/model/ imports generator.labels."""
    for path in sorted((ROOT / "generator" / "model").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                names = {alias.name for alias in node.names}
                assert module.split(".")[-1] != "labels" and "labels" not in names, (path.name, ast.dump(node))
            elif isinstance(node, ast.Import):
                assert not any(a.name.split(".")[-1] == "labels" for a in node.names), (path.name, ast.dump(node))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert "generator.labels" not in node.value, path.name  # importlib.import_module("generator.labels")
            elif isinstance(node, ast.arg):
                assert node.arg != "labels", (path.name, node.arg)  # nor takes a Labels from anyone


def _format_fields(text: str) -> set[str]:
    """The `{names}` a `str.format` text fills in (`{{…}}` is a brace, not a name)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _warn_calls() -> list[tuple[str, str, set[str]]]:
    """model/rules.py's warn(field, message key, hint key, **values): (message key, hint key, value names)."""
    source = (ROOT / "generator" / "model" / "rules.py").read_text(encoding="utf-8")
    calls = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "warn":
            keys = [a for a in node.args[1:] if isinstance(a, ast.Constant)]
            hints = [a for a in node.args[2:3] if isinstance(a, ast.IfExp)]  # `… if close else …`
            hint_keys = [keys[1].value] if len(keys) > 1 else [h.body.value for h in hints] + \
                [h.orelse.value for h in hints]
            calls.extend((keys[0].value, hint, {k.arg for k in node.keywords}) for hint in hint_keys)
    return calls


@pytest.mark.parametrize("language", CATALOGS)
def test_every_warning_code_has_a_text_in_every_catalog_with_the_same_parameters(language: str) -> None:
    english, labels = Labels("en"), Labels(language)
    codes = sorted(key for key, text in english._labels.items() if key.startswith("w_") and isinstance(text, str))
    assert len(codes) > 30 and "w_no_exit_plain" in codes
    for code in codes:
        assert labels.text_of(code) is not None, (language, code)
        assert _format_fields(labels.text_of(code)) == _format_fields(english.text_of(code)), (language, code)
    # Each rule gives exactly what its message, its hint and its site sentence name together.
    calls = _warn_calls()
    assert {message for message, _, _ in calls} >= {"w_no_exit", "w_below_pass", "w_step_overdue", "w_no_reason"}
    for message, _hint, given in calls:
        hints = {hint for other, hint, _ in calls if other == message}  # w_unknown_owner has two: `close` or not
        named = [_format_fields(labels.text_of(code) or "") for code in (message, *hints, f"{message}_plain")]
        assert set().union(*named) == given, (language, message, hints, given)


def test_words_from_the_stage_model_need_the_stage_model() -> None:
    """A stage's name or a vocabulary term is a value; wording it without the stage model fails loudly, never
    silently in another language, and a problem holding one is not worded in English when it is made."""
    warning = Problem("deals/a.yml", 5, 1, "warning", "stage", code="w_no_exit",
                      params=(("n", 1), ("name", StageText(1, "name")), ("criterion", StageText(1, "exit_criterion"))))
    assert warning.message == "" and warning.summary() == "stage: w_no_exit"
    with pytest.raises(ValueError, match="with_model"):
        Labels("en").problem_message(warning)
    as_json = json.loads(format_problems([warning], "json", Labels("en").with_model(_model())))[0]
    assert as_json["params"] == {"n": 1, "name": {"stage": 1, "attribute": "name"},
                                 "criterion": {"stage": 1, "attribute": "exit_criterion"}}
    assert as_json["message"].startswith("stage 1 (") and as_json["plain"].startswith("Stage 1 (")
    lost = Problem("deals/a.yml", 6, 1, "warning", "status", code="w_no_reason", params=(("status", Term("status", "lost")),))
    assert Labels("en").with_model(_model()).problem_message(lost) == "a lost deal has no lost_reason"


def _model():
    from generator.sources.stage_model import load_stage_model

    return load_stage_model(ROOT / "playbook" / "playbook.yml", "playbook/playbook.yml")


def test_one_pipeline_is_worded_in_each_language_at_the_edge(project: Project) -> None:
    """The deal pages, the dashboard's attention list, `/deals.json` and `dealbook check` word the same
    warnings, made once without words, each in its reader's language: stage names and exit criteria from the
    stage model's texts in that language, dates as that language writes them, status terms by their label."""
    from datetime import date

    from generator.build import read_project, site_outputs
    from generator.cache import Cache
    from generator.site.paths import SitePaths

    project.write_deal("lost.yml", MINIMAL_DEAL.replace("status: open", "status: lost").replace("stage: 2", "stage: 3"))
    project.write_deal("late.yml", BASE_DEAL.replace("2027-01-31", "2026-11-02"))
    found = read_project(project.root, project.model, project.deals, date(2026, 11, 27), Labels("en"), Cache(None),
                         history="none")
    pipeline = found.pipeline
    assert pipeline is not None and not found.problems.errors
    views = {view.id: view for view in pipeline.deals}
    late = next(w for w in views["late"].warnings if w.code == "w_close_past")
    assert late.params == (("date", date(2026, 11, 2)),)  # a date, not words
    assert {w.code for w in views["lost"].warnings} >= {"w_no_exit", "w_no_reason"}
    expected = {
        "en": ["Stage 1 (Account planning and phone outreach) was passed without recording that its exit "
               "criterion was met.", "Marked as lost without saying why.", "Expected close 2026-11-02 has passed."],
        "zh": ["第 1 阶段（客户规划与电话邀约）已经走过，但没有记录出口标准已达成。", "已标为丢单，但没有写明原因。",
               "预计成交日期2026年11月2日已经过去。"],
    }
    for language, sentences in expected.items():
        outputs, renderer = site_outputs(pipeline, Labels(language), SitePaths(), Cache(None), workbooks=False)
        pages, paths = outputs.pages, SitePaths()
        shown = pages.finished[paths.deal_page("lost")].html + pages.finished[paths.deal_page("late")].html
        dashboard = pages.finished[paths.pipeline_page].html
        for sentence in sentences:
            assert f"<bdi>{sentence}</bdi>" in shown, (language, sentence)
            assert sentence in dashboard, (language, sentence)
        entries = {entry["id"]: entry for entry in json.loads(pages.files[paths.deals_json])}
        assert entries["late"]["warning_codes"] == [{"field": "expected_close", "code": "w_close_past",
                                                      "params": {"date": "2026-11-02"}}]
        assert entries["late"]["warnings"] == [renderer.warnings(views["late"])[0].summary()]
    checked = run_check(project.root, "--lang", "zh", "--format", "json", "deals/late.yml")
    problem = next(p for p in json.loads(checked.stdout) if p["code"] == "w_close_past")
    assert problem["message"] == "预计成交日期2026年11月2日已经过去" and problem["params"] == {"date": "2026-11-02"}
    assert problem["plain"] == expected["zh"][2]
