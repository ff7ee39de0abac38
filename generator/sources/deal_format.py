"""The deal file format, declared once.

`deal_spec(model)` is the only description of a deal file: it validates deal
files, produces the published JSON Schema and the reference page. The
vocabularies and the number of stages come from the stage model; what each
field means, in each language, comes from the label catalog (`fields:`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .spec import Boolean, Choice, Date, Field, Integer, ListOf, MapOf, Number, Record, Spec, Text

if TYPE_CHECKING:
    from ..labels import Labels
    from .stage_model import StageModel

ID_PATTERN = r"[a-z0-9][a-z0-9-]*"
SCHEMA_ID = "https://dealbook.invalid/deal.schema.json"


def deal_spec(model: StageModel) -> Record:
    stages = len(model.stages)
    ev = model.evaluation
    score = Integer(ev.scale_min, ev.scale_max)
    return Record(name="deal", fields={
        "title": Field(Text(), True),
        "account": Field(Text(), True),
        "owner": Field(Text(), True),
        "stage": Field(Integer(1, stages), True),
        "status": Field(Choice(model.keys("status")), True),
        "amount": Field(Number(0), True),
        "currency": Field(Choice(list(model.currencies)), False),
        "expected_close": Field(Date(), True),
        "lost_reason": Field(Text(), False),
        "summary": Field(Text(), False),
        "probability": Field(Number(0, 1), False),
        "grade": Field(Choice(model.grades), False),
        "qualification": Field(Record(name="scores", fields={f.key: Field(score, False) for f in ev.factors}), False),
        "stakeholders": Field(ListOf(Record(name="stakeholder", fields={
            "name": Field(Text(), True),
            "title": Field(Text(), False),
            "role": Field(Choice(model.keys("roles")), False),
            "influence": Field(Choice(model.keys("influence")), False),
            "stance": Field(Choice(model.keys("stance")), False),
            "last_contact": Field(Date(), False),
            "notes": Field(Text(), False),
        })), False),
        "exits": Field(MapOf(Integer(1, stages), Record(name="exit", fields={
            "date": Field(Date(), False),
            "evidence": Field(Text(), False),
        })), False),
        "next_steps": Field(ListOf(Record(name="next_step", fields={
            "action": Field(Text(), True),
            "owner": Field(Text(), False),
            "due": Field(Date(), False),
            "done": Field(Boolean(), False),
        })), False),
        "competitors": Field(ListOf(Record(name="competitor", fields={
            "name": Field(Text(), True),
            "strengths": Field(Text(), False),
            "weaknesses": Field(Text(), False),
        })), False),
        "negotiation": Field(Record(name="negotiation", fields={
            "terms": Field(ListOf(Record(name="term", fields={
                "topic": Field(Choice(model.keys("topics")), True),
                "opening": Field(Text(), False),
                "target": Field(Text(), False),
                "walk_away": Field(Text(), False),
                "customer_position": Field(Text(), False),
                "concessions": Field(Text(), False),
            })), False),
        }), False),
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
