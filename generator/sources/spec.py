"""A small declarative schema that checks YAML nodes and describes itself.

One schema object answers three questions from the same declaration: is this
node valid (with a line, a column and a hint when not), what JSON Schema
describes it (for editors), and how to explain it to a person (for the
reference page). That is what keeps the deal format defined once.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

import yaml
from yaml.constructor import SafeConstructor

from ..diagnostics import Worded, worded
from .yaml_nodes import CORE, REFUSED, position, slip_hint

if TYPE_CHECKING:
    from ..diagnostics import Problems

_constructor = SafeConstructor()
Meaning = Callable[[str], str]
_NULL = CORE + "null"
_NOT_A_CHOICE = (CORE + "seq", CORE + "map", CORE + "null")
# Every scalar of every deal is checked against one of a few tag tuples: made once, not per value.
_FULL_TAGS: dict[tuple[str, ...], tuple[str, ...]] = {}


def _full_tags(tags: tuple[str, ...]) -> tuple[str, ...]:
    full = _FULL_TAGS.get(tags)
    if full is None:
        full = _FULL_TAGS[tags] = tuple(CORE + t for t in tags)
    return full


class Checker:
    """Where problems and the positions of checked values are collected for one file."""

    def __init__(self, path: str, problems: Problems):
        self.path = path
        self.problems = problems
        self.marks: dict[str, tuple[int, int]] = {}
        self.failed = False

    def error(self, node: yaml.Node, where: str, message: Worded, hint: Worded | str = "") -> None:
        self.failed = True
        if node.tag == REFUSED:  # the reader has already said why
            return
        line, col = position(node)
        self.problems.error(self.path, line, col, where, message, hint)
        self.failed = True


# The catalog's `message_parts:` key of each kind of value (`whole`: "a whole number"; `whole_value`: "… 3").
KIND_CODES = {
    CORE + "str": "text", CORE + "int": "whole", CORE + "float": "number", CORE + "bool": "bool",
    CORE + "null": "nothing", CORE + "timestamp": "date", CORE + "seq": "list", CORE + "map": "mapping",
}


def _kind(node: yaml.Node) -> Worded:
    return Worded(KIND_CODES.get(node.tag, "value"))


def _got(node: yaml.Node) -> Worded:
    """What a node holds, as a problem names it: `text '3'`, or `a list` for a node shown without its value."""
    shown, code = _shown(node), KIND_CODES.get(node.tag, "value")
    return worded(f"{code}_value", value=shown) if shown else Worded(code)


def _shown(node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode):
        text = node.value if len(node.value) <= 40 else node.value[:37] + "…"
        return repr(text)
    return ""


# Everyday names for values whose official spelling differs (currencies: ISO 4217). Full-width signs
# (￥, ＄) are folded to these by NFKC before they are looked up.
ALIASES = {"RMB": "CNY", "YUAN": "CNY", "¥": "CNY", "US$": "USD", "$": "USD", "€": "EUR", "£": "GBP",
           "HK$": "HKD", "S$": "SGD", "A$": "AUD", "人民币": "CNY", "美元": "USD", "欧元": "EUR", "英镑": "GBP",
           "日元": "JPY", "港币": "HKD", "港元": "HKD"}


def suggest(word: str, options: list[str]) -> Worded | None:
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return worded("did_you_mean", value=f"'{match[0]}'") if match else None


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

    def _scalar(self, node: yaml.Node, where: str, c: Checker, tags: tuple[str, ...], wanted: Worded,
                hint: Worded | None = None) -> bool:
        if isinstance(node, yaml.ScalarNode) and node.tag in _full_tags(tags):
            return True
        if not hint and isinstance(node, yaml.ScalarNode) and "str" in tags:
            hint = Worded("quote_text")
        c.error(node, where, worded("expected", wanted=wanted, got=_got(node)), hint or "")
        return False


class _Plain(Spec):
    """A scalar of one YAML type, used as it is: text or true/false."""

    TAG: ClassVar[str]
    WANTED: ClassVar[str]  # the catalog's `message_parts:` key
    HINT: ClassVar[str] = ""  # the catalog's `messages:` key
    JSON_TYPE: ClassVar[str]
    WORD: ClassVar[str]

    def check(self, node, where, c):
        if (isinstance(node, yaml.ScalarNode) and node.tag == CORE + self.TAG) \
                or self._scalar(node, where, c, (self.TAG,), Worded(self.WANTED),
                                  hint=Worded(self.HINT) if self.HINT else None):
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
    what_code: str = "text"  # `what` as the catalog's `message_parts:` key, for problems

    def check(self, node, where, c):
        value = super().check(node, where, c)
        if value is not None and not re.fullmatch(self.regex, value):
            c.error(node, where, worded("not_pattern", value=repr(value), what=Worded(self.what_code)),
                    worded("for_example", example=repr(self.example)))
            return None
        return value

    def json_schema(self, meaning=None, where=""):
        return {"type": "string", "pattern": f"^(?:{self.regex})$"}

    def describe(self, words):
        return f"{self.what}, e.g. `{self.example}`"


LIMIT = 10**15  # the largest amount (or any number) a deal file may hold
DIGITS_LIMIT = 4000  # Python refuses to turn longer decimal digit strings into an int


def _numeral(value: float) -> str:
    """A bound as people write it: 1,000,000,000,000,000; 0.001; 1."""
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:g}"


def _brief(text: str) -> str:
    """A value as typed, short enough for one line (a 5,000-digit number stays readable)."""
    return text if len(text) <= 40 else f"{text[:24]}… ({len(text):,} characters)"


class _ValueUnreadable(Exception):
    """A number-tagged value that PyYAML's constructor cannot turn into a number."""


