"""The files a build adds to the site, as plain text: pages, `/deals.json` and the schema."""

from __future__ import annotations

import json

from .cache import ContentCache, digest
from .deal_format import json_schema
from .pipeline import Pipeline
from .render import Renderer


def generated_pages(pipeline: Pipeline, renderer: Renderer, cache: ContentCache | None = None) -> dict[str, str]:
    """Site path (as if in the docs folder) → content, for everything but the workbooks.

    Deal pages are most of the rendering time; with `cache`, a page whose deal view (deal,
    results, warnings, timeline) and rendering context are unchanged is reused.
    """
    model = pipeline.model
    pages = {
        "deals/index.md": renderer.pipeline_page(pipeline),
        "reference/deal-file.md": renderer.reference_page(),
        "deals.json": json.dumps(pipeline.as_json(), ensure_ascii=False, indent=1),
        "schema/deal.schema.json": json.dumps(json_schema(model), ensure_ascii=False, indent=2),
    }
    for stage in model.stages:
        pages[stage.page] = renderer.stage_page(stage.number, pipeline)
    context = renderer.fingerprint(pipeline) if cache is not None else ""
    keys = set()
    for view in pipeline.deals:
        src = f"deals/{view.id}.md"
        if cache is None:
            pages[src] = renderer.deal_page(view, pipeline)
            continue
        key = digest(context, repr(view))
        keys.add(key)
        cached = cache.get(key)
        if cached is None:
            pages[src] = renderer.deal_page(view, pipeline)
            cache.put(key, pages[src].encode("utf-8"))
        else:
            pages[src] = cached.decode("utf-8")
    if cache is not None:
        cache.prune(keys)
    return pages
