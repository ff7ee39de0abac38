"""One build process's state, in one object: the project's inputs, the cache, and every memo.

A `Session` is made once per process (by the plugin at `on_startup`, or on the first `on_config` of
a build started without it) and lives as long as the process: a `dealbook build`, or a whole live
preview with all its rebuilds. It owns the content cache (`.cache/`) and what is kept in memory
between builds — the deals read, their views, the pages, rows and JSON entries rendered from them,
the history's movement, the compiled templates and the theme's file listing — so no module holds
build or preview state in a global, and what one language's build keeps the next one finds (every
language is built in this process, one after the other, while serving).

It knows nothing of mkdocs: the plugin hands it paths, options and the URL rule, and does with
mkdocs' objects what it says.
"""

from __future__ import annotations

import fcntl
import hashlib
import html
import logging
import os
import re
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

from .as_of_build import AS_OF_ENV
from .build import Kept, Project, as_of_date, calls_path, read_project, site_outputs, team_path
from .cache import Cache
from .diagnostics import command_name, format_problems, listed
from .labels import Labels, catalog, use_project_catalogs
from .model.pipeline import ViewMemo
from .publish import Publish, WarningCount
from .search_worker import is_search_worker, mended_workers
from .site.languages import SOURCE_LANGUAGE, SiteLanguages, overridden, translation_of, translation_suffix
from .site.pages import Remembered
from .site.paths import SitePaths
from .site.renderer import CompiledTemplates
from .sources.audiences import AUDIENCE_ENV, refusal
from .sources.audiences import DEFAULT as DEFAULT_AUDIENCE
from .sources.deal_files import FolderResolver, deal_files, shown_path
from .sources.deal_format import ID_PATTERN
from .sources.language_files import catalog_files, catalog_folder
from .sources.project_files import entry_name
from .sources.stage_model import StageModel, StageModelError, load_stage_model, model_files

if TYPE_CHECKING:
    from datetime import date

    from .build import SiteOutputs
    from .site.renderer import Renderer
    from .workbooks.jobs import Job
    from .workbooks.run import Serving, WorkbookRun

log = logging.getLogger("mkdocs.plugins.dealbook")
TEMPLATES = Path(__file__).parent / "site" / "templates"
# Material also lists the languages as <link rel="alternate"> in the head, and its script takes each such link for
# a site root: it fetches <link>/sitemap.xml (for a page, a 404 on every page view) and, finding the page in no
# sitemap when site_url is unset, sends the reader to the other language's home page instead of following the
# link. Without them, the selector's links are plain links to the same page in the other language.
_HEAD_ALTERNATE = re.compile(r'\s*<link rel="alternate" href="[^"]*" hreflang="[^"]*">')


class SessionError(Exception):
    """A build that cannot go on; the message is the whole line a rep reads (the plugin raises it as mkdocs'
    own error)."""


@dataclass
class Inputs:
    """What a build reads, as the plugin's options name it (resolved against the project's folder)."""

    root: Path
    model_path: Path
    deals_dir: Path
    cache_dir: Path
    workbooks: bool = True
    history_pages: bool = True
    history_since: int | None = None
    edit_branch: str = "main"
    audience: str = ""

    def data_files(self) -> list[Path]:
        """The stage model, its texts, the team file, the forecast calls and the project's catalogs: data, read by
        the build and never published as files of the site."""
        return [*model_files(self.model_path), team_path(self.model_path), calls_path(self.model_path),
                *catalog_files(self.model_path)]


