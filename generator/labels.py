"""The label catalog: every word the generator writes for a reader, in English or Chinese.

The language is decided once, by `language_code`, from the site's theme language (or the
command line), and handed down as a `Labels` object to everything that writes text.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from .formats import Formats

if TYPE_CHECKING:  # a problem is made of the values below and worded here: only its type is named
    from .diagnostics import Problem

# (name, value) pairs, in the order the catalog text names them; a value is a string, a number, a `Worded`,
# or a value worded from the stage model in the reader's language: a `StageText`, a `Term`, a `date`.
Params = tuple[tuple[str, object], ...]


@dataclass(frozen=True)
class StageText:
    """A text of the stage model as a parameter: stage `stage`'s `attribute` (`name`, `exit_criterion`).

    A value, not words: `Labels.word` words it in its language from the stage model it was given
    (`Labels.with_model`), as `Term` (a vocabulary term's label) and a `date` (the language's date)."""

    stage: int
    attribute: str


@dataclass(frozen=True)
class Term:
    """A vocabulary term as a parameter (`Term("status", "lost")`), worded as its label in the reader's language."""

    vocabulary: str
    key: str


def needs_model(params: Params) -> bool:
    """Whether wording these parameters takes the stage model (a `StageText` or a `Term`, here or nested)."""
    return any(isinstance(value, (StageText, Term)) or (isinstance(value, Worded) and needs_model(value.params))
               for _name, value in params)


@dataclass(frozen=True)
class Worded:
    """A text not yet worded: the catalog key (`expected`, `whole_from_to`) and the values it takes.

    Sources and the model make these; `Labels.word` words them in a language, at the edges.
    """

    code: str
    params: Params = ()

    def __str__(self) -> str:
        return _english(self.code, self.params)


class WordedError(ValueError):
    """A refusal whose text is a `Worded`, worded at the edge (`Labels.error_text`); `str()` is English."""

    def __init__(self, text: Worded):
        super().__init__(str(text))
        self.worded = text


def worded(code: str, /, **params: object) -> Worded:
    """`Worded(code, params)` with the params as keywords: `worded("use", wanted=worded("whole"))`."""
    return Worded(code, tuple(params.items()))


def _english(code: str, params: Params) -> str:
    return _english_labels().word(code, params)


@lru_cache(maxsize=1)
def _english_labels() -> Labels:
    # Made once: a build makes thousands of problems (two deal warnings per deal), each worded in English
    # for logs and `str()`. The default language's catalog is always the package's own file.
    return Labels("en")


# Where a message tells the reader to run the command (`run `dealbook new <id>``, in either catalog);
# a message that only names it (`what `dealbook new` wrote here`) keeps the name.
_COMMAND = re.compile(r"(?:(?<=[Rr]un )|(?<=运行 ))`dealbook(?= )")


def runnable(text: str, command: str) -> str:
    """`text` with each `dealbook …` it tells the reader to run written as `command …`."""
    return _COMMAND.sub(lambda _: f"`{command}", text) if command != "dealbook" else text


_DIR = Path(__file__).parent / "catalog"
PACKAGE_CATALOGS = _DIR  # the languages Dealbook itself has
DEFAULT_LANGUAGE = "en"
# Where catalogs are found: the package's, then a project's own (`playbook/catalog/<code>.yml`, written by
# `dealbook language add`), given by `use_project_catalogs`. A language the package has comes from the package.
_FOLDERS: list[Path] = [_DIR]
_CODE = re.compile(r"[a-z]{2,3}")  # a primary language subtag: the name of a catalog file
_PROJECT_DIGEST = ""


def _found_languages() -> tuple[str, ...]:
    codes = {p.stem for folder in _FOLDERS for p in folder.glob("*.yml") if _CODE.fullmatch(p.stem)}
    return (DEFAULT_LANGUAGE, *sorted(codes - {DEFAULT_LANGUAGE}))


# Every language with a catalog, the default first: a language is a file, not code. A module that needs the
# languages of a project (its own catalogs included) calls `languages()` after `use_project_catalogs`.
LANGUAGES = _found_languages()


