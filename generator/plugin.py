"""The mkdocs plugin: a thin layer that wires the plain modules into a build."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from .asof import as_of_date
from .cache import ContentCache
from .pipeline import Pipeline
from .problems import format_problems
from .project import read_project, shown_path
from .render import Renderer
from .site_files import generated_pages
from .workbooks import WorkbookCache, plan_workbooks
from .workbooks.background import WorkbookRun

log = logging.getLogger("mkdocs.plugins.dealbook")


def _keep_jieba_cache_in(cache_dir: Path) -> None:
    # The search plugin segments Chinese with jieba, which caches its
    # dictionary in /tmp by default; the build may only write to site/ and .cache/.
    try:
        import jieba
    except ImportError:
        return
    cache_dir.mkdir(parents=True, exist_ok=True)
    jieba.dt.tmp_dir = str(cache_dir)
    jieba.setLogLevel(logging.WARNING)  # its "Building prefix dict" lines are noise in every build


class _LateFile(File):
    """A generated file that mkdocs lists (so links to it are checked) but that the plugin copies itself,
    after the build, because worker processes are still writing it while mkdocs renders the pages."""

    def copy_file(self, dirty: bool = False) -> None:
        pass


class DealbookConfig(base.Config):
    enabled = c.Type(bool, default=True)
    deals_dir = c.Dir(exists=True, default="deals")
    stage_model = c.File(exists=True, default="playbook/playbook.yml")
    workbooks = c.Type(bool, default=True)
    edit_branch = c.Type(str, default="main")
    cache_dir = c.Type(str, default=".cache")


class DealbookPlugin(BasePlugin[DealbookConfig]):
    def __init__(self) -> None:
        self.pipeline: Pipeline | None = None
        self.renderer: Renderer | None = None
        self.generated: set[str] = set()
        self._history_note_said = ""
        self.workbooks: WorkbookRun | None = None
        self.workbook_files: list[File] = []
        self.pages_written = 0
        self.seconds = 0.0

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig | None:
        if not self.config.enabled:
            return None
        self.root = Path(config.config_file_path).parent if config.config_file_path else Path.cwd()
        self.model_path = Path(self.config.stage_model)
        self.deals_dir = Path(self.config.deals_dir)
        _keep_jieba_cache_in(self.root / self.config.cache_dir)
        try:
            self.as_of = as_of_date()
        except ValueError as exc:
            raise PluginError(str(exc)) from None
        return None

    def on_files(self, files: Files, /, *, config: MkDocsConfig) -> Files | None:
        if not self.config.enabled:
            return None
        started = time.perf_counter()
        model, pipeline, problems = read_project(self.root, self.model_path, self.deals_dir, self.as_of,
                                                 cache_dir=self.root / self.config.cache_dir)
        if problems.errors:
            raise PluginError(f"{len(problems.errors)} problem(s) in the deal files or the stage model:\n"
                              + format_problems(problems.errors)
                              + "\nRun `dealbook check` for the full list, warnings included.")
        assert model is not None and pipeline is not None
        self.pipeline = pipeline
        if pipeline.history_note and pipeline.history_note != self._history_note_said:
            # Said once (not on every live-reload rebuild), and never a reason to fail the build.
            log.info("dealbook: no deal history from git, %s; days in stage come from the deals' exits dates",
                     pipeline.history_note)
            self._history_note_said = pipeline.history_note
        language = config.theme.get("language", "en") or "en"
        self.renderer = Renderer(model, language, config.use_directory_urls, config.repo_url or "",
                                 self.config.edit_branch, self.config.workbooks)
        model_src = shown_path(self.model_path, Path(config.docs_dir))
        existing = files.get_file_from_path(model_src)
        if existing is not None:  # the stage model is data, not a page to publish
            files.remove(existing)

        pages = generated_pages(pipeline, self.renderer,
                                ContentCache(self.root / self.config.cache_dir / "pages", ".md"))
        self.workbooks = self._start_workbooks(pipeline, config)
        self.workbook_files = [_LateFile.generated(config, src, abs_src_path=str(path))
                               for src, path in (self.workbooks.files() if self.workbooks else {}).items()]
        self.generated = set(pages) | {f.src_uri for f in self.workbook_files}
        for file in [File.generated(config, src, content=content) for src, content in pages.items()] + \
                self.workbook_files:
            if files.get_file_from_path(file.src_uri) is not None:
                raise PluginError(f"{file.src_uri}: a hand-written file has the path of a generated one; rename it")
            files.append(file)
        self.pages_written = sum(src.endswith(".md") for src in pages)
        self.seconds = time.perf_counter() - started
        if self.workbooks is None:
            self._log_summary()
        return files

    def _start_workbooks(self, pipeline: Pipeline, config: MkDocsConfig) -> WorkbookRun | None:
        """Start the deal, pipeline and template workbooks; unchanged ones come from `<cache_dir>/workbooks/`."""
        if not self.config.workbooks:
            return None
        language = config.theme.get("language", "en") or "en"
        cache = WorkbookCache(self.root / self.config.cache_dir / "workbooks")
        return WorkbookRun(plan_workbooks(pipeline, language), cache).start()

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        # The workbooks were rendered while mkdocs built the pages; copy them now.
        if self.workbooks is not None:
            started = time.perf_counter()
            try:
                self.workbooks.wait()
            except Exception as exc:
                raise PluginError(f"dealbook: a workbook could not be written: {exc}") from None
            for file in self.workbook_files:
                File.copy_file(file)
            self.seconds += time.perf_counter() - started
            self._log_summary()

    def on_build_error(self, *, error: Exception) -> None:
        if self.workbooks is not None:
            self.workbooks.cancel()

    def _log_summary(self) -> None:
        pipeline, run = self.pipeline, self.workbooks
        assert pipeline is not None
        log.info("dealbook: %d deals read, %d pages written, %d workbooks written, %d reused, %.2f s "
                 "(as of %s, %d warnings)", len(pipeline.deals), self.pages_written,
                 run.written if run else 0, run.reused if run else 0, self.seconds, self.as_of,
                 len(pipeline.problems.warnings))

    def on_page_markdown(self, markdown: str, /, *, page: Page, config: MkDocsConfig, files: Files) -> str | None:
        if not self.config.enabled or self.renderer is None or page.file.src_uri in self.generated:
            return None
        # Hand-written playbook pages take their numbers from the stage model.
        try:
            return self.renderer.render_playbook_page(markdown, page.file.src_uri)
        except Exception as exc:  # a template mistake in a page: say where, not a traceback
            raise PluginError(f"{page.file.src_uri}: cannot render the page's stage-model macros: {exc}") from None

    def on_serve(self, server, /, *, config: MkDocsConfig, builder):
        if self.config.enabled:
            server.watch(str(self.deals_dir))
            server.watch(str(self.model_path))
        return server
