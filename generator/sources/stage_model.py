"""The stage model: stages, evaluation model, grade rule and vocabularies.

`playbook/playbook.yml` is the single source of truth. This module reads it
with the same checks as a deal file (so a broken model gets `file:line:col`
errors, never a traceback) and turns it into immutable objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import NamedTuple

from ..diagnostics import Problems
from .forecast_terms import STAGE_FORECASTS
from .spec import Checker, Choice, Date, Field, Integer, ListOf, Number, Pattern, Record, Text, TextMapOf
from .yaml_nodes import read_yaml

VOCABULARIES = ("roles", "influence", "stance", "status", "topics")
TOOLS = ("evaluation", "grading", "stakeholders", "negotiation")
# Prose a reader sees; each is given in English (`goal`) and in Chinese (`goal_zh`), or in neither.
PROSE = ("name", "customer_step", "goal", "activities", "exit_criterion", "pitfalls", "question", "meaning",
         "action", "label", "description")


class StageModelError(Exception):
    """The stage model cannot be used; `problems` says why."""

    def __init__(self, problems: Problems):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Stage:
    number: int
    key: str
    name: str
    name_zh: str
    customer_step: str
    goal: str
    activities: tuple[str, ...]
    exit_criterion: str
    probability: float
    stale_days: int
    tools: tuple[str, ...]
    pitfalls: tuple[str, ...]
    # Chinese texts; empty where the model gives none (the English text is shown then).
    customer_step_zh: str = ""
    goal_zh: str = ""
    activities_zh: tuple[str, ...] = ()
    exit_criterion_zh: str = ""
    pitfalls_zh: tuple[str, ...] = ()
    forecast: str = "pipeline"  # the forecast category of an open deal in this stage


@dataclass(frozen=True)
class Factor:
    key: str
    name: str
    name_zh: str
    weight: float
    question: str
    group: str
    question_zh: str = ""


@dataclass(frozen=True)
class FactorGroup:
    key: str
    name: str
    name_zh: str
    factors: tuple[Factor, ...]


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
class GradeRule:
    """A grade and when it applies; the last rule has no conditions and takes every other deal."""

    grade: str
    meaning: str
    action: str
    max_days_to_close: int | None
    min_likelihood: float | None
    meaning_zh: str = ""
    action_zh: str = ""


class Term(NamedTuple):
    """A vocabulary entry: the key deal files use, and how it is shown (with its Chinese texts)."""

    key: str
    label: str
    label_zh: str = ""
    description: str = ""
    description_zh: str = ""


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


_KEY = Pattern(regex=r"[a-z][a-z0-9-]*", what="a lower-case key", example="decision-maker")
_CURRENCY = Pattern(regex="[A-Z]{3}", what="an ISO 4217 currency code", example="CNY")
_TERM = Record({"key": Field(_KEY, True), "label": _text(), "label_zh": _text(required=False),
                "description": _text(required=False), "description_zh": _text(required=False)}, name="term")

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
        "key": Field(Pattern(regex=r"[a-z][a-z0-9-]*", what="a lower-case key", example="signing"), True),
        "name": _text(), "name_zh": _text(), "customer_step": _text(), "goal": _text(),
        "activities": _texts(), "exit_criterion": _text(),
        "customer_step_zh": _text(required=False), "goal_zh": _text(required=False),
        "activities_zh": _texts(required=False), "exit_criterion_zh": _text(required=False),
        "pitfalls_zh": _texts(required=False),
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
            "key": _text(), "name": _text(), "name_zh": _text(),
            "factors": Field(ListOf(Record(name="factor", fields={
                "key": Field(Pattern(regex=r"[a-z][a-z0-9_]*", what="a lower-case key", example="funding"), True),
                "name": _text(), "name_zh": _text(), "weight": Field(Number(0.001, 1000), True),
                "question": _text(), "question_zh": _text(required=False),
            })), True),
        })), True),
    }), True),
    "grading": Field(Record(name="grading", fields={
        "rules": Field(ListOf(Record(name="grade rule", fields={
            "grade": Field(Pattern(regex="[A-Z]", what="a capital letter", example="A"), True),
            "meaning": _text(), "action": _text(),
            "meaning_zh": _text(required=False), "action_zh": _text(required=False),
            "max_days_to_close": Field(Integer(-100000, 100000)),
            "min_likelihood": Field(Number(0, 100)),
        })), True),
    }), True),
    "vocabularies": Field(Record(name="vocabularies", fields={v: Field(ListOf(_TERM), True) for v in VOCABULARIES}),
                          True),
})

# Keys the rest of Dealbook relies on by name; the labels and the order are free.
REQUIRED_TERMS = {"status": ("open", "won", "lost", "abandoned"), "roles": ("decision-maker",)}


# The last model read, by its file's name and bytes: a build reads the stage model once per
# language and once for the deals, and a live preview again for every rebuild.
_LAST: dict[tuple[str, bytes], StageModel] = {}


def load_stage_model(path: Path, shown_as: str | None = None) -> StageModel:
    """Read and check the stage model; raise StageModelError listing every problem."""
    shown = shown_as or str(path)
    try:
        data: bytes | None = Path(path).read_bytes()
    except OSError:
        data = None  # read_yaml says why, at the file's name
    if data is not None and (shown, data) in _LAST:
        return _LAST[(shown, data)]
    model = _load(path, shown, data)
    if data is not None:
        _LAST.clear()
        _LAST[(shown, data)] = model
    return model


def _load(path: Path, shown: str, data: bytes | None) -> StageModel:
    problems = Problems()
    node = read_yaml(path, shown, problems, data)
    if node is None:
        raise StageModelError(problems)
    c = Checker(shown, problems)
    raw = MODEL_SPEC.check(node, "", c)
    if c.failed or raw is None:
        raise StageModelError(problems)
    model = _build(raw, shown)
    _check_meaning(model, c)
    _check_twins(raw, "", c)
    if problems.errors:
        raise StageModelError(problems)
    return model


def _build(raw: dict, shown: str) -> StageModel:
    stages = tuple(
        Stage(s["number"], s["key"], s["name"], s["name_zh"], s["customer_step"], s["goal"],
              tuple(s["activities"]), s["exit_criterion"], float(s["probability"]), s["stale_days"],
              tuple(s.get("tools", ())), tuple(s.get("pitfalls", ())), s.get("customer_step_zh", ""),
              s.get("goal_zh", ""), tuple(s.get("activities_zh", ())), s.get("exit_criterion_zh", ""),
              tuple(s.get("pitfalls_zh", ())), s["forecast"])
        for s in raw["stages"])
    ev = raw["evaluation"]
    groups = tuple(
        FactorGroup(g["key"], g["name"], g["name_zh"],
                    tuple(Factor(f["key"], f["name"], f["name_zh"], float(f["weight"]), f["question"], g["key"],
                                 f.get("question_zh", ""))
                          for f in g["factors"]))
        for g in ev["groups"])
    evaluation = Evaluation(ev["scale_min"], ev["scale_max"], float(ev["pass_mark"]), ev["weak_below"],
                            ev["strong_from"], groups)
    grading = tuple(GradeRule(r["grade"], r["meaning"], r["action"], r.get("max_days_to_close"),
                              r.get("min_likelihood"), r.get("meaning_zh", ""), r.get("action_zh", ""))
                    for r in raw["grading"]["rules"])
    vocabularies = {name: tuple(Term(t["key"], t["label"], t.get("label_zh", ""), t.get("description", ""),
                                     t.get("description_zh", "")) for t in terms)
                    for name, terms in raw["vocabularies"].items()}
    return StageModel(stages, shown, raw["version"], raw["currency"], tuple(raw["currencies"]), evaluation, grading,
                      vocabularies, Checks(**raw["checks"]), raw["reporting_currency"],
                      {code: float(rate) for code, rate in raw.get("exchange_rates", {}).items()},
                      raw.get("rates_date"), raw.get("fiscal_year_start", 1))


def _check_twins(node: object, where: str, c: Checker) -> None:
    """Every prose text has an English and a Chinese text, or neither: a site in two languages
    would otherwise show one language's text in the other's pages without a word."""
    if isinstance(node, list):
        for index, item in enumerate(node, start=1):
            _check_twins(item, f"{where}[{index}]", c)
        return
    if not isinstance(node, dict):
        return
    prefix = f"{where}." if where else ""
    for name in PROSE:
        english, chinese = node.get(name), node.get(f"{name}_zh")
        if bool(english) != bool(chinese):
            given, missing = (name, f"{name}_zh") if english else (f"{name}_zh", name)
            line, col = c.marks.get(prefix + given, c.marks.get(where, (1, 1)))
            c.problems.error(c.path, line, col, prefix + missing, f"'{given}' is given but '{missing}' is not",
                             f"every text is given in English and in Chinese: add '{missing}: …' next to '{given}'")
        elif isinstance(english, list) and isinstance(chinese, list) and len(english) != len(chinese):
            line, col = c.marks.get(prefix + f"{name}_zh", (1, 1))
            c.problems.error(c.path, line, col, prefix + f"{name}_zh", f"has {len(chinese)} items and '{name}' has "
                             f"{len(english)}", "give one Chinese item for each English one, in the same order")
    for key, value in node.items():
        _check_twins(value, prefix + key, c)


def _check_meaning(model: StageModel, c: Checker) -> None:
    """Rules between fields that a per-field schema cannot express."""

    def error(where: str, message: str, hint: str = "") -> None:
        line, col = c.marks.get(where, (1, 1))
        c.problems.error(c.path, line, col, where, message, hint)

    for index, stage in enumerate(model.stages, start=1):
        if stage.number != index:
            error(f"stages[{index}].number", f"stage {index} is numbered {stage.number}",
                  "number the stages 1, 2, 3, … in order")
        if index > 1 and stage.probability < model.stages[index - 2].probability:
            error(f"stages[{index}].probability", f"{stage.probability} is lower than the stage before it",
                  "win probabilities must rise with the stage")
        if index > 1 and STAGE_FORECASTS.index(stage.forecast) < \
                STAGE_FORECASTS.index(model.stages[index - 2].forecast):
            error(f"stages[{index}].forecast", f"'{stage.forecast}' is less certain than the stage before it "
                  f"('{model.stages[index - 2].forecast}')", "forecast categories must rise with the stage: "
                  + ", ".join(STAGE_FORECASTS))
    if len(model.stages) < 2:
        error("stages", "the model needs at least two stages")
    keys = [f.key for f in model.evaluation.factors]
    for key in {k for k in keys if keys.count(k) > 1}:
        error("evaluation.groups", f"factor '{key}' is defined twice")
    ev = model.evaluation
    if ev.scale_min >= ev.scale_max:
        error("evaluation.scale_max", "scale_max must be greater than scale_min")
    rules = model.grading
    if rules and (rules[-1].max_days_to_close is not None or rules[-1].min_likelihood is not None):
        error(f"grading.rules[{len(rules)}]", "the last grade rule must have no conditions",
              "it catches every deal no other rule takes")
    grades = [r.grade for r in rules]
    for grade in {g for g in grades if grades.count(g) > 1}:
        error("grading.rules", f"grade '{grade}' is given twice")
    if model.currency not in model.currencies:
        error("currency", f"the default currency {model.currency} is not in currencies", "add it to currencies")
    _check_rates(model, error)
    for vocabulary, needed in REQUIRED_TERMS.items():
        for key in needed:
            if key not in model.keys(vocabulary):
                error(f"vocabularies.{vocabulary}", f"'{key}' is missing", "Dealbook relies on this key")


def _check_rates(model: StageModel, error) -> None:
    """The reporting currency and its exchange rates. A rate that only some deal would need is checked
    with that deal (model.forecast), so that the error names the deal's currency line."""
    reporting = model.reporting_currency
    if reporting not in model.currencies:
        error("reporting_currency", f"the reporting currency {reporting} is not in currencies", "add it to currencies")
        return  # every rate is relative to it: nothing more to say until it is right
    for code, rate in model.exchange_rates.items():
        where = f"exchange_rates.{code}"
        if code == reporting and rate != 1:
            error(where, f"{code} is the reporting currency, so its rate is 1, not {rate:g}", "remove this line")
        elif code not in model.currencies:
            error(where, f"{code} is not in currencies", "add it to currencies, or remove the rate")
        elif rate <= 0:
            error(where, f"a rate of {rate:g} would make every {code} deal worth nothing",
                  f"give the number of {reporting} one {code} is worth")
    if model.rate(model.currency) is None:
        error("currency", f"the default currency {model.currency} has no exchange rate into {reporting}",
              f"add '{model.currency}: …' under exchange_rates")
