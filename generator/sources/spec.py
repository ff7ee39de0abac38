"""A small declarative schema that checks YAML nodes and describes itself.

One schema object answers three questions from the same declaration: is this
node valid (with a line, a column and a hint when not), what JSON Schema
describes it (for editors), and how to explain it to a person (for the
reference page). That is what keeps the deal format defined once.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar

import yaml
from yaml.constructor import SafeConstructor

from .yaml_nodes import CORE, REFUSED, position

if TYPE_CHECKING:
    from ..diagnostics import Problems

_constructor = SafeConstructor()
Meaning = Callable[[str], str]

KIND_NAMES = {
    CORE + "str": "text", CORE + "int": "a whole number", CORE + "float": "a number",
    CORE + "bool": "true/false", CORE + "null": "nothing", CORE + "timestamp": "a date",
    CORE + "seq": "a list", CORE + "map": "a mapping of keys to values",
}


class Checker:
    """Where problems and the positions of checked values are collected for one file."""

    def __init__(self, path: str, problems: Problems):
        self.path = path
        self.problems = problems
        self.marks: dict[str, tuple[int, int]] = {}
        self.failed = False

    def error(self, node: yaml.Node, where: str, message: str, hint: str = "") -> None:
        self.failed = True
        if node.tag == REFUSED:  # the reader has already said why
            return
        line, col = position(node)
        self.problems.error(self.path, line, col, where, message, hint)
        self.failed = True


def _kind(node: yaml.Node) -> str:
    return KIND_NAMES.get(node.tag, "a value")


def _shown(node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode):
        text = node.value if len(node.value) <= 40 else node.value[:37] + "…"
        return repr(text)
    return ""


# Everyday names for values whose official spelling differs (currencies: ISO 4217).
ALIASES = {"RMB": "CNY", "YUAN": "CNY", "¥": "CNY", "US$": "USD", "$": "USD", "€": "EUR", "£": "GBP"}


def suggest(word: str, options: list[str]) -> str:
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else ""


def join_options(options: list[str], limit: int = 8) -> str:
    shown = ", ".join(options[:limit])
    return shown + (", …" if len(options) > limit else "")


class Spec:
    """Base class: `check` returns the Python value, or None after recording an error."""

    def check(self, node: yaml.Node, where: str, c: Checker) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def json_schema(self, meaning: Meaning | None = None, where: str = "") -> dict:  # pragma: no cover - abstract
        """The JSON Schema; `meaning(dotted field name)` gives each field's description."""
        raise NotImplementedError

    def describe(self, words: dict[str, str]) -> str:  # pragma: no cover - abstract
        """The type in words, for the reference page; `words` are the catalog's `types:`."""
        raise NotImplementedError

    def _scalar(self, node: yaml.Node, where: str, c: Checker, tags: tuple[str, ...], wanted: str,
                hint: str = "") -> bool:
        if isinstance(node, yaml.ScalarNode) and node.tag in tuple(CORE + t for t in tags):
            return True
        if not hint and isinstance(node, yaml.ScalarNode) and "str" in tags:
            hint = "put the value in quotes to make it text"
        c.error(node, where, f"expected {wanted}, got {_kind(node)} {_shown(node)}".rstrip(), hint)
        return False


class _Plain(Spec):
    """A scalar of one YAML type, used as it is: text or true/false."""

    TAG: ClassVar[str]
    WANTED: ClassVar[str]
    HINT: ClassVar[str] = ""
    JSON_TYPE: ClassVar[str]
    WORD: ClassVar[str]

    def check(self, node, where, c):
        if self._scalar(node, where, c, (self.TAG,), self.WANTED, hint=self.HINT):
            return self.convert(node)
        return None

    def convert(self, node: yaml.ScalarNode) -> Any:
        return node.value

    def json_schema(self, meaning=None, where=""):
        return {"type": self.JSON_TYPE}

    def describe(self, words):
        return words[self.WORD]


@dataclass
class Text(_Plain):
    TAG, WANTED, JSON_TYPE, WORD = "str", "text", "string", "text"
    example: str = "some text"


@dataclass
class Pattern(Text):
    regex: str = ".*"
    what: str = "text"

    def check(self, node, where, c):
        value = super().check(node, where, c)
        if value is not None and not re.fullmatch(self.regex, value):
            c.error(node, where, f"{value!r} is not {self.what}", f"for example {self.example!r}")
            return None
        return value

    def json_schema(self, meaning=None, where=""):
        return {"type": "string", "pattern": f"^(?:{self.regex})$"}

    def describe(self, words):
        return f"{self.what}, e.g. `{self.example}`"


@dataclass
class Integer(Spec):
    minimum: int | None = None
    maximum: int | None = None

    def _range(self) -> str:
        return f"from {self.minimum} to {self.maximum}" if self.maximum is not None else f"≥ {self.minimum}"

    def _words(self, words: dict[str, str], kind: str) -> str:
        if self.maximum is not None:
            return words[f"{kind}_range"].format(min=self.minimum, max=self.maximum)
        return words[f"{kind}_min"].format(min=self.minimum)

    def check(self, node, where, c):
        if not self._scalar(node, where, c, ("int",), f"a whole number {self._range()}"):
            return None
        value = _constructor.construct_yaml_int(node)
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            c.error(node, where, f"{value} is out of range", f"use a whole number {self._range()}")
            return None
        return value

    def json_schema(self, meaning=None, where=""):
        out: dict[str, Any] = {"type": "integer"}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out

    def describe(self, words):
        return self._words(words, "whole_number")


