"""A language's files in a project: where they live, the scaffold of a new one, and what is left untranslated.

A language is files, not code. Beside the stage model (`playbook/`), a language `<code>` has
- its catalog, every word Dealbook writes: the package's (`generator/catalog/<code>.yml`), or the project's
  own in `playbook/catalog/<code>.yml` for a language the package does not have;
- the stage model's texts, `playbook/playbook.<code>.yml` (see `stage_model`);
- each hand-written page `X.md` as `X.<code>.md`.

`dealbook language add CODE` writes all three as copies of the default language's, every text marked
as not yet translated: a catalog or stage-model text is untranslated while it is still the same as the
default language's (each file says so in its first comment); a page is untranslated while its first line
is the marker `{# untranslated: … #}` (a template comment: never shown on the page). `dealbook check`
lists what is untranslated, one warning per file.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from ..diagnostics import Problem, Worded, problem, worded
from ..labels import DEFAULT_LANGUAGE, PACKAGE_CATALOGS, catalog, catalog_file, languages
from .stage_model import DEFAULT_LANGUAGE as MODEL_LANGUAGE
from .stage_model import StageModel, texts_document, texts_files

CATALOG_FOLDER = "catalog"  # a project's own catalogs: beside the stage model, `playbook/catalog/<code>.yml`
CODE = re.compile(r"[a-z]{2,3}")  # a primary language subtag (de, pt, fil): what a language is named by here
PAGE_MARKER = re.compile(r"\{#-?\s*untranslated\b")  # the first line of a page not yet translated
# Catalog values that name or configure rather than say something: never "untranslated" for being the same.
_NOT_WORDS = frozenset({"language_tag", "search_lang", "search_segmenter"})


class LanguageFilesError(Exception):
    """Nothing was written; `path` and `worded` say why."""

    def __init__(self, path: str, message: Worded):
        super().__init__(str(message))
        self.path, self.worded = path, message


def catalog_folder(model_path: Path) -> Path:
    """Where a project's own catalogs are: `catalog/` beside the stage model."""
    return Path(model_path).parent / CATALOG_FOLDER


def catalog_files(model_path: Path) -> list[Path]:
    """A project's own catalog files (data, never published)."""
    folder = catalog_folder(model_path)
    return sorted(p for p in folder.glob("*.yml") if CODE.fullmatch(p.stem)) if folder.is_dir() else []


def _pages(folder: Path) -> Iterator[Path]:
    """The hand-written pages in the default language: `X.md`, not a translation `X.<code>.md`."""
    for path in sorted(folder.rglob("*.md")):
        stem = path.name[:-3]
        if "." not in stem or not CODE.fullmatch(stem.rsplit(".", 1)[1]):
            yield path


def translation_path(page: Path, code: str) -> Path:
    return page.with_name(f"{page.name[:-3]}.{code}.md")


# --- dealbook language add --------------------------------------------------------------------------------


def scaffold(code: str, model: StageModel, model_path: Path, source: str = DEFAULT_LANGUAGE) -> list[Path]:
    """Write the files of a new language `code`, copied from `source`, every text marked untranslated.

    Writes nothing when any of them exists (a language is added once) and removes what it wrote when a
    write fails. Returns the files written, in order: the catalog (unless the package has one), the
    stage model's texts, the pages.
    """
    if not CODE.fullmatch(code):
        raise LanguageFilesError(code, worded("language_bad_code", code=code))
    if code == source:
        raise LanguageFilesError(code, worded("language_is_source", language=code))
    folder = Path(model_path).parent
    contents: dict[Path, str] = {}
    if not (PACKAGE_CATALOGS / f"{code}.yml").is_file():  # Dealbook has no words in this language yet
        contents[catalog_folder(model_path) / f"{code}.yml"] = _catalog_text(code, source)
    texts = Path(model_path).with_name(f"{Path(model_path).stem}.{code}{Path(model_path).suffix}")
    contents[texts] = _texts_text(model, model_path, code, source)
    for page in _pages(folder):
        if catalog_folder(model_path) in page.parents:
            continue
        contents[translation_path(page, code)] = _page_text(page, folder)
    for path in contents:
        if os.path.lexists(path):
            raise LanguageFilesError(str(path), worded("language_file_exists", language=code))
    written: list[Path] = []
    try:
        for path, text in contents.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "x", encoding="utf-8") as out:  # never over a file made meanwhile
                written.append(path)
                out.write(text)
    except OSError as exc:
        for done in written:
            done.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            catalog_folder(model_path).rmdir()  # only if this left it empty
        raise LanguageFilesError(str(path), worded("language_cannot_write", why=exc.strerror or str(exc))) from None
    return written


def _language_name(code: str) -> str:
    """The language's own name for the language switch (Deutsch), from Babel's data when it has one."""
    try:
        from babel import Locale

        return Locale.parse(code).get_display_name(code) or code
    except Exception:  # noqa: BLE001 - no Babel, or a code it does not know: the code itself
        return code


def _search_lang(code: str) -> str:
    """lunr's language for the site search: the code when Material ships lunr's support for it, else the
    source's (lunr then indexes the words without stemming them)."""
    try:
        import material
    except ImportError:
        return catalog(DEFAULT_LANGUAGE).get("search_lang", DEFAULT_LANGUAGE)
    lunr = Path(material.__file__).parent / "templates" / "assets" / "javascripts" / "lunr" / "min"
    return code if (lunr / f"lunr.{code}.min.js").is_file() else catalog(DEFAULT_LANGUAGE).get("search_lang", "en")