def use_project_catalogs(folder: Path | None) -> None:
    """Read a project's own catalogs from `folder` too (None: the package's alone), and find the languages again."""
    global LANGUAGES, _PROJECT_DIGEST
    wanted = [_DIR, *([Path(folder).resolve()] if folder is not None else [])]
    if wanted != _FOLDERS:
        _FOLDERS[:] = wanted
        _catalog_at.cache_clear()
    LANGUAGES = _found_languages()
    # Their words are in pages and workbooks as the package's are: part of every cache key (`Cache.key`).
    files = sorted(p for p in _FOLDERS[1].glob("*.yml") if _CODE.fullmatch(p.stem)) if len(_FOLDERS) > 1 else []
    _PROJECT_DIGEST = hashlib.sha256(b"".join(p.name.encode() + b"\0" + p.read_bytes() + b"\0"
                                              for p in files)).hexdigest() if files else ""


def project_catalogs_digest() -> str:
    """A digest of the project's own catalogs ('' for none), as last found by `use_project_catalogs`."""
    return _PROJECT_DIGEST


def project_catalogs() -> Path | None:
    """The project catalog folder in use, if any."""
    return _FOLDERS[1] if len(_FOLDERS) > 1 else None


def languages() -> tuple[str, ...]:
    """Every language with a catalog, the project's own included, the default first."""
    return LANGUAGES


def catalog_file(language: str) -> Path:
    """The file of a language's catalog: the package's, else the project's."""
    name = f"{language_code(language)}.yml"
    return next((folder / name for folder in _FOLDERS if (folder / name).is_file()), _DIR / name)


def primary_subtag(language: str | None) -> str:
    """The language of a tag, without its script or region: zh-CN, zh_TW, ZH → zh; pt-BR → pt."""
    return (language or "").strip().lower().replace("_", "-").split("-")[0]


def language_code(language: str | None) -> str:
    """The catalog language of a tag (zh-CN → zh); the default language for a tag with no catalog."""
    code = primary_subtag(language)
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def catalog(language: str) -> dict:
    """The labels of one language, as stored in `catalog/<language>.yml` (or the project's)."""
    path = catalog_file(language)
    # A project's catalog is read again when it changes (a translator saving it while the preview runs).
    return _catalog_at(path, 0 if path.parent == _DIR else path.stat().st_mtime_ns)


@lru_cache
def _catalog_at(path: Path, _changed: int) -> dict:
    # libyaml's loader when PyYAML has it: the pure-Python one is many times slower on the catalogs, which
    # every command (check, build, serve) pays at start-up.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    if path.parent == _DIR:
        return data
    # A project's catalog: a key it leaves out (a catalog older than the package) is the default language's.
    return _over(catalog(DEFAULT_LANGUAGE), data if isinstance(data, dict) else {})


def _over(default: dict, given: dict) -> dict:
    return {**default, **{key: _over(default[key], value) if isinstance(value, dict)
                          and isinstance(default.get(key), dict) else value for key, value in given.items()}}


_WIDE = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff]")
_NARROW = re.compile(r"[A-Za-z0-9'`\"]")


def _fill(template: str, values: dict[str, str]) -> str:
    """`template` with its `{name}`s filled in, a space between Chinese text and a Latin word or number."""

    def one(match: re.Match[str]) -> str:
        value = values[match[1]]
        before, after = template[match.start() - 1:match.start()], template[match.end():match.end() + 1]
        if value and _WIDE.match(before) and _NARROW.match(value[0]):
            value = " " + value
        if value and _WIDE.match(after) and _NARROW.match(value[-1]):
            value += " "
        return value

    return re.sub(r"{(\w+)}", one, template)


class _Word(str):
    """A word of the stage model as a parameter: `{status:lower}` in a catalog text writes it in lower case
    (English says "a lost deal" of the term "Lost")."""

    def __format__(self, spec: str) -> str:
        return self.lower() if spec == "lower" else super().__format__(spec)