@dataclass
class Number(Integer):
    minimum: float | None = None
    maximum: float | None = None

    def check(self, node, where, c):
        if not self._scalar(node, where, c, ("int", "float"), f"a number {self._range()}", hint=_number_hint(node)):
            return None
        if node.tag == CORE + "int":
            value: float = _constructor.construct_yaml_int(node)
        else:
            value = _constructor.construct_yaml_float(node)
            if value != value or value in (float("inf"), float("-inf")):
                c.error(node, where, f"{node.value!r} is not a usable number", f"use a number {self._range()}")
                return None
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            c.error(node, where, f"{node.value} is out of range", f"use a number {self._range()}")
            return None
        return value

    def json_schema(self, meaning=None, where=""):
        out = super().json_schema(meaning, where)
        out["type"] = "number"
        return out

    def describe(self, words):
        return self._words(words, "number")


def _number_hint(node: yaml.Node) -> str:
    """What a rep probably meant by a number written as text."""
    text = node.value.strip() if isinstance(node, yaml.ScalarNode) else ""
    if re.fullmatch(r"\d+(\.\d+)?\s*%", text):
        return f"write a share as a fraction: {float(text.rstrip('% ')) / 100:g} for {text}"
    if re.fullmatch(r"\d{1,3}([,' ]\d{3})+(\.\d+)?", text):
        digits = re.sub(r"[,' ]", "", text)
        return f"write the number without separators: {digits}"
    return ""


DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class Date(Spec):
    def check(self, node, where, c):
        if not self._scalar(node, where, c, ("timestamp", "str"), "a date YYYY-MM-DD",
                            hint="write the date as YYYY-MM-DD, e.g. 2027-03-31"):
            return None
        text = node.value.strip()
        if not DATE_RE.fullmatch(text):
            c.error(node, where, f"{text!r} is not a date in the form YYYY-MM-DD", "e.g. 2027-03-31")
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            c.error(node, where, f"{text} is not a real date", "check the day and the month")
            return None

    def json_schema(self, meaning=None, where=""):
        return {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}

    def describe(self, words):
        return words["date"]


@dataclass
class Boolean(_Plain):
    TAG, WANTED, HINT, JSON_TYPE, WORD = "bool", "true or false", "write true or false", "boolean", "boolean"

    def convert(self, node):
        return _constructor.construct_yaml_bool(node)


@dataclass
class Choice(Spec):
    options: list[str] = field(default_factory=list)

    def check(self, node, where, c):
        if not isinstance(node, yaml.ScalarNode) or node.tag in (CORE + "seq", CORE + "map", CORE + "null"):
            c.error(node, where, f"expected one of {join_options(self.options)}, got {_kind(node)}")
            return None
        if node.value in self.options:
            return node.value
        alias = ALIASES.get(node.value.upper())
        if alias in self.options:
            c.error(node, where, f"{node.value!r} is not one of {join_options(self.options)}",
                    f"write the ISO code '{alias}'")
            return None
        lower = [o for o in self.options if o.lower() == node.value.lower()]
        hint = (f"values are case-sensitive: write '{lower[0]}'" if lower else
                suggest(node.value, self.options) or "choose one of the values listed")
        c.error(node, where, f"{node.value!r} is not one of {join_options(self.options)}", hint)
        return None

    def json_schema(self, meaning=None, where=""):
        return {"type": "string", "enum": list(self.options)}

    def describe(self, words):
        return words["one_of"].format(options=", ".join(f"`{o}`" for o in self.options))


@dataclass
class ListOf(Spec):
    item: Spec = field(default_factory=Text)

    def check(self, node, where, c):
        if not isinstance(node, yaml.SequenceNode):
            c.error(node, where, f"expected a list, got {_kind(node)}", "start each item with '- '")
            return None
        out = []
        for index, item in enumerate(node.value, start=1):
            value = self.item.check(item, f"{where}[{index}]", c)
            c.marks[f"{where}[{index}]"] = position(item)
            if value is not None:
                out.append(value)
        return out

    def json_schema(self, meaning=None, where=""):
        return {"type": "array", "items": self.item.json_schema(meaning, where)}

    def describe(self, words):
        return words["list_of"].format(item=self.item.describe(words))


def _is_duplicate(key_node: yaml.Node, prefix: str, first_line: dict[str, int], c: Checker) -> bool:
    """Report a key given twice in one mapping; PyYAML would silently keep the last."""
    if not isinstance(key_node, yaml.ScalarNode):
        return False
    line = position(key_node)[0]
    if key_node.value in first_line:
        c.error(key_node, prefix + key_node.value, f"duplicate key (first given on line {first_line[key_node.value]})",
                "keep one of them; YAML would silently use only the last")
        return True
    first_line[key_node.value] = line
    return False


