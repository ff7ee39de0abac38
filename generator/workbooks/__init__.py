"""Excel workbooks: one per deal, the pipeline, and the blank scorecard.

`build_workbooks` returns the bytes of every workbook of a build, keyed by the
site path. Each workbook is a pure function of picklable inputs (the deal, the
stage model, the as-of date, the language), its bytes are reproducible, and a
content-keyed cache skips the ones whose inputs did not change.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import openpyxl

from ..cache import ContentCache
from ..deals import Deal
from ..pipeline import Pipeline
from ..stage_model import StageModel
from .deal_book import INPUT_NAMES, RESULT_NAMES, deal_workbook
from .pipeline_book import DealRow, deal_rows, pipeline_workbook

__all__ = ["INPUT_NAMES", "RESULT_NAMES", "DealRow", "Job", "build_workbooks", "deal_workbook", "pipeline_workbook",
           "plan_workbooks", "template_workbook", "PIPELINE", "TEMPLATE"]


FORMAT_VERSION = "1"  # bump to invalidate every cached workbook
PIPELINE = "workbooks/pipeline.xlsx"
TEMPLATE = "workbooks/scorecard-template.xlsx"
_HERE = Path(__file__).parent
_SOURCES = (*sorted(_HERE.glob("*.py")), _HERE.parent / "scoring.py", _HERE.parent / "catalog.py",
            *sorted((_HERE.parent / "catalog").glob("*.yml")))


def deal_path(deal_id: str) -> str:
    return f"workbooks/{deal_id}.xlsx"


def template_workbook(model: StageModel, as_of: date, language: str) -> bytes:
    return deal_workbook(None, model, as_of, language)


@lru_cache
def generator_salt() -> str:
    """Everything besides the inputs that the bytes depend on: this code, the catalog, openpyxl, zlib."""
    h = hashlib.sha256()
    h.update(f"dealbook-workbooks {FORMAT_VERSION} openpyxl {openpyxl.__version__} lxml {openpyxl.LXML} "
             f"zlib {zlib.ZLIB_RUNTIME_VERSION}\n".encode())
    for path in _SOURCES:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _plain(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot key {type(value).__name__}")


def cache_key(kind: str, *parts: object) -> str:
    """sha256 of the generator salt and every input of one workbook."""
    text = json.dumps([generator_salt(), kind, *parts], sort_keys=True, ensure_ascii=False, default=_plain,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def model_data(model: StageModel) -> dict:
    data = asdict(model)
    data.pop("path")  # where the file is does not change a workbook
    return data


def deal_data(deal: Deal) -> str:
    # The dataclass repr holds every field but the line marks (repr=False), and is
    # several times faster than asdict() on a thousand deals.
    return repr(deal)


class Job(NamedTuple):
    """One workbook to publish: where on the site, its cache key, and how to make it."""

    path: str
    key: str
    function: Callable[..., bytes]
    args: tuple


class WorkbookCache(ContentCache):
    """`<dir>/<key>.xlsx`, one workbook per content key."""

    def __init__(self, directory: Path):
        super().__init__(directory, ".xlsx")


def _render(job: tuple[Callable[..., bytes], tuple]) -> bytes:
    function, args = job
    return function(*args)


Mapper = Callable[[Callable, Iterable], Iterator]


def plan_workbooks(pipeline: Pipeline, language: str) -> list[Job]:
    """Every workbook of the site, with the cache key of its inputs (nothing is rendered yet)."""
    model, as_of = pipeline.model, pipeline.as_of
    model_part = model_data(model)
    common = (model_part, as_of.isoformat(), language)
    jobs: list[Job] = []
    for view in pipeline.deals:
        jobs.append(Job(deal_path(view.id), cache_key("deal", deal_data(view.deal), *common),
                        deal_workbook, (view.deal, model, as_of, language)))
    rows = deal_rows(pipeline)
    jobs.append(Job(PIPELINE, cache_key("pipeline", [list(r) for r in rows], *common),
                    pipeline_workbook, (rows, model, as_of, language)))
    jobs.append(Job(TEMPLATE, cache_key("template", *common), template_workbook, (model, as_of, language)))
    return jobs


def build_workbooks(pipeline: Pipeline, language: str, cache_dir: Path | None,
                    mapper: Mapper = map) -> tuple[dict[str, bytes], int, int]:
    """Every workbook of the site: ({site path: bytes}, written, reused).

    `mapper` renders the workbooks not in the cache; pass `ProcessPoolExecutor().map`
    to spread them over cores (every job is a top-level function and picklable inputs).
    """
    jobs = plan_workbooks(pipeline, language)

    cache = WorkbookCache(cache_dir) if cache_dir is not None else None
    out: dict[str, bytes] = {}
    missing = []
    for path, key, function, args in jobs:
        data = cache.get(key) if cache else None
        if data is None:
            missing.append((path, key, function, args))
        else:
            out[path] = data
    for (path, key, _, _), data in zip(missing, mapper(_render, [(f, a) for _, _, f, a in missing]), strict=True):
        out[path] = data
        if cache:
            cache.put(key, data)
    if cache:
        cache.prune({key for _, key, _, _ in jobs})
    ordered = {path: out[path] for path, _, _, _ in jobs}
    return ordered, len(missing), len(jobs) - len(missing)