@dataclass
class Preview:
    """What a live preview keeps from one rebuild to the next (a plain build keeps none of it)."""

    deals_read: dict = field(default_factory=dict)  # deal file signature → the Deal read (`DealLoader`)
    views: ViewMemo = field(default_factory=ViewMemo)  # each deal's view, kept while the deal is the same object
    deal_reprs: dict = field(default_factory=dict)  # shared by the languages: repr(deal) is the same in each
    view_keys: dict = field(default_factory=dict)  # shared too: the languages read the same views
    made: dict[str, Remembered] = field(default_factory=dict)  # per language: pages, rows, JSON entries
    digests: dict[str, dict[str, str]] = field(default_factory=dict)  # per language: generated file → digest built
    on_site: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)  # per language: file → (dest, url)
    rebuilt_for: dict[str, str] = field(default_factory=dict)  # per language: the stage model and errors last built
    search: dict[str, dict[str, list]] = field(default_factory=dict)  # per language: page → its search entries
    deal_sources: dict[str, str] = field(default_factory=dict)  # a deal page's source → its deal file
    workbooks: Serving | None = None  # the workbooks in place and their background workers

    def remembered(self, language: str) -> Remembered:
        return self.made.setdefault(language, Remembered(deal_reprs=self.deal_reprs, view_keys=self.view_keys))