@dataclass
class Field:
    spec: Spec
    required: bool = False
    description: str = ""


@dataclass
class Record(Spec):
    fields: dict[str, Field] = field(default_factory=dict)
    name: str = "record"

    def check(self, node, where, c):
        if not isinstance(node, yaml.MappingNode):
            c.error(node, where or "(file)", f"expected {KIND_NAMES[CORE + 'map']}, got {_kind(node)}",
                    "write one 'key: value' per line")
            return None
        prefix = f"{where}." if where else ""
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        misspelt: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if _is_duplicate(key_node, prefix, first_line, c):
                continue
            spec = self.fields.get(key) if isinstance(key, str) else None
            if spec is None:
                close = suggest(str(key), list(self.fields))
                hint = close or f"allowed keys: {join_options(list(self.fields), 20)}"
                c.error(key_node, f"{prefix}{key}", "unknown key", hint)
                if close:
                    misspelt.add(close.split("'")[1])
                continue
            c.marks[prefix + key] = position(key_node)
            if value_node.tag == CORE + "null" and not spec.required:
                continue  # an empty optional field is the same as a missing one
            value = spec.spec.check(value_node, prefix + key, c)
            if value is not None:
                out[key] = value
        given = {k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
        for key, spec in self.fields.items():
            if spec.required and key not in given and key not in misspelt:  # a typo says it better
                c.error(node, f"{prefix}{key}", "required field is missing", f"add '{key}: …'")
        return out

    def json_schema(self, meaning=None, where=""):
        return {
            "type": "object",
            "properties": {k: self._property(k, f, meaning, where) for k, f in self.fields.items()},
            "required": [k for k, f in self.fields.items() if f.required],
            "additionalProperties": False,
        }

    @staticmethod
    def _property(key: str, f: Field, meaning: Meaning | None, where: str) -> dict:
        path = f"{where}.{key}" if where else key
        description = meaning(path) if meaning is not None else f.description
        return {**f.spec.json_schema(meaning, path), **({"description": description} if description else {})}

    def describe(self, words):
        return words.get(f"record_{self.name}", self.name)


@dataclass
class MapOf(Spec):
    """A mapping whose keys are whole numbers in a range (e.g. stage numbers)."""

    key: Integer = field(default_factory=Integer)
    value: Spec = field(default_factory=Text)

    def check(self, node, where, c):
        if not isinstance(node, yaml.MappingNode):
            c.error(node, where, f"expected {KIND_NAMES[CORE + 'map']}, got {_kind(node)}")
            return None
        out = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if _is_duplicate(key_node, f"{where}.", first_line, c):
                continue
            number = self.key.check(key_node, f"{where}.{getattr(key_node, 'value', '?')}", c)
            if number is None or number in out:
                continue
            c.marks[f"{where}.{number}"] = position(key_node)
            value = self.value.check(value_node, f"{where}.{number}", c)
            if value is not None:
                out[number] = value
        return out

    def json_schema(self, meaning=None, where=""):
        keys = "|".join(str(n) for n in range(self.key.minimum, self.key.maximum + 1))
        return {"type": "object", "patternProperties": {f"^({keys})$": self.value.json_schema(meaning, where)},
                "additionalProperties": False}

    def describe(self, words):
        return words["mapping"].format(key=self.key.describe(words), value=self.value.describe(words))


@dataclass
class TextMapOf(Spec):
    """A mapping whose keys are text of one pattern (currency codes, period names) to values of one spec.

    Positions are kept as `where.KEY`, so later checks between fields can point at a key's line.
    """

    key: Pattern = field(default_factory=Pattern)
    value: Spec = field(default_factory=Text)

    def check(self, node, where, c):
        if not isinstance(node, yaml.MappingNode):
            c.error(node, where, f"expected {KIND_NAMES[CORE + 'map']}, got {_kind(node)}",
                    "write one 'key: value' per line")
            return None
        out = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if _is_duplicate(key_node, f"{where}.", first_line, c):
                continue
            # A key such as 2027 or a date would reach us as a number or a timestamp: take its text.
            if not isinstance(key_node, yaml.ScalarNode):
                c.error(key_node, f"{where}.?", f"expected {self.key.what} as the key, got {_kind(key_node)}")
                continue
            text = key_node.value
            if not re.fullmatch(self.key.regex, text):
                c.error(key_node, f"{where}.{text}", f"{text!r} is not {self.key.what}",
                        f"for example {self.key.example!r}")
                continue
            c.marks[f"{where}.{text}"] = position(key_node)
            value = self.value.check(value_node, f"{where}.{text}", c)
            if value is not None:
                out[text] = value
        return out

    def json_schema(self, meaning=None, where=""):
        pattern = f"^(?:{self.key.regex})$"
        return {"type": "object", "patternProperties": {pattern: self.value.json_schema(meaning, where)},
                "additionalProperties": False}

    def describe(self, words):
        return words["mapping"].format(key=self.key.describe(words), value=self.value.describe(words))