class Labels:
    """`labels.key` or `labels("key", n=3)` in templates; `labels.pick(obj, "name")` for model text."""

    def __init__(self, language: str | None = DEFAULT_LANGUAGE):
        self.language = language_code(language)
        self._labels = catalog(self.language)
        self._model = None  # the stage model a `StageText` or `Term` parameter is worded from (`with_model`)

    @property
    def texts(self) -> dict:
        """The catalog these labels read: the same object while its file is unchanged."""
        return self._labels

    def with_model(self, model) -> Labels:
        """These labels, wording the parameters that name the stage model's texts (a `StageText`, a `Term`)
        from `model`: made once per language by an edge that words deal warnings (None: these labels)."""
        if model is None or model is self._model:
            return self
        # A copy of this object's attributes (its catalog, its Babel formats once made), not `copy.copy`,
        # which would make a new one through `__reduce__`, reading the catalog again.
        bound = object.__new__(type(self))
        bound.__dict__.update(self.__dict__, _model=model)
        return bound

    def __reduce__(self):
        # Workbooks are rendered in other processes, which must find a project's own catalog too.
        return (_labels_in, (self.language, project_catalogs()))

    def __getattr__(self, key: str) -> str:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self._labels[key]
        except KeyError:
            raise AttributeError(f"no label {key!r} in the catalog") from None

    def __call__(self, key: str, **values: object) -> str:
        return self._labels[key].format(**values)

    def __repr__(self) -> str:
        return f"Labels({self.language!r})"

    def field_help(self, name: str) -> str:
        """What a deal-file field means (`stakeholders.name`), for the reference page and the JSON Schema."""
        return self._labels["fields"].get(name, "")

    def field_label(self, name: str) -> str:
        """A shown text's name as a reader sees it (`deal_format.SHOWN_TEXTS`; the catalog's `field_labels:`),
        its key where the catalog has none."""
        return (self._labels.get("field_labels") or {}).get(name) or name

    def pick(self, obj: object, attribute: str):
        """A stage model text in this language (`obj.text(attribute, language)`), the default language's
        where the model gives none; an object without texts in several languages gives its attribute."""
        text = getattr(obj, "text", None)
        return text(attribute, self.language) if callable(text) else getattr(obj, attribute)

    def term(self, model, vocabulary: str, key: str) -> str:
        """The label of a vocabulary term (a role, a status…) in this language."""
        for term in model.vocabularies[vocabulary]:
            if term.key == key:
                return self.pick(term, "label")
        return key

    def value_word(self, model, vocabulary: str, key: str) -> str:
        """A deal-file value as a workbook cell shows it: in English the key itself (the word the deal
        file uses, `won`), in another language the term's label (`赢单`), so that every word of a
        Chinese workbook, its dropdowns included, is Chinese."""
        return key if self.language == DEFAULT_LANGUAGE else self.term(model, vocabulary, key)

    def forecast_word(self, category: str) -> str:
        """A forecast category as a workbook cell shows it, like `value_word`: `best-case`, or `最佳情况`."""
        return category if self.language == DEFAULT_LANGUAGE else self(f"cat_{category}")

    def value_words(self, model, vocabulary: str) -> dict[str, str]:
        """Key → `value_word` for every term of a vocabulary, in the model's order."""
        return {key: self.value_word(model, vocabulary, key) for key in model.keys(vocabulary)}

    def _template(self, code: str) -> tuple[str, bool] | None:
        """(text, whether it is a check message, filled with spaces around Latin words in Chinese text)."""
        for section in (self._labels["messages"], self._labels["message_parts"]):
            text = section.get(code)
            if isinstance(text, str):
                return text, True
        text = self._labels.get(code)
        if text is None and "." in code:  # an entry of a map of the catalog: `placeholder_fields.title`
            group, _, key = code.partition(".")
            text = (self._labels.get(group) or {}).get(key)
        return (text, False) if isinstance(text, str) else None

    def text_of(self, code: str) -> str | None:
        """The catalog text of a problem code: from `messages:`, else `message_parts:`, else the top level
        (the deal warnings' `w_…` keys); None when the catalog has none."""
        found = self._template(code)
        return found[0] if found is not None else None

    def word(self, code: str, params: Params = ()) -> str:
        """The text of `code` in this language with its parameters filled in, a `Worded` parameter worded too."""
        found = self._template(code)
        if found is None:
            raise KeyError(f"no text for the problem code {code!r} in the {self.language} catalog")
        template, spaced = found
        values = {name: self._value(value) for name, value in params}
        if spaced:
            return _fill(template, {name: str(value) for name, value in values.items()})
        return template.format(**values)  # a label of the site (a deal warning's `w_…`), as the pages word it

    def _value(self, value: object) -> object:
        """A parameter in this language: a `Worded` worded, a stage model text or term from the stage model
        (`with_model`), a date as this language writes it; any other value as it is."""
        if isinstance(value, Worded):
            return self.word(value.code, value.params)
        if isinstance(value, (StageText, Term)):
            if self._model is None:
                raise ValueError(f"{value} is worded from the stage model: word it with Labels.with_model(model)")
            if isinstance(value, Term):
                return _Word(self.term(self._model, value.vocabulary, value.key))
            return _Word(self.pick(self._model.stage(value.stage), value.attribute))
        return self.format_date(value) if isinstance(value, date) else value

    def error_text(self, exc: Exception) -> str:
        """An exception's text in this language: a `WordedError` worded here, any other as it is."""
        return self.word(exc.worded.code, exc.worded.params) if isinstance(exc, WordedError) else str(exc)

    def problem_message(self, problem: Problem) -> str:
        """What is wrong, in this language (a problem made without a code, as `dealbook import` copies
        them, keeps its text)."""
        return self.word(problem.code, problem.params) if problem.code else problem.message

    def problem_hint(self, problem: Problem) -> str:
        """How to fix it, in this language ('' for none)."""
        return self.word(problem.hint_code, problem.hint_params) if problem.hint_code else problem.hint

    def in_language(self, problem: Problem, command: str = "dealbook") -> Problem:
        """`problem` with its message and hint worded in this language, a `dealbook …` it tells the
        reader to run written as `command …` (`diagnostics.command_name`)."""
        plain = f"{problem.code}_plain"  # a deal warning's sentence for the site, when the catalog has one
        return replace(problem, message=runnable(self.problem_message(problem), command),
                       hint=runnable(self.problem_hint(problem), command),
                       plain=self.word(plain, problem.params) if problem.code and self.text_of(plain) is not None
                       else problem.plain)

    def problem_line(self, problem: Problem, command: str = "dealbook") -> str:
        """`path:line:col: severity: field: message (hint)` in this language."""
        return str(self.in_language(problem, command))

    def stage_name(self, stage) -> str:
        return self.pick(stage, "name")

    @cached_property
    def formats(self) -> Formats:
        """Dates, numbers and amounts in this language, by Babel with the patterns the catalog names (made
        when first used: most `Labels` only word messages)."""
        return Formats(self._labels.get("language_tag") or self.language, self._labels, DEFAULT_LANGUAGE)

    def format_date(self, value: date | None) -> str:
        """A date as this language writes it (2026-11-27, 2026年11月27日); '' for none."""
        return self.formats.date(value)

    def format_month(self, value: date) -> str:
        """A month as this language writes it (2026-11, 2026年11月)."""
        return self.formats.month(value)


def _labels_in(language: str, folder: Path | None) -> Labels:
    if folder != project_catalogs():
        use_project_catalogs(folder)
    return Labels(language)


# What `dealbook new` writes where a deal's title, account and owner go, in every language: a deal
# still holding one is a skeleton not filled in (the deal rules warn; the skeleton writes them).
PLACEHOLDERS = {field: frozenset(catalog(language)[f"sk_{field}"] for language in LANGUAGES)
                for field in ("title", "account", "owner")}
