"""URLs in rep Markdown (a deal's `summary`), judged as a browser parses them (nh3 and our site rules).

A table of URL tricks is checked three ways: against the URL checks, through the Markdown
converter, and end to end: one deal per trick, a real mkdocs build, every deal page opened in
Debian's Chromium with every request routed, and no request may leave 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browser_support import DESKTOP, HOST, chromium, logged_tab, serve
from conftest import AS_OF_EPOCH, ROOT, Project

from generator.site.safe_markdown import SafeMarkdown, is_safe_image, is_safe_link, sanitise


@dataclass(frozen=True)
class Case:
    name: str
    markdown: str  # the link destination as a rep types it in Markdown
    url: str  # what the browser would read from the attribute if it were written as is
    image_ok: bool
    link_ok: bool


def case(name: str, markdown: str, image_ok: bool, link_ok: bool, url: str | None = None) -> Case:
    return Case(name, markdown, markdown if url is None else url, image_ok, link_ok)


EVIL = "evil.example"
CASES = [
    # script and other dangerous schemes, in disguise
    case("javascript", "javascript:alert(1)", False, False),
    case("javascript-mixed-case", "JaVaScRiPt:alert(1)", False, False),
    case("javascript-decimal-entity", "java&#115;cript:alert(1)", False, False, "javascript:alert(1)"),
    case("javascript-hex-entity", "&#x6A;avascript:alert(1)", False, False, "javascript:alert(1)"),
    case("javascript-colon-entity", "javascript&colon;alert(1)", False, False, "javascript:alert(1)"),
    case("javascript-decimal-colon", "javascript&#58;alert(1)", False, False, "javascript:alert(1)"),
    case("javascript-tab-entity", "java&Tab;script:alert(1)", False, False, "java\tscript:alert(1)"),
    case("javascript-tab-numeric", "jav&#x09;ascript:alert(1)", False, False, "jav\tascript:alert(1)"),
    case("javascript-newline-entity", "java&NewLine;script:alert(1)", False, False, "java\nscript:alert(1)"),
    case("javascript-cr-numeric", "java&#13;script:alert(1)", False, False, "java\rscript:alert(1)"),
    case("javascript-leading-c0", "&#1;javascript:alert(1)", False, False, "\x01javascript:alert(1)"),
    case("javascript-leading-spaces", "<&#32;&#32;javascript:alert(1)>", False, False, "  javascript:alert(1)"),
    case("javascript-percent", "java%73cript:alert(1)", False, False),
    case("javascript-percent-all", "%6A%61%76%61%73%63%72%69%70%74:alert(1)", False, False),
    case("vbscript", "vbscript:msgbox(1)", False, False),
    case("data-html", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", False, False),
    case("data-image", "data:image/png;base64,iVBORw0KGgo=", False, False),
    case("file", "file:///etc/passwd", False, False),
    case("blob", "blob:http://127.0.0.1/x", False, False),
    case("ftp", f"ftp://{EVIL}/x.png", False, False),
    case("websocket", f"ws://{EVIL}/x", False, False),
    case("tel", "tel:+15550100", False, False),
    # another host, without saying "http"
    case("protocol-relative", f"//{EVIL}/x.png", False, False),
    case("slash-backslash", f"/\\\\{EVIL}/x.png", False, False, f"/\\{EVIL}/x.png"),
    case("backslash-backslash", f"\\\\\\\\{EVIL}\\\\x.png", False, False, f"\\\\{EVIL}\\x.png"),
    case("backslash-slash", f"\\\\/{EVIL}/x.png", False, False, f"\\/{EVIL}/x.png"),
    case("slash-tab-slash", f"/&Tab;/{EVIL}/x.png", False, False, f"/\t/{EVIL}/x.png"),
    case("slashes-as-entities", f"&#x2F;&#x2F;{EVIL}/x.png", False, False, f"//{EVIL}/x.png"),
    case("leading-space-protocol-relative", f"<&#32;//{EVIL}/x.png>", False, False, f" //{EVIL}/x.png"),
    case("percent-encoded-slashes", f"%2F%2F{EVIL}/x.png", False, False),
    case("dot-dot-empty-segment", f"/..//{EVIL}/x.png", False, False),
    case("relative-dot-dot-empty-segment", f"..//{EVIL}/x.png", False, False),
    case("percent-dots-empty-segment", f"/%2e%2e//{EVIL}/x.png", False, False),
    # http(s): fine for a link, never for an image
    case("http", f"http://{EVIL}/x.png", False, True),
    case("https", f"https://{EVIL}/x.png", False, True),
    case("https-upper-case", f"HTTPS://{EVIL}/x.png", False, True),
    case("http-no-slashes", f"http:{EVIL}/x.png", False, True),
    case("https-slash-backslash", f"https:/\\\\{EVIL}/x.png", False, True, f"https:/\\{EVIL}/x.png"),
    case("https-backslashes", f"https:\\\\\\\\{EVIL}/x.png", False, True, f"https:\\\\{EVIL}/x.png"),
    case("https-userinfo", f"https://example.com@{EVIL}/", False, True),
    case("https-doc", "https://example.com/doc", False, True),
    case("mailto", "mailto:rep@example.com", False, True),
    # inside the site
    case("site-image-relative", "../../images/deal-page.png", True, True),
    case("site-image-absolute", "/images/deal-page.png", True, True),
    case("relative-with-query", "x.png?a=1&amp;b=2", True, True, "x.png?a=1&b=2"),
    case("fragment", "#summary", True, True),
    case("colon-after-slash", "./javascript:alert(1)", True, True),
]
ALLOWED_LINKS = {"https-doc": "https://example.com/doc", "mailto": "mailto:rep@example.com",
                 "https": f"https://{EVIL}/x.png", "http": f"http://{EVIL}/x.png"}
RAW_HTML = (
    f'<img src="http://{EVIL}/raw.png"> <img src=//{EVIL}/raw2.png onerror="window.__pwned=1">\n\n'
    '<a href="javascript:window.__pwned=2">raw link</a> <javascript:window.__pwned=3>\n\n'
    f"<a href='//{EVIL}/'>raw protocol-relative</a>\n"
)


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES)
    assert sum(not c.image_ok for c in CASES) >= 30 and sum(not c.link_ok for c in CASES) >= 25


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.name)
def test_url_checks(c: Case) -> None:
    assert is_safe_image(c.url) is c.image_ok, f"image {c.url!r}"
    assert is_safe_link(c.url) is c.link_ok, f"link {c.url!r}"


class _Elements(HTMLParser):
    """Every <img> and <a> with its attributes (entity-decoded as a browser decodes them) and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[dict[str, str | None]] = []
        self.links: list[dict[str, str | None]] = []
        self._link: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs))
        elif tag == "a":
            self._link = {**dict(attrs), "text": ""}
            self.links.append(self._link)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._link is not None:
            self._link["text"] = (self._link["text"] or "") + data


