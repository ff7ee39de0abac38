"""The stage model: stages, evaluation model, grade rule and vocabularies.

`playbook/playbook.yml` is the single source of truth. This module reads it
with the same checks as a deal file (so a broken model gets `file:line:col`
errors, never a traceback) and turns it into immutable objects.

Its texts are in the default language (English). The texts of another language are in a
file beside it, `playbook.<code>.yml` (`playbook.zh.yml`), as a hand-written page `X.md` has
`X.<code>.md`: the same nesting, each list item named by its key (a stage by `key` or
`number`, a grade rule by `grade`), holding nothing but texts. Every language has the same
shape; the languages are the files present. A text a language does not give, or gives
unchanged, is shown in the default language and reported as untranslated (a warning).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from ..diagnostics import Problem, Problems, Worded, problem, worded
from .audiences import TEAM, Audience, audience_problems, audiences_of
from .forecast_terms import STAGE_FORECASTS
from .spec import Checker, Choice, Date, Field, Integer, ListOf, Number, Pattern, Record, Text, TextMapOf, suggest
from .yaml_nodes import read_yaml

VOCABULARIES = ("roles", "influence", "stance", "status", "topics")
TOOLS = ("evaluation", "grading", "stakeholders", "negotiation")
# Prose a reader sees: the fields a language's texts file may give (`playbook.<code>.yml`).
PROSE = ("name", "customer_step", "goal", "activities", "exit_criterion", "pitfalls", "question", "meaning",
         "action", "label", "description")
DEFAULT_LANGUAGE = "en"  # the language of the model file's own texts
# A language's texts file beside the model (`playbook.zh.yml`, `playbook.pt-br.yml`): the code after the stem.
_LANGUAGE_SUFFIX = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*")

# Texts by language, then by field (`{"zh": {"name": "签约成交", "activities": (…)}}`): only the texts a
# language gives and changes; every other text is the default language's.
Texts = Mapping[str, Mapping[str, Any]]


class Translated:
    """A part of the model with prose in it: `text("goal", "zh")` is its goal in Chinese, or in the
    default language when the model has no Chinese goal."""

    texts: Texts

    def text(self, attribute: str, language: str) -> Any:
        return self.texts.get(language, {}).get(attribute) or getattr(self, attribute)

    def translations(self, attribute: str) -> dict[str, Any]:
        """The text in each language that translates it (`{"zh": "签约成交"}`), by language code."""
        return {code: texts[attribute] for code, texts in self.texts.items() if texts.get(attribute)}


class StageModelError(Exception):
    """The stage model cannot be used; `problems` says why."""

    def __init__(self, problems: Problems):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Stage(Translated):
    number: int
    key: str
    name: str
    customer_step: str
    goal: str
    activities: tuple[str, ...]
    exit_criterion: str
    probability: float
    stale_days: int
    tools: tuple[str, ...]
    pitfalls: tuple[str, ...]
    forecast: str = "pipeline"  # the forecast category of an open deal in this stage
    # In the hash of none (a dict), in the repr and the equality of each: a cache keyed by one sees them.
    texts: Texts = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Factor(Translated):
    key: str
    name: str
    weight: float
    question: str
    group: str
    texts: Texts = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class FactorGroup(Translated):
    key: str
    name: str
    factors: tuple[Factor, ...]
    texts: Texts = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Evaluation:
    scale_min: int
    scale_max: int
    pass_mark: float
    weak_below: int
    strong_from: int
    groups: tuple[FactorGroup, ...]

    @property
    def factors(self) -> tuple[Factor, ...]:
        return tuple(f for g in self.groups for f in g.factors)

    @property
    def total_weight(self) -> float:
        return sum(f.weight for f in self.factors)


@dataclass(frozen=True)
class GradeRule(Translated):
    """A grade and when it applies; the last rule has no conditions and takes every other deal."""

    grade: str
    meaning: str
    action: str
    max_days_to_close: int | None
    min_likelihood: float | None
    texts: Texts = field(default_factory=dict, hash=False)


class Term(NamedTuple):  # a tuple, not a `Translated`: a NamedTuple takes no base class
    """A vocabulary entry: the key deal files use, and how it is shown (in each language: `text`)."""

    key: str
    label: str
    description: str = ""
    texts: Texts = {}  # noqa: RUF012 - never changed: a NamedTuple field cannot take a factory

    def text(self, attribute: str, language: str) -> Any:
        return self.texts.get(language, {}).get(attribute) or getattr(self, attribute)

    def translations(self, attribute: str) -> dict[str, Any]:
        """The text in each language that translates it (`{"zh": "签约成交"}`), by language code."""
        return {code: texts[attribute] for code, texts in self.texts.items() if texts.get(attribute)}


@dataclass(frozen=True)
class Checks:
    decision_maker_from_stage: int
    negotiation_from_stage: int


@dataclass(frozen=True)
class StageModel:
    stages: tuple[Stage, ...]
    path: str
    version: int
    currency: str
    currencies: tuple[str, ...]
    evaluation: Evaluation
    grading: tuple[GradeRule, ...]
    vocabularies: dict[str, tuple[Term, ...]]
    checks: Checks
    # The one currency the pipeline is totalled in, and what one unit of each other currency is worth in it.
    reporting_currency: str = "CNY"
    exchange_rates: dict[str, float] = field(default_factory=dict)
    rates_date: date | None = None
    fiscal_year_start: int = 1  # month; 1 = calendar quarters
    # The languages other than the default that have a texts file, and what each leaves untranslated.
    languages: tuple[str, ...] = ()
    untranslated: tuple[Problem, ...] = field(default=(), compare=False, repr=False)
    # Whom builds may be for (`audiences:`), and the one this model's build is for (`audiences.for_audience`).
    audiences: tuple[Audience, ...] = (TEAM,)
    audience: Audience = TEAM

    def stage(self, number: int) -> Stage:
        return self.stages[number - 1]

    def rate(self, currency: str) -> float | None:
        """Units of the reporting currency for one unit of `currency`; None when the model gives no rate."""
        if currency == self.reporting_currency:
            return 1.0
        return self.exchange_rates.get(currency)

    def keys(self, vocabulary: str) -> list[str]:
        return [t.key for t in self.vocabularies[vocabulary]]

    @property
    def grades(self) -> list[str]:
        return [r.grade for r in self.grading]

    def grade_rule(self, grade: str) -> GradeRule:
        return next(r for r in self.grading if r.grade == grade)


def _text(description: str = "", required: bool = True) -> Field:
    return Field(Text(), required, description)


def _texts(required: bool = True) -> Field:
    return Field(ListOf(Text()), required)


_KEY = Pattern(regex=r"[a-z][a-z0-9-]*", what="a lower-case key", what_code="lower_key", example="decision-maker")
_STAGE_KEY = Pattern(regex=r"[a-z][a-z0-9-]*", what="a lower-case key", what_code="lower_key", example="signing")
_FACTOR_KEY = Pattern(regex=r"[a-z][a-z0-9_]*", what="a lower-case key", what_code="lower_key", example="funding")
_GRADE = Pattern(regex="[A-Z]", what="a capital letter", what_code="capital_letter", example="A")
_CURRENCY = Pattern(regex="[A-Z]{3}", what="an ISO 4217 currency code", what_code="currency_code", example="CNY")
_TERM = Record({"key": Field(_KEY, True), "label": _text(), "description": _text(required=False)}, name="term")

MODEL_SPEC = Record(name="stage model", fields={
    "version": Field(Integer(1, 1), True),
    "currency": Field(_CURRENCY, True),
    "currencies": Field(ListOf(_CURRENCY), True),
    "reporting_currency": Field(_CURRENCY, True),
    # A rate of 0 is caught in _check_meaning, with a better message than "out of range".
    "exchange_rates": Field(TextMapOf(key=_CURRENCY, value=Number(0)), False),
    "rates_date": Field(Date(), False),
    "fiscal_year_start": Field(Integer(1, 12), False),
    "stages": Field(ListOf(Record(name="stage", fields={
        "number": Field(Integer(1, 99), True),
        "key": Field(_STAGE_KEY, True),
        "name": _text(), "customer_step": _text(), "goal": _text(),
        "activities": _texts(), "exit_criterion": _text(),
        "probability": Field(Number(0, 1), True),
        "stale_days": Field(Integer(1, 3650), True),
        "tools": Field(ListOf(Choice(list(TOOLS))), False),
        "pitfalls": _texts(required=False),
        "forecast": Field(Choice(list(STAGE_FORECASTS)), True),
    })), True),
    "checks": Field(Record(name="checks", fields={
        "decision_maker_from_stage": Field(Integer(1, 99), True),
        "negotiation_from_stage": Field(Integer(1, 99), True),
    }), True),
    "evaluation": Field(Record(name="evaluation", fields={
        "scale_min": Field(Integer(0, 10), True),
        "scale_max": Field(Integer(1, 10), True),
        "pass_mark": Field(Number(0, 100), True),
        "weak_below": Field(Integer(0, 10), True),
        "strong_from": Field(Integer(0, 10), True),
        "groups": Field(ListOf(Record(name="factor group", fields={
            "key": _text(), "name": _text(),
            "factors": Field(ListOf(Record(name="factor", fields={
                "key": Field(_FACTOR_KEY, True),
                "name": _text(), "weight": Field(Number(0.001, 1000), True),
                "question": _text(),
            })), True),
        })), True),
    }), True),
    "grading": Field(Record(name="grading", fields={
        "rules": Field(ListOf(Record(name="grade rule", fields={
            "grade": Field(_GRADE, True),
            "meaning": _text(), "action": _text(),
            "max_days_to_close": Field(Integer(-100000, 100000)),
            "min_likelihood": Field(Number(0, 100)),
        })), True),
    }), True),
    "vocabularies": Field(Record(name="vocabularies", fields={v: Field(ListOf(_TERM), True) for v in VOCABULARIES}),
                          True),
    # Whom a build may be for, each with the fields it leaves out (or the only ones it keeps): sources/audiences.py.
    "audiences": Field(TextMapOf(key=_KEY, value=Record(name="audience", fields={
        "leaves_out": Field(ListOf(Text())), "keeps": Field(ListOf(Text()))})), False),
})


# The texts of each part of the model, as a language's file gives them.
STAGE_TEXTS = ("name", "customer_step", "goal", "activities", "exit_criterion", "pitfalls")
GROUP_TEXTS, FACTOR_TEXTS, RULE_TEXTS, TERM_TEXTS = ("name",), ("name", "question"), ("meaning", "action"), \
    ("label", "description")


def _optional(*names: str) -> dict[str, Field]:
    return {name: Field(ListOf(Text()) if name in ("activities", "pitfalls") else Text(), False) for name in names}


# A language's texts file: the model's nesting, with only the keys that name an item and the texts.
TEXTS_SPEC = Record(name="stage model texts", fields={
    "stages": Field(ListOf(Record(name="stage", fields={
        "number": Field(Integer(1, 99)), "key": Field(_STAGE_KEY),
        **_optional(*STAGE_TEXTS)}))),
    "evaluation": Field(Record(name="evaluation", fields={
        "groups": Field(ListOf(Record(name="factor group", fields={
            "key": Field(Text(), True), **_optional(*GROUP_TEXTS),
            "factors": Field(ListOf(Record(name="factor", fields={
                "key": Field(_FACTOR_KEY, True), **_optional(*FACTOR_TEXTS)}))),
        }))),
    })),
    "grading": Field(Record(name="grading", fields={
        "rules": Field(ListOf(Record(name="grade rule", fields={
            "grade": Field(_GRADE, True), **_optional(*RULE_TEXTS)}))),
    })),
    "vocabularies": Field(Record(name="vocabularies", fields={v: Field(ListOf(Record(
        {"key": Field(_KEY, True), **_optional(*TERM_TEXTS)}, name="term"))) for v in VOCABULARIES})),
})
# The fields that name an item of each list, in the model and in a texts file (a stage by either).
ITEM_KEYS = {"stages": ("key", "number"), "groups": ("key",), "factors": ("key",), "rules": ("grade",),
             **{vocabulary: ("key",) for vocabulary in VOCABULARIES}}

# Keys the rest of Dealbook relies on by name; the labels and the order are free.
REQUIRED_TERMS = {"status": ("open", "won", "lost", "abandoned"), "roles": ("decision-maker",)}


def texts_files(path: Path) -> dict[str, Path]:
    """The texts file of each language beside the model (`playbook.zh.yml` → zh), by code."""
    path = Path(path)
    found = {}
    for candidate in sorted(path.parent.glob(f"{glob_escape(path.stem)}.*{glob_escape(path.suffix)}")):
        code = candidate.name[len(path.stem) + 1:len(candidate.name) - len(path.suffix)]
        if _LANGUAGE_SUFFIX.fullmatch(code) and code != DEFAULT_LANGUAGE and candidate.is_file():
            found[code] = candidate
    return found


def model_files(path: Path) -> tuple[Path, ...]:
    """Every file the stage model is read from: the model, then its languages' texts files."""
    return (Path(path), *texts_files(path).values())


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _shown_beside(shown: str, name: str) -> str:
    """How a file beside the model is named in messages, as the model is (`playbook/playbook.zh.yml`)."""
    head, sep, _ = shown.replace("\\", "/").rpartition("/")
    return f"{head}{sep}{name}"


