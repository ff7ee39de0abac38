"""The text files a build adds to the site: generated pages, `/deals.json`, `/pipeline.json` and the JSON Schema."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..sources.deal_format import json_schema

if TYPE_CHECKING:
    from ..cache import Cache
    from ..model.pipeline import Pipeline
    from .renderer import Renderer


def deals_json(pipeline: Pipeline, renderer: Renderer) -> str:
    """`/deals.json`: every deal's facts and computed results, with the URL of its page."""
    paths = renderer.paths
    deals = [{**view.as_json(), "url": paths.url(paths.deal_page(view.id))} for view in pipeline.deals]
    return json.dumps(deals, ensure_ascii=False, indent=1)


def pipeline_json(pipeline: Pipeline, renderer: Renderer, owner_srcs: dict[str, str]) -> str:
    """`/pipeline.json`: the forecast by period, by owner and by stage, in the reporting currency."""
    data = pipeline.forecast.as_json()
    for owner in data["owners"]:
        owner["url"] = renderer.paths.url(owner_srcs[owner["owner"]])
    return json.dumps(data, ensure_ascii=False, indent=1)


def generated_pages(pipeline: Pipeline, renderer: Renderer, cache: Cache) -> dict[str, str]:
    """Site path (as if in the docs folder) → content, for everything but the workbooks.

    Deal pages are most of the rendering time; a page whose deal view (deal, results,
    warnings, timeline) and rendering context are unchanged is reused from `cache`.
    """
    model, paths = pipeline.model, renderer.paths
    owner_srcs = paths.owner_pages(o.owner for o in pipeline.forecast.owners)
    pages = {
        paths.pipeline_page: renderer.pipeline_page(pipeline, owner_srcs),
        paths.board_page: renderer.board_page(pipeline, owner_srcs),
        paths.reference_page: renderer.reference_page(),
        paths.deals_json: deals_json(pipeline, renderer),
        paths.pipeline_json: pipeline_json(pipeline, renderer, owner_srcs),
        paths.schema_json: json.dumps(json_schema(model, renderer.labels), ensure_ascii=False, indent=2),
    }
    for stage in model.stages:
        pages[paths.stage_page(stage)] = renderer.stage_page(stage.number, pipeline)
    for owner in pipeline.forecast.owners:
        pages[owner_srcs[owner.owner]] = renderer.owner_page(owner, pipeline, owner_srcs)
    context = renderer.context_key(pipeline)
    keys = set()
    for view in pipeline.deals:
        src = paths.deal_page(view.id)
        owner_src = owner_srcs[view.deal.owner]  # may change when another owner's name takes its slug
        key = cache.key("page", context, repr(view), owner_src)
        keys.add(key)
        cached = cache.get("pages", key)
        if cached is None:
            pages[src] = renderer.deal_page(view, pipeline, owner_src)
            cache.put("pages", key, pages[src].encode("utf-8"))
        else:
            pages[src] = cached.decode("utf-8")
    cache.prune("pages", keys)
    return pages
