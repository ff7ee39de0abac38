"""Every path and URL of the site, in one place.

Paths are source paths as if in the docs folder (`deals/acme.md`, `workbooks/acme.xlsx`);
URLs follow the rules of the site generator, which the plugin hands in as `url_of`
(mkdocs' own `File.url`, so `use_directory_urls` is honoured exactly). Templates ask
for links here and never build or slice paths themselves.
"""

from __future__ import annotations

import copy
import hashlib
import posixpath
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import date

    from ..sources.stage_model import Stage, StageModel

UrlOf = Callable[[str], str]


def default_url_of(directory_urls: bool) -> UrlOf:
    """The URL rule of mkdocs-like generators, for using the core without mkdocs."""

    def url_of(src: str) -> str:
        if not src.endswith(".md"):
            return src
        stem = src[:-3]
        if stem == "index":
            return "./" if directory_urls else "index.html"
        if stem.endswith("/index"):
            return stem[:-5] if directory_urls else stem + ".html"
        return f"{stem}/" if directory_urls else f"{stem}.html"

    return url_of


class SitePaths:
    """Where every page and file of the site lives, and the links between them."""

    home = "index.md"
    process = "process.md"
    editing = "editing.md"
    pipeline_page = "deals/index.md"
    board_page = "deals/board.md"
    owners_folder = "deals/owners"  # one page per deal owner: deals/owners/<slug>.md
    changes_page = "deals/changes.md"
    insights_page = "deals/insights.md"
    forecast_page = "deals/forecast.md"  # forecast calls, their accuracy, and this quarter's pace
    forecast_json = "forecast.json"
    history_json = "history.json"
    reference_page = "reference/deal-file.md"
    deals_json = "deals.json"
    pipeline_json = "pipeline.json"
    schema_json = "schema/deal.schema.json"
    pipeline_workbook = "workbooks/pipeline.xlsx"  # the root site's; see `workbook_language`
    template_workbook = "workbooks/scorecard-template.xlsx"
    # Paths made from a deal id; an id whose path would equal a fixed path is reserved.
    DEAL_PATTERNS = ("deals/{id}.md", "workbooks/{id}.xlsx")
    # Written once, at the root, whatever the languages: another language's site links up to them.
    SHARED = frozenset({deals_json, pipeline_json, history_json, forecast_json})

    def __init__(self, url_of: UrlOf | None = None, directory_urls: bool = True, shared_root: str = "",
                 workbook_language: str = ""):
        self._url_of = url_of or default_url_of(directory_urls)
        self._urls: dict[str, str] = {}
        self._shared_root = shared_root  # from this site's root to the root site's ('../' under /zh/)
        # The workbooks of a site under /<code>/ carry its code (`pipeline-zh.xlsx`, `hz-metro-zh.xlsx`), so a
        # reader who downloads a workbook in both languages gets two names, not `pipeline(1).xlsx`; the root
        # site's keep their plain names. The same suffix on every workbook path keeps the reserved ids the same.
        if workbook_language:
            suffix = f"-{workbook_language}.xlsx"
            self.pipeline_workbook = self.pipeline_workbook.removesuffix(".xlsx") + suffix
            self.template_workbook = self.template_workbook.removesuffix(".xlsx") + suffix
            self.DEAL_PATTERNS = (self.DEAL_PATTERNS[0], self.DEAL_PATTERNS[1].removesuffix(".xlsx") + suffix)

    @staticmethod
    def deal_page(deal_id: str) -> str:
        return SitePaths.DEAL_PATTERNS[0].format(id=deal_id)

    def deal_workbook(self, deal_id: str) -> str:
        return self.DEAL_PATTERNS[1].format(id=deal_id)

    @staticmethod
    def plan_calendar(deal_id: str) -> str:
        """The deal's mutual action plan as an iCalendar file (`site/ics.py`), for a deal with a plan."""
        return f"plans/{deal_id}.ics"

    @staticmethod
    def owner_calendar(owner_page: str) -> str:
        """An owner's calendar of open next steps and plan milestones (`site/ics.py`), named by their page's slug
        (`owner_pages`: a function of the name alone, so a subscribed address never moves to someone else)."""
        return f"plans/owners/{posixpath.splitext(posixpath.basename(owner_page))[0]}.ics"

    @classmethod
    def owner_page(cls, slug: str) -> str:
        return f"{cls.owners_folder}/{slug}.md"

    @classmethod
    def owner_pages(cls, names: Iterable[str]) -> dict[str, str]:
        """Owner name → the path of their page. Each slug depends on the name alone (`owner_slug`), so
        adding or removing an owner never moves or hands over anyone else's page."""
        out: dict[str, str] = {}
        owner_of: dict[str, str] = {}
        for name in sorted(set(names)):
            slug = owner_slug(name)
            if owner_of.get(slug, name) != name:
                # Two names with the same first 32 bits of SHA-256 and the same ASCII part: only someone
                # trying hard gets here. Still never one page for two people; this one's page then
                # carries the whole digest.
                slug = f"{slug}-{_digest(name, 64)}"
            owner_of[slug] = name
            out[name] = cls.owner_page(slug)
        return out

    @staticmethod
    def stage_page(stage: Stage) -> str:
        return f"stages/{stage.number}-{stage.key}.md"

    @staticmethod
    def tool_page(tool: str) -> str:
        return f"tools/{tool}.md"

    def fixed_paths(self, model: StageModel) -> list[str]:
        """Every generated path that does not come from a deal."""
        return [self.pipeline_page, self.board_page, self.reference_page, self.deals_json, self.pipeline_json,
                self.schema_json, self.pipeline_workbook, self.template_workbook,
                *(self.stage_page(s) for s in model.stages),
                # Always listed, even with the history pages switched off: a deal id must not depend on a setting.
                self.changes_page, self.insights_page, self.history_json, self.forecast_page, self.forecast_json]

    def snapshot(self, day: date) -> SitePaths:
        """These paths with the dashboard, the board and `/pipeline.json` under `as-of/<day>/`: the pipeline
        as it stood on that day, beside today's (every other page, a deal's included, is today's)."""
        folder = f"as-of/{day.isoformat()}"
        past = copy.copy(self)
        past.pipeline_page, past.board_page = f"{folder}/deals/index.md", f"{folder}/deals/board.md"
        past.pipeline_json = f"{folder}/pipeline.json"
        past.SHARED = self.SHARED | {past.pipeline_json}  # written once, at the root, like today's
        past._urls = {}
        return past

    def generated_folders(self) -> list[str]:
        """Folders whose every page is generated (their names depend on the deals, e.g. owner pages)."""
        return [self.owners_folder]

    def reserved_ids(self, model: StageModel) -> set[str]:
        """Deal ids whose page or workbook would take the place of another generated file or folder.

        `deals/board.md` is the stage board, so a deal `board` is refused; a deal `owners` would make the
        page `deals/owners/` — the URL of the folder of owner pages — so it is refused too. A deal id has
        no `/`, so no deal page can land inside `deals/owners/`.
        """
        out = set()
        for pattern in self.DEAL_PATTERNS:
            before, after = pattern.split("{id}")
            for path in self.fixed_paths(model):
                if path.startswith(before) and path.endswith(after) and "/" not in path[len(before):-len(after)]:
                    out.add(path[len(before):-len(after)])
            for folder in self.generated_folders():
                if folder.startswith(before) and "/" not in folder[len(before):]:
                    out.add(folder[len(before):])
        return out

    def url(self, src: str) -> str:
        """The site-relative URL of the page or file made from `src` (no leading slash)."""
        # Remembered: the dashboard, the board and the owner pages link to every deal and owner, and
        # mkdocs' rule builds a File object per question.
        url = self._urls.get(src)
        if url is None:
            url = self._urls[src] = (self._shared_root if src in self.SHARED else "") + self._url_of(src)
        return url

    def link(self, from_src: str, to_src: str) -> str:
        """A relative link from the page made from `from_src` to what is made from `to_src`."""
        return self.linker(from_src)(to_src)

    @staticmethod
    def source_linker(from_src: str) -> Callable[[str], str]:
        """`md(to_src)`: the relative source path, for Markdown links that the generator checks and rewrites."""
        base = posixpath.dirname(from_src) or "."
        return lambda to_src: posixpath.relpath(to_src, base)

    def linker(self, from_src: str) -> Callable[[str], str]:
        """`link(to_src)` for the templates of one page."""
        here = self.url(from_src)
        base = here if here.endswith("/") else posixpath.dirname(here)

        def link(to_src: str) -> str:
            target = self.url(to_src)
            rel = _relative(target or ".", base or ".")
            return rel + ("/" if target.endswith("/") and not rel.endswith("/") else "")

        return link