def _read(path: Path) -> bytes | None:
    try:
        return Path(path).read_bytes()
    except OSError:
        return None  # read_yaml says why, at the file's name


def load_stage_model(path: Path, shown_as: str | None = None, kept: dict | None = None) -> StageModel:
    """Read and check the stage model and its languages' texts; raise StageModelError listing every problem.

    `kept` (a session's): the last model read, by its files' names and bytes, kept there: a build reads the
    stage model for the navigation and for the deals, and a live preview again for every rebuild.
    """
    shown = shown_as or str(path)
    files = texts_files(path)
    data = _read(path)
    texts = {code: (file, _shown_beside(shown, file.name), _read(file)) for code, file in files.items()}
    key = (shown, data, tuple((code, entry[2]) for code, entry in texts.items()))
    readable = data is not None and all(entry[2] is not None for entry in texts.values())
    if readable and kept is not None and key in kept:
        return kept[key]
    model = _load(path, shown, data, texts)
    if readable and kept is not None:
        kept.clear()
        kept[key] = model
    return model


def _load(path: Path, shown: str, data: bytes | None, texts: dict[str, tuple[Path, str, bytes | None]]) -> StageModel:
    problems = Problems()
    node = read_yaml(path, shown, problems, data)
    if node is None:
        raise StageModelError(problems)
    c = Checker(shown, problems)
    _moved_texts(node, "", shown, c)
    raw = MODEL_SPEC.check(node, "", c)
    if c.failed or raw is None:
        raise StageModelError(problems)
    untranslated: list[Problem] = []
    for code, (file, file_shown, file_data) in texts.items():
        _read_texts(raw, code, file, file_shown, file_data, problems, untranslated)
    if problems.errors:
        raise StageModelError(problems)
    model = _build(raw, shown, tuple(texts), tuple(untranslated))
    _check_meaning(model, c)
    if problems.errors:
        raise StageModelError(problems)
    return model


