"""The mkdocs plugin: wires mkdocs' events to the process's `Session`, and nothing more.

It passes the options and mkdocs' URL rule to the session, sets the navigation, adds the generated
files, and raises the session's refusals as mkdocs' `PluginError`. A site in several languages is a
build of the first language at the root and, at its end, a build of each other one under `/<code>/`
in this same process, with the deals already read (`generator.site.languages` says what differs).
"""

from __future__ import annotations

import hashlib
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

from .session import Session, SessionError
from .site.languages import LanguageError
from .site.paths import site_nav
from .sources.stage_model import TOOLS
from .theme_files import list_theme_files_once


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


def _search(config: MkDocsConfig):
    return config.plugins.get("material/search") or config.plugins.get("search")


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

    def on_startup(self, *, command: str, dirty: bool) -> None:  # while serving, pages show a deal's errors
        self.session = Session(serving=command == "serve", dirty=dirty, logger=mkdocs.__name__)

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig | None:
        if not self.config.enabled:
            return None
        with _refused():
            if self.session is None:  # a build started without on_startup (the engine's build() called directly)
                self.session = Session(logger=mkdocs.__name__)
            if not self.session.nested:
                self.session.configure_plugin(self.config, config.config_file_path, config.theme.get("language"))
                self.session.user_nav = config.nav
                if self.config.languages:
                    self.session.in_language(config, _search(config))
            s = self.session
            list_theme_files_once(config.theme, s.inputs.root, s.theme_listing, s.compiled)
            s.for_language(lambda src: File(src, "", "", config.use_directory_urls).url)
            if s.user_nav is None:
                config.nav = site_nav(s.model(), s.paths, s.labels, TOOLS)
        return config

    def on_pre_build(self, *, config: MkDocsConfig) -> None:
        # Before mkdocs 1.6.1 empties site_dir (right after this event, `commands/build.py`): a build in the same
        # folder waits for this one, which builds into a staging folder (a live preview into a folder of its own).
        if self.config.enabled and not self.session.nested:
            self._config = config
            config.site_dir = self.session.begin(config.site_dir)

    def on_files(self, files: Files, /, *, config: MkDocsConfig) -> Files | None:
        if not self.config.enabled:
            return None
        started, s = time.perf_counter(), self.session
        self.finished, self.generated, self.renderer = {}, {}, None
        config.extra.pop("alternate", None)  # set per page (on_page_context); the 404 page, made first, has none
        drop, add = s.hand_written(list(files), Path(config.docs_dir))
        files = Files([f for f in files if f.src_uri not in drop]
                      + [File.generated(config, src, **made) for src, made in add.items()])
        with _refused():
            if not s.nested:  # deals are read, checked and their history read once, whatever the languages
                s.read()
            if s.project.pipeline is None:  # the stage model itself is broken: only the error panel can be shown
                return self._redo_hand_written(files, config)
            outputs, self.renderer = s.outputs(config.repo_url or "", Path(config.site_dir))
        self.finished = outputs.pages.finished
        files = self._redo_hand_written(files, config)  # first: when everything changed, nothing was built before
        pages = [_GeneratedFile.generated(config, src, content=content)
                 for src, content in {**outputs.pages.files,
                                      **s.broken_deal_pages(outputs.pages.files)}.items()]
        late = [_LateFile.generated(config, job.path, content=b"") for job in outputs.workbooks]
        for file in pages + late:
            if files.get_file_from_path(file.src_uri) is not None:
                raise PluginError(f"{file.src_uri}: a hand-written file has the path of a generated one; rename it")
            files.append(file)
        self.generated = {f.src_uri: f for f in pages + late}
        s.generated(pages, late, self.finished, config.use_directory_urls)
        s.seconds += time.perf_counter() - started
        return files

    def _redo_hand_written(self, files: Files, config: MkDocsConfig) -> Files:
        """In a dirty rebuild after the stage model or the errors changed: every hand-written page, in its place."""
        if not (self.session.dirty and self.session.everything_changed()):
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
        return self.session.themed(env, config.extra, files) if self.config.enabled else None

    def on_page_markdown(self, markdown: str, /, *, page: Page, config: MkDocsConfig, files: Files) -> str | None:
        if not self.config.enabled or self.renderer is None or page.file.src_uri in self.generated:
            return None
        with _refused():  # hand-written playbook pages take their numbers from the stage model
            return self.session.playbook_page(self.renderer, markdown, page.file.src_uri)

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
        if self.config.enabled:  # Material's language selector for this page; its search entries kept
            self.session.page_context(config.extra, page.url, page.file.src_uri, _search(config))
        return context

    @event_priority(50)  # before the search plugin writes this language's index
    def _search_index_in_order(self, *, config: MkDocsConfig) -> None:
        if self.config.enabled:
            self.session.index_in_order(_search(config))

    def on_post_page(self, output: str, /, *, page: Page, config: MkDocsConfig) -> str | None:
        if not self.config.enabled:
            return None
        if page.file.src_uri in self.finished:
            page.content = None  # written now: let the body go (see on_page_content)
        return self.session.finished_html(output, page.file.src_uri)

    # Last of all (after the search plugin wrote this language's index, and after Material's offline plugin, at
    # -100, turned it into a script): the other languages are built, and the site is swapped in.
    @event_priority(-1000)
    def _finish(self, *, config: MkDocsConfig) -> None:
        if not self.config.enabled:
            return
        s, started = self.session, time.perf_counter()
        s.built([f for f in self.generated.values() if isinstance(f, _GeneratedFile)])
        if self.session.nested:
            s.seconds += time.perf_counter() - started
            return
        with _refused():
            try:
                s.build_other_languages(config, _search(config), lambda: mkdocs_build(config, dirty=s.dirty))
                s.wait_for_workbooks()
                s.publish(config.strict)
            finally:
                config.site_dir = s.target  # plugins that run after this one, and mkdocs' last lines, see it so
                s.unlock()
        s.seconds += time.perf_counter() - started
        s.log_summary()

    on_post_build = CombinedEvent(_search_index_in_order, _finish)

    def on_build_error(self, *, error: Exception) -> None:
        if self.session is not None and not self.session.nested:
            self.session.abandon()
            if getattr(self, "_config", None) is not None:
                self._config.site_dir = self.session.target

    def on_shutdown(self) -> None:
        if self.session is not None:
            self.session.close()

    def on_serve(self, server, /, *, config: MkDocsConfig, builder):
        if self.config.enabled:
            self.session.serve(server)
        return server
