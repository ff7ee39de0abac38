"""The text files a build adds to the site: generated pages, `/deals.json` and the JSON Schema."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..sources.deal_format import json_schema
from .history_pages import history_pages

if TYPE_CHECKING:
    from ..cache import Cache
    from ..model.pipeline import Pipeline
    from .renderer import Renderer


def deals_json(pipeline: Pipeline, renderer: Renderer) -> str:
    """`/deals.json`: every deal's facts and computed results, with the URL of its page."""
    paths = renderer.paths
    deals = [{**view.as_json(), "url": paths.url(paths.deal_page(view.id))} for view in pipeline.deals]
    return json.dumps(deals, ensure_ascii=False, indent=1)


def generated_pages(pipeline: Pipeline, renderer: Renderer, cache: Cache) -> dict[str, str]:
    """Site path (as if in the docs folder) → content, for everything but the workbooks.

    Deal pages are most of the rendering time; a page whose deal view (deal, results,
    warnings, timeline) and rendering context are unchanged is reused from `cache`.
    """
    model, paths = pipeline.model, renderer.paths
    pages = {
        paths.pipeline_page: renderer.pipeline_page(pipeline),
        paths.reference_page: renderer.reference_page(),
        paths.deals_json: deals_json(pipeline, renderer),
        paths.schema_json: json.dumps(json_schema(model, renderer.labels), ensure_ascii=False, indent=2),
    }
    pages.update(history_pages(pipeline, renderer, cache))  # what moved, where deals die, /history.json
    for stage in model.stages:
        pages[paths.stage_page(stage)] = renderer.stage_page(stage.number, pipeline)
    context = renderer.context_key(pipeline)
    keys = set()
    for view in pipeline.deals:
        src = paths.deal_page(view.id)
        key = cache.key("page", context, repr(view))
        keys.add(key)
        cached = cache.get("pages", key)
        if cached is None:
            pages[src] = renderer.deal_page(view, pipeline)
            cache.put("pages", key, pages[src].encode("utf-8"))
        else:
            pages[src] = cached.decode("utf-8")
    cache.prune("pages", keys)
    return pages