# A text written beside the default language's with the language as a suffix (`goal_<code>:`), as models
# before playbook.<code>.yml had it.
_SUFFIXED = re.compile(rf"(?:{'|'.join(PROSE)})_([a-z]{{2,3}})")


def _moved_texts(node: Any, where: str, shown: str, c: Checker) -> None:
    """Each text of another language in the model file is an error naming the file it belongs in (the spec
    alone would call it an unknown key), and is left out of the spec's check."""
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value, start=1):
            _moved_texts(item, f"{where}[{index}]", shown, c)
    elif isinstance(node, yaml.MappingNode):
        kept = []
        for key, value in node.value:
            at = f"{where}.{key.value}" if where else str(key.value)
            moved = _SUFFIXED.fullmatch(key.value) if isinstance(key, yaml.ScalarNode) else None
            if moved:
                file = _shown_beside(shown, f"{Path(shown).stem}.{moved[1]}{Path(shown).suffix}").rpartition("/")[2]
                c.error(key, at, worded("texts_moved", file=file), Worded("texts_moved_hint"))
            else:
                kept.append((key, value))
                _moved_texts(value, at, shown, c)
        node.value[:] = kept


def _read_texts(raw: dict, code: str, path: Path, shown: str, data: bytes | None, problems: Problems,
                untranslated: list[Problem]) -> None:
    """One language's texts file, checked and laid onto the model's items (`raw[…]["texts"][code]`)."""
    if data is None or re.sub(rb"(?m)^\s*#.*$", b"", data).strip():
        node = read_yaml(path, shown, problems, data)
        if node is None:
            return
        c = Checker(shown, problems)
        given = TEXTS_SPEC.check(node, "", c)
        if c.failed or given is None:
            return
        _lay(raw, given, "", code, c)
    # else a file with nothing in it yet (or comments only): every text is untranslated
    _list_untranslated(raw, "", code, shown, untranslated)


