"""The text files a build adds to the site: generated pages, `/deals.json`, `/pipeline.json` and the JSON Schema."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from ..cache import Bundle
from ..sources.deal_format import json_schema
from .finished import FinishedPage
from .history_pages import history_pages
from .ics import owner_calendar, plan_calendar
from .renderer import deal_view_key, forget_except, once_each

if TYPE_CHECKING:
    from ..cache import Cache
    from ..model.pipeline import DealView, Pipeline
    from .renderer import Renderer

T = TypeVar("T")


@dataclass
class SitePages:
    """Site path → text for every generated file; for finished pages also their HTML and search entry."""

    files: dict[str, str] = field(default_factory=dict)
    finished: dict[str, FinishedPage] = field(default_factory=dict)

    def add(self, src: str, page: FinishedPage | str) -> None:
        if isinstance(page, FinishedPage):
            self.finished[src] = page
            self.files[src] = page.markdown
        else:
            self.files[src] = page


@dataclass
class Remembered:
    """What a live preview keeps from one rebuild to the next, per language (see `generated_pages`)."""

    pages: dict[str, tuple[str, str]] = field(default_factory=dict)
    rows: dict[tuple, str] = field(default_factory=dict)
    json: dict[tuple, str] = field(default_factory=dict)  # each deal's entry in /deals.json
    summaries: dict[tuple, FinishedPage | str] = field(default_factory=dict)  # owner and stage pages, by what they show
    deal_reprs: dict[int, tuple[object, str]] = field(default_factory=dict)  # id(deal) → (deal, repr(deal))
    view_keys: dict[int, tuple[object, str]] = field(default_factory=dict)  # id(view) → (view, its key)
    worded: dict[int, tuple[object, list]] = field(default_factory=dict)  # id(view) → (view, its warnings worded)
    worded_with: tuple = ()  # the catalog and the stage model they were worded with

    def worded_by(self, texts: dict, model: object) -> dict[int, tuple[object, list]]:
        """Each view's warnings as worded by the last rebuild, while the catalog and the stage model that word them
        are the same objects (a changed catalog file is read into a new one); a view that changed is a new view."""
        # The model by equality (identity first): a build for an audience makes a new, equal model every time.
        if len(self.worded_with) != 2 or self.worded_with[0] is not texts or self.worded_with[1] != model:
            self.worded.clear()
            self.worded_with = (texts, model)
        return self.worded

    def deal_repr(self, deal: object) -> str:
        """repr(deal), once for each deal read: a rebuild gets the same Deal for an unchanged file."""
        return once_each(self.deal_reprs, deal, repr)

    def view_key(self, view: DealView) -> str:
        """`renderer.view_key`, once for each view: a rebuild keeps the same view for an unchanged deal
        (`ViewMemo`)."""
        return once_each(self.view_keys, view, lambda v: deal_view_key(v, self.deal_repr))

    def forget_deals_except(self, deals: list) -> None:
        forget_except(self.deal_reprs, deals)

    def forget_views_except(self, views: list) -> None:
        """Forget the keys of other views (kept for every language, so once a rebuild)."""
        forget_except(self.view_keys, views)

    def forget_worded_except(self, views: list) -> None:
        forget_except(self.worded, views)


def deals_json(pipeline: Pipeline, renderer: Renderer, remembered: dict[tuple, str] | None = None) -> str:
    """`/deals.json`: every deal's facts and computed results, with the URL of its page.

    Written as `json.dumps(deals, indent=1)` would, one deal at a time, so that a live preview
    (which hands in `remembered`) encodes again only the deals that changed.
    """
    paths = renderer.paths
    entries, used = [], set()
    for view in pipeline.deals:
        url = paths.url(paths.deal_page(view.id))
        # The view's key names its stage by number: the stage's name, which an entry shows, is in the context's.
        key = (renderer.context_key(pipeline), renderer.view_key(view), url)
        entry = remembered.get(key) if remembered is not None else None
        if entry is None:
            text = json.dumps({**renderer.deal_json(view), "url": url}, ensure_ascii=False, indent=1)
            entry = " " + text.replace("\n", "\n ")  # one level deeper, inside the list
            if remembered is not None:
                remembered[key] = entry
        used.add(key)
        entries.append(entry)
    if remembered is not None:
        for gone in set(remembered) - used:
            del remembered[gone]
    return "[\n" + ",\n".join(entries) + "\n]" if entries else "[]"


def pipeline_json(pipeline: Pipeline, renderer: Renderer, owner_srcs: dict[str, str]) -> str:
    """`/pipeline.json`: the forecast by period, by owner and by stage, in the reporting currency."""
    data = pipeline.forecast.as_json()
    for owner in data["owners"]:
        owner["url"] = renderer.paths.url(owner_srcs[owner["owner"]])
    data["pacing"] = pipeline.pacing.as_json()
    # The deals the dashboard, the board and "needs attention" flag, by the same flags.
    data.update(pipeline.flags_json())
    for entries in (data["stuck"], data["close_date_passed"]):
        for entry in entries:
            entry["url"] = renderer.paths.url(renderer.paths.deal_page(entry["id"]))
    return json.dumps(data, ensure_ascii=False, indent=1)


def forecast_json(pipeline: Pipeline) -> str:
    """`/forecast.json`: every forecast call, how right each closed period's calls were, and this quarter's pace."""
    calls = pipeline.calls.calls if pipeline.calls is not None else ()
    data = {"as_of": pipeline.as_of.isoformat(), "reporting_currency": pipeline.model.reporting_currency,
            "calls": [{"date": c.day.isoformat(), "dated_by": c.dated_by, "owner": c.owner, "period": c.period,
                       "commit": c.commit, "best_case": c.best_case, "note": c.note or None} for c in calls],
            "accuracy": pipeline.accuracy.as_json(), "pacing": pipeline.pacing.as_json()}
    return json.dumps(data, ensure_ascii=False, indent=1)


def generated_pages(pipeline: Pipeline, renderer: Renderer, cache: Cache, *, kind: str = "pages",
                    with_site_json: bool = True, remembered: Remembered | None = None) -> SitePages:
    """Every generated file but the workbooks.

    Deal pages are most of the rendering time; a page whose deal view (deal, results,
    warnings, timeline) and rendering context are unchanged is reused from `cache`. Each
    language keeps its pages under its own cache `kind`, so pruning one keeps the other's;
    `/deals.json`, `/pipeline.json` and `/history.json` are the same in every language and are written by the
    first only. `remembered` (a live preview's, kept between rebuilds) holds each deal page's Markdown
    and search entry by cache key, so a rebuild reads from the cache only the pages that changed, and
    each deal's entry in `/deals.json`.
    """
    model, paths = pipeline.model, renderer.paths
    out = SitePages()
    owner_srcs = paths.owner_pages(o.owner for o in pipeline.forecast.owners)
    out.add(paths.pipeline_page, renderer.pipeline_page(pipeline, owner_srcs))
    out.add(paths.board_page, renderer.board_page(pipeline, owner_srcs))
    out.add(paths.reference_page, renderer.reference_page())
    if with_site_json:
        out.add(paths.deals_json, deals_json(pipeline, renderer, remembered.json if remembered else None))
        out.add(paths.pipeline_json, pipeline_json(pipeline, renderer, owner_srcs))
        out.add(paths.forecast_json, forecast_json(pipeline))
    out.add(paths.forecast_page, renderer.forecast_page(pipeline, owner_srcs))
    if pipeline.snapshot is not None:
        for src, page in _snapshot_pages(pipeline.snapshot, renderer, cache, kind, with_site_json):
            out.add(src, page)
    out.add(paths.schema_json, json.dumps(json_schema(model, renderer.labels), ensure_ascii=False, indent=2))
    summaries = _Kept(remembered.summaries if remembered is not None else None)
    # What moved, where deals die, and /history.json, which (like /deals.json) is written once.
    for src, page in history_pages(pipeline, renderer, cache, with_json=with_site_json,
                                   kept=summaries if remembered is not None else None).items():
        out.add(src, page)
    for stage in model.stages:
        out.add(paths.stage_page(stage), summaries.get(lambda n=stage.number: renderer.stage_page_key(n, pipeline),
                                                      lambda n=stage.number: renderer.stage_page(n, pipeline)))
    for owner in pipeline.forecast.owners:
        out.add(owner_srcs[owner.owner],
                summaries.get(lambda o=owner: renderer.owner_page_key(o, pipeline, owner_srcs),
                              lambda o=owner: renderer.owner_page(o, pipeline, owner_srcs)))
    summaries.forget_unused()
    context = cache.key("page context", renderer.context_key(pipeline))  # hashed once, not for every page
    keys = set()
    for view in pipeline.deals:
        owner_src = owner_srcs[view.deal.owner]  # may change when another owner's name takes its slug
        key = cache.key("page", context, renderer.view_key(view), owner_src)
        keys.add(key)
        known = remembered.pages.get(key) if remembered is not None and cache.writable else None
        if known is not None:
            out.add(paths.deal_page(view.id), FinishedPage(known[0], partial(
                _deal_page_body, cache, kind, key, renderer, view, pipeline, owner_src), known[1], key))
            continue
        cached = cache.get(kind, key)
        if cached is None:
            page = renderer.deal_page(view, pipeline, owner_src)
            cache.put(kind, key, json.dumps([page.markdown, page.html, page.search]).encode("utf-8"))
        else:
            page = FinishedPage(*json.loads(cached))
        if cache.writable:  # the body is read again from the cache when the page is written
            page = FinishedPage(page.markdown, partial(_deal_page_body, cache, kind, key, renderer, view, pipeline,
                                                       owner_src), page.search, key)
        out.add(paths.deal_page(view.id), page)
        if remembered is not None:
            remembered.pages[key] = (page.markdown, page.search)
    cache.prune(kind, keys)
    # The calendars: each deal's mutual action plan, and each owner's open next steps and milestones to subscribe
    # to. Kept in one cache entry per language, each under a key made of the views it is made from (the page
    # context holds the language, the as-of date and the model), so a build remakes only those whose deals changed.
    calendars = Bundle(cache, f"{kind}-calendars")
    used: set[str] = set()

    def calendar(key: str, make: Callable[[], bytes]) -> str:
        used.add(key)
        known = calendars.get(key)
        if known is None:
            known = make()
            calendars.put(key, known)
        return known.decode("utf-8")

    for view in pipeline.deals:
        if view.deal.plan:
            out.add(paths.plan_calendar(view.id), calendar(
                cache.key("plan calendar", context, renderer.view_key(view)),
                partial(plan_calendar, view.deal, renderer.labels, pipeline.as_of)))
    open_views: dict[str, list] = {owner: [] for owner in owner_srcs}
    for view in pipeline.deals:
        if view.is_open and view.deal.owner in open_views:
            open_views[view.deal.owner].append(view)
    for owner, src in owner_srcs.items():
        views = open_views[owner]
        out.add(paths.owner_calendar(src), calendar(
            cache.key("owner calendar", context, owner, *(renderer.view_key(v) for v in views)),
            partial(owner_calendar, owner, [v.deal for v in views], renderer.labels, pipeline.as_of)))
    calendars.save(keep=used)
    if remembered is not None:
        for gone in set(remembered.pages) - keys:
            del remembered.pages[gone]
    renderer.forget_unused_rows()
    return out


def _snapshot_pages(then: Pipeline, renderer: Renderer, cache: Cache, kind: str,
                    with_json: bool) -> list[tuple[str, FinishedPage | str]]:
    """The dashboard, the board and /pipeline.json as they stood on the quarter's first day.

    They change only when what they show changes (the deals of that day, their views, the team, the
    model, the language), so they are kept in the cache under a key made of those, like the deal pages:
    a build on another day of the quarter renders them again only if a view of then reads differently.
    """
    past = renderer.paths.snapshot(then.as_of)
    # Owners of then: their pages are today's (an owner's page slug depends on the name alone).
    owners = renderer.paths.owner_pages(o.owner for o in then.forecast.owners)
    drawn = renderer.for_paths(past)
    key = cache.key("snapshot", drawn.context_key(then), *(drawn.view_key(v) for v in then.deals),
                    repr(sorted(owners.items())), repr(then.team), repr(then.forecast), str(with_json))
    store = f"{kind}-snapshot"
    cached = cache.get(store, key)
    if cached is not None:
        made = json.loads(cached)
    else:
        made = [[past.pipeline_page, *_page_parts(drawn.pipeline_page(then, owners))],
                [past.board_page, *_page_parts(drawn.board_page(then, owners))]]
        if with_json:
            made.append([past.pipeline_json, pipeline_json(then, drawn, owners)])
        cache.put(store, key, json.dumps(made).encode("utf-8"))
    cache.prune(store, {key})
    # A page is [src, Markdown, body, search entry]; the JSON file [src, text].
    return [(src, FinishedPage(*parts) if len(parts) == 3 else parts[0]) for src, *parts in made]


def _page_parts(page: FinishedPage) -> list[str]:
    body = page.body() if callable(page.body) else page.body
    return [page.markdown, body, page.search]


class _Kept:
    """Pages a live preview keeps by what they show (a key), made again only when that changes."""

    def __init__(self, kept: dict | None):
        self.kept = kept
        self.used: set = set()

    def get(self, key: Callable[[], tuple], make: Callable[[], T], still_valid: Callable[[T], bool] | None = None) -> T:
        if self.kept is None:  # a build makes each page once: nothing to keep
            return make()
        wanted = key()
        self.used.add(wanted)
        page = self.kept.get(wanted)
        if page is None or (still_valid is not None and not still_valid(page)):
            page = self.kept[wanted] = make()
        return page

    def forget_unused(self) -> None:
        for gone in set(self.kept or ()) - self.used:
            del self.kept[gone]  # type: ignore[union-attr]


def _deal_page_body(cache: Cache, kind: str, key: str, renderer: Renderer, view: DealView, pipeline: Pipeline,
                    owner_src: str) -> str:
    cached = cache.get(kind, key)
    if cached is not None:
        return json.loads(cached)[1]
    return renderer.deal_page(view, pipeline, owner_src).html  # the entry went missing meanwhile: render it again