@dataclass
class Integer(Spec):
    """A whole number in [minimum, maximum]; no bound given still means at most LIMIT."""

    minimum: int | None = None
    maximum: int | None = LIMIT

    TAGS: ClassVar[tuple[str, ...]] = ("int",)
    WANTED: ClassVar[str] = "whole"  # the catalog's `message_parts:` key
    WORD: ClassVar[str] = "whole_number"
    JSON_TYPE: ClassVar[str] = "integer"

    def _bounds(self) -> tuple[float, float]:
        low = -LIMIT if self.minimum is None else self.minimum
        high = LIMIT if self.maximum is None else min(self.maximum, LIMIT)
        return low, high

    def _wanted(self) -> Worded:
        """`a whole number from 1 to 8`, `a number ≥ 0`, `a whole number up to …`."""
        if self.minimum is None:
            return worded(f"{self.WANTED}_up_to", high=_numeral(self._bounds()[1]))
        if self.maximum is None:
            return worded(f"{self.WANTED}_at_least", low=_numeral(self.minimum))
        return worded(f"{self.WANTED}_from_to", low=_numeral(self.minimum), high=_numeral(self.maximum))

    def _words(self, words: dict[str, str], kind: str) -> str:
        low = _numeral(self._bounds()[0])
        if self.maximum is not None:
            return words[f"{kind}_range"].format(min=low, max=_numeral(self.maximum))
        return words[f"{kind}_min"].format(min=low)

    def check(self, node, where, c):
        # The wording and the hint are only made for a value that is wrong: most are right.
        if not (isinstance(node, yaml.ScalarNode) and node.tag in _full_tags(self.TAGS)) \
                and not self._scalar(node, where, c, self.TAGS, self._wanted(), hint=_number_hint(node, self)):
            return None
        try:
            value = self._construct(node)
        except _ValueUnreadable:
            if sum(ch.isdigit() for ch in node.value) > DIGITS_LIMIT:
                self._out_of_range(node, where, c, above=not node.value.lstrip().startswith("-"))
            else:
                c.error(node, where, worded("cannot_read_as", value=repr(_brief(node.value)),
                                            kind=Worded(KIND_CODES.get(node.tag, "number"))),
                        worded("use", wanted=self._wanted()))
            return None
        if value != value or (abs(value) == float("inf") and re.search(r"(?i)inf", node.value)):
            c.error(node, where, worded("not_usable_number", value=repr(_brief(node.value))),
                    worded("use", wanted=self._wanted()))
            return None
        low, high = self._bounds()
        if not low <= value <= high:  # an overflowing float (1.0e+400) is inf: out of range too
            self._out_of_range(node, where, c, above=value > high)
            return None
        return value

    @staticmethod
    def _construct(node: yaml.ScalarNode) -> float:
        """The value, or _ValueUnreadable for what PyYAML cannot construct (`0x_`, `!!int 1.5`, 5,000 digits)."""
        try:
            if node.tag == CORE + "int":
                return _constructor.construct_yaml_int(node)
            return _constructor.construct_yaml_float(node)
        except (ValueError, IndexError, OverflowError) as exc:
            raise _ValueUnreadable from exc

    def _out_of_range(self, node: yaml.ScalarNode, where: str, c: Checker, above: bool) -> None:
        if above and (self.maximum is None or self.maximum >= LIMIT):  # only the general bound applies
            hint = worded("use", wanted=worded(f"{self.WANTED}_up_to", high=_numeral(LIMIT)))
        else:
            hint = worded("use", wanted=self._wanted())
        c.error(node, where, worded("out_of_range", value=_brief(node.value)), hint)

    def json_schema(self, meaning=None, where=""):
        out: dict[str, Any] = {"type": self.JSON_TYPE}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out

    def describe(self, words):
        return self._words(words, self.WORD)


