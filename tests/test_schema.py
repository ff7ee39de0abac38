"""The published JSON Schema comes from the same definition as `dealbook check`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import ROOT
from test_check import BAD, BASE

from generator.labels import Labels
from generator.sources.deal_format import json_schema
from generator.sources.stage_model import load_stage_model


class _EditorLoader(yaml.SafeLoader):
    """Loads YAML the way an editor's JSON Schema validator sees it: dates stay text."""


_EditorLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _as_json_data(text: str):
    data = yaml.load(text, Loader=_EditorLoader)
    return json.loads(json.dumps(data))  # int keys become strings, as in JSON


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((ROOT / "deals" / "deal.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_committed_schema_is_what_dealbook_schema_prints() -> None:
    printed = subprocess.run([sys.executable, "-m", "generator", "schema"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
    committed = (ROOT / "deals" / "deal.schema.json").read_text()
    assert json.loads(printed) == json.loads(committed), "run `make schema` and commit deals/deal.schema.json"


def test_schema_follows_the_stage_model() -> None:
    model = load_stage_model(ROOT / "playbook" / "playbook.yml")
    props = json_schema(model, Labels("en"))["properties"]
    assert props["stage"]["maximum"] == len(model.stages)
    assert props["stakeholders"]["items"]["properties"]["role"]["enum"] == model.keys("roles")
    assert set(props["qualification"]["properties"]) == {f.key for f in model.evaluation.factors}


def test_schema_accepts_every_sample_deal(validator) -> None:
    samples = sorted((ROOT / "deals").glob("*.yml"))
    assert samples
    for path in samples:
        errors = [e.message for e in validator.iter_errors(_as_json_data(path.read_text(encoding="utf-8")))]
        assert errors == [], f"{path.name}: {errors}"
    assert list(validator.iter_errors(_as_json_data(BASE))) == []


# Bad files the schema can see (syntax, encoding, duplicates, tags and file names are the reader's job).
SCHEMA_VISIBLE = {"unknown key", "missing field", "wrong type", "text as number", "no such date", "stage 9",
                  "score 11", "negative amount", "probability 1.5", "bad role", "bad status", "exit for no stage",
                  "not a mapping", "currency alias"}


@pytest.mark.parametrize("case,content", [(b[0], b[2]) for b in BAD if b[0] in SCHEMA_VISIBLE],
                         ids=sorted(SCHEMA_VISIBLE, key=[b[0] for b in BAD].index))
def test_schema_rejects_bad_deals(validator, case: str, content: str) -> None:
    assert list(validator.iter_errors(_as_json_data(content))), f"the schema accepted the '{case}' file"


def test_deal_files_declare_the_schema() -> None:
    for path in Path(ROOT / "deals").glob("*.yml"):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=./deal.schema.json", path.name