def _summary(c: Case) -> str:
    return f"Image: ![img-{c.name}]({c.markdown})\n\nLink: [link-{c.name}]({c.markdown})\n"


def _elements(html_text: str) -> _Elements:
    parser = _Elements()
    parser.feed(html_text)
    parser.close()
    return parser


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.name)
def test_markdown_keeps_or_drops_the_url_and_always_the_text(c: Case) -> None:
    out = SafeMarkdown().convert(_summary(c))
    found = _elements(out)
    assert len(found.images) == 1 and len(found.links) == 1, f"not parsed as an image and a link: {out}"
    image, link = found.images[0], found.links[0]
    assert image["alt"] == f"img-{c.name}" and link["text"] == f"link-{c.name}"
    assert ("src" in image) is c.image_ok, out
    assert ("href" in link) is c.link_ok, out
    if c.image_ok:
        assert is_safe_image(image["src"] or "")
    if c.link_ok:
        assert is_safe_link(link["href"] or "")
        assert link["href"] == c.url, "the kept URL is not the one that was checked"
    if c.name in ALLOWED_LINKS:
        assert link["href"] == ALLOWED_LINKS[c.name]


def test_reference_links_and_autolinks_are_checked_too() -> None:
    out = SafeMarkdown().convert(
        "[ref link][r] ![ref image][i] <https://example.com/auto> <rep@example.com>\n\n"
        f"[r]: java&#115;cript:alert(1)\n[i]: /\\\\{EVIL}/x.png\n")
    found = _elements(out)
    assert [link.get("href") for link in found.links] == [None, "https://example.com/auto", "mailto:rep@example.com"]
    assert [image.get("src") for image in found.images] == [None]