@dataclass
class Number(Integer):
    minimum: float | None = None
    maximum: float | None = LIMIT

    TAGS: ClassVar[tuple[str, ...]] = ("int", "float")
    WANTED: ClassVar[str] = "number"
    WORD: ClassVar[str] = "number"
    JSON_TYPE: ClassVar[str] = "number"


# How many a Chinese or an English multiplier stands for (460万 = 4,600,000; 4.6M = 4,600,000).
MULTIPLIERS = {"万": 10**4, "万元": 10**4, "亿": 10**8, "亿元": 10**8, "元": 1,
               "k": 10**3, "K": 10**3, "m": 10**6, "M": 10**6}
MULTIPLIED = re.compile(r"[¥$€£]?\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>万元|万|亿元|亿|元|[kKmM])")
SCIENTIFIC = re.compile(r"(?P<sign>[-+]?)(?P<mantissa>\d+(?:\.\d*)?|\.\d+)[eE](?P<exp>[-+]?\d+)")
SEPARATED = re.compile(r"\d{1,3}(?:[,' ]\d{3})+(?:\.\d+)?")
# A currency written beside an amount (`¥4600000`, `4600000 USD`, `460万美元`): the amount is a plain
# number and the currency has a field of its own. Three capital letters are taken as an ISO code.
CURRENCY_BEFORE = re.compile(r"(?P<cur>US\$|HK\$|S\$|A\$|[¥$€£]|[A-Z]{3}(?=[\s\d]))\s*(?P<rest>.+)")
CURRENCY_AFTER = re.compile(r"(?P<rest>.+?)\s*(?P<cur>[A-Z]{3}|人民币|美元|欧元|英镑|日元|港币|港元)")
# The full-width forms of ASCII (４, ．, ，, ：, ￥…) and the ideographic space: typed with a Chinese input method.
FULLWIDTH = re.compile("[\uff01-\uff5e\uffe0-\uffe6\u3000]")


def _half_width(text: str) -> str:
    """`text` with full-width letters, digits and signs written half-width (４６０万 → 460万)."""
    return FULLWIDTH.sub(lambda m: unicodedata.normalize("NFKC", m[0]), text)


def _amount(text: str) -> Decimal | None:
    """The number a rep meant by `text` when it is a number, possibly with separators or a multiplier."""
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return Decimal(text)
    if SEPARATED.fullmatch(text):
        return Decimal(re.sub(r"[,' ]", "", text))
    multiplied = MULTIPLIED.fullmatch(text)
    if multiplied:
        return Decimal(multiplied["n"]) * MULTIPLIERS[multiplied["unit"]]
    return None


def _currency_hint(text: str) -> Worded | None:
    """`write the number alone, 4600000, and the currency in `currency: CNY`` for `¥4,600,000`, or ''."""
    for pattern in (CURRENCY_BEFORE, CURRENCY_AFTER):
        found = pattern.fullmatch(text)
        if found is None:
            continue
        code = ALIASES.get(found["cur"].upper(), found["cur"])
        value = _amount(found["rest"].strip())
        if value is not None and re.fullmatch(r"[A-Z]{3}", code):
            return worded("currency_apart", number=_plain(value), code=code)
    return None


def _resolves_as_number(text: str) -> bool:
    """Whether YAML reads `text`, written without quotes, as a number."""
    return yaml.resolver.Resolver().resolve(yaml.ScalarNode, text, (True, False)) in (CORE + "int", CORE + "float")


