"""The mkdocs plugin: wires `generator.build` into an mkdocs build, and nothing more.

It decides the languages (the `languages:` option, else the theme's), hands mkdocs' URL rules
to the site layer, sets the navigation from the stage model, adds the generated files, and
reports problems as one `PluginError`. A site in several languages is one build of the first
language, at the root, and a build of each other one under `/<code>/`, with the deals already
read (`generator.site.languages` says what differs), in a forked process alongside the first
language's. While serving, that process hands back what the next dirty rebuild of its
languages needs (which pages it wrote, their search index, the rows and pages it rendered).
"""

from __future__ import annotations

import copy
import fcntl
import hashlib
import html
import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date
from functools import cached_property
from pathlib import Path

import jinja2
import mkdocs
from mkdocs.commands.build import build as mkdocs_build
from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from .as_of_build import AS_OF_ENV
from .build import Project, as_of_date, calls_path, read_project, site_outputs, team_path
from .cache import Cache
from .diagnostics import command_name, format_problems, listed
from .forked import Child, ChildFailed
from .handback import apply_dict_changes, apply_list_changes, dict_changes, list_changes
from .labels import Labels, catalog, use_project_catalogs
from .model.pipeline import Pipeline, ViewMemo
from .publish import Publish, WarningCount
from .search_worker import is_search_worker, mended_worker
from .site.history_pages import history_pages_cached
from .site.languages import (
    SOURCE_LANGUAGE,
    LanguageError,
    SiteLanguages,
    localized_palette,
    overridden,
    translation_of,
    translation_suffix,
)
from .site.pages import Remembered
from .site.paths import SitePaths, site_nav
from .site.renderer import CompiledTemplates, Renderer
from .sources.audiences import AUDIENCE_ENV, refusal
from .sources.audiences import DEFAULT as DEFAULT_AUDIENCE
from .sources.deal_files import deal_files, entry_name, shown_path
from .sources.deal_format import ID_PATTERN
from .sources.language_files import catalog_files, catalog_folder
from .sources.stage_model import TOOLS, StageModelError, load_stage_model, model_files
from .theme_files import list_theme_files_once
from .workbooks.run import Serving, WorkbookRun

log = logging.getLogger("mkdocs.plugins.dealbook")
_HEAD_ALTERNATE = re.compile(r'\s*<link rel="alternate" href="[^"]*" hreflang="[^"]*">')


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


def _load_jieba_dictionary() -> None:
    # Search segments Chinese with jieba, which loads its dictionary on first use (about a second):
    # loaded here, once, a live preview's forked builds of the other languages find it loaded.
    try:
        import jieba
    except ImportError:
        return
    jieba.initialize()


class _GeneratedFile(File):
    """A generated file that, in a dirty rebuild (`dealbook serve`), is rebuilt only if its content changed."""

    # language → site path → digest of the content last built, per serving process
    previous: dict[str, dict[str, str]] = {}
    language = ""
    finished = ""  # for a finished page, the identity of its HTML (its Markdown is only a stub)

    def is_modified(self) -> bool:
        return self.previous.get(self.language, {}).get(self.src_uri) != self.digest

    @cached_property  # asked by mkdocs, by the dirty-rebuild count and at the end: the content is fixed
    def digest(self) -> str:
        return hashlib.sha256(self.content_bytes + self.finished.encode()).hexdigest()


def _mend_search_worker(files: Files, config: MkDocsConfig) -> None:
    # Material's worker searches 地铁 as 地 (see generator/search_worker.py): its mended copy replaces it.
    for file in [f for f in files if is_search_worker(f.src_uri) and f.abs_src_path]:
        source = mended_worker(file.abs_src_path)
        if source is None:
            log.info("dealbook: %s is not the search worker this version knows; Chinese queries are "
                     "searched as Material cuts them", file.src_uri)
            continue
        files.remove(file)
        files.append(File.generated(config, file.src_uri, content=source))


class _LateFile(File):
    """A workbook that mkdocs lists (so links to it are checked) but that `WorkbookRun` writes itself."""

    def copy_file(self, dirty: bool = False) -> None:
        pass


# mkdocs makes a new Jinja environment for every build: the theme's ninety templates would be
# compiled again for every `mkdocs serve` rebuild and for each other language's site.
_COMPILED = CompiledTemplates()


