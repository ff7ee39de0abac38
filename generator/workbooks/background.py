"""Render a build's missing workbooks in worker processes while mkdocs renders the pages.

Workbooks cost far more than pages (openpyxl: about 20 ms each), so a cold
build starts them in `on_files`, lets mkdocs convert its Markdown meanwhile,
and waits only before static files are copied (`on_env`). Each worker writes
its workbook straight into the content-keyed cache, and mkdocs copies the
published files from there.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from . import Job, WorkbookCache

# Below this many missing workbooks, starting worker processes costs more than it saves.
INLINE_LIMIT = 8


def _render_into(function: Callable[..., bytes], args: tuple, directory: str, key: str) -> None:
    WorkbookCache(Path(directory)).put(key, function(*args))


class WorkbookRun:
    """The workbooks of one build: reused from the cache, or being rendered."""

    def __init__(self, jobs: list[Job], cache: WorkbookCache, workers: int | None = None):
        self.jobs = jobs
        self.cache = cache
        self.missing = [job for job in jobs if not cache.has(job.key)]
        self.workers = workers or os.cpu_count() or 1
        self._executor: ProcessPoolExecutor | None = None
        self._futures: list[Future] = []

    @property
    def written(self) -> int:
        return len(self.missing)

    @property
    def reused(self) -> int:
        return len(self.jobs) - len(self.missing)

    def files(self) -> dict[str, Path]:
        """Site path → the cached file mkdocs copies (it exists once `wait` returns)."""
        return {job.path: self.cache.path_for(job.key) for job in self.jobs}

    def start(self) -> WorkbookRun:
        self.cache.directory.mkdir(parents=True, exist_ok=True)
        if len(self.missing) <= INLINE_LIMIT or self.workers < 2:
            for job in self.missing:
                _render_into(job.function, job.args, str(self.cache.directory), job.key)
            return self
        # forkserver, not fork: `mkdocs serve` runs threads, and forking a threaded process is unsafe.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["generator.workbooks"])
        self._executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        directory = str(self.cache.directory)
        self._futures = [self._executor.submit(_render_into, job.function, job.args, directory, job.key)
                         for job in self.missing]
        return self

    def wait(self) -> None:
        """Block until every workbook is in the cache; re-raise a worker's error."""
        try:
            for future in self._futures:
                future.result()
        finally:
            self.cancel()
        self.cache.prune({job.key for job in self.jobs})

    def cancel(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
