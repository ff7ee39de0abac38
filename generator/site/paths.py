"""Every path and URL of the site, in one place.

Paths are source paths as if in the docs folder (`deals/acme.md`, `workbooks/acme.xlsx`);
URLs follow the rules of the site generator, which the plugin hands in as `url_of`
(mkdocs' own `File.url`, so `use_directory_urls` is honoured exactly). Templates ask
for links here and never build or slice paths themselves.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
    changes_page = "deals/changes.md"
    insights_page = "deals/insights.md"
    history_json = "history.json"
    reference_page = "reference/deal-file.md"
    deals_json = "deals.json"
    schema_json = "schema/deal.schema.json"
    pipeline_workbook = "workbooks/pipeline.xlsx"
    template_workbook = "workbooks/scorecard-template.xlsx"
    # Paths made from a deal id; an id whose path would equal a fixed path is reserved.
    DEAL_PATTERNS = ("deals/{id}.md", "workbooks/{id}.xlsx")
    # Written once, at the root, whatever the languages: another language's site links up to them.
    SHARED = frozenset({deals_json, history_json})

    def __init__(self, url_of: UrlOf | None = None, directory_urls: bool = True, shared_root: str = ""):
        self._url_of = url_of or default_url_of(directory_urls)
        self._shared_root = shared_root  # from this site's root to the root site's ('../' under /zh/)

    @staticmethod
    def deal_page(deal_id: str) -> str:
        return SitePaths.DEAL_PATTERNS[0].format(id=deal_id)

    @staticmethod
    def deal_workbook(deal_id: str) -> str:
        return SitePaths.DEAL_PATTERNS[1].format(id=deal_id)

    @staticmethod
    def stage_page(stage: Stage) -> str:
        return f"stages/{stage.number}-{stage.key}.md"

    @staticmethod
    def tool_page(tool: str) -> str:
        return f"tools/{tool}.md"

    def fixed_paths(self, model: StageModel) -> list[str]:
        """Every generated path that does not come from a deal."""
        return [self.pipeline_page, self.reference_page, self.deals_json, self.schema_json,
                self.pipeline_workbook, self.template_workbook, *(self.stage_page(s) for s in model.stages),
                # Always listed, even with the history pages switched off: a deal id must not depend on a setting.
                self.changes_page, self.insights_page, self.history_json]

    def reserved_ids(self, model: StageModel) -> set[str]:
        """Deal ids whose page or workbook would take the place of another generated file."""
        out = set()
        for path in self.fixed_paths(model):
            for pattern in self.DEAL_PATTERNS:
                before, after = pattern.split("{id}")
                if path.startswith(before) and path.endswith(after) and "/" not in path[len(before):-len(after)]:
                    out.add(path[len(before):-len(after)])
        return out

    def url(self, src: str) -> str:
        """The site-relative URL of the page or file made from `src` (no leading slash)."""
        if src in self.SHARED:
            return self._shared_root + self._url_of(src)
        return self._url_of(src)

    def link(self, from_src: str, to_src: str) -> str:
        """A relative link from the page made from `from_src` to what is made from `to_src`."""
        here = self.url(from_src)
        base = here if here.endswith("/") else posixpath.dirname(here)
        target = self.url(to_src)
        rel = posixpath.relpath(target or ".", base or ".")
        return rel + ("/" if target.endswith("/") and not rel.endswith("/") else "")

    @staticmethod
    def source_linker(from_src: str) -> Callable[[str], str]:
        """`md(to_src)`: the relative source path, for Markdown links that the generator checks and rewrites."""
        base = posixpath.dirname(from_src) or "."
        return lambda to_src: posixpath.relpath(to_src, base)

    def linker(self, from_src: str) -> Callable[[str], str]:
        """`link(to_src)` for the templates of one page."""
        return lambda to_src: self.link(from_src, to_src)


def site_nav(model: StageModel, paths: SitePaths, labels, tools: tuple[str, ...]) -> list:
    """The navigation, built from the stage model: every stage page in order, the tools once."""
    return [
        {labels.nav_home: paths.home},
        {labels.nav_process: [{labels.nav_overview: paths.process}, *(paths.stage_page(s) for s in model.stages)]},
        {labels.nav_tools: [{labels(f"tool_{t}"): paths.tool_page(t)} for t in tools]},
        {labels.nav_deals: paths.pipeline_page},
        {labels.nav_editing: [{labels.nav_how_to_edit: paths.editing}, {labels.nav_reference: paths.reference_page}]},
    ]