def test_raw_html_in_markdown_is_escaped_text() -> None:
    out = SafeMarkdown().convert(RAW_HTML)
    found = _elements(out)
    assert found.images == [] and found.links == [], out
    assert "&lt;img src=" in out and "&lt;a href=" in out and "raw link" in out


def test_markdown_formatting_survives_the_sanitiser() -> None:
    # What Markdown makes for a rep (tables with alignment, a list's start, titles, line breaks) is kept,
    # and a link gets no rel attribute (nh3 adds "noopener noreferrer" unless told not to).
    out = SafeMarkdown().convert('| a | b |\n|:--|--:|\n| 1 | 2 |\n\n3. x\n4. y\n\n'
                                 'line  \nbreak [t](/x "title") ![alt](a.png "t") [ext](https://example.com/)\n')
    assert '<th style="text-align: left;">a</th>' in out and '<td style="text-align: right;">2</td>' in out
    assert '<ol start="3">' in out and "<br>" in out
    assert '<a href="/x" title="title">t</a>' in out and '<img alt="alt" src="a.png" title="t">' in out
    assert '<a href="https://example.com/">ext</a>' in out and "rel=" not in out


def test_the_sanitiser_keeps_only_what_markdown_makes() -> None:
    # The last word if Markdown ever lets HTML through: no script, no event handler, no style but
    # a cell's alignment, no srcset, no comment.
    out = sanitise('<p onclick="x()" class="c" id="i" style="color:red">a<script>alert(1)</script>'
                   '<iframe src="/x"></iframe><td style="color:red">c</td>'
                   '<img src="/i.png" srcset="//evil.example/x 2x" onerror="x()">'
                   '<a href="/z" target="_blank" rel="opener">z</a><!-- c --></p>')
    assert out == '<p>ac<img src="/i.png"><a href="/z">z</a></p>'


# ------------------------------------------------------------------------------------------------
# End to end: a real build, real Chromium.


def build_project(root: Path, deals: dict[str, str]) -> Project:
    """A copy of the site sources with exactly these deal files, built with the real mkdocs (no workbooks)."""
    root.mkdir()
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "\n  - dealbook:\n" in config
    (root / "mkdocs.yml").write_text(config.replace("\n  - dealbook:\n", "\n  - dealbook:\n      workbooks: false\n"),
                                     encoding="utf-8")
    shutil.copytree(ROOT / "playbook", root / "playbook")
    project = Project(root)
    project.deals.mkdir()
    for name, text in deals.items():
        project.write_deal(name, text)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", AS_OF_EPOCH)
        mp.chdir(root)
        project.build()
    return project


def _deal(title: str, summary: str) -> str:
    # JSON strings are YAML double-quoted scalars: backslashes, tabs and entities arrive as typed.
    return (f"title: {json.dumps(title)}\naccount: URL tests\nowner: QA\nstage: 2\nstatus: open\n"
            f"amount: 1000\ncurrency: USD\nexpected_close: 2027-03-01\nsummary: {json.dumps(summary)}\n")


