"""Markdown for text written by reps: formatting yes, raw HTML and script links no.

Python-Markdown turns the text into HTML with raw HTML switched off (it shows as text), and
nh3 (ammonia: html5ever parses the HTML and the `url` crate the URLs, both as browsers do)
gives the final word: only the tags and attributes Markdown makes survive, character
references are decoded as the browser will decode them, and a URL with a scheme keeps its
attribute only for http, https or mailto. Our own rules come on top, in `_attribute`:

- An image (`src`) may only point inside the site: a path without a scheme and without a
  host, so `//host/x.png`, `/\\host/x.png` and `\\\\host/x.png` (which browsers read as
  `http://host/x.png`) are refused, as are `http:` and `data:`.
- A link (`href`) may point inside the site or to http, https and mailto; a link to another
  host must name its scheme (`//host` would become `file://host` on a site opened from disk).
- To be on the safe side, a URL inside the site must pass the same test once percent-decoded,
  although browsers do not decode a scheme or a host's slashes.

Anything else loses the attribute and keeps its text. An attribute keeps the value that was
judged (the serialiser only escapes it), so the browser parses exactly what was checked.
"""

from __future__ import annotations

import html
import re
from urllib.parse import unquote, urlsplit

import markdown
import nh3
from markdown.extensions import Extension

LINK_SCHEMES = frozenset({"http", "https", "mailto"})
# What Python-Markdown makes with the `sane_lists` and `tables` extensions; nothing else survives.
TAGS = frozenset({"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "em", "strong", "code", "pre",
                  "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td"})
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
# A table column's alignment, exactly as the tables extension writes it (no other style).
ALIGN = {f"text-align: {side};" for side in ("left", "center", "right")}
CELL_VALUES = {"th": {"style": ALIGN}, "td": {"style": ALIGN}}

_C0_AND_SPACE = "".join(chr(c) for c in range(0x21))
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")  # the WHATWG URL parser's "scheme state"


def _has_scheme(url: str) -> bool:
    """Does a browser read a scheme at the start (after stripping C0 controls, spaces, tabs, newlines)?"""
    return _SCHEME.match(_TAB_NEWLINE.sub("", url).lstrip(_C0_AND_SPACE)) is not None


def _one_inside(url: str) -> bool:
    """A URL with no scheme, no host and no `//` in its path, read with `\\` as `/` as browsers do.

    `//host/…`, `/\\host/…`, `\\\\host\\…` and `/<tab>/host/…` all name a host; an empty path
    segment anywhere is refused too: `/..//host/x.png` resolves to the path `//host/x.png`,
    which a site opened from disk (`file:`) turns into a network path.
    """
    url = _TAB_NEWLINE.sub("", url).strip(_C0_AND_SPACE)
    if _CONTROL.search(url) or _SCHEME.match(url):
        return False
    cut = min((i for i in (url.find("?"), url.find("#")) if i >= 0), default=len(url))
    url = url[:cut].replace("\\", "/") + url[cut:]
    if "//" in url[:cut]:
        return False
    try:
        return not urlsplit(url).netloc
    except ValueError:  # e.g. an invalid IPv6 literal: not worth the risk
        return False


def _inside_the_site(url: str) -> bool:
    """`_one_inside` for the URL and each of its percent-decodings."""
    for _ in range(8):
        if not _one_inside(url):
            return False
        decoded = unquote(url)
        if decoded == url:
            return True
        url = decoded
    return False  # still decoding after 8 rounds: not an ordinary URL


def _attribute(tag: str, name: str, value: str) -> str | None:
    """nh3's attribute filter: our rules for the URLs its own checks let through.

    nh3 has already dropped a URL whose scheme is not http, https or mailto, so a URL with a
    scheme here is one of those: fine for a link, never for an image.
    """
    if name not in ("href", "src"):
        return value
    if _has_scheme(value):
        return value if tag == "a" else None
    return value if _inside_the_site(value) else None


# Set up once: a reusable Cleaner halves the cost of nh3.clean's per-call set-up.
# link_rel=None: links get no rel attribute, as before nh3 (nh3's default adds "noopener noreferrer").
_CLEANER = nh3.Cleaner(tags=set(TAGS), attributes=ATTRIBUTES, tag_attribute_values=CELL_VALUES,
                       url_schemes=set(LINK_SCHEMES), link_rel=None, attribute_filter=_attribute)


def sanitise(fragment: str) -> str:
    """The HTML fragment with only Markdown's tags and attributes and the URLs our rules allow."""
    return _CLEANER.clean(fragment)


def _kept(tag: str, name: str, url: str) -> bool:
    attribute = "href" if name == "href" else "src"
    out = sanitise(f'<{tag} {attribute}="{html.escape(url, quote=True)}">')
    return f" {attribute}=" in out


def is_safe_link(url: str) -> bool:
    """May an `href` hold this URL (as the browser reads the attribute)? Inside the site, or http, https, mailto."""
    return _kept("a", "href", url)


def is_safe_image(url: str) -> bool:
    """May an `src` hold this URL (as the browser reads the attribute)? Only a path inside the site."""
    return _kept("img", "src", url)


is_safe_url = is_safe_link  # the name the renderer uses for the repository link


class _NoRawHtml(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 - Markdown's API name
        # Without these, raw HTML is not passed through but escaped as text.
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")


class SafeMarkdown:
    """A reusable converter (building a Markdown instance per deal is slow)."""

    def __init__(self) -> None:
        self._md = markdown.Markdown(extensions=["sane_lists", "tables", _NoRawHtml()])

    def convert(self, text: str) -> str:
        self._md.reset()
        return sanitise(self._md.convert(text))