def _lay(model: dict, given: dict, where: str, code: str, c: Checker) -> None:
    """Put the texts of `given` (a part of a texts file) onto the matching part of the model."""
    prefix = f"{where}." if where else ""

    def error(at: str, message: Worded, hint: Worded) -> None:
        line, col = c.marks.get(at, c.marks.get(where, (1, 1)))
        c.problems.error(c.path, line, col, at, message, hint)

    for name, value in given.items():
        at = prefix + name
        if name in PROSE:
            original = model.get(name)
            if not original:
                error(at, worded("texts_nothing_to_translate", name=name), Worded("texts_remove_or_add"))
            elif isinstance(original, list) and len(value) != len(original):
                error(at, worded("texts_count", given=len(value), name=name, expected=len(original)),
                      Worded("texts_one_each"))
            else:
                model.setdefault("texts", {}).setdefault(code, {})[name] = tuple(value) if isinstance(value, list) \
                    else value
                model.setdefault("texts_at", {}).setdefault(code, {})[name] = c.marks.get(at, (1, 1))
        elif name in ITEM_KEYS and isinstance(value, list):
            keys, items, seen = ITEM_KEYS[name], model.get(name) or [], set()
            for index, item in enumerate(value, start=1):
                item_at = f"{at}[{index}]"
                named = {key: item[key] for key in keys if key in item}
                match = [i for i, candidate in enumerate(items) if all(candidate.get(k) == v for k, v in named.items())]
                if not named:
                    error(item_at, worded("texts_unnamed", list=name),
                          worded("texts_name_by", keys=" / ".join(f"'{k}'" for k in keys)))
                elif not match:
                    # The key no item has (or, when a stage's key and number name two stages, the first).
                    unknown = [(k, v) for k, v in named.items() if all(i.get(k) != v for i in items)]
                    key, value = (unknown or list(named.items()))[0]
                    options = [str(i.get(key)) for i in items]
                    error(f"{item_at}.{key}", worded("texts_no_item", list=name, key=key, value=value),
                          suggest(str(value), options) or worded("texts_translate_only", options=", ".join(options)))
                elif match[0] in seen:
                    error(item_at, Worded("texts_twice"), Worded("texts_keep_one"))
                else:
                    seen.add(match[0])
                    items[match[0]].setdefault("texts_at", {}).setdefault(code, {})[""] = c.marks.get(item_at, (1, 1))
                    _lay(items[match[0]], item, item_at, code, c)
        elif isinstance(value, dict):
            _lay(model.get(name) or {}, value, at, code, c)


