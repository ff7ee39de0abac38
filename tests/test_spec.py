"""The spec language: one declaration checks YAML nodes, describes itself and gives a JSON Schema."""

from __future__ import annotations

import yaml

from generator.diagnostics import Problems
from generator.labels import Labels
from generator.sources.spec import Boolean, Checker, Choice, Date, Field, Integer, ListOf, MapOf, Number, Record, Text

SPEC = Record(name="deal", fields={
    "title": Field(Text(), True),
    "stage": Field(Integer(1, 8), True),
    "amount": Field(Number(0), False),
    "done": Field(Boolean(), False),
    "due": Field(Date(), False),
    "role": Field(Choice(["decision-maker", "coach"]), False),
    "people": Field(ListOf(Record(name="stakeholder", fields={"name": Field(Text(), True)})), False),
    "exits": Field(MapOf(Integer(1, 8), Record(name="exit", fields={"evidence": Field(Text(), False)})), False),
})


def check(text: str) -> tuple[object, list[str]]:
    problems = Problems()
    checker = Checker("d.yml", problems)
    value = SPEC.check(yaml.compose(text), "", checker)
    return value, [str(p) for p in problems]


def test_a_valid_document_gives_its_values() -> None:
    value, problems = check("title: T\nstage: 3\namount: 1.5\ndone: true\ndue: 2027-01-31\nrole: coach\n"
                            "people:\n  - name: Ann\nexits:\n  1: {evidence: met}\n")
    assert problems == []
    assert value["stage"] == 3 and value["amount"] == 1.5 and value["people"] == [{"name": "Ann"}]
    assert value["exits"] == {1: {"evidence": "met"}} and str(value["due"]) == "2027-01-31"


def test_problems_have_positions_fields_and_hints() -> None:
    _, problems = check("title: T\nstage: 9\nrole: Coach\npeople:\n  - nam: Ann\ndue: 31.01.2027\ntitle: again\n")
    assert "d.yml:2:8: error: stage: 9 is out of range (use a whole number from 1 to 8)" in problems
    assert "d.yml:3:7: error: role: 'Coach' is not one of decision-maker, coach (values are case-sensitive: " \
           "write 'coach')" in problems
    assert any(p.startswith("d.yml:5:5: error: people[1].nam: unknown key (did you mean 'name'?)") for p in problems)
    assert any(p.startswith("d.yml:6:6: error: due: '31.01.2027' is not a date") for p in problems)
    assert any(p.startswith("d.yml:7:1: error: title: duplicate key (first given on line 1)") for p in problems)


def test_required_fields_are_reported_at_the_mapping() -> None:
    _, problems = check("amount: 5\n")
    assert "d.yml:1:1: error: title: required field is missing (add 'title: …')" in problems
    assert "d.yml:1:1: error: stage: required field is missing (add 'stage: …')" in problems


def test_json_schema_and_words_come_from_the_same_declaration() -> None:
    schema = SPEC.json_schema(lambda name: f"about {name}")
    assert schema["required"] == ["title", "stage"] and schema["additionalProperties"] is False
    assert schema["properties"]["stage"] == {"type": "integer", "minimum": 1, "maximum": 8, "description": "about stage"}
    assert schema["properties"]["people"]["items"]["properties"]["name"]["description"] == "about people.name"
    en, zh = Labels("en").types, Labels("zh").types
    assert SPEC.fields["stage"].spec.describe(en) == "whole number from 1 to 8"
    assert SPEC.fields["stage"].spec.describe(zh) == "1 到 8 的整数"
    assert SPEC.fields["people"].spec.describe(en) == "list of stakeholder"


def test_hints_name_the_number_or_date_meant_and_only_when_one_is_clear() -> None:
    _, problems = check('title: T\nstage: "3"\namount: ＄1,200\ndue: 2027-2-30\n')
    assert "d.yml:2:8: error: stage: expected a whole number from 1 to 8, got text '3' (remove the quotes: write 3)" \
        in problems
    assert any(p.startswith("d.yml:3:9: error: amount: ") and p.endswith(
        "(write the number alone, 1200, and the currency in `currency: USD`)") for p in problems), problems
    # No such day: the hint does not invent one.
    assert "d.yml:4:6: error: due: '2027-2-30' is not a date in the form YYYY-MM-DD (e.g. 2027-03-31)" in problems
    _, problems = check("title: T\nstage: 3\namount: lots of money\ndue: 2027-03-31T09:30\n")
    assert any(p.startswith("d.yml:3:9: error: amount: expected a number") and "(" not in p.split("got text")[1]
               for p in problems), problems  # nothing a number could be read from: no hint
    assert any(p.endswith("(write the date as 2027-03-31)") for p in problems), problems


def test_every_new_hint_has_its_chinese() -> None:
    en, zh = Labels("en"), Labels("zh")
    for code, params, english, chinese in [
        ("remove_quotes", (("number", "4"),), "remove the quotes: write 4", "去掉引号，写作 4"),
        ("half_width", (("number", "4"),), "write 4 with half-width digits", "请用半角数字，写作 4"),
        ("currency_apart", (("number", "4600000"), ("code", "CNY")),
         "write the number alone, 4600000, and the currency in `currency: CNY`",
         "金额只写数字 4600000，币种写在 `currency: CNY`"),
        ("write_date_as", (("date", "2027-02-26"),), "write the date as 2027-02-26", "日期请写作 2027-02-26"),
    ]:
        assert (en.word(code, params), zh.word(code, params)) == (english, chinese)
