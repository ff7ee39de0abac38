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
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .as_of_build import AS_OF_ENV
from .build import Project, as_of_date, calls_path, read_project, site_outputs, team_path
from .cache import Cache
from .diagnostics import command_name, format_problems, listed
from .labels import Labels, catalog
from .model.pipeline import ViewMemo
from .publish import Publish, WarningCount
from .site.languages import SOURCE_LANGUAGE, SiteLanguages, translation_of
from .site.pages import Remembered
from .site.paths import SitePaths
from .site.renderer import CompiledTemplates
from .sources.audiences import AUDIENCE_ENV, refusal
from .sources.audiences import DEFAULT as DEFAULT_AUDIENCE
from .sources.deal_files import deal_files, shown_path
from .sources.deal_format import ID_PATTERN
from .sources.language_files import catalog_files, catalog_folder
from .sources.stage_model import StageModel, StageModelError, load_stage_model, model_files

if TYPE_CHECKING:
    from datetime import date

    from .build import SiteOutputs
    from .model.movement import Movement
    from .site.renderer import Renderer
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
        self.movements: dict[str, Movement] = {}
        self.preview = Preview() if serving else None
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
            return load_stage_model(self.inputs.model_path, shown_path(self.inputs.model_path, self.inputs.root))
        except StageModelError as exc:
            raise SessionError("the stage model cannot be used:\n" + format_problems(exc.problems)) from None

    def read(self, labels: Labels, paths: SitePaths) -> Project:
        """The deals read, checked and computed, once for every language of the build."""
        inputs = self.inputs
        assert inputs is not None
        self.cache = Cache(inputs.cache_dir)  # says once when it cannot be written
        preview = self.preview
        assert self.as_of is not None
        self.project = read_project(inputs.root, inputs.model_path, inputs.deals_dir, self.as_of, labels, self.cache,
                                    movement=inputs.history_pages, history_since=inputs.history_since,
                                    audience=inputs.audience, remembered=preview.deals_read if preview else None,
                                    views=preview.views if preview else None, movements=self.movements)
        self.errors = self.project.problems.errors if preview is not None else []
        if preview is not None:
            preview.deal_sources = {
                paths.deal_page(path.stem): shown_path(path, inputs.root)
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

    def outputs(self, labels: Labels, paths: SitePaths, repo_url: str, first: bool) -> tuple[SiteOutputs, Renderer]:
        """One language's generated files, from the pipeline read once."""
        assert self.inputs is not None and self.project is not None and self.project.pipeline is not None
        remembered = self.preview.remembered(labels.language) if self.preview is not None else None
        if remembered is not None and first:
            # The views' keys are the same in every language: worked out for the deals that changed, and those
            # of views gone dropped, once, by the first language.
            for view in self.project.pipeline.deals:
                remembered.view_key(view)
            remembered.forget_views_except(self.project.pipeline.deals)
        return site_outputs(self.project.pipeline, labels, paths, self.cache, repo_url=repo_url,
                            edit_branch=self.inputs.edit_branch, workbooks=self.inputs.workbooks,
                            first_language=first, remembered=remembered, compiled=self.compiled)

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

    def theme_partials(self) -> dict[str, str]:
        """The theme's partials the site replaces: the footer says whom the build is for; the language selector
        takes the links made for each page as they are."""
        names = ["copyright.html"] + (["alternate.html"] if self.languages.several else [])
        return {f"partials/{name}": (TEMPLATES / name).read_text(encoding="utf-8") for name in names}

    def finished_html(self, output: str, labels: Labels, page_src: str) -> str:
        """A page's HTML as the site publishes it: no alternate links in the head (see `_HEAD_ALTERNATE`), the
        banner of a `dealbook build --as-of` and, while serving with errors, the error panel."""
        if self.languages.several:
            head, end, body = output.partition("</head>")
            output = _HEAD_ALTERNATE.sub("", head) + end + body
        as_of_build = os.environ.get(AS_OF_ENV, "").split()
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

    def everything_changed(self, language: str) -> bool:
        """Whether a dirty rebuild of this language must redo every page: hand-written pages render the stage
        model, and every page shows the error panel while a deal is wrong."""
        if self.preview is None or self.inputs is None:
            return False
        model = b"\0".join(path.read_bytes() for path in model_files(self.inputs.model_path))
        digest = hashlib.sha256(model + b"\0" + "\n".join(str(p) for p in self.errors).encode()).hexdigest()
        if digest == self.preview.rebuilt_for.get(language):
            return False
        self.preview.rebuilt_for[language] = digest
        self.preview.digests.pop(language, None)
        return True

    def note_rebuild(self, language: str, changed: int, generated: int) -> None:
        log.info("dealbook: dirty rebuild: %d of %d generated pages changed%s", changed, generated,
                     f" ({language})" if self.languages.several else "")

    def built_before(self, language: str) -> dict[str, str]:
        """Each generated file's digest as the last rebuild of this language wrote it."""
        return self.preview.digests.get(language, {}) if self.preview is not None else {}

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

    def keep_search_entries(self, language: str, page_src: str, entries: list) -> None:
        assert self.preview is not None
        self.preview.search.setdefault(language, {})[page_src] = entries

    def search_entries(self, language: str, pages: list[str]) -> list:
        """The search index of a language's preview, as a clean build makes it: the entries of each page, in the
        order mkdocs builds them, as the page was last built (those of pages gone are dropped)."""
        assert self.preview is not None
        kept = self.preview.search.setdefault(language, {})
        for gone in kept.keys() - set(pages):
            del kept[gone]
        return [entry for src in pages for entry in kept.get(src, ())]

    def broken_deal_pages(self, labels: Labels, generated: dict) -> dict[str, str]:
        """While serving: a page at the URL of each deal left out for its errors, so that the page the rep
        is looking at shows the error panel instead of going stale (source → Markdown)."""
        if self.preview is None or not self.errors:
            return {}
        broken = {problem.path for problem in self.errors}
        pages = {}
        for src, shown in self.preview.deal_sources.items():
            if shown in broken and src not in generated:
                deal_id = Path(shown).stem  # a valid id: letters, digits and '-' only
                text = labels("serve_broken_deal", path=shown)
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
        write to site/ and .cache/. While serving, its dictionary (about a second to load) is loaded once."""
        if not any(catalog(code).get("search_segmenter") == "jieba" for code in self.languages.codes):
            return
        try:
            import jieba
        except ImportError:
            return
        assert self.inputs is not None
        folder = self.inputs.cache_dir
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

    def wait_for(self, run: WorkbookRun | None) -> None:
        if run is not None:
            try:
                run.wait()
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
        """A build failed: the site stays as it was; only the staging folder goes."""
        if self._publish is not None:
            self._publish.abandon()
            self._publish = None
        self._stop_counting()
        self.unlock()

    def log_summary(self, pages: int, written: int, reused: int, seconds: float) -> None:
        if self.project is None or self.project.pipeline is None:
            return
        pipeline = self.project.pipeline
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