# In the page: every URL left in the summary, as the browser itself resolved it.
SUMMARY_URLS_JS = """() => {
  const box = document.querySelector('.db-summary');
  return {
    images: [...box.querySelectorAll('img')].map(i => [i.alt, i.getAttribute('src'), i.hasAttribute('src') ? i.src : null]),
    links: [...box.querySelectorAll('a')].map(a => [a.textContent, a.getAttribute('href'), a.hasAttribute('href') ? a.href : null]),
    text: box.innerText,
  };
}"""


GROUP = 8  # cases per deal page


def test_deal_pages_with_every_trick_request_nothing_from_other_hosts(tmp_path: Path) -> None:
    with chromium() as browser:
        groups = [CASES[i:i + GROUP] for i in range(0, len(CASES), GROUP)]
        deals = {f"url-{n}.yml": _deal(f"URL cases {n}", "\n".join(_summary(c) for c in group))
                 for n, group in enumerate(groups)}
        deals["url-raw.yml"] = _deal("URL case raw HTML", RAW_HTML)
        project = build_project(tmp_path / "project", deals)
        by_title = {d["title"]: d for d in json.loads((project.site / "deals.json").read_text(encoding="utf-8"))}
        with serve(project.site) as base, logged_tab(browser, viewport=DESKTOP) as tab:
            origin = base.rstrip("/")
            checked = []
            for n, group in enumerate(groups):
                tab.page.goto(base + by_title[f"URL cases {n}"]["url"], wait_until="networkidle")
                assert tab.foreign == [], f"cases {[c.name for c in group]}: requests left {HOST}: {tab.foreign}"
                got = tab.page.evaluate(SUMMARY_URLS_JS)
                images = {alt: (src, resolved) for alt, src, resolved in got["images"]}
                links = {text: (href, resolved) for text, href, resolved in got["links"]}
                assert len(images) == len(links) == len(group)
                for c in group:
                    assert f"link-{c.name}" in got["text"], "the link text is lost"
                    src, resolved_src = images[f"img-{c.name}"]
                    href, resolved_href = links[f"link-{c.name}"]
                    assert (src is not None) is c.image_ok, (c.name, src)
                    assert (href is not None) is c.link_ok, (c.name, href)
                    if resolved_src is not None:  # Chromium's own parse: this origin, an ordinary path
                        parts = urlsplit(resolved_src)
                        assert f"{parts.scheme}://{parts.netloc}" == origin, (c.name, resolved_src)
                        assert not parts.path.startswith("//"), (c.name, resolved_src)
                    if resolved_href is not None:
                        parts = urlsplit(resolved_href)
                        assert parts.scheme in ("http", "https", "mailto"), (c.name, resolved_href)
                        if c.image_ok:  # a URL an image may have is inside the site: so is the link
                            assert f"{parts.scheme}://{parts.netloc}" == origin, (c.name, resolved_href)
                            assert not parts.path.startswith("//"), (c.name, resolved_href)
                    if c.name in ALLOWED_LINKS:
                        assert href == ALLOWED_LINKS[c.name] and resolved_href == ALLOWED_LINKS[c.name]
                    checked.append(c.name)
            assert checked == [c.name for c in CASES]

            tab.page.goto(base + by_title["URL case raw HTML"]["url"], wait_until="networkidle")
            got = tab.page.evaluate(SUMMARY_URLS_JS)
            assert got["images"] == [] and got["links"] == []
            assert "<img src=" in got["text"] and "raw link" in got["text"]
            assert tab.page.evaluate("typeof window.__pwned") == "undefined"

            assert tab.foreign == [], f"requests left {HOST}: {tab.foreign}"
            visited = {urlsplit(u).path for u in tab.requests}
            assert "/images/deal-page.png" in visited, "the allowed site image was not even requested"
            assert {"/" + d["url"] for d in by_title.values()} <= visited
