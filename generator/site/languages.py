"""The languages of one site: which are built, where each lives, which file holds a page's text,
and where the language switch of a page leads.

The first language is served at the site root, every other one under `/<code>/`; each is a
complete site of its own (theme language, navigation, search index, pages, workbooks), built
from the same deals, read once. A hand-written page is `X.md` in English and `X.<code>.md` in
another language: the suffix convention of mkdocs-static-i18n, so that either tool can build
the same folder. Nothing here imports mkdocs; the plugin hands in what it needs and runs the
builds.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..labels import DEFAULT_LANGUAGE, catalog, language_code, primary_subtag
from ..labels import languages as known_languages

SOURCE_LANGUAGE = DEFAULT_LANGUAGE  # the language of a page file without a language suffix
# What a site may say differently per language, set under the plugin's `per_language:` option.
PER_LANGUAGE_KEYS = ("site_name", "site_description", "copyright", "palette_toggle_names")


class LanguageError(ValueError):
    """The `languages:` or `per_language:` option cannot be used; the message says why."""


def translation_suffix(src_uri: str) -> str | None:
    """The language code of a page translation (`tools/grading.zh.md` → `zh`), else None."""
    if not src_uri.endswith(".md"):
        return None
    stem = src_uri[:-3]
    code = stem.rsplit(".", 1)[-1] if "." in posixpath.basename(stem) else ""
    return code if code in known_languages() and code != SOURCE_LANGUAGE else None


def translation_of(src_uri: str, code: str) -> str:
    """Where the `code` text of page `src_uri` is kept: `tools/grading.md` → `tools/grading.zh.md`."""
    return src_uri if code == SOURCE_LANGUAGE else f"{src_uri[:-3]}.{code}.md"


@dataclass(frozen=True)
class SiteLanguages:
    """The languages a build publishes, the first at the root."""

    codes: tuple[str, ...]
    per_language: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def configured(cls, languages: list[str], theme_language: str | None,
                   per_language: dict[str, dict[str, Any]] | None = None) -> SiteLanguages:
        """From the plugin's options; with no `languages:`, the theme's language alone (as before)."""
        codes = [primary_subtag(code) for code in languages]  # zh-CN → zh; a code with no catalog is refused
        known = known_languages()  # the package's catalogs and the project's own (`labels.use_project_catalogs`)
        for code in codes:
            if code not in known:
                raise LanguageError(f"languages: '{code}' is not one of {', '.join(known)} "
                                    f"(`dealbook language add {code}` writes its files)")
        if len(set(codes)) != len(codes):
            raise LanguageError(f"languages: {', '.join(codes)} names a language twice")
        per_language = per_language or {}
        for code, settings in per_language.items():
            if code not in known:
                raise LanguageError(f"per_language: '{code}' is not one of {', '.join(known)}")
            unknown = sorted(set(settings) - set(PER_LANGUAGE_KEYS))
            if unknown:
                raise LanguageError(f"per_language.{code}: {', '.join(unknown)} cannot be set per language "
                                    f"(only {', '.join(PER_LANGUAGE_KEYS)})")
        return cls(tuple(codes) or (language_code(theme_language),), per_language)

    @property
    def primary(self) -> str:
        return self.codes[0]

    @property
    def others(self) -> tuple[str, ...]:
        return self.codes[1:]

    @property
    def several(self) -> bool:
        return len(self.codes) > 1

    def prefix(self, code: str) -> str:
        """Where a language's site lives, relative to the root: '' for the first, 'zh/' for another."""
        return "" if code == self.primary else f"{code}/"

    def settings(self, code: str) -> dict[str, Any]:
        return dict(self.per_language.get(code, {}))

    def config_values(self, code: str, palette: Any) -> dict[str, dict[str, Any]]:
        """What mkdocs.yml says differently in a language: its values, the theme's (language, palette toggle
        names) and the search plugin's (lunr's language, as the language's catalog names it)."""
        settings = self.settings(code)
        return {"values": {key: settings[key] for key in ("site_name", "site_description", "copyright")
                           if key in settings},
                "theme": {"language": code,
                          "palette": localized_palette(palette, settings.get("palette_toggle_names"))},
                "search": {"lang": [catalog(code)["search_lang"]]} if catalog(code).get("search_lang") else {}}

    def alternates(self, url: str, current: str) -> list[dict[str, str]]:
        """Material's language selector for the page at `url` (its URL within its language's site).

        Every language has the same pages at the same paths, so the switch leads to the same page.
        Links are relative to the page itself, up to the root site and down into the other
        language's: the site works from any folder of any server, without knowing its own address.
        """
        folder = url if url.endswith("/") else posixpath.dirname(url)
        up = "../" * (len([part for part in folder.split("/") if part]) + self.prefix(current).count("/"))
        return [{"name": catalog(code)["language_name"], "lang": catalog(code)["language_tag"],
                 "link": (up + self.prefix(code) + url) or "./"} for code in self.codes]


@contextmanager
def overridden(mapping: MutableMapping[str, Any], **values: Any) -> Iterator[None]:
    """Set keys of a configuration for the length of a block, and put the old values back after it."""
    missing = object()
    saved = {key: mapping.get(key, missing) for key in values}
    try:
        for key, value in values.items():
            mapping[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is missing:
                mapping.pop(key, None)
            else:
                mapping[key] = value


def localized_palette(palette: Any, names: list[str] | None) -> Any:
    """The theme's palette with the toggles' names (tooltips) in another language, in palette order."""
    if not names or not isinstance(palette, list):
        return palette
    out = []
    for entry, name in zip(palette, [*names, *[None] * len(palette)], strict=False):
        if isinstance(entry, dict) and isinstance(entry.get("toggle"), dict) and name:
            entry = {**entry, "toggle": {**entry["toggle"], "name": name}}
        out.append(entry)
    return out