class Session:
    """The one place a build process keeps what it read, computed and rendered (see the module's text)."""

    def __init__(self, *, serving: bool = False, dirty: bool = False, logger: str = "mkdocs") -> None:
        self.serving = serving
        self.dirty = dirty
        self.inputs: Inputs | None = None
        self.as_of: date | None = None
        self.languages = SiteLanguages((SOURCE_LANGUAGE,))
        # Kept for the process: the templates compiled (the renderer's and the theme's), the theme's installed
        # folders as listed, the last movement of the history pages (by its facts).
        self.compiled = CompiledTemplates()
        self.theme_listing: dict[str, list[str]] = {}
        self.preview = Preview() if serving else None
        # The stage model and the movement last made, and, while serving, the history and the deals as the audience
        # sees them.
        self.kept = Kept(histories={} if serving else None, emptied={} if serving else None,
                         snapshots={} if serving else None)
        if self.preview is not None:
            from .workbooks.run import Serving

            self.preview.workbooks = Serving()
        # What the engine's `--strict` counts (its logger: "mkdocs", or "properdocs" under ProperDocs), from the
        # start, so that no build it fails is published. A live preview publishes nothing.
        self._logger = logger
        self._warnings = WarningCount(logger) if not serving else None
        self._publish: Publish | None = None  # the staging folder of a build
        self._target = ""  # the site folder as configured
        # The build under way.
        self.cache = Cache(None)
        self.project: Project | None = None
        self.errors: list = []  # while serving: the problems every page shows (the build goes on)
        self.workbooks: WorkbookRun | None = None  # rendered beside the pages, waited for before publishing
        self._pending_workbooks: tuple[list[Job], Path] | None = None  # a live preview's, until its pages are made
        self.pages_written, self.seconds = 0, 0.0
        # The language being built (the first's at the root, then each other one's, nested in it).
        self.language, self.nested, self.user_nav = SOURCE_LANGUAGE, False, None
        self.labels, self.paths = Labels(self.language), SitePaths()
        self.pages: list[str] = []  # this language's pages, as mkdocs builds them (the search index's order)
        self._indexed = 0  # of the search plugin's entries, those already kept by page
        self._lock: int | None = None
        self._history_note_said = ""

    # --- the project -------------------------------------------------------------------------------------

    def configure(self, inputs: Inputs, *, config_name: str, history_since: object, audience: str) -> None:
        """The project's inputs for this build, checked: the as-of day, `history_since`, whom the site is for."""
        from .sources.deal_versions import since_problem, since_stamp

        self.inputs = inputs
        if self._warnings is None and not self.serving:
            self._warnings = WarningCount(self._logger)  # a second build in this process
        labels = Labels(self.languages.primary)
        try:
            self.as_of = as_of_date()
        except ValueError as exc:
            raise SessionError(labels.error_text(exc)) from None
        problem = since_problem(inputs.root / config_name, history_since)
        if problem:
            raise SessionError(problem)
        inputs.history_since = since_stamp(history_since)
        given = os.environ.get(AUDIENCE_ENV, "").strip()
        inputs.audience = given or audience.strip() or DEFAULT_AUDIENCE
        why = refusal(self.model(), inputs.audience)
        if why is not None:  # one line and no build (site/ as it was) for an audience that cannot be built
            where = "error: --audience" if given else f"{config_name}: error: audience"
            raise SessionError(f"{where}: {labels.word(why[0].code, why[0].params)} "
                               f"({labels.word(why[1].code, why[1].params)})")
        self.keep_jieba_cache()

    def configure_plugin(self, options, config_file: str | None, theme_language: str | None) -> None:
        """From the plugin's options (`plugin.DealbookConfig`) and mkdocs.yml's place: the inputs and languages."""
        root = Path(config_file).parent if config_file else Path.cwd()
        model_path = Path(options.stage_model)
        use_project_catalogs(catalog_folder(model_path))  # a project's own languages (`dealbook language add`)
        self.languages = SiteLanguages.configured(options.languages, theme_language, options.per_language)
        self.language = self.languages.primary
        self.configure(Inputs(root, model_path, Path(options.deals_dir), root / options.cache_dir, options.workbooks,
                              options.history_pages, edit_branch=options.edit_branch),
                       config_name=Path(config_file or "mkdocs.yml").name, history_since=options.history_since,
                       audience=options.audience)

    def hand_written(self, files: list, docs_dir: Path) -> tuple[set[str], dict[str, dict]]:
        """Of the files mkdocs found (its `File`s), what this language's site publishes differently: (the files to
        drop, the files to add in their place as `File.generated` arguments by path). A page's translation
        `X.<code>.md` is never a page of its own, and is published as `X.md` in its language; the data files (the
        stage model, the team, the calls, the catalogs) are not published; Material's search worker is mended."""
        assert self.inputs is not None
        self._indexed = 0  # a new build: the search plugin's index is new
        translations = {f.src_uri: f for f in files if translation_suffix(f.src_uri)}
        data = {entry_name(path, docs_dir) for path in self.inputs.data_files()}  # as linked: under its own name
        drop = [*translations, *(f.src_uri for f in files if f.src_uri in data)]
        add: dict[str, dict] = {}
        pages = [f for f in files if f.is_documentation_page() and f.src_uri not in translations]
        for src, twin in self.translated(pages, translations, self.language).items():
            add[src] = {"abs_src_path": twin}
        workers = {f.src_uri: f.abs_src_path for f in files if f.abs_src_path and is_search_worker(f.src_uri)}
        for src, source in mended_workers(workers).items():
            add[src] = {"content": source}
        return {*drop, *add}, add

    def in_language(self, config, search, language: str | None = None) -> dict[str, dict]:
        """What mkdocs.yml says differently in a language (the first by default): set on the configuration (mkdocs'
        config, dict-like) and the search plugin's for the first, returned for another."""
        language = language or self.languages.primary
        values = self.languages.config_values(language, config.theme.get("palette"))
        if language == self.languages.primary:
            targets = {"values": config, "theme": config.theme, "search": search.config if search else None}
            for name, target in targets.items():
                for key, value in values[name].items() if target is not None else ():
                    target[key] = value
        return values

    def build_other_languages(self, config, search, build: Callable[[], None]) -> None:
        """Build the site of each other language under `/<code>/`, with this build's deals and workbook run: mkdocs
        (`build`) runs every plugin again on the same configuration, with the language's values in place."""
        primary = self.language
        for language in self.languages.others:
            values = self.in_language(config, search, language)
            values["values"].update(site_dir=os.path.join(config.site_dir, language), nav=self.user_nav)
            if config.site_url:
                values["values"]["site_url"] = config.site_url.rstrip("/") + f"/{language}/"
            with overridden(config, **values["values"]), overridden(config.theme, **values["theme"]), \
                    overridden(search.config if search is not None else {}, **values["search"]):
                self.language, self.nested = language, True
                try:
                    build()
                finally:
                    self.language, self.nested = primary, False

    def page_context(self, extra: dict, url: str, page_src: str, search) -> None:
        """As a page is rendered: Material's language selector gets the same page in each language; while serving,
        the entries the search plugin has just made for the page are kept for the next rebuild."""
        if self.languages.several:
            extra["alternate"] = self.languages.alternates(url, self.language)
        if self.preview is not None and search is not None:
            entries = search.search_index.entries
            self.preview.search.setdefault(self.language, {})[page_src] = entries[self._indexed:]
            self._indexed = len(entries)

    def index_in_order(self, search) -> None:
        """While serving, before the search plugin writes this language's index: the index a clean build makes."""
        # No public hook in Material 9.8.2: in a dirty rebuild its search plugin merges the pages rebuilt into its
        # last index by the URL of the first of them alone (`generate_search_index`), so the entries of every other
        # page rebuilt come twice. The index is set here as a clean build makes it, each page's entries as last
        # made, and no last index is left to merge.
        if self.preview is None or search is None:
            return
        kept = self.preview.search.setdefault(self.language, {})
        for gone in kept.keys() - set(self.pages):
            del kept[gone]
        search.search_index.entries = [entry for src in self.pages for entry in kept.get(src, ())]
        search.search_index_prev = None
        self._indexed = 0

    def watched(self) -> list[Path]:
        """What a live preview watches besides the pages: the deals, the stage model and its texts, the project's
        catalogs, the team file and the forecast calls."""
        assert self.inputs is not None
        folder = catalog_folder(self.inputs.model_path)
        return [self.inputs.deals_dir, *model_files(self.inputs.model_path), *([folder] if folder.is_dir() else []),
                *(p for p in (team_path(self.inputs.model_path), calls_path(self.inputs.model_path)) if p.is_file())]

    def model(self) -> StageModel:
        assert self.inputs is not None
        try:
            return load_stage_model(self.inputs.model_path, shown_path(self.inputs.model_path, self.inputs.root),
                                    self.kept.models)
        except StageModelError as exc:
            raise SessionError("the stage model cannot be used:\n" + format_problems(exc.problems)) from None

    def for_language(self, url_of: Callable[[str], str]) -> None:
        """The words and paths of the language being built; `url_of`: mkdocs' URL of a site file."""
        prefix = self.languages.prefix(self.language)
        self.labels = Labels(self.language)
        self.paths = SitePaths(url_of, shared_root="../" * prefix.count("/"),
                               workbook_language=self.language if prefix else "")

    def _start_workbooks(self, jobs: list[Job], site_dir: Path) -> None:
        """Each language's workbooks go into its own site folder, which mkdocs has emptied before its files event.

        A live preview starts them only once the pages are made (`generated`): its workbooks render in the
        background anyway, and one started by a rebuild that then fails would be in no list of what the preview
        has written, so never taken off when its deal goes."""
        if self.preview is not None:
            self._pending_workbooks = (jobs, site_dir)
        else:
            self._run_workbooks(jobs, site_dir)

    def _run_workbooks(self, jobs: list[Job], site_dir: Path) -> None:
        if self.workbooks is not None:
            self.workbooks.start(jobs, site_dir, f"workbooks-{self.language}" if self.nested else "workbooks")

    def read(self) -> Project:
        """The deals read, checked and computed, once for every language of the build."""
        inputs = self.inputs
        assert inputs is not None
        self.cache = Cache(inputs.cache_dir)  # says once when it cannot be written
        self.pages_written, self.seconds = 0, 0.0
        if inputs.workbooks:
            from .workbooks.run import WorkbookRun

            self.workbooks = WorkbookRun(self.cache, serving=self.preview.workbooks if self.preview else None)
        preview = self.preview
        assert self.as_of is not None
        labels, paths = self.labels, self.paths
        self.project = read_project(inputs.root, inputs.model_path, inputs.deals_dir, self.as_of, labels, self.cache,
                                    movement=inputs.history_pages, history_since=inputs.history_since,
                                    audience=inputs.audience, remembered=preview.deals_read if preview else None,
                                    views=preview.views if preview else None, kept=self.kept)
        self.errors = self.project.problems.errors if preview is not None else []
        if preview is not None:
            resolve = FolderResolver()  # one lstat a file, not one for every part of its path
            preview.deal_sources = {
                paths.deal_page(path.stem): shown_path(path, inputs.root, resolve)
                for path in deal_files(inputs.deals_dir) if re.fullmatch(ID_PATTERN, path.stem)}
            for problem in self.errors:
                log.warning("dealbook: %s", problem)
        elif self.project.problems.errors:
            errors = self.project.problems.errors
            raise SessionError(f"{len(errors)} problem(s) in the deal files or the stage model:\n"
                               + format_problems(errors)
                               + f"\nRun `{command_name()} check` for the full list, warnings included.")
        note = self.project.pipeline.history_note if self.project.pipeline is not None else ""
        if note and note != self._history_note_said:
            # Said once (not on every live-reload rebuild), and never a reason to fail the build.
            log.info("dealbook: %s", labels("history_note_log", reason=labels(note)))
            self._history_note_said = note
        return self.project

    def outputs(self, repo_url: str, site_dir: Path) -> tuple[SiteOutputs, Renderer]:
        """One language's generated files, from the pipeline read once; its workbooks are started into
        `site_dir` before its pages are rendered."""
        labels, paths, first = self.labels, self.paths, not self.nested
        assert self.inputs is not None and self.project is not None and self.project.pipeline is not None
        remembered = self.preview.remembered(labels.language) if self.preview is not None else None
        if remembered is not None and first:
            # The views' keys are the same in every language: worked out for the deals that changed, and those
            # of views gone dropped, once, by the first language.
            pipeline = self.project.pipeline
            for view in pipeline.deals:
                remembered.view_key(view)
            # The quarter's snapshot is kept whole between saves (`build.quarter_snapshot`): its views' keys too.
            remembered.forget_views_except(pipeline.deals + (pipeline.snapshot.deals if pipeline.snapshot else []))
        if remembered is not None:  # each language's own
            remembered.forget_worded_except(self.project.pipeline.deals)
        outputs = site_outputs(self.project.pipeline, labels, paths, self.cache, repo_url=repo_url,
                               edit_branch=self.inputs.edit_branch, workbooks=self.inputs.workbooks,
                               first_language=first, remembered=remembered, compiled=self.compiled,
                               start_workbooks=lambda jobs: self._start_workbooks(jobs, site_dir))
        self.pages_written += sum(src.endswith(".md") for src in outputs[0].pages.files)
        return outputs

    def translated(self, pages: list, translations: dict, language: str) -> dict[str, str]:
        """Of the hand-written pages (mkdocs' files), those with a text in `language` (`X.<code>.md`): their
        path → the file of that text. A page without one is published in English, with a warning."""
        out: dict[str, str] = {}
        if language == SOURCE_LANGUAGE:
            return out
        for file in pages:
            if file.generated_by:
                continue
            twin = translations.get(translation_of(file.src_uri, language))
            if twin is None:
                log.warning("dealbook: %s has no %s version (%s); the English page is published in its place",
                            file.src_uri, language, translation_of(file.src_uri, language))
            else:
                out[file.src_uri] = twin.abs_src_path
        return out

    def themed(self, env: jinja2.Environment, extra: dict, files) -> jinja2.Environment:
        """The theme's environment with the partials the site replaces: the footer says whom the build is for (in
        the page's language); the language selector takes the links made for each page as they are. `files`:
        mkdocs' final list, whose pages are built in its order (the search index's)."""
        assert self.inputs is not None
        self.pages = [f.src_uri for f in files.documentation_pages()]
        extra["dealbook_audience"] = self.labels("audience_footer", audience=self.inputs.audience)
        names = ["copyright.html"] + (["alternate.html"] if self.languages.several else [])
        ours = {f"partials/{name}": (TEMPLATES / name).read_text(encoding="utf-8") for name in names}
        env.loader = jinja2.ChoiceLoader([jinja2.DictLoader(ours), env.loader])
        return env

    @staticmethod
    def playbook_page(renderer: Renderer, markdown: str, src: str) -> str:
        """A hand-written page with the stage model's numbers rendered in."""
        try:
            return renderer.render_playbook_page(markdown, src)
        except Exception as exc:  # a template mistake in a page: say where, not a traceback
            raise SessionError(f"{src}: cannot render the page's stage-model macros: {exc}") from None

    def finished_html(self, output: str, page_src: str) -> str:
        """A page's HTML as the site publishes it: no alternate links in the head (see `_HEAD_ALTERNATE`), the
        banner of a `dealbook build --as-of` and, while serving with errors, the error panel."""
        if self.languages.several:
            head, end, body = output.partition("</head>")
            output = _HEAD_ALTERNATE.sub("", head) + end + body
        labels, as_of_build = self.labels, os.environ.get(AS_OF_ENV, "").split()
        top = ""
        if len(as_of_build) == 2:  # `dealbook build --as-of`: every page says it is not today's
            from datetime import date

            text = labels("as_of_banner", date=labels.format_date(date.fromisoformat(as_of_build[0])),
                          commit=as_of_build[1][:7])
            top = (f'<div class="db-as-of" role="note" style="margin:0;padding:.5rem 1.2rem;background:#fff3c4;'
                   f'color:#3d3000;font:14px/1.5 sans-serif">{html.escape(text)}</div>')
        top = self.error_panel(labels, page_src) + top
        return re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + top, output, count=1) if top else output

    # --- a live preview ----------------------------------------------------------------------------------

    def everything_changed(self) -> bool:
        """Whether a dirty rebuild of this language must redo every page: hand-written pages render the stage
        model, and every page shows the error panel while a deal is wrong."""
        if self.preview is None or self.inputs is None:
            return False
        model = b"\0".join(path.read_bytes() for path in model_files(self.inputs.model_path))
        digest = hashlib.sha256(model + b"\0" + "\n".join(str(p) for p in self.errors).encode()).hexdigest()
        if digest == self.preview.rebuilt_for.get(self.language):
            return False
        self.preview.rebuilt_for[self.language] = digest
        self.preview.digests.pop(self.language, None)
        return True

    def note_rebuild(self, language: str, changed: int, generated: int) -> None:
        log.info("dealbook: dirty rebuild: %d of %d generated pages changed%s", changed, generated,
                     f" ({language})" if self.languages.several else "")

    def generated(self, pages: list, late: list, finished: dict, directory_urls: bool) -> None:
        """The generated files of a language's build (mkdocs' `File`s: `pages` written by mkdocs, `late` by the
        workbook run): each page knows what the last rebuild wrote at its path and, for a finished page, the
        identity of its HTML; while serving, what the last rebuild made and this one does not is taken off."""
        language = self.language
        built = self.preview.digests.get(language, {}) if self.preview is not None else {}
        for file in pages:
            file.built = built.get(file.src_uri, "")
            if file.src_uri in finished:
                file.finished = finished[file.src_uri].identity
        if self.dirty:
            self.note_rebuild(language, sum(f.is_modified() for f in pages), len(pages))
        if self.preview is not None:
            self.take_off_what_is_gone(language, {f.src_uri: (f.abs_dest_path, f.url) for f in pages + late},
                                       directory_urls)
            pending, self._pending_workbooks = self._pending_workbooks, None
            if pending is not None:
                self._run_workbooks(*pending)

    def built(self, pages: list) -> None:
        """While serving: what this rebuild wrote (each generated page's digest), for the next one to compare."""
        if self.preview is not None:
            self.preview.digests[self.language] = {f.src_uri: f.digest for f in pages}

    def take_off_what_is_gone(self, language: str, now: dict[str, tuple[str, str]],
                              directory_urls: bool) -> set[str]:
        """While serving: the files the last rebuild made and this one does not (a deleted deal's pages and
        workbook) are removed from the preview's folder; their URLs are returned, for their search entries."""
        if self.preview is None:
            return set()
        before = self.preview.on_site.get(language, {})
        self.preview.on_site[language] = now
        gone = [before[src] for src in before if src not in now]
        for destination, _url in gone:
            with suppress(OSError):
                os.unlink(destination)
            if directory_urls and destination.endswith(os.sep + "index.html"):
                with suppress(OSError):
                    os.rmdir(os.path.dirname(destination))  # only if empty
            if self.preview.workbooks is not None:
                self.preview.workbooks.published.pop(destination, None)  # a deal added back gets its workbook
        return {url for _destination, url in gone}

    def broken_deal_pages(self, generated: dict) -> dict[str, str]:
        """While serving: a page at the URL of each deal left out for its errors, so that the page the rep
        is looking at shows the error panel instead of going stale (source → Markdown)."""
        if self.preview is None or not self.errors:
            return {}
        broken = {problem.path for problem in self.errors}
        pages = {}
        for src, shown in self.preview.deal_sources.items():
            if shown in broken and src not in generated:
                deal_id = Path(shown).stem  # a valid id: letters, digits and '-' only
                text = self.labels("serve_broken_deal", path=shown)
                pages[src] = (f"---\ntitle: {deal_id}\nsearch:\n  exclude: true\n---\n\n# {deal_id}\n\n"
                              f"{html.escape(text)}\n")
        return pages

    def error_panel(self, labels: Labels, page_src: str) -> str:
        """While serving with errors: the panel every page opens with, the page's own deal's problems first."""
        if not self.errors or self.preview is None:
            return ""
        own = self.preview.deal_sources.get(page_src)
        problems = sorted(self.errors, key=lambda p: p.path != own)
        wording = labels.with_model(self.project.model if self.project is not None else None)
        items = "".join(f"<li><code>{html.escape(wording.problem_line(p))}</code></li>" for p in problems)
        return (f'<div class="dealbook-errors" role="alert" style="margin:0;padding:.8rem 1.2rem;'
                f'background:#c62828;color:#fff;font:14px/1.5 sans-serif;position:relative;z-index:10">'
                f"<strong>{html.escape(labels('serve_errors', n=len(self.errors)))}</strong>"
                f'<ul style="margin:.4rem 0 0 1.2rem">{items}</ul></div>')

    def serve(self, server) -> None:
        """The preview's server (mkdocs' LiveReloadServer): what it watches, and no error for a path with a NUL."""
        # mkdocs 1.6.1's LiveReloadServer (`livereload/__init__.py`, `_serve_request`) opens the requested path as
        # given: an encoded NUL (`/deals/%00.html`) raises ValueError in `open`, answered with a 500 and a
        # traceback in the log. Such a path names no file: a 404, through the same error page.
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
        for path in self.watched():
            server.watch(str(path))

    # --- the process -------------------------------------------------------------------------------------

    def lock(self) -> None:
        """Hold `<cache>/build.lock` for the build; wait, saying so once, while another build holds it."""
        assert self.inputs is not None
        if self._lock is not None:
            return
        folder = self.inputs.cache_dir
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(folder / "build.lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return  # a read-only checkout: nothing to share, nothing to lock
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("dealbook: another build is running in this folder; waiting for it to finish")
            fcntl.flock(fd, fcntl.LOCK_EX)
        self._lock = fd

    @property
    def locked(self) -> bool:
        return self._lock is not None

    def unlock(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor releases the lock
            self._lock = None

    def keep_jieba_cache(self) -> None:
        """Search segments Chinese with jieba, which caches its dictionary in /tmp by default; the build may only
        write to site/ and .cache/. While serving, its dictionary (slow to load) is loaded once."""
        if not any(catalog(code).get("search_segmenter") == "jieba" for code in self.languages.codes):
            return
        try:
            import jieba
        except ImportError:
            return
        assert self.inputs is not None
        folder = self.inputs.cache_dir
        with suppress(OSError):  # where jieba saves its dictionary; the cache makes it too, later in the build
            folder.mkdir(parents=True, exist_ok=True)
        # No public setting in jieba 0.42.1 for where its default tokenizer caches the dictionary: its
        # `Tokenizer.initialize` reads the `tmp_dir` attribute, which is set here.
        jieba.dt.tmp_dir = str(folder)
        # Its "Building prefix dict" lines are noise in every build; where the cache folder is not writable,
        # its failure to save the dictionary is too (the build says so once, in its own words).
        writable = os.access(folder, os.W_OK) if folder.is_dir() else os.access(folder.parent, os.W_OK)
        jieba.setLogLevel(logging.WARNING if writable else logging.CRITICAL)
        if self.serving:
            jieba.initialize()

    def begin(self, site_dir: str) -> str:
        """The folder to build into: a staging folder beside `site_dir` that `publish` swaps in, or, while serving
        or where it cannot be swapped in one step, `site_dir` itself. A second build in the same folder waits."""
        self.lock()
        self._publish, self._target = None, site_dir
        if self.serving:  # a live preview builds into a temporary folder of its own, updated in place
            return site_dir
        self._publish = Publish.begin(site_dir, keep_current=self.dirty, exclusive=self.locked)
        if self._publish is None:
            log.info("dealbook: %s cannot be replaced in one step (a mount point, or its folder is read-only); "
                     "building into it directly", site_dir)
            return site_dir
        return str(self._publish.staging)

    def wait_for_workbooks(self) -> None:
        if self.workbooks is not None:
            try:
                self.workbooks.wait()
            except Exception as exc:
                raise SessionError(f"dealbook: a workbook could not be written: {exc}") from None

    def _stop_counting(self) -> int:
        warnings, self._warnings = self._warnings, None
        if warnings is None:
            return 0
        warnings.detach()
        return warnings.count

    @property
    def target(self) -> str:
        """The site folder as configured (the build writes into `begin`'s folder)."""
        return self._target

    def publish(self, strict: bool) -> str:
        """Every language and workbook is written: the staging folder becomes the site, in one step. The engine
        fails a `--strict` build after this, on the warnings logged under its logger: such a build is not
        published either. Returns the site folder as configured, for the plugins that run after this one."""
        publish, self._publish = self._publish, None
        warnings = self._stop_counting()
        if publish is None:
            return self._target
        if strict and warnings:
            publish.abandon()
            return self._target
        try:
            publish.commit()
        except OSError as exc:
            publish.abandon()
            raise SessionError(f"dealbook: the new site could not replace {publish.target}: {exc}") from None
        return self._target

    def abandon(self) -> None:
        """A build failed: the site stays as it was; only the staging folder goes (after the workers that wrote
        to it)."""
        if self.workbooks is not None:
            self.workbooks.cancel()
        if self._publish is not None:
            self._publish.abandon()
            self._publish = None
        self._stop_counting()
        self.unlock()

    def log_summary(self) -> None:
        if self.project is None or self.project.pipeline is None:
            return
        pipeline, run, pages, seconds = self.project.pipeline, self.workbooks, self.pages_written, self.seconds
        written, reused = (run.written, run.reused) if run is not None else (0, 0)
        log.info("dealbook: %d deals read, %d pages written, %d workbooks written, %d reused%s, %.2f s "
                 "(as of %s, %d warnings)", len(pipeline.deals), pages, written, reused,
                 f" in {', '.join(self.languages.codes)}" if self.languages.several else "", seconds,
                 self.as_of, len(pipeline.problems.warnings))
        # Which warnings, not only how many (info, not warning: `mkdocs build --strict` must not fail on them),
        # in the site's first language, as `dealbook check --lang` would say them.
        wording = Labels(self.languages.primary).with_model(pipeline.model)
        for line in listed(pipeline.problems.warnings, labels=wording):
            log.info("dealbook:   %s", line)

    def close(self) -> None:
        self._stop_counting()
        self.unlock()
        if self.preview is not None and self.preview.workbooks is not None:
            self.preview.workbooks.close()