def _number_hint(node: yaml.Node, spec: Integer) -> Worded | None:
    """What a rep probably meant by a number written as text: the number, written as YAML reads one."""
    typed = node.value.strip() if isinstance(node, yaml.ScalarNode) and node.tag == CORE + "str" else ""
    if not typed:
        return None
    text = _half_width(typed)  # ４ and 4 are read alike from here on; the hints name the typed text
    if re.fullmatch(r"\d+(\.\d+)?\s*%", text) and isinstance(spec, Number):
        return worded("share", number=f"{float(text.rstrip('% ')) / 100:g}", text=typed)
    currency = _currency_hint(text)
    if currency:
        return currency
    if SEPARATED.fullmatch(text):
        digits = re.sub(r"[,' ]", "", text)
        return worded("separators", number=digits)
    multiplied = MULTIPLIED.fullmatch(text)
    if multiplied:
        value = Decimal(multiplied["n"]) * MULTIPLIERS[multiplied["unit"]]
        return worded("write_for", number=_plain(value), text=typed)
    scientific = SCIENTIFIC.fullmatch(text)
    if scientific:
        return _scientific_hint(text, scientific, spec)
    if text != typed and _resolves_as_number(text):
        return worded("half_width", number=text)
    if node.style in ("'", '"') and _resolves_as_number(text):
        return worded("remove_quotes", number=text)
    return slip_hint(typed)


def _plain(value: Decimal) -> str:
    """4600000, 0.5: a Decimal written out without an exponent or trailing zeros."""
    return format(value.normalize(), "f")


def _scientific_hint(text: str, m: re.Match[str], spec: Integer) -> Worded:
    """YAML 1.1 reads 1.5e6 as text: its floats need a '.' and a signed exponent (1.5e+6)."""
    exponent = int(m["exp"]) if len(m["exp"]) < 6 else 10**6 * (-1 if m["exp"].startswith("-") else 1)
    if exponent > 30:
        return worded("too_large", text=text, limit=_numeral(spec._bounds()[1]))
    mantissa = m["mantissa"] if "." in m["mantissa"] else m["mantissa"] + ".0"
    works = f"{m['sign']}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent)}"
    if exponent < -30:
        return worded("exponent_zero", text=text, works=works)
    return worded("exponent", number=_plain(Decimal(text)), text=text, works=works)


DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
# A date written another way that can only mean one day: 2027-2-26, 2027/02/26, 2027.2.26, 2027年2月26日,
# 20270226, or with a time after it.
LOOSE_DATE = re.compile(r"(?P<y>\d{4})\s*(?:[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
                        r"|(?P<m8>\d{2})(?P<d8>\d{2}))"
                        r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[-+]\d{2}:?\d{2})?)?")


def _date_hint(text: str) -> Worded | None:
    """`write the date as 2027-02-26` for a date written another way, or None."""
    loose = LOOSE_DATE.fullmatch(_half_width(text.strip()))
    if loose is None:
        return None
    try:
        day = date(int(loose["y"]), int(loose["m"] or loose["m8"]), int(loose["d"] or loose["d8"]))
    except ValueError:
        return None
    return worded("write_date_as", date=day.isoformat())


@dataclass
class Date(Spec):
    def check(self, node, where, c):
        if not (isinstance(node, yaml.ScalarNode) and node.tag in _full_tags(("timestamp", "str"))):
            hint = _date_hint(node.value) if isinstance(node, yaml.ScalarNode) else None
            self._scalar(node, where, c, ("timestamp", "str"), Worded("iso_date"), hint=hint or Worded("write_date"))
            return None
        text = node.value.strip()
        if not DATE_RE.fullmatch(text):
            c.error(node, where, worded("not_iso_date", value=repr(text)), _date_hint(text) or Worded("e_g_date"))
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            c.error(node, where, worded("not_real_date", value=text), Worded("check_day_month"))
            return None

    def json_schema(self, meaning=None, where=""):
        return {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}

    def describe(self, words):
        return words["date"]


@dataclass
class Boolean(_Plain):
    TAG, WANTED, HINT, JSON_TYPE, WORD = "bool", "true_false", "write_bool", "boolean", "boolean"

    def convert(self, node):
        return _constructor.construct_yaml_bool(node)