def _list_untranslated(model: object, where: str, code: str, shown: str, out: list[Problem]) -> None:
    """A warning for each text of the model that the language leaves out or gives unchanged (a scaffolded
    language starts as a copy of the default one): the default language's text is shown in its place."""
    if isinstance(model, list):
        for index, item in enumerate(model, start=1):
            _list_untranslated(item, f"{where}[{index}]", code, shown, out)
        return
    if not isinstance(model, dict):
        return
    prefix = f"{where}." if where else ""
    texts, at = model.get("texts", {}).get(code, {}), model.get("texts_at", {}).get(code, {})
    for name in PROSE:
        original = model.get(name)
        if not original or not isinstance(original, (str, list)):
            continue
        given = texts.get(name)
        if given is None:
            line, col = at.get("", (1, 1))
            message = worded("untranslated_missing", language=code, default=DEFAULT_LANGUAGE)
        elif list(given) == original if isinstance(original, list) else given == original:
            line, col = at[name]
            message = worded("untranslated_same", default=DEFAULT_LANGUAGE, language=code)
            del texts[name]
        else:
            continue
        out.append(problem(shown, line, col, "warning", prefix + name, message,
                           worded("untranslated_where", file=shown.replace("\\", "/").rpartition("/")[2])))
    for name, value in model.items():
        if name not in PROSE and name not in ("texts", "texts_at"):
            _list_untranslated(value, prefix + name, code, shown, out)


