"""Render a build's workbooks in worker processes while the site generator renders the pages.

A deal's workbook costs more than its page, so a build starts them as soon as the
pipeline is known and waits for them only at the end. Each
workbook is written straight to its place in the site and into the cache; one
whose cache entry verifies is copied from the cache instead of being rendered.

While serving (`dealbook serve`), a rebuild leaves alone the workbooks it wrote last time
with the same inputs, and renders the others in the background: the preview reloads as
soon as the pages are written, and each changed workbook replaces its old version a
moment later, whole (it is written beside it and renamed into place).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import tempfile
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from ..cache import Cache

if TYPE_CHECKING:
    from .jobs import Job

log = logging.getLogger("mkdocs.plugins.dealbook")
KIND = "workbooks"
# Below this many missing workbooks, starting worker processes costs more than it saves.
INLINE_LIMIT = 8
BATCH = 16  # workbooks per task sent to a worker


def _write(path: Path, data: bytes) -> None:
    """Write the file beside its place and rename it there: a reader never sees half a workbook."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def watch_parent(pid: int) -> None:
    """In a worker or the forked half of a deal reading: end this process as soon as the build's process is
    gone, however it ended."""

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


def _render_batch(batch: list[tuple[Job, str]], cache_dir: str | None, kind: str) -> None:
    """Several workbooks in one task: their jobs share the stage model and the labels, which pickle sends once
    per task (pickle writes an object a task holds twice only once), not once per workbook."""
    for job, destination in batch:
        _render_into(job, destination, cache_dir, kind)


def _background_worker(pid: int) -> None:
    """A live preview's worker: it yields the processor to the rebuild and to the browser reloading
    the page, which the rep is waiting for; the workbooks follow when the processor is free."""
    os.nice(19)
    watch_parent(pid)


def _new_pool(workers: int, background: bool = False) -> ProcessPoolExecutor:
    # forkserver, not fork: `mkdocs serve` runs threads, and forking a threaded process is unsafe.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["generator.workbooks.jobs"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=context,
                               initializer=_background_worker if background else watch_parent,
                               initargs=(os.getpid(),))


def _report_failure(future: Future) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("dealbook: a workbook could not be written: %s", future.exception())


class Serving:
    """What a live preview keeps between rebuilds: the workbook in each site file, and the background workers."""

    def __init__(self) -> None:
        self.published: dict[str, str] = {}  # site file → cache key of the workbook written there
        self.pending: dict[str, Future] = {}  # site file → its latest rendering, maybe not finished
        self.pool: ProcessPoolExecutor | None = None
        self.workers = os.cpu_count() or 1

    def rendering(self, destination: str) -> bool:
        """Whether a rendering of this file may still be under way."""
        earlier = self.pending.get(destination)
        if earlier is not None and earlier.done():
            del self.pending[destination]
            return False
        return earlier is not None

    def submit(self, job: Job, destination: str, cache_dir: str | None, kind: str) -> None:
        """Render in the background, after any earlier rendering of the same file."""
        earlier = self.pending.pop(destination, None)
        if earlier is not None and not earlier.cancel():
            wait_quietly(earlier)  # two renderings of one file must not cross
        if self.pool is None:
            self.pool = _new_pool(self.workers, background=True)
        future = self.pool.submit(_render_into, job, destination, cache_dir, kind)
        future.add_done_callback(_report_failure)
        self.pending[destination] = future

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


class WorkbookRun:
    """The workbooks of one build, for each of its languages: copied from the cache, or being rendered."""

    def __init__(self, cache: Cache, workers: int | None = None, serving: Serving | None = None):
        self.cache = cache
        self.workers = workers or os.cpu_count() or 1
        self.serving = serving
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
        if self.serving is not None:
            return self._start_serving(jobs, site_dir, kind)
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
            self._executor = _new_pool(self.workers)
        # Batches small enough that the workers still finish together (a few per worker at the least).
        size = max(1, min(BATCH, len(missing) // (4 * self.workers)))
        for first in range(0, len(missing), size):
            batch = [(job, str(site_dir / job.path)) for job in missing[first:first + size]]
            self._futures.append(self._executor.submit(_render_batch, batch, cache_dir, kind))
        return self

    def _start_serving(self, jobs: list[Job], site_dir: Path, kind: str) -> WorkbookRun:
        """A rebuild while serving: leave alone what is in place, render the rest in the background."""
        serving = self.serving
        assert serving is not None
        cache_dir = str(self.cache.directory) if self.cache.writable else None
        for job in jobs:
            destination = str(site_dir / job.path)
            if serving.published.get(destination) == job.key and os.path.exists(destination):
                self.reused += 1
                continue
            serving.published[destination] = job.key
            data = self.cache.get(kind, job.key)
            if data is not None and not serving.rendering(destination):  # else an older version could follow
                _write(Path(destination), data)
                self.reused += 1
                continue
            serving.submit(job, destination, cache_dir, kind)
            self.written += 1
        return self

    def wait(self) -> None:
        """Block until every workbook is in the site; re-raise a worker's error.

        While serving, the background renderings are not waited for (and the cache is not pruned).
        """
        if self.serving is not None:
            return
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


def wait_quietly(future: Future) -> None:
    try:
        future.result()
    except Exception:  # noqa: BLE001 - reported by its callback
        pass
