"""Markdown written by reps (the deal summary), as the plain text a spreadsheet cell can show.

A cell shows characters, not formatting: `**18 December**` would be read with its asterisks.
The Markdown is converted the way the site converts it (raw HTML stays text), then reduced to
its words: emphasis, code and links become their text, images their description, paragraphs
and headings are separated by a blank line, list items start on a line of their own with a
bullet or their number, and a line break inside a paragraph becomes a space (CJK lines are
already joined when the deal is read).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import markdown
from markdown.extensions import Extension

_BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "table", "hr", "ul", "ol"}
_SPACES = re.compile(r"[ \t\r\n]+")


class _RawHtmlAsText(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 - Markdown's API name
        # As on the site: HTML typed by a rep is text, not markup.
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.lists: list[list] = []  # per open list: [ordered, next number]
        self.pre = 0
        self.cells = 0

    def _break(self, blank: bool) -> None:
        text = "".join(self.out).rstrip(" ")
        if not text:
            self.out = []
            return
        wanted = "\n\n" if blank else "\n"
        stripped = text.rstrip("\n")
        ending = text[len(stripped):]
        self.out = [stripped + (ending if len(ending) >= len(wanted) else wanted)]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self._break(blank=not self.lists)
        if tag in ("ul", "ol"):
            self.lists.append([tag == "ol", int(dict(attrs).get("start") or 1)])
        elif tag == "li":
            self._break(blank=False)
            marker = "•"
            if self.lists and self.lists[-1][0]:
                marker = f"{self.lists[-1][1]}."
                self.lists[-1][1] += 1
            self.out.append("  " * (len(self.lists) - 1) + marker + " ")
        elif tag == "br":
            self.out.append("\n")
        elif tag == "img":
            self.out.append(dict(attrs).get("alt") or "")
        elif tag in ("td", "th"):
            if self.cells:  # cells of a row stay apart
                self.out = ["".join(self.out).rstrip(" "), " | "]
            self.cells += 1
        elif tag == "tr":
            self._break(blank=False)
            self.cells = 0
        if tag == "pre":
            self.pre += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self.pre -= 1
        if tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        if tag in _BLOCKS:
            self._break(blank=not self.lists)

    def handle_data(self, data: str) -> None:
        if not self.pre:
            data = _SPACES.sub(" ", data)
            if "".join(self.out[-1:]).endswith(("\n", " ")) or not self.out:
                data = data.lstrip(" ")
        self.out.append(data)


_MARKDOWN = markdown.Markdown(extensions=["sane_lists", "tables", _RawHtmlAsText()])


def plain_text(text: str) -> str:
    """The words of a Markdown text, laid out as plain text."""
    if not text.strip():
        return ""
    _MARKDOWN.reset()
    parser = _Text()
    parser.feed(_MARKDOWN.convert(text))
    parser.close()
    return "".join(parser.out).strip()
