"""The mkdocs plugin: wires mkdocs' events to the process's `Session`, and nothing more.

It passes the options and mkdocs' URL rule to the session, sets the navigation, adds the generated
files, and raises the session's refusals as mkdocs' `PluginError`. A site in several languages is a
build of the first language at the root and, at its end, a build of each other one under `/<code>/`
in this same process, with the deals already read (`generator.site.languages` says what differs).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import jinja2
import mkdocs
from mkdocs.commands.build import build as mkdocs_build
from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, CombinedEvent, event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from .labels import Labels, use_project_catalogs
from .search_worker import mended_workers
from .session import Inputs, Session, SessionError
from .site.languages import SOURCE_LANGUAGE, LanguageError, SiteLanguages, overridden, translation_suffix
from .site.paths import SitePaths, site_nav
from .sources.language_files import catalog_folder
from .sources.project_files import entry_name
from .sources.stage_model import TOOLS
from .theme_files import list_theme_files_once
from .workbooks.run import WorkbookRun


class _GeneratedFile(File):
    """A generated file that, in a dirty rebuild (`dealbook serve`), is rebuilt only if its content changed."""

    built = ""  # the digest of what the last rebuild wrote at this path
    finished = ""  # for a finished page, the identity of its HTML (its Markdown is only a stub)

    def is_modified(self) -> bool:
        return self.built != self.digest

    @cached_property  # asked by mkdocs, by the dirty-rebuild count and at the end: the content is fixed
    def digest(self) -> str:
        return hashlib.sha256(self.content_bytes + self.finished.encode()).hexdigest()


class _Redone(File):
    """A hand-written page that a dirty rebuild redoes whatever its own file's time (the model changed)."""

    def is_modified(self) -> bool:
        return True


class _LateFile(File):
    """A workbook that mkdocs lists (so links to it are checked) but that `WorkbookRun` writes itself."""

    def copy_file(self, dirty: bool = False) -> None:
        pass