def texts_document(model: StageModel, language: str) -> dict:
    """The model's texts in `language` (the default language's where it has none), in the shape of a
    language's texts file: what a new language starts from, every text marked untranslated until changed."""

    def texts(part: Any, names: tuple[str, ...]) -> dict:
        values = {name: part.text(name, language) for name in names}
        return {name: list(value) if isinstance(value, tuple) else value for name, value in values.items() if value}

    return {
        "stages": [{"key": s.key, **texts(s, STAGE_TEXTS)} for s in model.stages],
        "evaluation": {"groups": [{"key": g.key, **texts(g, GROUP_TEXTS),
                                   "factors": [{"key": f.key, **texts(f, FACTOR_TEXTS)} for f in g.factors]}
                                  for g in model.evaluation.groups]},
        "grading": {"rules": [{"grade": r.grade, **texts(r, RULE_TEXTS)} for r in model.grading]},
        "vocabularies": {name: [{"key": t.key, **texts(t, TERM_TEXTS)} for t in terms]
                         for name, terms in model.vocabularies.items()},
    }


def _build(raw: dict, shown: str, languages: tuple[str, ...] = (),
           untranslated: tuple[Problem, ...] = ()) -> StageModel:
    stages = tuple(
        Stage(s["number"], s["key"], s["name"], s["customer_step"], s["goal"],
              tuple(s["activities"]), s["exit_criterion"], float(s["probability"]), s["stale_days"],
              tuple(s.get("tools", ())), tuple(s.get("pitfalls", ())), s["forecast"], s.get("texts", {}))
        for s in raw["stages"])
    ev = raw["evaluation"]
    groups = tuple(
        FactorGroup(g["key"], g["name"],
                    tuple(Factor(f["key"], f["name"], float(f["weight"]), f["question"], g["key"], f.get("texts", {}))
                          for f in g["factors"]), g.get("texts", {}))
        for g in ev["groups"])
    evaluation = Evaluation(ev["scale_min"], ev["scale_max"], float(ev["pass_mark"]), ev["weak_below"],
                            ev["strong_from"], groups)
    grading = tuple(GradeRule(r["grade"], r["meaning"], r["action"], r.get("max_days_to_close"),
                              r.get("min_likelihood"), r.get("texts", {}))
                    for r in raw["grading"]["rules"])
    vocabularies = {name: tuple(Term(t["key"], t["label"], t.get("description", ""), t.get("texts", {}))
                                for t in terms)
                    for name, terms in raw["vocabularies"].items()}
    return StageModel(stages, shown, raw["version"], raw["currency"], tuple(raw["currencies"]), evaluation, grading,
                      vocabularies, Checks(**raw["checks"]), raw["reporting_currency"],
                      {code: float(rate) for code, rate in raw.get("exchange_rates", {}).items()},
                      raw.get("rates_date"), raw.get("fiscal_year_start", 1), languages, untranslated,
                      audiences_of(raw.get("audiences") or {}))


