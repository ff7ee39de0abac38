"""The deal file format, declared once.

`deal_spec(model)` is the only description of a deal file: it validates deal
files, produces the published JSON Schema and the reference page. The
vocabularies and the number of stages come from the stage model; what each
field means, in each language, comes from the label catalog (`fields:`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .forecast_terms import DEAL_FORECASTS
from .spec import Boolean, Choice, Date, Field, Integer, Keyed, ListOf, MapOf, Number, Record, Spec, Text

if TYPE_CHECKING:
    from ..labels import Labels
    from .stage_model import StageModel

ID_PATTERN = r"[a-z0-9][a-z0-9-]*"
SCHEMA_ID = "https://dealbook.invalid/deal.schema.json"
# A deal's simple optional texts, declared here alone, in the order they are shown. Each is checked as text,
# read into `Deal.texts` (every deal has each, "" when its file has none), written in `/deals.json` under its
# name, listed on the reference page and in the JSON Schema (its meaning: the catalogs' `fields:`), shown on the
# deal page (`deal.html.j2`'s facts) and in the deal workbook's facts (`deal_book`) under the catalogs'
# `field_labels:` word, and emptied by an audience that leaves it out. Adding one: its name here, its words in
# each catalog. (A field the model computes with, or with a type of its own, is a field of `Deal`.)
SHOWN_TEXTS: tuple[str, ...] = ()
PLAN_SIDES = ("customer", "us")  # who does a plan milestone: the buyer's side or ours


def _required(spec: Spec) -> Field:
    return Field(spec, True)


def _optional(spec: Spec) -> Field:
    return Field(spec, False)


def _choice(model: StageModel, vocabulary: str) -> Keyed:
    """One of a vocabulary's keys; a term's label, in any language of the model, names the key to write."""
    words = {}
    for term in model.vocabularies[vocabulary]:
        for label in (term.label, *term.translations("label").values()):
            words[" ".join(label.split()).casefold()] = term.key
    return Keyed(Choice(model.keys(vocabulary)), words)


def _stage(model: StageModel) -> Keyed:
    """A stage number; a stage's name (in any language of the model) or key names the number to write."""
    words: dict[str, object] = {}
    for stage in model.stages:
        for word in (stage.key, stage.name, *stage.translations("name").values()):
            words[" ".join(word.split()).casefold()] = stage.number
    return Keyed(Integer(1, len(model.stages)), words)


@dataclass
class ShownText(Text):
    """A text of `SHOWN_TEXTS`: checked as any text, and shown wherever the deal is."""


def shown_texts(spec: Record) -> list[str]:
    """The names of a deal spec's shown texts (`SHOWN_TEXTS`), in order."""
    return [key for key, f in spec.fields.items() if isinstance(f.spec, ShownText)]


def _texts(*names: str) -> dict[str, Field]:
    """Optional free-text fields."""
    return {name: Field(Text(), False) for name in names}


