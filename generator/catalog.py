"""The label catalog: every label the generator writes, in English or Chinese."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

LANGUAGES = ("en", "zh")
_DIR = Path(__file__).parent / "catalog"


@lru_cache
def catalog(language: str) -> dict[str, str]:
    """Labels for a language; anything but Chinese falls back to English."""
    name = "zh" if language.lower().startswith("zh") else "en"
    return yaml.safe_load((_DIR / f"{name}.yml").read_text(encoding="utf-8"))


class Labels:
    """`labels.key` or `labels("key", n=3)` in templates."""

    def __init__(self, language: str):
        self.language = "zh" if language.lower().startswith("zh") else "en"
        self._labels = catalog(language)

    def __getattr__(self, key: str) -> str:
        try:
            return self._labels[key]
        except KeyError:
            raise AttributeError(f"no label {key!r} in the catalog") from None

    def __call__(self, key: str, **values: object) -> str:
        return self._labels[key].format(**values)
