"""The files a build adds to the site, as plain text: pages, `/deals.json` and the schema."""

from __future__ import annotations

import json

from .deal_format import json_schema
from .pipeline import Pipeline
from .render import Renderer


def generated_pages(pipeline: Pipeline, renderer: Renderer) -> dict[str, str]:
    """Site path (as if in the docs folder) → content, for everything but the workbooks."""
    model = pipeline.model
    pages = {
        "deals/index.md": renderer.pipeline_page(pipeline),
        "reference/deal-file.md": renderer.reference_page(),
        "deals.json": json.dumps(pipeline.as_json(), ensure_ascii=False, indent=1),
        "schema/deal.schema.json": json.dumps(json_schema(model), ensure_ascii=False, indent=2),
    }
    for stage in model.stages:
        pages[stage.page] = renderer.stage_page(stage.number, pipeline)
    for view in pipeline.deals:
        pages[f"deals/{view.id}.md"] = renderer.deal_page(view, pipeline)
    return pages
