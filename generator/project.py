"""Reading a whole project: the stage model, the deals, and the as-of date.

Shared by the command line and the mkdocs plugin so both check exactly the same way.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

from .history import History, read_history
from .pipeline import Pipeline, compute, load_deals
from .problems import Problems
from .stage_model import StageModel, StageModelError, load_stage_model

DEFAULT_MODEL = Path("playbook/playbook.yml")
DEFAULT_DEALS = Path("deals")


def shown_path(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


Project = tuple[StageModel | None, Pipeline | None, Problems]


def read_project(root: Path, model_path: Path, deals_dir: Path, as_of: date, paths: list[Path] | None = None,
                 history: bool = True, cache_dir: Path | None = None) -> Project:
    """Everything `dealbook check` and the build need; problems are returned, never raised."""
    try:
        model = load_stage_model(model_path, shown_path(model_path, root))
    except StageModelError as exc:
        return None, None, exc.problems
    problems = Problems()
    # git reads the history in its own processes while this one parses the deals.
    with ThreadPoolExecutor(max_workers=1) as pool:
        past = pool.submit(read_history, root, deals_dir, cache_dir) if history else None
        deals = load_deals(root, deals_dir, model, problems, paths, cache_dir)
        known = past.result() if past is not None else History({}, "history is switched off")
    pipeline = compute(deals, model, as_of, problems, known)
    return model, pipeline, pipeline.problems
