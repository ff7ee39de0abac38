"""Render a build's workbooks in worker processes while the site generator renders the pages.

Workbooks cost more than pages (about 6 ms of CPU for a deal's), so a build starts
them as soon as the pipeline is known and waits for them only at the end. Each
workbook is written straight to its place in the site and into the cache; one
whose cache entry verifies is copied from the cache instead of being rendered.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from ..cache import Cache

if TYPE_CHECKING:
    from .jobs import Job

KIND = "workbooks"
# Below this many missing workbooks, starting worker processes costs more than it saves.
INLINE_LIMIT = 8


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _watch_parent(pid: int) -> None:
    """In a worker: end this process as soon as the build's process is gone, however it ended."""

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # the pid was reused by another user's process: the build is gone
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _render_into(job: Job, destination: str, cache_dir: str | None, kind: str = KIND) -> None:
    data = job.render()
    _write(Path(destination), data)
    if cache_dir is not None:
        Cache(Path(cache_dir)).put(kind, job.key, data)


class WorkbookRun:
    """The workbooks of one build, for each of its languages: copied from the cache, or being rendered."""

    def __init__(self, cache: Cache, workers: int | None = None):
        self.cache = cache
        self.workers = workers or os.cpu_count() or 1
        self.written = 0
        self.reused = 0
        self._keys: dict[str, set[str]] = {}  # cache kind → the keys this build uses
        self._executor: ProcessPoolExecutor | None = None
        self._futures: list[Future] = []

    def start(self, jobs: list[Job], site_dir: Path, kind: str = KIND) -> WorkbookRun:
        """Copy what the cache has; render the rest inline or in worker processes.

        Called once per language, each with its own site folder and cache kind (so that pruning
        one language's entries never drops another's); one pool of workers serves them all.
        """
        missing = []
        for job in jobs:
            data = self.cache.get(kind, job.key)
            if data is None:
                missing.append(job)
            else:
                _write(site_dir / job.path, data)
        self._keys.setdefault(kind, set()).update(job.key for job in jobs)
        self.written += len(missing)
        self.reused += len(jobs) - len(missing)
        cache_dir = str(self.cache.directory) if self.cache.writable else None
        if self._executor is None and (len(missing) <= INLINE_LIMIT or self.workers < 2):
            for job in missing:
                _render_into(job, str(site_dir / job.path), cache_dir, kind)
            return self
        if self._executor is None:
            # forkserver, not fork: `mkdocs serve` runs threads, and forking a threaded process is unsafe.
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["generator.workbooks.jobs"])
            self._executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=context,
                                                 initializer=_watch_parent, initargs=(os.getpid(),))
        self._futures += [self._executor.submit(_render_into, job, str(site_dir / job.path), cache_dir, kind)
                          for job in missing]
        return self

    def wait(self) -> None:
        """Block until every workbook is in the site; re-raise a worker's error."""
        try:
            for future in self._futures:
                future.result()
        finally:
            self.cancel()
        for kind, keys in self._keys.items():
            self.cache.prune(kind, keys)

    def cancel(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
