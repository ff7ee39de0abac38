"""Markdown for text written by reps: formatting yes, raw HTML and script links no."""

from __future__ import annotations

import html
import re
from xml.etree.ElementTree import Element

import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

SAFE_SCHEMES = ("http", "https", "mailto", "tel")
_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.\-]*):")


def is_safe_url(url: str) -> bool:
    # Browsers ignore control characters and whitespace inside a scheme
    # ("java\tscript:"), so strip them before looking at it.
    cleaned = re.sub(r"[\x00-\x20\x7f]+", "", html.unescape(url))
    match = _SCHEME.match(cleaned)
    return match is None or match.group(1).lower() in SAFE_SCHEMES


class _DropUnsafeLinks(Treeprocessor):
    def run(self, root: Element) -> None:
        for element in root.iter():
            href = element.get("href")
            if href is not None and not is_safe_url(href):
                del element.attrib["href"]
            src = element.get("src")
            # An image from another host would be a request off the intranet.
            if src is not None and (not is_safe_url(src) or _SCHEME.match(src) or src.lstrip().startswith("//")):
                del element.attrib["src"]


class _SafeExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 - Markdown's API name
        # Without these, raw HTML is not passed through but escaped as text.
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.treeprocessors.register(_DropUnsafeLinks(md), "drop_unsafe_links", 0)


class SafeMarkdown:
    """A reusable converter (building a Markdown instance per deal is slow)."""

    def __init__(self) -> None:
        self._md = markdown.Markdown(extensions=["sane_lists", "tables", _SafeExtension()])

    def convert(self, text: str) -> str:
        self._md.reset()
        return self._md.convert(text)