@dataclass
class Choice(Spec):
    options: list[str] = field(default_factory=list)

    def check(self, node, where, c):
        if not isinstance(node, yaml.ScalarNode) or node.tag in _NOT_A_CHOICE:
            c.error(node, where, worded("expected_one_of", options=join_options(self.options), got=_kind(node)))
            return None
        if node.value in self.options:
            return node.value
        alias = ALIASES.get(node.value.upper())
        if alias in self.options:
            c.error(node, where, worded("not_one_of", value=repr(node.value), options=join_options(self.options)),
                    worded("iso_code", code=f"'{alias}'"))
            return None
        lower = [o for o in self.options if o.lower() == node.value.lower()]
        hint = (worded("case_sensitive", value=f"'{lower[0]}'") if lower else
                suggest(node.value, self.options) or Worded("choose_listed"))
        c.error(node, where, worded("not_one_of", value=repr(node.value), options=join_options(self.options)), hint)
        return None

    def json_schema(self, meaning=None, where=""):
        return {"type": "string", "enum": list(self.options)}

    def describe(self, words):
        return words["one_of"].format(options=", ".join(f"`{o}`" for o in self.options))


class _KeyHinted:
    """A Checker whose errors carry one hint: the key a word stands for."""

    def __init__(self, c: Checker, hint: Worded):
        self._c, self._hint = c, hint

    def error(self, node: yaml.Node, where: str, message: Worded, hint: Worded | str = "") -> None:
        self._c.error(node, where, message, self._hint)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._c, name)


@dataclass
class Keyed(Spec):
    """A value written as a key (`decision-maker`, a stage number), whose words are known too: a word for a key
    (a label or a name, in any language that has them: `决策人`, `Preliminary proposal`) is refused as `inner`
    refuses it, with the key to write as the hint (`write 'decision-maker' for 决策人`); so is a near word
    outside ASCII (`决策者`), where a did-you-mean among the keys cannot help."""

    inner: Spec
    words: dict[str, object] = field(default_factory=dict)  # a word, case-folded → the key it stands for

    def check(self, node, where, c):
        if isinstance(node, yaml.ScalarNode) and node.tag == CORE + "str" and self.words:
            typed = " ".join(node.value.split()).casefold()
            key = self.words.get(typed)
            if key is None and not typed.isascii():  # 决策者 for 决策人: a near word in a script of its own
                close = difflib.get_close_matches(typed, list(self.words), n=1, cutoff=0.6)
                key = self.words[close[0]] if close else None
            # A key in another case is the inner spec's to hint (`values are case-sensitive`).
            if key is not None and str(key).casefold() != node.value.casefold():
                shown = f"'{key}'" if isinstance(key, str) else str(key)
                return self.inner.check(node, where, _KeyHinted(c, worded("key_for", key=shown,
                                                                          word=node.value.strip())))
        return self.inner.check(node, where, c)

    def json_schema(self, meaning=None, where=""):
        return self.inner.json_schema(meaning, where)

    def describe(self, words):
        return self.inner.describe(words)


@dataclass
class ListOf(Spec):
    item: Spec = field(default_factory=Text)

    def check(self, node, where, c):
        if not isinstance(node, yaml.SequenceNode):
            c.error(node, where, worded("expected", wanted=Worded("list"), got=_kind(node)), Worded("list_items"))
            return None
        out = []
        for index, item in enumerate(node.value, start=1):
            at = f"{where}[{index}]"
            value = self.item.check(item, at, c)
            c.marks[at] = position(item)
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
    if key_node.value in first_line:
        c.error(key_node, prefix + key_node.value, worded("duplicate_key", line=first_line[key_node.value]),
                Worded("keep_one_yaml"))
        return True
    first_line[key_node.value] = key_node.start_mark.line + 1
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
            text = node.value if isinstance(node, yaml.ScalarNode) and node.tag == CORE + "str" else ""
            c.error(node, where or "(file)", worded("expected", wanted=Worded("mapping"), got=_got(node)),
                    slip_hint(text) or Worded("key_value_lines"))
            return None
        prefix = f"{where}." if where else ""
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}  # every key that is a word, once: also the keys given
        misspelt: set[str] = set()
        fields, marks, scalar = self.fields, c.marks, yaml.ScalarNode
        for key_node, value_node in node.value:
            if isinstance(key_node, scalar):
                key = key_node.value
                if key in first_line:
                    _is_duplicate(key_node, prefix, first_line, c)  # reports it
                    continue
                first_line[key] = key_node.start_mark.line + 1
            else:
                key = None
            if key is None:  # `? [a, b]` or `{a: 1}: x`: a key that is itself a list or a mapping
                c.error(key_node, where or "(file)", worded("key_not_word", got=_kind(key_node)),
                        Worded("key_value_lines"))
                continue
            spec = fields.get(key)
            if spec is None:
                close = suggest(key, list(fields))
                # `{stage:3}` or `name：Ann` in a flow mapping is one key with no value.
                hint = slip_hint(key) or close or worded("allowed_keys", keys=join_options(list(fields), 20))
                c.error(key_node, f"{prefix}{_brief(key)}", Worded("unknown_key"), hint)
                if close:
                    misspelt.add(str(dict(close.params)["value"])[1:-1])
                continue
            at = prefix + key
            mark = key_node.start_mark
            marks[at] = (mark.line + 1, mark.column + 1)
            if value_node.tag == _NULL and not spec.required:
                continue  # an empty optional field is the same as a missing one
            value = spec.spec.check(value_node, at, c)
            if value is not None:
                out[key] = value
        for key, spec in fields.items():
            if spec.required and key not in first_line and key not in misspelt:  # a typo says it better
                c.error(node, f"{prefix}{key}", Worded("required_missing"), worded("add_field", field=f"'{key}: …'"))
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


