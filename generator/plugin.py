"""The mkdocs plugin: wires `generator.build` into an mkdocs build, and nothing more.

It decides the language (from the theme), hands mkdocs' URL rules to the site layer,
sets the navigation from the stage model, adds the generated files, and reports
problems as one `PluginError`.
"""

from __future__ import annotations

import fcntl
import hashlib
import html
import logging
import os
import re
import time
from pathlib import Path

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, CombinedEvent, event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from .build import Project, as_of_date, read_project, site_outputs
from .cache import Cache
from .diagnostics import format_problems, listed
from .labels import Labels
from .site.paths import SitePaths, site_nav
from .site.renderer import Renderer
from .sources.deal_files import shown_path
from .sources.stage_model import TOOLS, StageModelError, load_stage_model
from .workbooks.run import WorkbookRun

log = logging.getLogger("mkdocs.plugins.dealbook")


def _acquire_lock(cache_dir: Path) -> int | None:
    """Hold `<cache_dir>/build.lock` for the build; wait, saying so once, while another build holds it."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(cache_dir / "build.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None  # a read-only checkout: nothing to share, nothing to lock
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log.info("dealbook: another build is running in this folder; waiting for it to finish")
        fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _keep_jieba_cache_in(cache_dir: Path) -> None:
    # The search plugin segments Chinese with jieba, which caches its dictionary
    # in /tmp by default; the build may only write to site/ and .cache/.
    try:
        import jieba
    except ImportError:
        return
    jieba.dt.tmp_dir = str(cache_dir)
    # Its "Building prefix dict" lines are noise in every build; where the cache folder is not
    # writable, its failure to save the dictionary is too (the build says so once, in its own words).
    writable = os.access(cache_dir, os.W_OK) if cache_dir.is_dir() else os.access(cache_dir.parent, os.W_OK)
    jieba.setLogLevel(logging.WARNING if writable else logging.CRITICAL)


class _GeneratedFile(File):
    """A generated file that, in a dirty rebuild (`dealbook serve`), is rebuilt only if its content changed."""

    previous: dict[str, str] = {}  # site path → digest of the content last built, per serving process

    def is_modified(self) -> bool:
        return self.previous.get(self.src_uri) != self.digest

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.content_bytes).hexdigest()


class _LateFile(File):
    """A workbook that mkdocs lists (so links to it are checked) but that `WorkbookRun` writes itself."""

    def copy_file(self, dirty: bool = False) -> None:
        pass


class DealbookConfig(base.Config):
    enabled = c.Type(bool, default=True)
    deals_dir = c.Dir(exists=True, default="deals")
    stage_model = c.File(exists=True, default="playbook/playbook.yml")
    workbooks = c.Type(bool, default=True)
    edit_branch = c.Type(str, default="main")
    cache_dir = c.Type(str, default=".cache")
    history_pages = c.Type(bool, default=True)  # /deals/changes/, /deals/insights/, /history.json


class DealbookPlugin(BasePlugin[DealbookConfig]):
    def __init__(self) -> None:
        self.serving = False
        self.serve_errors: list = []
        self._lock: int | None = None
        self.project: Project | None = None
        self.renderer: Renderer | None = None
        self.generated: set[str] = set()
        self.finished: dict = {}
        self._full_content: dict[str, str] = {}
        self._history_note_said = ""
        self.workbooks: WorkbookRun | None = None
        self.pages_written = 0
        self.seconds = 0.0

    def on_startup(self, *, command: str, dirty: bool) -> None:
        # While serving, a deal error must not stop the preview: pages show it instead.
        self.serving = command == "serve"
        self.dirty = dirty
        self._model_digest = ""

    def on_pre_build(self, *, config: MkDocsConfig) -> None:
        # Before mkdocs empties site/: a second build in the same folder waits for the first.
        if self.config.enabled:
            self._lock = _acquire_lock(self.cache_dir)

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig | None:
        if not self.config.enabled:
            return None
        self.root = Path(config.config_file_path).parent if config.config_file_path else Path.cwd()
        self.model_path = Path(self.config.stage_model)
        self.deals_dir = Path(self.config.deals_dir)
        self.cache_dir = self.root / self.config.cache_dir
        _keep_jieba_cache_in(self.cache_dir)
        # The language is decided here, once, and handed down.
        self.labels = Labels(config.theme.get("language"))
        self.paths = SitePaths(lambda src: File(src, "", "", config.use_directory_urls).url)
        try:
            self.as_of = as_of_date()
        except ValueError as exc:
            raise PluginError(str(exc)) from None
        if config.nav is None:
            config.nav = site_nav(self._model(), self.paths, self.labels, TOOLS)
        return config

    def _model(self):
        try:
            return load_stage_model(self.model_path, shown_path(self.model_path, self.root))
        except StageModelError as exc:
            raise PluginError("the stage model cannot be used:\n" + format_problems(exc.problems)) from None

    def on_files(self, files: Files, /, *, config: MkDocsConfig) -> Files | None:
        if not self.config.enabled:
            return None
        started = time.perf_counter()
        cache = Cache(self.cache_dir)
        project = read_project(self.root, self.model_path, self.deals_dir, self.as_of, self.labels, cache,
                               movement=self.config.history_pages)
        self.serve_errors = project.problems.errors if self.serving else []
        if self.serve_errors:
            for problem in self.serve_errors:
                log.warning("dealbook: %s", problem)
            if project.pipeline is None:  # the stage model itself is broken: only the panel can be shown
                self.project = project
                if getattr(self, "dirty", False):
                    self._rebuild_all_if_changed(files)
                return files
        elif project.problems.errors:
            raise PluginError(f"{len(project.problems.errors)} problem(s) in the deal files or the stage model:\n"
                              + format_problems(project.problems.errors)
                              + "\nRun `dealbook check` for the full list, warnings included.")
        assert project.pipeline is not None
        self.project = project
        note = project.pipeline.history_note
        if note and note != self._history_note_said:
            # Said once (not on every live-reload rebuild), and never a reason to fail the build.
            log.info("dealbook: %s", self.labels("history_note_log", reason=self.labels(note)))
            self._history_note_said = note
        outputs, self.renderer = site_outputs(project.pipeline, self.labels, self.paths, cache,
                                              repo_url=config.repo_url or "", edit_branch=self.config.edit_branch,
                                              workbooks=self.config.workbooks)
        model_src = shown_path(self.model_path, Path(config.docs_dir))
        existing = files.get_file_from_path(model_src)
        if existing is not None:  # the stage model is data, not a page to publish
            files.remove(existing)
        self.finished = outputs.pages.finished
        new_files = [_GeneratedFile.generated(config, src, content=content)
                     for src, content in outputs.pages.files.items()]
        if getattr(self, "dirty", False):
            self._rebuild_all_if_changed(files)
            changed = sum(f.is_modified() for f in new_files if isinstance(f, _GeneratedFile))
            log.info("dealbook: dirty rebuild: %d of %d generated pages changed", changed, len(outputs.pages.files))
        new_files += [_LateFile.generated(config, job.path, content=b"") for job in outputs.workbooks]
        for file in new_files:
            if files.get_file_from_path(file.src_uri) is not None:
                raise PluginError(f"{file.src_uri}: a hand-written file has the path of a generated one; rename it")
            files.append(file)
        self.generated = {f.src_uri for f in new_files}
        self.generated_files = [f for f in new_files if isinstance(f, _GeneratedFile)]
        self.pages_written = sum(src.endswith(".md") for src in outputs.pages.files)
        self.workbooks = WorkbookRun(outputs.workbooks, cache, Path(config.site_dir)).start() \
            if outputs.workbooks else None
        self.seconds = time.perf_counter() - started
        return files

    def _rebuild_all_if_changed(self, files: Files) -> None:
        # Hand-written pages render the stage model, and every page shows the error panel while
        # a deal is wrong: in a dirty rebuild, every page is redone when either of them changes.
        errors = "\n".join(str(p) for p in self.serve_errors)
        digest = hashlib.sha256(self.model_path.read_bytes() + b"\0" + errors.encode()).hexdigest()
        if digest != self._model_digest:
            _GeneratedFile.previous.clear()
            for file in files:
                if file.is_documentation_page():
                    file.is_modified = lambda: True  # type: ignore[method-assign]
            self._model_digest = digest

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        started = time.perf_counter()
        if getattr(self, "dirty", False):
            _GeneratedFile.previous = {f.src_uri: f.digest for f in self.generated_files}
        try:
            if self.workbooks is not None:
                try:
                    self.workbooks.wait()
                except Exception as exc:
                    raise PluginError(f"dealbook: a workbook could not be written: {exc}") from None
        finally:
            self._release_lock()
        self.seconds += time.perf_counter() - started
        self._log_summary()

    def on_build_error(self, *, error: Exception) -> None:
        if self.workbooks is not None:
            self.workbooks.cancel()
        self._release_lock()

    def on_shutdown(self) -> None:
        self._release_lock()

    def _release_lock(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor releases the lock
            self._lock = None

    def on_post_page(self, output: str, /, *, page: Page, config: MkDocsConfig) -> str | None:
        if not self.serve_errors:
            return None
        # Live preview only: every page opens with the problems, until the files are fixed.
        items = "".join(f"<li><code>{html.escape(str(p))}</code></li>" for p in self.serve_errors)
        panel = (f'<div class="dealbook-errors" role="alert" style="margin:0;padding:.8rem 1.2rem;'
                 f'background:#c62828;color:#fff;font:14px/1.5 sans-serif;position:relative;z-index:10">'
                 f"<strong>{html.escape(self.labels('serve_errors', n=len(self.serve_errors)))}</strong>"
                 f'<ul style="margin:.4rem 0 0 1.2rem">{items}</ul></div>')
        return re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + panel, output, count=1)

    def _log_summary(self) -> None:
        if self.project is None or self.project.pipeline is None:
            return
        pipeline, run = self.project.pipeline, self.workbooks
        log.info("dealbook: %d deals read, %d pages written, %d workbooks written, %d reused, %.2f s "
                 "(as of %s, %d warnings)", len(pipeline.deals), self.pages_written,
                 run.written if run else 0, run.reused if run else 0, self.seconds, self.as_of,
                 len(pipeline.problems.warnings))
        # Which warnings, not only how many (info, not warning: `mkdocs build --strict` must not fail on them).
        for line in listed(pipeline.problems.warnings):
            log.info("dealbook:   %s", line)

    def on_page_markdown(self, markdown: str, /, *, page: Page, config: MkDocsConfig, files: Files) -> str | None:
        if not self.config.enabled or self.renderer is None or page.file.src_uri in self.generated:
            return None
        # Hand-written playbook pages take their numbers from the stage model.
        try:
            return self.renderer.render_playbook_page(markdown, page.file.src_uri)
        except Exception as exc:  # a template mistake in a page: say where, not a traceback
            raise PluginError(f"{page.file.src_uri}: cannot render the page's stage-model macros: {exc}") from None

    def on_page_content(self, html: str, /, *, page: Page, config: MkDocsConfig, files: Files) -> str | None:
        finished = self.finished.get(page.file.src_uri)
        return finished.html if finished is not None else None

    @event_priority(100)  # before the search plugin indexes the page…
    def _search_sees_words(self, context, /, *, page: Page, config: MkDocsConfig, nav):
        finished = self.finished.get(page.file.src_uri)
        if finished is not None:
            self._full_content[page.file.src_uri] = page.content
            page.content = finished.search
        return context

    @event_priority(-100)  # …and the theme renders the page itself.
    def _theme_sees_page(self, context, /, *, page: Page, config: MkDocsConfig, nav):
        full = self._full_content.pop(page.file.src_uri, None)
        if full is not None:
            page.content = full
        return context

    on_page_context = CombinedEvent(_search_sees_words, _theme_sees_page)

    def on_serve(self, server, /, *, config: MkDocsConfig, builder):
        if self.config.enabled:
            server.watch(str(self.deals_dir))
            server.watch(str(self.model_path))
        return server