class DealbookConfig(base.Config):
    enabled = c.Type(bool, default=True)
    deals_dir = c.Dir(exists=True, default="deals")
    stage_model = c.File(exists=True, default="playbook/playbook.yml")
    workbooks = c.Type(bool, default=True)
    edit_branch = c.Type(str, default="main")
    cache_dir = c.Type(str, default=".cache")
    history_pages = c.Type(bool, default=True)  # /deals/changes/, /deals/insights/, /history.json
    history_since = c.Optional(c.Type(object))  # YYYY-MM-DD: the commits before it are not read as history
    # The site's languages, the first at the root and each other one under /<code>/; none: the theme's.
    languages = c.ListOfItems(c.Type(str), default=[])
    # What a language's site says differently from mkdocs.yml (site_name, site_description, …).
    per_language = c.DictOfItems(c.Type(dict), default={})
    # Whom the site is built for: an audience of the stage model's `audiences:` (sources/audiences.py);
    # `dealbook build --audience NAME` (the environment variable AUDIENCE_ENV) overrides it.
    audience = c.Type(str, default="")


class DealbookPlugin(BasePlugin[DealbookConfig]):
    def __init__(self) -> None:
        self.serving = False
        self.serve_errors: list = []
        self._lock: int | None = None
        self._publish: Publish | None = None  # the staging folder of a build (not of a live preview)
        self._publish_target = ""  # the site folder as configured, given back to the configuration after
        self._warnings: WarningCount | None = None  # what a strict build counts (not while serving)
        self._config: MkDocsConfig | None = None
        self.project: Project | None = None
        self.renderer: Renderer | None = None
        self.generated: set[str] = set()
        self.finished: dict = {}
        self._history_note_said = ""
        self.workbooks: WorkbookRun | None = None
        self.pages_written = 0
        self.seconds = 0.0
        self.language = SOURCE_LANGUAGE
        self._nested = False  # True while another language's site is being built
        self._model_digest: dict[str, str] = {}
        self._search_previous: dict[str, object] = {}
        self._child: Child | None = None
        # Kept between the rebuilds of a live preview, so that a rebuild redoes only what changed.
        self._serving: Serving | None = None
        self._deals_read: dict = {}
        self._pages_made: dict[str, Remembered] = {}
        self._deal_reprs: dict = {}  # shared by the languages: repr(deal) is the same in each
        self._views = ViewMemo()  # each deal's view, kept while the deal is the same object
        self._view_keys: dict = {}  # shared by the languages, which read the same views (the pages word them)
        # While serving: per language, each generated file of the last rebuild → (its file, its URL),
        # so that what a rebuild no longer makes (a deleted deal's page) is taken off the preview.
        self._on_site: dict[str, dict[str, tuple[str, str]]] = {}
        self._deal_sources: dict[str, str] = {}  # while serving: a deal page's source → its deal file

    def on_startup(self, *, command: str, dirty: bool) -> None:
        # While serving, a deal error must not stop the preview: pages show it instead.
        self.serving = command == "serve"
        self.dirty = dirty
        self._model_digest = {}
        self._search_previous = {}
        if self.serving:
            self._serving, self._deals_read, self._pages_made, self._deal_reprs = Serving(), {}, {}, {}
            self._on_site = {}
            self._views, self._view_keys = ViewMemo(), {}
        self._count_warnings()

    def on_pre_build(self, *, config: MkDocsConfig) -> None:
        # Before mkdocs empties site/: a second build in the same folder waits for the first.
        # (Another language's build runs inside this one, which holds the lock already.)
        if self.config.enabled and not self._nested:
            self._lock = _acquire_lock(self.cache_dir)
            # mkdocs 1.6.1 (commands/build.py) empties `site_dir` right after this event, and no later
            # event comes before it: the site folder is swapped for a staging folder here, so that what
            # mkdocs empties and fills is the staging folder. A live preview builds into a temporary
            # folder of its own, which its dirty rebuilds update in place: it is left as it is.
            self._publish = None
            if not self.serving:
                self._publish = Publish.begin(config.site_dir, keep_current=getattr(self, "dirty", False),
                                              exclusive=self._lock is not None)
                if self._publish is None:
                    log.info("dealbook: %s cannot be replaced in one step (a mount point, or its folder is "
                             "read-only); building into it directly", config.site_dir)
                else:
                    self._config, self._publish_target = config, config.site_dir
                    config.site_dir = str(self._publish.staging)

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig | None:
        if not self.config.enabled:
            return None
        if not self._nested:
            self._count_warnings()  # a build started without on_startup (the engine's build() called directly)
            self.root = Path(config.config_file_path).parent if config.config_file_path else Path.cwd()
            self.model_path = Path(self.config.stage_model)
            self.deals_dir = Path(self.config.deals_dir)
            self.cache_dir = self.root / self.config.cache_dir
            _keep_jieba_cache_in(self.cache_dir)
            # A project's own languages (`dealbook language add`) have their catalogs beside the stage model.
            use_project_catalogs(catalog_folder(self.model_path))
            # The languages are decided here, once, and handed down; the first is the root site's.
            try:
                self.languages = SiteLanguages.configured(self.config.languages, config.theme.get("language"),
                                                          self.config.per_language)
            except LanguageError as exc:
                raise PluginError(f"dealbook: {exc}") from None
            self.language = self.languages.primary
            if self.config.languages:
                config.theme["language"] = self.language
                self._apply_language_settings(config, self.language)
                search = config.plugins.get("material/search") or config.plugins.get("search")
                if search is not None and catalog(self.language).get("search_lang"):
                    search.config["lang"] = [catalog(self.language)["search_lang"]]
            self._user_nav = config.nav
            try:
                self.as_of = as_of_date()
            except ValueError as exc:
                raise PluginError(Labels(self.language).error_text(exc)) from None
            from .sources.deal_versions import since_problem, since_stamp

            problem = since_problem(Path(config.config_file_path or "mkdocs.yml"), self.config.history_since)
            if problem:
                raise PluginError(problem)
            self.history_since = since_stamp(self.config.history_since)
            self.audience = self._audience(config)
        list_theme_files_once(config.theme, self.root)
        self.labels = Labels(self.language)
        prefix = self.languages.prefix(self.language)
        self.paths = SitePaths(lambda src: File(src, "", "", config.use_directory_urls).url,
                               shared_root="../" * prefix.count("/"), workbook_language=self.language if prefix else "")
        if self._user_nav is None:
            config.nav = site_nav(self._model(), self.paths, self.labels, TOOLS)
        return config

    def _apply_language_settings(self, config: MkDocsConfig, language: str) -> None:
        """What mkdocs.yml says differently in this language (`per_language:`), set on the config."""
        settings = self.languages.settings(language)
        for key in ("site_name", "site_description", "copyright"):
            if key in settings:
                config[key] = settings[key]
        if "palette_toggle_names" in settings:
            config.theme["palette"] = localized_palette(config.theme.get("palette"), settings["palette_toggle_names"])

    def _audience(self, config: MkDocsConfig) -> str:
        """Whom the build is for; one line and no build (site/ as it was) for an audience that cannot be built."""
        given = os.environ.get(AUDIENCE_ENV, "").strip()
        name = given or self.config.audience.strip() or DEFAULT_AUDIENCE
        why = refusal(self._model(), name)
        if why is not None:
            labels = Labels(self.language)
            where = "error: --audience" if given else \
                f"{Path(config.config_file_path or 'mkdocs.yml').name}: error: audience"
            raise PluginError(f"{where}: {labels.word(why[0].code, why[0].params)} "
                              f"({labels.word(why[1].code, why[1].params)})")
        return name

    def _model(self):
        try:
            return load_stage_model(self.model_path, shown_path(self.model_path, self.root))
        except StageModelError as exc:
            raise PluginError("the stage model cannot be used:\n" + format_problems(exc.problems)) from None

    def on_files(self, files: Files, /, *, config: MkDocsConfig) -> Files | None:
        if not self.config.enabled:
            return None
        started = time.perf_counter()
        if not self._nested:  # one cache for every language's build (it says once when it cannot be written)
            self._cache = Cache(self.cache_dir)
        cache = self._cache
        files = self._pages_in_language(files, config)
        _mend_search_worker(files, config)
        if not self._nested:
            # Deals are read, checked and their history read here, once, whatever the languages.
            self.project = read_project(self.root, self.model_path, self.deals_dir, self.as_of, self.labels, cache,
                                        movement=self.config.history_pages, history_since=self.history_since,
                                        audience=self.audience,
                                        remembered=self._deals_read if self.serving else None,
                                        views=self._views if self.serving else None)
            self.serve_errors = self.project.problems.errors if self.serving else []
            if self.serving:
                self._deal_sources = {self.paths.deal_page(path.stem): shown_path(path, self.root)
                                      for path in deal_files(self.deals_dir) if re.fullmatch(ID_PATTERN, path.stem)}
            self.pages_written = 0
            self.workbooks = WorkbookRun(cache, serving=self._serving) if self.config.workbooks else None
        project = self.project
        if self.serve_errors:
            if not self._nested:
                for problem in self.serve_errors:
                    log.warning("dealbook: %s", problem)
            if project.pipeline is None:  # the stage model itself is broken: only the panel can be shown
                if getattr(self, "dirty", False):
                    self._rebuild_all_if_changed(files)
                return files
        elif project.problems.errors:
            raise PluginError(f"{len(project.problems.errors)} problem(s) in the deal files or the stage model:\n"
                              + format_problems(project.problems.errors)
                              + f"\nRun `{command_name()} check` for the full list, warnings included.")
        assert project.pipeline is not None
        if not self._nested and self.serving:
            self._keys_before_fork(project.pipeline)
        if not self._nested and self.languages.others:
            if self.serving and any(catalog(code).get("search_segmenter") == "jieba" for code in self.languages.codes):
                _load_jieba_dictionary()
            self._movement_before_fork(config, project.pipeline)
            # The other languages are built by a copy of this process, from the deals read above.
            self._child = Child(lambda: self._other_languages(config))
        # One pipeline for every language: it holds no words (the pages word its warnings).
        pipeline = project.pipeline
        note = pipeline.history_note
        if note and note != self._history_note_said:
            # Said once (not on every live-reload rebuild), and never a reason to fail the build.
            log.info("dealbook: %s", self.labels("history_note_log", reason=self.labels(note)))
            self._history_note_said = note
        outputs, self.renderer = site_outputs(pipeline, self.labels, self.paths, cache,
                                              repo_url=config.repo_url or "", edit_branch=self.config.edit_branch,
                                              workbooks=self.config.workbooks, first_language=not self._nested,
                                              remembered=self._remembered(self.language) if self.serving else None)
        for data in (*model_files(self.model_path), team_path(self.model_path), calls_path(self.model_path),
                     *catalog_files(self.model_path)):
            # The stage model, the team file (e-mail addresses, quotas) and the forecast calls are data, not
            # files to publish.
            # Named as the entry, not where a link leads: mkdocs publishes a linked team.yml under its own name.
            existing = files.get_file_from_path(entry_name(data, Path(config.docs_dir)))
            if existing is not None:
                files.remove(existing)
        self.finished = outputs.pages.finished
        new_files = [_GeneratedFile.generated(config, src, content=content)
                     for src, content in outputs.pages.files.items()]
        if self.serve_errors:
            new_files += self._broken_deal_pages(config, outputs.pages.files)
        for file in new_files:
            file.language = self.language
            if file.src_uri in self.finished:
                file.finished = self.finished[file.src_uri].identity
        if getattr(self, "dirty", False):
            self._rebuild_all_if_changed(files)
            changed = sum(f.is_modified() for f in new_files if isinstance(f, _GeneratedFile))
            log.info("dealbook: dirty rebuild: %d of %d generated pages changed%s", changed, len(new_files),
                     f" ({self.language})" if self.languages.several else "")
        new_files += [_LateFile.generated(config, job.path, content=b"") for job in outputs.workbooks]
        for file in new_files:
            if files.get_file_from_path(file.src_uri) is not None:
                raise PluginError(f"{file.src_uri}: a hand-written file has the path of a generated one; rename it")
            files.append(file)
        self.generated = {f.src_uri for f in new_files}
        if self.serving:
            self._take_off_what_is_gone(config, new_files)
        self.generated_files = [f for f in new_files if isinstance(f, _GeneratedFile)]
        self.pages_written += sum(src.endswith(".md") for src in outputs.pages.files)
        if self.workbooks is not None and outputs.workbooks:
            # Each language's workbooks go into its own site folder, which mkdocs has just emptied.
            kind = "workbooks" if not self._nested else f"workbooks-{self.language}"
            self.workbooks.start(outputs.workbooks, Path(config.site_dir), kind)
        self.seconds = (self.seconds if self._nested else 0.0) + time.perf_counter() - started
        return files

    def _broken_deal_pages(self, config: MkDocsConfig, generated: dict) -> list[File]:
        """While serving: a page at the URL of each deal left out for its errors, so that the page
        the rep is looking at shows the error panel (added to every page) instead of going stale."""
        broken = {problem.path for problem in self.serve_errors}
        pages = []
        for src, shown in self._deal_sources.items():
            if shown in broken and src not in generated:
                deal_id = Path(shown).stem  # a valid id: letters, digits and '-' only
                text = self.labels("serve_broken_deal", path=shown)
                content = (f"---\ntitle: {deal_id}\nsearch:\n  exclude: true\n---\n\n# {deal_id}\n\n"
                           f"{html.escape(text)}\n")
                pages.append(_GeneratedFile.generated(config, src, content=content))
        return pages

    def _take_off_what_is_gone(self, config: MkDocsConfig, new_files: list[File]) -> None:
        """While serving: the files the previous rebuild made and this one does not (a deleted deal's
        pages and workbook) are removed from the preview's folder, and their search entries with them.
        A dirty rebuild only writes files, and Material's search keeps every entry it had."""
        now = {f.src_uri: (f.abs_dest_path, f.url) for f in new_files}
        before = self._on_site.get(self.language, {})
        self._on_site[self.language] = now
        gone = [before[src] for src in before if src not in now]
        if not gone:
            return
        for destination, _url in gone:
            with suppress(OSError):
                os.unlink(destination)
            if config.use_directory_urls and destination.endswith(os.sep + "index.html"):
                with suppress(OSError):
                    os.rmdir(os.path.dirname(destination))  # only if empty
            if self._serving is not None:
                self._serving.published.pop(destination, None)  # a deal added back gets its workbook again
        search = config.plugins.get("material/search") or config.plugins.get("search")
        previous = getattr(search, "search_index_prev", None)
        if previous is not None and previous.entries:
            urls = {url for _destination, url in gone}
            previous.entries = [e for e in previous.entries if e["location"].partition("#")[0] not in urls]

    def _movement_before_fork(self, config: MkDocsConfig, pipeline) -> None:
        # The history pages' movement reads every past version of the deals (seconds, in git): when
        # the pages are not cached, it is computed once, here, for the forked build to inherit.
        if pipeline.movement is None:
            return
        probe = Renderer(pipeline.model, self.labels, self.paths, config.repo_url or "", self.config.edit_branch,
                         self.config.workbooks)
        if not history_pages_cached(pipeline, probe, self._cache):
            pipeline.movement.get()

    def _keys_before_fork(self, pipeline: Pipeline) -> None:
        # While serving, the forked build's work on the views is lost when it ends: their keys, the
        # same in every language (the views are), are worked out here, where they are kept, and for
        # a rebuild only those of the deals that changed. The keys of views gone are dropped.
        remembered = self._remembered(self.language)
        for view in pipeline.deals:
            remembered.view_key(view)
        remembered.forget_views_except(pipeline.deals)

    def _remembered(self, language: str) -> Remembered:
        return self._pages_made.setdefault(language, Remembered(deal_reprs=self._deal_reprs,
                                                                view_keys=self._view_keys))

    def _pages_in_language(self, files: Files, config: MkDocsConfig) -> Files:
        """The hand-written pages in this build's language: `X.<code>.md` published as `X.md`.

        A translation is never a page of its own; a page with no translation into this language
        is published in English, with a warning (the site promises every page in every language).
        """
        translations = {f.src_uri: f for f in files if translation_suffix(f.src_uri)}
        for file in translations.values():
            files.remove(file)
        if self.language == SOURCE_LANGUAGE:
            return files
        for file in [f for f in files if f.is_documentation_page() and not f.generated_by]:
            twin = translations.get(translation_of(file.src_uri, self.language))
            if twin is None:
                log.warning("dealbook: %s has no %s version (%s); the English page is published in its place",
                            file.src_uri, self.language, translation_of(file.src_uri, self.language))
                continue
            files.remove(file)
            files.append(File.generated(config, file.src_uri, abs_src_path=twin.abs_src_path))
        return files

    def _rebuild_all_if_changed(self, files: Files) -> None:
        # Hand-written pages render the stage model, and every page shows the error panel while
        # a deal is wrong: in a dirty rebuild, every page is redone when either of them changes.
        errors = "\n".join(str(p) for p in self.serve_errors)
        model = b"\0".join(path.read_bytes() for path in model_files(self.model_path))  # with each language's texts
        digest = hashlib.sha256(model + b"\0" + errors.encode()).hexdigest()
        if digest != self._model_digest.get(self.language):
            _GeneratedFile.previous.pop(self.language, None)
            for file in files:
                if file.is_documentation_page():
                    file.is_modified = lambda: True  # type: ignore[method-assign]
            self._model_digest[self.language] = digest

    # Last of all (after the search plugin wrote this language's index, and after Material's offline
    # plugin, at -100, turned it into a script): the site is swapped in here, with everything written.
    @event_priority(-1000)
    def on_post_build(self, *, config: MkDocsConfig) -> None:
        started = time.perf_counter()
        if getattr(self, "dirty", False):
            _GeneratedFile.previous[self.language] = {f.src_uri: f.digest for f in self.generated_files}
        if self._nested:
            self.seconds += time.perf_counter() - started
            return
        try:
            if self._child is None:
                for language in self.languages.others:
                    self._build_language(config, language)
            self._wait_for_workbooks()
            other = self._wait_for_child()
            self._publish_site(config)
        finally:
            self._release_lock()
        self.seconds += time.perf_counter() - started
        self._log_summary(other)

    def _publish_site(self, config: MkDocsConfig) -> None:
        """Every language and workbook is written: the staging folder becomes the site, in one step."""
        publish, self._publish = self._publish, None
        warnings = self._stop_counting()
        if publish is None:
            return
        # The engine fails a `--strict` build after this event, on the warnings logged under its logger
        # (publish.WarningCount): such a build must not be published either.
        if config.strict and warnings:
            publish.abandon()
            config.site_dir = self._publish_target
            return
        try:
            publish.commit()
        except OSError as exc:
            publish.abandon()
            config.site_dir = self._publish_target
            raise PluginError(f"dealbook: the new site could not replace {publish.target}: {exc}") from None
        # Plugins that run after this one, and mkdocs' own last lines, see the folder as configured.
        config.site_dir = self._publish_target

    def _wait_for_workbooks(self) -> None:
        if self.workbooks is not None:
            try:
                self.workbooks.wait()
            except Exception as exc:
                raise PluginError(f"dealbook: a workbook could not be written: {exc}") from None

    def _other_languages(self, config: MkDocsConfig) -> dict:
        """In the forked process: build every other language; its pages and workbooks written and reused,
        and, while serving, what of the state the next rebuild needs this build changed."""
        others = self.languages.others
        if self._serving is not None:
            self._serving.collect = []  # rendered by the serving process's own workers, which outlive this one
            self.workbooks = WorkbookRun(self._cache, serving=self._serving) if self.config.workbooks else None
            inherited = {lang: self._serving_state(config, lang) for lang in others}
        else:
            self.workbooks = WorkbookRun(self._cache, start_method="fork") if self.config.workbooks else None
        self.pages_written = 0
        # Its warnings are counted by this build's `--strict`, when they are replayed there.
        with overridden(config, strict=False):
            for language in others:
                self._build_language(config, language)
        self._wait_for_workbooks()
        run = self.workbooks
        done: dict = {"counts": (self.pages_written, run.written if run else 0, run.reused if run else 0)}
        if self._serving is not None:
            done["changes"] = {lang: self._state_changes(inherited[lang], self._serving_state(config, lang))
                               for lang in others}
            done["collect"] = self._serving.collect
        return done

    def _serving_state(self, config: MkDocsConfig, language: str) -> dict:
        """What the next rebuild of a language needs from this one, as shallow copies."""
        assert self._serving is not None
        made = self._pages_made.get(language)
        search = self._search_previous.get(language)
        folder = os.path.join(config.site_dir, language) + os.sep
        return {
            "made": {name: dict(getattr(made, name)) for name in ("pages", "rows", "json", "summaries")}
            if made else None,
            "previous": _GeneratedFile.previous.get(language),
            "search": (search, list(search.entries)) if search is not None else None,
            "published": {k: v for k, v in self._serving.published.items() if k.startswith(folder)},
            "model": self._model_digest.get(language),
            "on_site": self._on_site.get(language),
        }

    @staticmethod
    def _state_changes(before: dict, after: dict) -> dict:
        made, search = after["made"], after["search"]
        if search is not None:
            index = copy.copy(search[0])
            index.entries = None  # sent as changes below
            search = (index, list_changes(before["search"][1] if before["search"] else [], search[1]))
        return {
            "made": {name: dict_changes((before["made"] or {}).get(name, {}), made[name]) for name in made}
            if made is not None else None,
            "previous": dict_changes(before["previous"] or {}, after["previous"])
            if after["previous"] is not None else None,
            "search": search,
            "published": dict_changes(before["published"], after["published"]),
            "model": after["model"],
            "on_site": dict_changes(before["on_site"] or {}, after["on_site"])
            if after["on_site"] is not None else None,
        }

    def _wait_for_child(self) -> tuple[int, int, int]:
        child, self._child = self._child, None
        if child is None:
            return 0, 0, 0
        try:
            done = child.result()
        except ChildFailed as exc:
            raise PluginError(f"dealbook: the site in {', '.join(self.languages.others)} could not be built: "
                              f"{exc}") from None
        if "changes" in done and self._serving is not None:
            for lang, changes in done["changes"].items():
                self._apply_state_changes(lang, changes)
            for args in done["collect"]:
                self._serving.submit(*args)
        return done["counts"]

    def _apply_state_changes(self, language: str, changes: dict) -> None:
        """In the serving process: the forked build's changes to a language's state, applied to it."""
        assert self._serving is not None
        if changes["made"] is None:
            self._pages_made.pop(language, None)
        else:
            made = self._remembered(language)
            for name, entries in changes["made"].items():
                apply_dict_changes(getattr(made, name), entries)
        if changes["previous"] is None:
            _GeneratedFile.previous.pop(language, None)
        else:
            previous = dict(_GeneratedFile.previous.get(language, {}))
            apply_dict_changes(previous, changes["previous"])
            _GeneratedFile.previous[language] = previous
        if changes["search"] is None:
            self._search_previous.pop(language, None)
        else:
            index, entries = changes["search"]
            before = self._search_previous.get(language)
            index.entries = apply_list_changes(before.entries if before is not None else [], entries)
            self._search_previous[language] = index
        apply_dict_changes(self._serving.published, changes["published"])
        if changes["on_site"] is None:
            self._on_site.pop(language, None)
        else:
            on_site = dict(self._on_site.get(language, {}))
            apply_dict_changes(on_site, changes["on_site"])
            self._on_site[language] = on_site
        if changes["model"] is None:
            self._model_digest.pop(language, None)
        else:
            self._model_digest[language] = changes["model"]

    def _build_language(self, config: MkDocsConfig, language: str) -> None:
        """Build the site of another language under `/<code>/`, with this build's deals and workbook run.

        mkdocs runs every plugin again on the same configuration, with the values below in place
        for the length of that build (its own folder, theme language, navigation and titles).
        """
        settings = self.languages.settings(language)
        values: dict[str, object] = {"site_dir": os.path.join(config.site_dir, language), "nav": self._user_nav}
        if config.site_url:
            values["site_url"] = config.site_url.rstrip("/") + f"/{language}/"
        values.update({k: settings[k] for k in ("site_name", "site_description", "copyright") if k in settings})
        theme = {"language": language,
                 "palette": localized_palette(config.theme.get("palette"), settings.get("palette_toggle_names"))}
        primary = self.language
        search = config.plugins.get("material/search") or config.plugins.get("search")
        # lunr's language for this site's search, as its catalog names it (a German stemmer for /de/).
        lunr = {"lang": [catalog(language)["search_lang"]]} if catalog(language).get("search_lang") else {}
        with overridden(config, **values), overridden(config.theme, **theme), \
                overridden(search.config if search is not None else {}, **lunr), \
                self._search_index_of(search, language):
            self.language, self._nested = language, True
            try:
                mkdocs_build(config, dirty=getattr(self, "dirty", False))
            finally:
                self.language, self._nested = primary, False

    @contextmanager
    def _search_index_of(self, search: object, language: str) -> Iterator[None]:
        # Material's search plugin keeps the previous index for dirty rebuilds (`mkdocs serve`);
        # each language has its own, so the other language's previous index is swapped in.
        if search is None or not hasattr(search, "search_index_prev"):
            yield
            return
        mine = search.search_index_prev
        search.search_index_prev = self._search_previous.get(language)
        try:
            yield
        finally:
            self._search_previous[language] = search.search_index_prev
            search.search_index_prev = mine

    def on_build_error(self, *, error: Exception) -> None:
        if self.workbooks is not None:
            self.workbooks.cancel()
        if self._child is not None and not self._nested:
            self._child.stop()
            self._child = None
        if self._publish is not None and not self._nested:
            # The site stays as it was; only the staging folder goes (after the workers that wrote to it).
            self._publish.abandon()
            self._publish = None
            if self._config is not None:
                self._config.site_dir = self._publish_target
        self._stop_counting()
        self._release_lock()

    def on_shutdown(self) -> None:
        self._stop_counting()
        self._release_lock()
        if self._serving is not None:
            self._serving.close()

    def _count_warnings(self) -> None:
        """From here on, count what the engine's `--strict` counts, to publish no build it fails."""
        if self._warnings is None and not self.serving:
            # The package that answers to `mkdocs` names the engine's logger: "mkdocs", or "properdocs" under
            # ProperDocs 1.6.7, whose properdocs.replacement puts itself in sys.modules as `mkdocs`.
            self._warnings = WarningCount(mkdocs.__name__)

    def _stop_counting(self) -> int:
        warnings, self._warnings = self._warnings, None
        if warnings is None:
            return 0
        warnings.detach()
        return warnings.count

    def _release_lock(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor releases the lock
            self._lock = None

    def on_env(self, env: jinja2.Environment, /, *, config: MkDocsConfig, files: Files) -> jinja2.Environment | None:
        if not self.config.enabled:
            return None
        env.bytecode_cache = _COMPILED
        templates = Path(__file__).parent / "site" / "templates"
        # Every page's footer says whom the build is for, in the page's language.
        config.extra["dealbook_audience"] = self.labels("audience_footer", audience=self.audience)
        ours = {"partials/copyright.html": (templates / "copyright.html").read_text(encoding="utf-8")}
        if self.languages.several:
            # The language selector takes the links `on_page_context` made for the page as they are.
            ours["partials/alternate.html"] = (templates / "alternate.html").read_text(encoding="utf-8")
        env.loader = jinja2.ChoiceLoader([jinja2.DictLoader(ours), env.loader])
        return env

    def on_post_page(self, output: str, /, *, page: Page, config: MkDocsConfig) -> str | None:
        if page.file.src_uri in self.finished:
            page.content = None  # written now: let the body go (see on_page_content)
        if self.config.enabled and self.languages.several:
            # Material also lists the languages as <link rel="alternate"> in the head, and its script
            # takes each such link for a site root: it fetches <link>/sitemap.xml (for a page, a 404
            # on every page view) and, finding the page in no sitemap when site_url is unset, sends
            # the reader to the other language's home page instead of following the link. Without
            # them, the selector's links are plain links to the same page in the other language.
            head, end, body = output.partition("</head>")
            output = _HEAD_ALTERNATE.sub("", head) + end + body
        as_of_build = os.environ.get(AS_OF_ENV, "").split()
        if len(as_of_build) == 2:  # `dealbook build --as-of`: every page says it is not today's
            text = self.labels("as_of_banner", date=self.labels.format_date(date.fromisoformat(as_of_build[0])),
                               commit=as_of_build[1][:7])
            banner = (f'<div class="db-as-of" role="note" style="margin:0;padding:.5rem 1.2rem;background:#fff3c4;'
                      f'color:#3d3000;font:14px/1.5 sans-serif">{html.escape(text)}</div>')
            output = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + banner, output, count=1)
        if not self.serve_errors:
            return output
        # Live preview only: every page opens with the problems, until the files are fixed; a deal's
        # page with its own problems first, worded in the page's language.
        own = self._deal_sources.get(page.file.src_uri)
        problems = sorted(self.serve_errors, key=lambda p: p.path != own)
        wording = self.labels.with_model(self.project.model if self.project is not None else None)
        items = "".join(f"<li><code>{html.escape(wording.problem_line(p))}</code></li>" for p in problems)
        panel = (f'<div class="dealbook-errors" role="alert" style="margin:0;padding:.8rem 1.2rem;'
                 f'background:#c62828;color:#fff;font:14px/1.5 sans-serif;position:relative;z-index:10">'
                 f"<strong>{html.escape(self.labels('serve_errors', n=len(self.serve_errors)))}</strong>"
                 f'<ul style="margin:.4rem 0 0 1.2rem">{items}</ul></div>')
        return re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + panel, output, count=1)

    def _log_summary(self, other: tuple[int, int, int]) -> None:
        if self.project is None or self.project.pipeline is None:
            return
        pipeline, run = self.project.pipeline, self.workbooks
        log.info("dealbook: %d deals read, %d pages written, %d workbooks written, %d reused%s, %.2f s "
                 "(as of %s, %d warnings)", len(pipeline.deals), self.pages_written + other[0],
                 (run.written if run else 0) + other[1], (run.reused if run else 0) + other[2],
                 f" in {', '.join(self.languages.codes)}" if self.languages.several else "", self.seconds,
                 self.as_of, len(pipeline.problems.warnings))
        # Which warnings, not only how many (info, not warning: `mkdocs build --strict` must not fail on them),
        # in the site's first language, as `dealbook check --lang` would say them.
        wording = Labels(self.languages.primary).with_model(pipeline.model)
        for line in listed(pipeline.problems.warnings, labels=wording):
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
        # Until the theme renders it, a finished page is its search entry: mkdocs keeps every page's
        # content to the end of the build, and a deal page's body is fetched only when it is written.
        finished = self.finished.get(page.file.src_uri)
        return finished.search if finished is not None else None

    @event_priority(-100)  # after the search plugin indexed the entry: the theme renders the page itself
    def on_page_context(self, context, /, *, page: Page, config: MkDocsConfig, nav):
        finished = self.finished.get(page.file.src_uri)
        if finished is not None:
            page.content = finished.html
        if self.config.enabled and self.languages.several:
            # Material's language selector, for this page: the same page in each language.
            config.extra["alternate"] = self.languages.alternates(page.url, self.language)
        return context

    def on_serve(self, server, /, *, config: MkDocsConfig, builder):
        # mkdocs 1.6.1's LiveReloadServer (`livereload/__init__.py`, `_serve_request`) opens the requested
        # path as given: an encoded NUL (`/deals/%00.html`) raises ValueError in `open`, answered with a
        # 500 and a traceback in the log. Such a path names no file: a 404, through the same error page.
        app = server.get_app()

        def no_nul(environ, start_response):
            if "\0" not in environ.get("PATH_INFO", ""):
                return app(environ, start_response)
            try:
                page = server.error_handler(404)
            except Exception:  # noqa: BLE001 - the plain answer below
                page = None
            start_response("404 Not Found", [("Content-Type", "text/html")])
            return [page or b"404 Not Found"]

        server.set_app(no_nul)
        if self.config.enabled:
            server.watch(str(self.deals_dir))
            for path in model_files(self.model_path):
                server.watch(str(path))
            if catalog_folder(self.model_path).is_dir():
                server.watch(str(catalog_folder(self.model_path)))
            for data in (team_path(self.model_path), calls_path(self.model_path)):
                if data.is_file():
                    server.watch(str(data))
        return server