def _check_entry(spec: Spec, key_node, value_node, where: str, key: object, c: Checker, out: dict) -> None:
    """One entry of a mapping: its key's position kept as `where`, its value checked and kept when valid."""
    c.marks[where] = position(key_node)
    value = spec.check(value_node, where, c)
    if value is not None:
        out[key] = value


def _mapping_schema(key_pattern: str, value: Spec, meaning, where: str) -> dict:
    """The JSON Schema of a mapping whose keys match `key_pattern` and whose values are `value`."""
    return {"type": "object", "patternProperties": {key_pattern: value.json_schema(meaning, where)},
            "additionalProperties": False}


@dataclass
class MapOf(Spec):
    """A mapping whose keys are whole numbers in a range (e.g. stage numbers)."""

    key: Integer = field(default_factory=Integer)
    value: Spec = field(default_factory=Text)
    noun: str = "stage"  # what a key stands for, in messages: the catalog's `message_parts:` key

    def check(self, node, where, c):
        if not isinstance(node, yaml.MappingNode):
            c.error(node, where, worded("expected", wanted=Worded("mapping"), got=_kind(node)))
            return None
        out = {}
        first_line: dict[str, int] = {}
        first_key: dict[int, tuple[int, str]] = {}  # `1:` and `01:` are different keys but the same number
        for key_node, value_node in node.value:
            if _is_duplicate(key_node, f"{where}.", first_line, c):
                continue
            shown = f"{where}.{_brief(key_node.value) if isinstance(key_node, yaml.ScalarNode) else '?'}"
            number = self.key.check(key_node, shown, c)
            if number is None:
                continue
            if number in first_key:
                line, text = first_key[number]
                c.error(key_node, shown, worded("given_twice", noun=Worded(self.noun), number=number, line=line),
                        worded("keep_one_number", first=f"'{_brief(text)}'", second=f"'{_brief(key_node.value)}'"))
                continue
            first_key[number] = (position(key_node)[0], key_node.value)
            _check_entry(self.value, key_node, value_node, f"{where}.{number}", number, c, out)
        return out

    def json_schema(self, meaning=None, where=""):
        keys = "|".join(str(n) for n in range(self.key.minimum, self.key.maximum + 1))
        return _mapping_schema(f"^({keys})$", self.value, meaning, where)

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
            c.error(node, where, worded("expected", wanted=Worded("mapping"), got=_kind(node)),
                    Worded("key_value_lines"))
            return None
        out = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if _is_duplicate(key_node, f"{where}.", first_line, c):
                continue
            # A key such as 2027 or a date would reach us as a number or a timestamp: take its text.
            if not isinstance(key_node, yaml.ScalarNode):
                c.error(key_node, f"{where}.?", worded("key_expected", what=Worded(self.key.what_code),
                                                          got=_kind(key_node)))
                continue
            text = key_node.value
            if not re.fullmatch(self.key.regex, text):
                c.error(key_node, f"{where}.{text}", worded("not_pattern", value=repr(text),
                                                            what=Worded(self.key.what_code)),
                        worded("for_example", example=repr(self.key.example)))
                continue
            _check_entry(self.value, key_node, value_node, f"{where}.{text}", text, c, out)
        return out

    def json_schema(self, meaning=None, where=""):
        return _mapping_schema(f"^(?:{self.key.regex})$", self.value, meaning, where)

    def describe(self, words):
        return words["mapping"].format(key=self.key.describe(words), value=self.value.describe(words))
