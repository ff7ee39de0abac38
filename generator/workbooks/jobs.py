"""Which workbooks a build publishes, and the cache key of each.

Every workbook is a pure function of picklable inputs (the deal or the pipeline rows,
the stage model, the as-of date, the labels), so its bytes are reproducible and a job
whose key is in the cache need not be rendered again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, NamedTuple

from .deal_book import deal_workbook
from .pipeline_book import deal_rows, forecast_plan, pipeline_workbook

if TYPE_CHECKING:
    from ..cache import Cache
    from ..labels import Labels
    from ..model.pipeline import Pipeline
    from ..site.paths import SitePaths
    from ..sources.stage_model import StageModel


class Job(NamedTuple):
    """One workbook to publish: where on the site, its cache key, and how to make it."""

    path: str
    key: str
    function: Callable[..., bytes]
    args: tuple

    def render(self) -> bytes:
        return self.function(*self.args)


def template_workbook(model: StageModel, as_of: date, labels: Labels) -> bytes:
    """The blank scorecard for a new opportunity."""
    return deal_workbook(None, model, as_of, labels)


def plan_workbooks(pipeline: Pipeline, labels: Labels, paths: SitePaths, cache: Cache,
                   deal_repr: Callable[[object], str] = repr) -> list[Job]:
    """Every workbook of the site, with the cache key of its inputs (nothing is rendered yet).

    `deal_repr` is `repr`, or one that remembers it for the deals of a live preview.
    """
    model, as_of = pipeline.model, pipeline.as_of
    common = (cache.key("model", repr(model)), as_of.isoformat(), labels.language)  # the model hashed once
    jobs: list[Job] = []
    for view in pipeline.deals:
        # The dataclass repr holds every field but the line marks (repr=False).
        jobs.append(Job(paths.deal_workbook(view.id), cache.key("deal workbook", deal_repr(view.deal), *common),
                        deal_workbook, (view.deal, model, as_of, labels, view.result)))
    rows, plan = deal_rows(pipeline), forecast_plan(pipeline)
    jobs.append(Job(paths.pipeline_workbook, cache.key("pipeline workbook", repr(rows), repr(plan), *common),
                    pipeline_workbook, (rows, model, as_of, labels, plan)))
    jobs.append(Job(paths.template_workbook, cache.key("template workbook", *common),
                    template_workbook, (model, as_of, labels)))
    return jobs