@contextmanager
def _refused() -> Iterator[None]:
    try:
        yield
    except (SessionError, LanguageError) as exc:
        raise PluginError(f"dealbook: {exc}" if isinstance(exc, LanguageError) else str(exc)) from None


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
    session: Session | None = None
    renderer = None
    finished: dict = {}  # noqa: RUF012 - replaced, never changed: this language's finished pages
    generated: dict = {}  # noqa: RUF012 - likewise: this language's generated files
    language = SOURCE_LANGUAGE
    _nested = False  # True while another language's site is being built

    def on_startup(self, *, command: str, dirty: bool) -> None:
        # While serving, a deal error must not stop the preview: pages show it instead.
        self.session = Session(serving=command == "serve", dirty=dirty, logger=mkdocs.__name__)

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig | None:
        if not self.config.enabled:
            return None
        with _refused():
            if not self._nested:
                if self.session is None:  # a build started without on_startup (the engine's build() called directly)
                    self.session = Session(logger=mkdocs.__name__)
                s, root = self.session, Path(config.config_file_path).parent if config.config_file_path else Path.cwd()
                model_path = Path(self.config.stage_model)
                use_project_catalogs(catalog_folder(model_path))  # a project's own languages (`dealbook language add`)
                s.languages = SiteLanguages.configured(self.config.languages, config.theme.get("language"),
                                                       self.config.per_language)
                self.language = s.languages.primary
                o = self.config
                s.configure(Inputs(root, model_path, Path(o.deals_dir), root / o.cache_dir, o.workbooks,
                                   o.history_pages, edit_branch=o.edit_branch),
                            config_name=Path(config.config_file_path or "mkdocs.yml").name,
                            history_since=self.config.history_since, audience=self.config.audience)
                self._user_nav = config.nav
                if self.config.languages:
                    self._set_language(config, self.language)
            s = self.session
            list_theme_files_once(config.theme, s.inputs.root, s.theme_listing, s.compiled)
            self.labels = Labels(self.language)
            prefix = s.languages.prefix(self.language)
            self.paths = SitePaths(lambda src: File(src, "", "", config.use_directory_urls).url,
                                   shared_root="../" * prefix.count("/"),
                                   workbook_language=self.language if prefix else "")
            if self._user_nav is None:
                config.nav = site_nav(s.model(), self.paths, self.labels, TOOLS)
        return config

    def _set_language(self, config: MkDocsConfig, language: str) -> dict[str, dict]:
        """What mkdocs.yml says differently in this language: set on the root build's config, returned for another."""
        values = self.session.languages.config_values(language, config.theme.get("palette"))
        if language == self.session.languages.primary:
            search = self._search(config)
            for mapping, name in ((config, "values"), (config.theme, "theme"), (search and search.config, "search")):
                for key, value in values[name].items() if mapping is not None else ():
                    mapping[key] = value
        return values

    def on_pre_build(self, *, config: MkDocsConfig) -> None:
        # Before mkdocs empties site/: a second build in the same folder waits for the first, and the site folder
        # is swapped for a staging folder (mkdocs 1.6.1's `commands/build.py` empties `site_dir` right after this
        # event, and no later event comes before it). A live preview builds into a folder of its own.
        if self.config.enabled and not self._nested:
            self._config = config
            config.site_dir = self.session.begin(config.site_dir)

    def on_files(self, files: Files, /, *, config: MkDocsConfig) -> Files | None:
        if not self.config.enabled:
            return None
        started, s = time.perf_counter(), self.session
        self.finished, self.generated, self.renderer, self._indexed = {}, {}, None, 0
        config.extra.pop("alternate", None)  # set per page (on_page_context); the 404 page, made first, has none
        self._pages_in_language(files, config)
        for src, source in mended_workers({f.src_uri: f.abs_src_path for f in files if f.abs_src_path}).items():
            files.remove(files.get_file_from_path(src))
            files.append(File.generated(config, src, content=source))
        for data in s.inputs.data_files():  # named as the entry: mkdocs publishes a linked team.yml under its name
            existing = files.get_file_from_path(entry_name(data, Path(config.docs_dir)))
            if existing is not None:
                files.remove(existing)
        with _refused():
            if not self._nested:  # deals are read, checked and their history read once, whatever the languages
                s.read(self.labels, self.paths)
                self.workbooks = WorkbookRun(s.cache, serving=s.preview.workbooks if s.preview else None) \
                    if self.config.workbooks else None
                self.pages_written, self.seconds = 0, 0.0
            if s.project.pipeline is None:  # the stage model itself is broken: only the error panel can be shown
                return self._in_order(self._redo_hand_written(files, config))
            outputs, self.renderer = s.outputs(self.labels, self.paths, config.repo_url or "", not self._nested)
        self.finished = outputs.pages.finished
        files = self._redo_hand_written(files, config)  # first: when everything changed, nothing was built before
        new_files = [_GeneratedFile.generated(config, src, content=content)
                     for src, content in {**outputs.pages.files,
                                          **s.broken_deal_pages(self.labels, outputs.pages.files)}.items()]
        built = s.built_before(self.language)
        for file in new_files:
            file.built = built.get(file.src_uri, "")
            if file.src_uri in self.finished:
                file.finished = self.finished[file.src_uri].identity
        if s.dirty:
            s.note_rebuild(self.language, sum(f.is_modified() for f in new_files), len(new_files))
        new_files += [_LateFile.generated(config, job.path, content=b"") for job in outputs.workbooks]
        for file in new_files:
            if files.get_file_from_path(file.src_uri) is not None:
                raise PluginError(f"{file.src_uri}: a hand-written file has the path of a generated one; rename it")
            files.append(file)
        self.generated = {f.src_uri: f for f in new_files}
        if s.preview is not None:
            s.take_off_what_is_gone(self.language, {f.src_uri: (f.abs_dest_path, f.url) for f in new_files},
                                    config.use_directory_urls)
        self.pages_written += sum(src.endswith(".md") for src in outputs.pages.files)
        if self.workbooks is not None and outputs.workbooks:  # into this language's folder, which mkdocs emptied
            self.workbooks.start(outputs.workbooks, Path(config.site_dir),
                                 "workbooks" if not self._nested else f"workbooks-{self.language}")
        self.seconds += time.perf_counter() - started
        return self._in_order(files)

    def _in_order(self, files: Files) -> Files:
        self._pages = [f.src_uri for f in files.documentation_pages()]  # as mkdocs builds them (the search order)
        return files

    def _pages_in_language(self, files: Files, config: MkDocsConfig) -> None:
        """The hand-written pages in this build's language: `X.<code>.md` published as `X.md` (a page with no
        translation is published in English, with a warning: the site promises every page in every language)."""
        translations = {f.src_uri: f for f in files if translation_suffix(f.src_uri)}
        for file in translations.values():
            files.remove(file)
        for src, twin in self.session.translated(files.documentation_pages(), translations, self.language).items():
            files.remove(files.get_file_from_path(src))
            files.append(File.generated(config, src, abs_src_path=twin))

    def _redo_hand_written(self, files: Files, config: MkDocsConfig) -> Files:
        """In a dirty rebuild after the stage model or the errors changed: every hand-written page, in its place."""
        if not (self.session.dirty and self.session.everything_changed(self.language)):
            return files
        return Files([f if not f.is_documentation_page() else
                      _Redone.generated(config, f.src_uri, abs_src_path=f.abs_src_path) if f.generated_by else
                      _Redone(f.src_uri, f.src_dir, f.dest_dir, f.use_directory_urls) for f in files])

    def on_nav(self, nav, /, *, config: MkDocsConfig, files: Files):
        # mkdocs 1.6.1 reads no unchanged page in a dirty rebuild (`commands/build.py`, `_populate_page`), and the
        # navigation names such a page None: the pages it lists are read, as a clean build reads them.
        if self.config.enabled and self.session.dirty:
            for page in [p for p in nav.pages if p.markdown is None]:
                page.read_source(config)
        return nav

    def on_env(self, env: jinja2.Environment, /, *, config: MkDocsConfig, files: Files) -> jinja2.Environment | None:
        if not self.config.enabled:
            return None
        config.extra["dealbook_audience"] = self.labels("audience_footer", audience=self.session.inputs.audience)
        env.loader = jinja2.ChoiceLoader([jinja2.DictLoader(self.session.theme_partials()), env.loader])
        return env

    def on_page_markdown(self, markdown: str, /, *, page: Page, config: MkDocsConfig, files: Files) -> str | None:
        if not self.config.enabled or self.renderer is None or page.file.src_uri in self.generated:
            return None
        try:  # hand-written playbook pages take their numbers from the stage model
            return self.renderer.render_playbook_page(markdown, page.file.src_uri)
        except Exception as exc:  # a template mistake in a page: say where, not a traceback
            raise PluginError(f"{page.file.src_uri}: cannot render the page's stage-model macros: {exc}") from None

    def on_page_content(self, html: str, /, *, page: Page, config: MkDocsConfig, files: Files) -> str | None:
        # Until the theme renders it, a finished page is its search entry: mkdocs keeps every page's content to
        # the end of the build, and a deal page's body is fetched only when it is written.
        finished = self.finished.get(page.file.src_uri) if self.config.enabled else None
        return finished.search if finished is not None else None

    @event_priority(-100)  # after the search plugin indexed the entry: the theme renders the page itself
    def on_page_context(self, context, /, *, page: Page, config: MkDocsConfig, nav):
        finished = self.finished.get(page.file.src_uri) if self.config.enabled else None
        if finished is not None:
            page.content = finished.html
        if self.config.enabled and self.session.languages.several:  # Material's selector: this page in each
            config.extra["alternate"] = self.session.languages.alternates(page.url, self.language)
        index = self._index(config)
        if index is not None:  # the entries the search plugin just made for this page, kept for the next rebuild
            self.session.keep_search_entries(self.language, page.file.src_uri, index.entries[self._indexed:])
            self._indexed = len(index.entries)
        return context

    def _index(self, config: MkDocsConfig):
        search = self._search(config)
        return search.search_index if self.config.enabled and self.session.preview and search else None

    @event_priority(50)  # before the search plugin writes this language's index
    def _search_index_in_order(self, *, config: MkDocsConfig) -> None:
        # No public hook in Material 9.8.2: in a dirty rebuild its search plugin merges the pages rebuilt into its
        # last index by the URL of the first of them alone (`generate_search_index`), so the entries of every other
        # page rebuilt come twice. The index is set here as a clean build makes it, each page's entries as last
        # made, and no last index is left to merge.
        if self._index(config) is not None:
            self._index(config).entries = self.session.search_entries(self.language, self._pages)
            self._search(config).search_index_prev = None

    def on_post_page(self, output: str, /, *, page: Page, config: MkDocsConfig) -> str | None:
        if not self.config.enabled:
            return None
        if page.file.src_uri in self.finished:
            page.content = None  # written now: let the body go (see on_page_content)
        return self.session.finished_html(output, self.labels, page.file.src_uri)

    # Last of all (after the search plugin wrote this language's index, and after Material's offline plugin, at
    # -100, turned it into a script): the other languages are built, and the site is swapped in.
    @event_priority(-1000)
    def _finish(self, *, config: MkDocsConfig) -> None:
        if not self.config.enabled:
            return
        s, started = self.session, time.perf_counter()
        if s.preview is not None:
            s.preview.digests[self.language] = {src: f.digest for src, f in self.generated.items()
                                                if isinstance(f, _GeneratedFile)}
        if self._nested:
            self.seconds += time.perf_counter() - started
            return
        with _refused():
            try:
                for language in s.languages.others:
                    self._build_language(config, language)
                s.wait_for(self.workbooks)
                s.publish(config.strict)
            finally:
                config.site_dir = s.target  # plugins that run after this one, and mkdocs' last lines, see it so
                s.unlock()
        self.seconds += time.perf_counter() - started
        run = self.workbooks
        s.log_summary(self.pages_written, run.written if run else 0, run.reused if run else 0, self.seconds)

    def _build_language(self, config: MkDocsConfig, language: str) -> None:
        """Build the site of another language under `/<code>/`, with this build's deals and workbook run: mkdocs
        runs every plugin again on the same configuration, with this language's values in place for that build."""
        values = self._set_language(config, language)
        values["values"].update(site_dir=os.path.join(config.site_dir, language), nav=self._user_nav)
        if config.site_url:
            values["values"]["site_url"] = config.site_url.rstrip("/") + f"/{language}/"
        search = self._search(config)
        with overridden(config, **values["values"]), overridden(config.theme, **values["theme"]), \
                overridden(search.config if search is not None else {}, **values["search"]):
            primary, self.language, self._nested = self.language, language, True
            try:
                mkdocs_build(config, dirty=self.session.dirty)
            finally:
                self.language, self._nested = primary, False

    @staticmethod
    def _search(config: MkDocsConfig):
        return config.plugins.get("material/search") or config.plugins.get("search")

    on_post_build = CombinedEvent(_search_index_in_order, _finish)

    def on_build_error(self, *, error: Exception) -> None:
        if getattr(self, "workbooks", None) is not None:
            self.workbooks.cancel()
        if self.session is not None and not self._nested:
            self.session.abandon()
            if getattr(self, "_config", None) is not None:
                self._config.site_dir = self.session.target

    def on_shutdown(self) -> None:
        if self.session is not None:
            self.session.close()

    def on_serve(self, server, /, *, config: MkDocsConfig, builder):
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
        if self.config.enabled:
            for path in self.session.watched():
                server.watch(str(path))
        return server