def deal_spec(model: StageModel) -> Record:
    stages = len(model.stages)
    ev = model.evaluation
    score = Integer(ev.scale_min, ev.scale_max)
    stakeholder = Record(name="stakeholder", fields={
        "name": _required(Text()), **_texts("title"),
        "role": _optional(_choice(model, "roles")),
        "influence": _optional(_choice(model, "influence")),
        "stance": _optional(_choice(model, "stance")),
        "last_contact": _optional(Date()), **_texts("notes"),
    })
    exit_ = Record(name="exit", fields={"date": _optional(Date()), **_texts("evidence")})
    next_step = Record(name="next_step", fields={
        "action": _required(Text()), **_texts("owner"), "due": _optional(Date()), "done": _optional(Boolean()),
    })
    # A mutual action plan: the milestones to signature agreed with the buyer, each with a side and an owner;
    # `stage` names the stage whose exit the milestone achieves (the buyer's page shows it as their step).
    milestone = Record(name="milestone", fields={
        "milestone": _required(Text()), "side": _required(Choice(list(PLAN_SIDES))), "owner": _required(Text()),
        "due": _required(Date()), "done": _optional(Boolean()), "stage": _optional(_stage(model)),
    })
    competitor = Record(name="competitor", fields={"name": _required(Text()), **_texts("strengths", "weaknesses")})
    term = Record(name="term", fields={
        "topic": _required(_choice(model, "topics")),
        **_texts("opening", "target", "walk_away", "customer_position", "concessions"),
    })
    return Record(name="deal", fields={
        "title": _required(Text()),
        "account": _required(Text()),
        "owner": _required(Text()),
        "stage": _required(_stage(model)),
        "status": _required(_choice(model, "status")),
        "amount": _required(Number(0)),
        "currency": _optional(Choice(list(model.currencies))),
        "expected_close": _required(Date()),
        **_texts("lost_reason", "summary"),
        **{name: _optional(ShownText()) for name in SHOWN_TEXTS},
        "probability": _optional(Number(0, 1)),
        "forecast": _optional(Choice(list(DEAL_FORECASTS))),
        "grade": _optional(Choice(model.grades)),
        "qualification": _optional(Record(name="scores", fields={f.key: _optional(score) for f in ev.factors})),
        "stakeholders": _optional(ListOf(stakeholder)),
        "exits": _optional(MapOf(Integer(1, stages), exit_)),
        "next_steps": _optional(ListOf(next_step)),
        "plan": _optional(ListOf(milestone)),
        # `share: true` gives the buyer a page of the plan in the customer build (`dealbook build --audience customer`).
        "share": _optional(Boolean()),
        "competitors": _optional(ListOf(competitor)),
        "negotiation": _optional(Record(name="negotiation", fields={"terms": _optional(ListOf(term))})),
    })


def field_meaning(name: str, model: StageModel, labels: Labels) -> str:
    """What the field `name` (dotted, as in error messages: `stakeholders.role`) means."""
    ev = model.evaluation
    factor = next((f for f in ev.factors if name == f"qualification.{f.key}"), None)
    if factor is not None:
        return f"{labels.pick(factor, 'name')}: {labels.pick(factor, 'question')}"
    return labels.field_help(name).format(min=ev.scale_min, max=ev.scale_max, currency=model.currency)


def json_schema(model: StageModel, labels: Labels) -> dict:
    """The JSON Schema of a deal file, for editors and other tools."""
    schema = deal_spec(model).json_schema(lambda name: field_meaning(name, model, labels))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": labels.schema_title,
        "description": labels.schema_description,
        **schema,
    }


def reference_rows(model: StageModel, labels: Labels, spec: Spec | None = None,
                   prefix: str = "") -> list[tuple[str, str, bool, str]]:
    """(key, type, required, meaning) for every field, nested ones included, for the reference page."""
    spec = spec if spec is not None else deal_spec(model)
    words = labels.types
    rows: list[tuple[str, str, bool, str]] = []
    if isinstance(spec, Record):
        for key, f in spec.fields.items():
            inner = f.spec.item if isinstance(f.spec, ListOf) else f.spec.value if isinstance(f.spec, MapOf) else f.spec
            name = prefix + key + ("[]" if isinstance(f.spec, ListOf) else ".N" if isinstance(f.spec, MapOf) else "")
            if not isinstance(inner, Record):
                kind = f.spec.describe(words)
            else:
                record = words[f"record_{inner.name}"]
                kind = (words["list_of_records"].format(record=record) if isinstance(f.spec, ListOf) else
                        words["stage_to_record"].format(record=record) if isinstance(f.spec, MapOf) else record)
            meaning = field_meaning((prefix + key).replace("[].", ".").replace(".N.", "."), model, labels)
            rows.append((name, kind, f.required, meaning))
            if isinstance(inner, Record):
                rows.extend(reference_rows(model, labels, inner, name + "."))
    return rows
