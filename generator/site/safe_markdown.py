"""Markdown for text written by reps: formatting yes, raw HTML and script links no.

A URL is judged the way a browser will read it (the WHATWG URL standard), not the way it
looks in the deal file: the attribute value is decoded as the HTML parser decodes it
(`&#115;`, `&colon;`, `&Tab;`), leading and trailing C0 controls and spaces are stripped,
tabs and newlines anywhere are removed, and backslashes count as slashes (the site is
served over http(s) or from file:, all "special" schemes). To be on the safe side, the
percent-decoded URL must pass the same test, although browsers do not decode a scheme.

- An image (`src`) may only point inside the site: a path without a scheme and without a
  host, so `//host/x.png`, `/\\host/x.png` and `\\\\host/x.png` (which browsers read as
  `http://host/x.png`) are refused, as is `data:`.
- A link (`href`) may point inside the site or to http, https and mailto; a link to another
  host must name its scheme (`//host` would become `file://host` on a site opened from disk).

Anything else loses the attribute and keeps its text. An allowed URL is written back in the
form that was checked, so the browser parses exactly what was judged.
"""

from __future__ import annotations

import html
import re
from html.entities import html5
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element

import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from markdown.util import AMP_SUBSTITUTE

LINK_SCHEMES = frozenset({"http", "https", "mailto"})
# Schemes whose URLs browsers parse with `\` as `/`; a relative URL on our site (served
# over http, https or file) is parsed against one of them, so it gets the same treatment.
SPECIAL_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp", "file"})
# Attributes that hold a URL but that this converter never produces: dropped whatever they say.
OTHER_URL_ATTRIBUTES = frozenset({"srcset", "action", "formaction", "poster", "background", "cite",
                                  "data", "xlink:href", "ping", "longdesc", "lowsrc", "dynsrc"})

_C0_AND_SPACE = "".join(chr(c) for c in range(0x21))
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")  # WHATWG "scheme state"
# What Python-Markdown's serializer leaves as a character reference in an attribute value.
_CHARREF = re.compile(r"&(#[0-9]+|#x[0-9a-f]+|[0-9a-z]+);", re.I)


def browser_url(url: str) -> str:
    """The URL string a browser's URL parser actually works on (WHATWG "basic URL parser" set-up).

    Strips leading/trailing C0 controls and spaces, removes tab/LF/CR anywhere, and turns `\\`
    into `/` before the query for special schemes and for relative URLs (our base is special).
    """
    url = _TAB_NEWLINE.sub("", url.strip(_C0_AND_SPACE))
    scheme = url_scheme(url)
    if scheme is None or scheme in SPECIAL_SCHEMES:
        cut = min((i for i in (url.find("?"), url.find("#")) if i >= 0), default=len(url))
        url = url[:cut].replace("\\", "/") + url[cut:]
    return url


def url_scheme(url: str) -> str | None:
    """The scheme, lower-cased, as a browser finds it in a normalised URL; None for a relative URL."""
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else None


def _variants(url: str) -> set[str]:
    """The URL as the browser reads it, plus every decoding an attacker might count on."""
    seen: set[str] = set()
    todo = [url, html.unescape(url)]
    while todo:
        candidate = browser_url(todo.pop())
        if candidate in seen or len(seen) > 16:
            continue
        seen.add(candidate)
        todo.append(unquote(candidate))
    return seen


def _leaves_the_site(url: str) -> bool:
    """A relative URL that names a host, or whose path holds `//`.

    After normalisation this catches `//host/…`, `/\\host/…`, `\\\\host\\…` and `/<tab>/host/…`.
    An empty path segment anywhere is refused too: `/..//host/x.png` resolves to the path
    `//host/x.png`, which a site opened from disk (`file:`) turns into a network path.
    """
    path = re.split(r"[?#]", url, maxsplit=1)[0]
    if "//" in path:
        return True
    try:
        return bool(urlsplit(url).netloc)
    except ValueError:  # e.g. an invalid IPv6 literal: not worth the risk
        return True


def _one_link_ok(url: str) -> bool:
    if _CONTROL.search(url):
        return False
    scheme = url_scheme(url)
    if scheme is None:
        return not _leaves_the_site(url)
    try:  # urllib must find the same scheme as the browser
        return scheme in LINK_SCHEMES and urlsplit(url).scheme == scheme
    except ValueError:
        return False


def _one_image_ok(url: str) -> bool:
    if _CONTROL.search(url) or url_scheme(url) is not None or _leaves_the_site(url):
        return False
    try:
        return urlsplit(url).scheme == ""
    except ValueError:
        return False


def is_safe_link(url: str) -> bool:
    """May an `href` hold this URL? Inside the site, or http, https or mailto."""
    return all(_one_link_ok(v) for v in _variants(url))


def is_safe_image(url: str) -> bool:
    """May an `src` hold this URL? Only a path inside the site: no scheme, no host."""
    return all(_one_image_ok(v) for v in _variants(url))


is_safe_url = is_safe_link  # the name the renderer uses for the repository link


def attribute_as_browser_reads(value: str) -> str:
    """An attribute value from Markdown's tree, as the browser will read it from the serialised page.

    The serializer keeps `&name;`, `&#n;` and `&#xn;` as they are (and a postprocessor turns
    Markdown's own `AMP_SUBSTITUTE` into `&`), so the HTML parser decodes those; an attribute
    value decodes a named reference only with its semicolon.
    """
    value = value.replace(AMP_SUBSTITUTE, "&")

    def decode(match: re.Match[str]) -> str:
        ref = match.group(1)
        if ref.startswith("#"):
            return html.unescape(match.group(0))
        return html5.get(ref + ";", match.group(0))

    return _CHARREF.sub(decode, value)


def _write_back(url: str) -> str:
    # `&amp;` survives the serializer as it is, so the browser reads back exactly `url`.
    return url.replace("&", "&amp;")


class _DropUnsafeLinks(Treeprocessor):
    def run(self, root: Element) -> None:
        for element in root.iter():
            for name in list(element.attrib):
                lowered = name.lower()
                if lowered.startswith("on") or lowered in OTHER_URL_ATTRIBUTES:
                    del element.attrib[name]
                elif lowered in ("href", "src"):
                    seen = attribute_as_browser_reads(element.attrib[name])
                    allowed = is_safe_link(seen) if lowered == "href" else is_safe_image(seen)
                    if allowed:
                        element.set(name, _write_back(browser_url(seen)))
                    else:
                        del element.attrib[name]


class _SafeExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 - Markdown's API name
        # Without these, raw HTML is not passed through but escaped as text.
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        # After every other treeprocessor ("unescape" restores backslash escapes at priority 0).
        md.treeprocessors.register(_DropUnsafeLinks(md), "drop_unsafe_links", -100)


class SafeMarkdown:
    """A reusable converter (building a Markdown instance per deal is slow)."""

    def __init__(self) -> None:
        self._md = markdown.Markdown(extensions=["sane_lists", "tables", _SafeExtension()])

    def convert(self, text: str) -> str:
        self._md.reset()
        return self._md.convert(text)