def _relative(target: str, base: str) -> str:
    """`posixpath.relpath(target, base)` for the site's own relative URLs, without its two abspath calls.

    The pages that link to every deal make thousands of links; anything unusual (an absolute path, a
    `.` or `..` segment) still goes through `posixpath.relpath`.
    """
    to, start = target.rstrip("/").split("/"), base.rstrip("/").split("/")
    if target.startswith("/") or base.startswith("/") or {".", "..", ""} & {*to, *start}:
        return posixpath.relpath(target, base)
    same = 0
    for a, b in zip(to, start, strict=False):
        if a != b:
            break
        same += 1
    return "/".join([".."] * (len(start) - same) + to[same:]) or "."


def _digest(name: str, digits: int = 8) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:digits]


# The slugs a name never gets plain: the folder's own page (deals/owners/index.md).
_NOT_PLAIN = frozenset({"index"})
_HEX_WORD = re.compile(r"[0-9a-f]{8}")


def owner_slug(name: str) -> str:
    """The URL name of an owner's page: a function of the name alone, and different for different names.

    A name written the usual way — words of ASCII letters and digits, each starting with a capital
    (or a digit) and going on in lower case, one space between them — is its words in lower case,
    joined by hyphens: `Sophie Hartmann` → `sophie-hartmann`. Exactly one name has each such
    slug, because the name can be read back from it (`li-wei` → `Li Wei`), so `LI WEI` or `li wei`
    can never take it. Every other name — other capitals, accents, hyphens, CJK, a last word of 8 hex
    digits — keeps its ASCII part with accents folded and adds the first 8 hex digits of the SHA-256
    of the exact name (`LI WEI` → `li-wei-<hex>`, `José Núñez` → `jose-nunez-<hex>`), or is
    `owner-<hex>` with no ASCII letter or digit at all (`刘洋`: transliteration would need a
    dictionary and still give two people called 李伟 one slug). A plain slug never ends in a word of
    8 hex digits, so it can never be the same as a hashed one. Lower case only: a URL that differs
    only in case is one file on Windows and macOS disks and behind IIS.
    """
    folded = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    ascii_part = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")[:40].strip("-")
    if not ascii_part:
        return f"owner-{_digest(name)}"
    words = ascii_part.split("-")
    plain = (name == " ".join(w.capitalize() for w in words) and ascii_part not in _NOT_PLAIN
             and not _HEX_WORD.fullmatch(words[-1]))
    return ascii_part if plain else f"{ascii_part}-{_digest(name)}"


def site_nav(model: StageModel, paths: SitePaths, labels, tools: tuple[str, ...]) -> list:
    """The navigation, built from the stage model: every stage page in order, the tools once."""
    return [
        {labels.nav_home: paths.home},
        {labels.nav_process: [{labels.nav_overview: paths.process}, *(paths.stage_page(s) for s in model.stages)]},
        {labels.nav_tools: [{labels(f"tool_{t}"): paths.tool_page(t)} for t in tools]},
        {labels.nav_deals: paths.pipeline_page},
        {labels.nav_editing: [{labels.nav_how_to_edit: paths.editing}, {labels.nav_reference: paths.reference_page}]},
    ]