def _check_meaning(model: StageModel, c: Checker) -> None:
    """Rules between fields that a per-field schema cannot express."""

    def error(where: str, message: Worded, hint: Worded | str = "") -> None:
        line, col = c.marks.get(where, (1, 1))
        c.problems.error(c.path, line, col, where, message, hint)

    for index, stage in enumerate(model.stages, start=1):
        if stage.number != index:
            error(f"stages[{index}].number", worded("model_stage_numbered", index=index, number=stage.number),
                  Worded("model_number_in_order"))
        if index > 1 and stage.probability < model.stages[index - 2].probability:
            error(f"stages[{index}].probability", worded("model_probability_lower", value=stage.probability),
                  Worded("model_probability_rise"))
        if index > 1 and STAGE_FORECASTS.index(stage.forecast) < \
                STAGE_FORECASTS.index(model.stages[index - 2].forecast):
            error(f"stages[{index}].forecast", worded("model_forecast_less", value=f"'{stage.forecast}'",
                                                      before=f"'{model.stages[index - 2].forecast}'"),
                  worded("model_forecast_rise", order=", ".join(STAGE_FORECASTS)))
    if len(model.stages) < 2:
        error("stages", Worded("model_two_stages"))
    keys = [f.key for f in model.evaluation.factors]
    for key in {k for k in keys if keys.count(k) > 1}:
        error("evaluation.groups", worded("model_factor_twice", key=f"'{key}'"))
    ev = model.evaluation
    if ev.scale_min >= ev.scale_max:
        error("evaluation.scale_max", Worded("model_scale"))
    rules = model.grading
    if rules and (rules[-1].max_days_to_close is not None or rules[-1].min_likelihood is not None):
        error(f"grading.rules[{len(rules)}]", Worded("model_last_rule"), Worded("model_last_rule_hint"))
    grades = [r.grade for r in rules]
    for grade in {g for g in grades if grades.count(g) > 1}:
        error("grading.rules", worded("model_grade_twice", grade=f"'{grade}'"))
    if model.currency not in model.currencies:
        error("currency", worded("model_currency_unlisted", code=model.currency), Worded("model_add_currency"))
    _check_rates(model, error)
    for where, message, hint in audience_problems(model):
        error(where, message, hint)
    for vocabulary, needed in REQUIRED_TERMS.items():
        for key in needed:
            if key not in model.keys(vocabulary):
                error(f"vocabularies.{vocabulary}", worded("model_term_missing", key=f"'{key}'"),
                      Worded("model_term_needed"))


def _check_rates(model: StageModel, error) -> None:
    """The reporting currency and its exchange rates. A rate that only some deal would need is checked
    with that deal (model.forecast), so that the error names the deal's currency line."""
    reporting = model.reporting_currency
    if reporting not in model.currencies:
        error("reporting_currency", worded("model_reporting_unlisted", code=reporting), Worded("model_add_currency"))
        return  # every rate is relative to it: nothing more to say until it is right
    for code, rate in model.exchange_rates.items():
        where = f"exchange_rates.{code}"
        if code == reporting and rate != 1:
            error(where, worded("model_reporting_rate", code=code, rate=f"{rate:g}"), Worded("model_remove_line"))
        elif code not in model.currencies:
            error(where, worded("model_rate_unlisted", code=code), Worded("model_add_or_remove_rate"))
        elif rate <= 0:
            error(where, worded("model_rate_zero", rate=f"{rate:g}", code=code),
                  worded("model_rate_worth", reporting=reporting, code=code))
    if model.rate(model.currency) is None:
        error("currency", worded("model_no_default_rate", code=model.currency, reporting=reporting),
              worded("model_add_rate", line=f"'{model.currency}: …'"))
