"""Run part of a build in a forked process, its log lines replayed in the build's own log.

A site in several languages builds each other language while the first is being built:
the child inherits everything read so far (the deals, their checks, their history), so
nothing is read twice, and the two builds share the machine's cores. Its log records are
sent back and handled by the parent's loggers, as if the parent had logged them, so
`--strict`, the terminal and test log captures see them all.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import signal
import traceback
from collections.abc import Callable
from typing import Any

from .workbooks.run import watch_parent


class ChildFailed(Exception):
    """The forked part of the build failed; the message says how."""


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.levelno, record.getMessage()))


def _capture_logs() -> _Capture:
    """Route every log record of this (child) process to one handler, formatted but not printed."""
    capture = _Capture()
    loggers = [logging.getLogger()] + [lg for lg in logging.root.manager.loggerDict.values()
                                       if isinstance(lg, logging.Logger)]
    for logger in loggers:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        if logger is logging.root or not logger.propagate:
            logger.addHandler(capture)
    return capture


class Child:
    """A forked process running `work`; `result()` waits for it and returns what `work` returned."""

    def __init__(self, work: Callable[[], Any]):
        read_end, write_end = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the caller's stack
            os.close(read_end)
            # Nothing inherited becomes garbage here before the process ends: the collector need not
            # walk it (long in a large build), nor write to the pages it shares with the parent.
            gc.freeze()
            code = 0
            try:
                watch_parent(parent)
                capture = _capture_logs()
                try:
                    payload: dict[str, Any] = {"value": work()}
                except BaseException as exc:  # noqa: BLE001 - reported to the parent, which decides
                    payload = {"error": str(exc) or type(exc).__name__, "kind": type(exc).__name__,
                               "trace": traceback.format_exc()}
                payload["logs"] = capture.records
                data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write_end, "wb") as out:
                    out.write(data)
            except BaseException:  # noqa: BLE001 - nothing may unwind into the parent's code
                code = 1
            finally:
                os._exit(code)
        os.close(write_end)
        self.pid = pid
        self._read_end = read_end

    def result(self) -> Any:
        """Wait for the child, replay its log records here, and return its value (or raise ChildFailed)."""
        with os.fdopen(self._read_end, "rb") as source:
            data = source.read()
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        try:
            payload = pickle.loads(data)
        except Exception:  # noqa: BLE001 - it died before reporting (killed, out of memory)
            raise ChildFailed(_how_it_ended(status)) from None
        for name, level, message in payload["logs"]:
            logger = logging.getLogger(name)
            if logger.isEnabledFor(level):
                logger.handle(logger.makeRecord(name, level, "(forked build)", 0, message, None, None))
        if "error" in payload:
            logging.getLogger("mkdocs.plugins.dealbook").debug("the forked build failed:\n%s", payload["trace"])
            raise ChildFailed(payload["error"])
        return payload["value"]

    def stop(self) -> None:
        """End the child now (the build failed elsewhere)."""
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGTERM)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.pid = 0
            os.close(self._read_end)


def in_child(work: Callable[[], Any]) -> Callable[[], Any | None] | None:
    """`work` started in a forked process, and the wait for what it returns (None when the process failed:
    the caller does the work itself then); None when this machine has no fork or a single core."""
    if not hasattr(os, "fork") or (os.cpu_count() or 1) < 2:
        return None
    child = Child(work)

    def result() -> Any | None:
        try:
            return child.result()
        except ChildFailed:
            return None

    return result


def _how_it_ended(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"it was ended by signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"it ended with exit status {os.waitstatus_to_exitcode(status)} without a report"