def _catalog_text(code: str, source: str) -> str:
    """The source catalog's text, comments kept, with the lines that name the language made the new one's."""
    text = catalog_file(source).read_text(encoding="utf-8")
    own = {"language_name": _language_name(code), "language_tag": code, "search_lang": _search_lang(code),
           "search_segmenter": ""}
    for key, value in own.items():
        text = re.sub(rf"^{key}:.*$", lambda _m, k=key, v=value: f"{k}: {_scalar(v)}", text, count=1, flags=re.M)
    text = re.sub(r"^(\w+_pattern):.*$", r"\1: ''", text, flags=re.M)  # '': as the language's locale writes
    return (f"# untranslated: the catalog of '{code}', every word Dealbook writes, copied from {source}.yml by\n"
            f"# `dealbook language add {code} --from {source}`. A text still the same as the {source} one is\n"
            f"# listed by `dealbook check` as untranslated: translate the texts, keep the keys and {{placeholders}}.\n"
            f"# language_name (the language switch), search_lang (lunr) and search_segmenter are set for '{code}';\n"
            f"# the *_pattern keys are left empty: dates and numbers are written as the '{code}' locale writes them.\n"
            + text)


def _scalar(value: str) -> str:
    return yaml.safe_dump(value, allow_unicode=True, default_style=None, width=1000).strip().removesuffix("\n...")


def _texts_text(model: StageModel, model_path: Path, code: str, source: str) -> str:
    document = texts_document(model, source)
    return (f"# untranslated: the texts of the stage model ({Path(model_path).name}) in '{code}', copied from "
            f"the {source} texts\n# by `dealbook language add`. A text still the same as the {MODEL_LANGUAGE} "
            f"one is shown in {MODEL_LANGUAGE} and\n# listed by `dealbook check` as untranslated. Only texts are "
            f"here; each item is named by its key.\n\n"
            + yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100))


def _page_text(page: Path, folder: Path) -> str:
    text = page.read_text(encoding="utf-8")
    name = page.relative_to(folder).as_posix()
    marker = f"{{# untranslated: a copy of {name}; translate this page, then delete this line #}}\n"
    # After the front matter, if any: mkdocs reads a page's metadata only from its very first line.
    front = re.match(r"---\r?\n.*?\r?\n(?:---|\.\.\.)\r?\n", text, re.S)
    return text[:front.end()] + marker + text[front.end():] if front else marker + text


# --- what is left untranslated ----------------------------------------------------------------------------


def untranslated(model_path: Path, root: Path, model: StageModel | None) -> list[Problem]:
    """One warning per file of another language that has texts still to translate: the stage model's texts
    files (how many, at the first), the project's catalogs (how many of how many), each page still marked."""
    shown = _shown(root)
    out: list[Problem] = []
    by_file: dict[str, list[Problem]] = {}
    for found in model.untranslated if model is not None else ():
        by_file.setdefault(found.path, []).append(found)
    for path, found in by_file.items():
        first, params = found[0], dict(found[0].params)
        out.append(problem(path, first.line, first.col, "warning", "",
                           worded("untranslated_texts", count=len(found), language=params.get("language", "")),
                           worded("untranslated_texts_hint", default=MODEL_LANGUAGE)))
    for path in catalog_files(model_path):
        out.extend(_catalog_untranslated(path, shown(path)))
    folder = Path(model_path).parent
    codes = sorted({*languages(), *texts_files(model_path), *(p.stem for p in catalog_files(model_path))}
                   - {DEFAULT_LANGUAGE})
    for page in _pages(folder):
        for code in codes:
            twin = translation_path(page, code)
            if twin.is_file() and _marked(twin):
                out.append(problem(shown(twin), 1, 1, "warning", "", worded("untranslated_page", language=code),
                                   worded("untranslated_page_hint")))
    return out


def _shown(root: Path):
    def shown(path: Path) -> str:
        try:
            return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            return str(path)
    return shown


def _marked(page: Path) -> bool:
    try:
        with open(page, encoding="utf-8") as text:
            head = text.read(4096)
    except (OSError, UnicodeDecodeError):
        return False
    return any(PAGE_MARKER.match(line) for line in head.splitlines()[:12])


def _catalog_untranslated(path: Path, shown: str) -> list[Problem]:
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []  # the build names an unreadable catalog; this only counts texts
    default = catalog(DEFAULT_LANGUAGE)
    same: list[tuple[int, int]] = []
    total = 0
    for keys, value in _leaves(node, ()):
        if keys[0] in _NOT_WORDS or str(keys[-1]).endswith(("_pattern", "_format")):
            continue  # a name, a setting, or how dates are written: the same in many languages
        english = _get(default, keys)
        if not isinstance(english, str) or not _has_words(english):
            continue
        total += 1
        if value.value == english:
            same.append((value.start_mark.line + 1, value.start_mark.column + 1))
    if not same:
        return []
    line, col = same[0]
    return [problem(shown, line, col, "warning", "",
                    worded("untranslated_catalog", count=len(same), total=total, language=path.stem),
                    worded("untranslated_texts_hint", default=DEFAULT_LANGUAGE))]


def _leaves(node: Any, keys: tuple) -> Iterator[tuple[tuple, yaml.ScalarNode]]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _leaves(value, (*keys, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for index, value in enumerate(node.value):
            yield from _leaves(value, (*keys, index))
    elif isinstance(node, yaml.ScalarNode) and keys:
        yield keys, node


def _get(data: Any, keys: tuple) -> Any:
    for key in keys:
        if isinstance(data, dict) and key in data:
            data = data[key]
        elif isinstance(data, list) and isinstance(key, int) and key < len(data):
            data = data[key]
        else:
            return None
    return data


def _has_words(text: str) -> bool:
    """Whether a text says something in words (not only `{placeholders}`, numbers and signs)."""
    return bool(re.search(r"[^\W\d_]{2,}", re.sub(r"{[^}]*}", "", text)))
