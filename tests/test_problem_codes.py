"""Problems are codes with parameters, worded only at the edges from each language's catalog."""

from __future__ import annotations

import ast
import json
import os
import re
from pathlib import Path

import pytest
from conftest import BASE_DEAL, ROOT, run_check
from test_check import BAD

from generator.diagnostics import Problem, Worded, worded
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
        out.extend(_values(value["params"]) if isinstance(value, dict) else [str(value)])
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


@pytest.mark.parametrize("language", CATALOGS)
def test_every_catalog_words_every_message_and_part(language: str) -> None:
    labels, english = Labels(language), Labels("en")
    for section in ("messages", "message_parts"):
        for code, text in english._labels[section].items():
            assert _names(labels.text_of(code) or "") == _names(text), (language, code)
