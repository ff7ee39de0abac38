"""`dealbook export DIR`: the site of one language as a plain docs project that any engine can build.

Dealbook is an mkdocs 1.x plugin; an engine that runs no third-party plugin (Zensical, mkdocs 2) can still
build what it makes once the making is done. The export runs the core without mkdocs (`build.read_project`,
`site.pages.generated_pages`, the renderer for the hand-written pages, the workbook jobs) and writes:

- `docs/`: every generated page as Markdown whose body is its finished HTML (a raw HTML block, which
  Python-Markdown passes through as it is), the hand-written pages with the stage model already rendered
  into them (no Jinja left), the assets, the JSON files and the workbooks;
- `overrides/`: the theme partial that names the audience in every page's footer, and Material's search
  worker with its cutting of Chinese queries mended (what the plugin does at build time);
- `mkdocs.yml`: the project's configuration without the dealbook plugin, its navigation written out.

One language per project, at the project's root (`languages: [zh]` alone would publish the same site).
A failed export leaves DIR as it was: everything is written into a staging folder beside it, renamed
into place at the end.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import yaml

from .build import as_of_date, read_project, team_path
from .cache import Cache
from .diagnostics import format_problems
from .labels import Labels, catalog, use_project_catalogs
from .site.finished import PLACEHOLDER
from .site.languages import (
    SOURCE_LANGUAGE,
    LanguageError,
    SiteLanguages,
    localized_palette,
    translation_of,
    translation_suffix,
)
from .site.paths import SitePaths, default_url_of, site_nav
from .sources.audiences import AUDIENCE_ENV, refusal
from .sources.audiences import DEFAULT as DEFAULT_AUDIENCE
from .sources.language_files import catalog_files, catalog_folder
from .sources.stage_model import TOOLS, StageModelError, load_stage_model, model_files

# Written into every export: DIR is replaced only when it is empty or holds a previous export, never a
# folder of something else (`dealbook export .` must not replace the project it exports).
MARKER = ".dealbook-export"
OVERRIDES = "overrides"
DOCS = "docs"
# mkdocs' front matter: a YAML block between --- lines at the very start of the file.
_FRONT_MATTER = re.compile(r"\A(-{3}[ \t]*\n.*?\n(?:\.{3}|-{3})[ \t]*\n)", re.DOTALL)


class ExportError(Exception):
    """What stops an export, as the lines a reader sees (no traceback)."""


@dataclass
class Exported:
    folder: Path
    language: str
    pages: int  # Markdown pages, generated and hand-written
    workbooks: int


class _Unpruned(Cache):
    """The project's cache, read and added to, never pruned: an export's pages are those of another site
    (one language at the root), and pruning after them would drop the build's own entries."""

    def prune(self, kind: str, keep: set[str]) -> None:
        return None


def _lenient_yaml(text: str) -> Any:
    class Lenient(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # mkdocs' own tags (!ENV, !!python/name:…)
        pass

    Lenient.add_multi_constructor("", lambda loader, suffix, node: None)
    return yaml.load(text, Loader=Lenient)  # noqa: S506 - a safe loader


def _plugin_entries(plugins: Any) -> list[tuple[str, Any]]:
    if isinstance(plugins, dict):
        return list(plugins.items())
    out: list[tuple[str, Any]] = []
    for entry in plugins or []:
        if isinstance(entry, str):
            out.append((entry, {}))
        elif isinstance(entry, dict) and len(entry) == 1:
            out.append(next(iter(entry.items())))
    return out


def export(target: Path, config_file: Path = Path("mkdocs.yml"), language: str | None = None) -> Exported:
    """Write the plain project of `language` (default: the site's first) into `target`."""
    root = config_file.resolve().parent
    try:
        config = _lenient_yaml(config_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ExportError(f"{config_file}: error: cannot be read ({exc.strerror or exc})") from None
    except (UnicodeError, yaml.YAMLError) as exc:
        raise ExportError(f"{config_file}: error: cannot be read ({' '.join(str(exc).split())})") from None
    if not isinstance(config, dict):
        raise ExportError(f"{config_file}: error: not an mkdocs configuration")
    plugins = _plugin_entries(config.get("plugins"))
    options = next((opts or {} for name, opts in plugins if name == "dealbook"), None)
    if not isinstance(options, dict):
        raise ExportError(f"{config_file}: error: plugins: dealbook is not configured (nothing to export)")
    model_path = root / options.get("stage_model", "playbook/playbook.yml")
    deals_dir = root / options.get("deals_dir", "deals")
    docs_dir = root / config.get("docs_dir", "docs")
    target = target.absolute()
    _check_target(target, root, (docs_dir, deals_dir))
    use_project_catalogs(catalog_folder(model_path))
    theme = dict(config.get("theme") or {}) if isinstance(config.get("theme"), dict) else {"name": config.get("theme")}
    try:
        languages = SiteLanguages.configured(list(options.get("languages") or []), theme.get("language"),
                                             options.get("per_language") or {})
    except LanguageError as exc:
        raise ExportError(f"{config_file}: error: {exc}") from None
    language = language or languages.primary
    if language not in languages.codes:
        raise ExportError(f"error: --lang: '{language}' is not a language of this site "
                          f"(one of {', '.join(languages.codes)})")
    labels = Labels(language)
    try:
        model = load_stage_model(model_path, str(model_path.relative_to(root)) if model_path.is_relative_to(root)
                                 else str(model_path))
    except StageModelError as exc:
        raise ExportError(format_problems(exc.problems)) from None
    audience = os.environ.get(AUDIENCE_ENV, "").strip() or str(options.get("audience") or "") or DEFAULT_AUDIENCE
    why = refusal(model, audience)
    if why is not None:
        raise ExportError(f"error: audience: {labels.word(why[0].code, why[0].params)} "
                          f"({labels.word(why[1].code, why[1].params)})")
    from .sources.deal_versions import since_problem, since_stamp

    problem = since_problem(config_file, options.get("history_since"))
    if problem:
        raise ExportError(problem)
    try:
        as_of = as_of_date()
    except ValueError as exc:
        raise ExportError(labels.error_text(exc)) from None

    cache = _Unpruned(root / str(options.get("cache_dir", ".cache")))
    history_pages = bool(options.get("history_pages", True))
    project = read_project(root, model_path, deals_dir, as_of, labels, cache, movement=history_pages,
                           history_since=since_stamp(options.get("history_since")), audience=audience)
    if project.pipeline is None or project.problems.errors:
        raise ExportError(f"{len(project.problems.errors)} problem(s) in the deal files or the stage model:\n"
                          + format_problems(project.problems.errors))
    pipeline = project.pipeline

    # Imported here, as build.site_outputs does: Jinja, Markdown and the workbook writer.
    from .site.pages import generated_pages
    from .site.renderer import Renderer
    from .workbooks.jobs import plan_workbooks
    from .workbooks.run import WorkbookRun

    directory_urls = bool(config.get("use_directory_urls", True))
    paths = SitePaths(default_url_of(directory_urls))
    with_workbooks = bool(options.get("workbooks", True))
    renderer = Renderer(pipeline.model, labels, paths, str(config.get("repo_url") or ""),
                        str(options.get("edit_branch", "main")), with_workbooks)
    # The cache kinds of the build's language sites: an export right after a build reads its pages.
    kind = "pages" if language == languages.primary else f"pages-{language}"
    pages = generated_pages(pipeline, renderer, cache, kind=kind, with_site_json=True)

    staging = target.parent / f".{target.name}.export-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        docs = staging / DOCS
        docs.mkdir(parents=True)
        written = _hand_written(docs_dir, docs, model_path, renderer, language, set(pages.files))
        deal_pages = {paths.deal_page(view.id) for view in pipeline.deals}
        for src, content in pages.files.items():
            finished = pages.finished.get(src)
            if finished is not None:  # its Markdown is a stub: the front matter and a placeholder
                content = finished.markdown.replace(PLACEHOLDER, finished.html.strip() + "\n")
            if src.endswith(".md") and src not in deal_pages and (
                    finished is not None or src in (paths.changes_page, paths.insights_page)):
                content = _unsearched(content)
            _write(docs / src, content)
            written += src.endswith(".md")
        jobs = plan_workbooks(pipeline, labels, paths, cache, repr) if with_workbooks else []
        if jobs:
            run = WorkbookRun(cache).start(jobs, docs, "workbooks" if language == languages.primary
                                           else f"workbooks-{language}")
            run.wait()
        _overrides(staging / OVERRIDES, theme, root)
        nav = config.get("nav") or site_nav(pipeline.model, paths, labels, TOOLS)
        _write(staging / "mkdocs.yml", _config_text(config, plugins, theme, languages, language, labels, nav,
                                                    audience))
        _write(staging / MARKER, f"dealbook export of {config_file.name}, language {language}\n")
        _swap(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Exported(target, language, written, len(jobs))


def _unsearched(page: str) -> str:
    """A page that lists deals (dashboard, board, owner, forecast-call and history pages) left out of search.

    The plugin gives search no more than their titles (and an owner's deal titles), where an engine would
    index all of each: at 1,000 deals a section of the dashboard holds more text than Zensical 0.0.73 takes
    in one search field (64 KiB), and it stops the build. Each deal they list is found by its own page.
    """
    if not page.startswith("---\n") or "\nsearch:" in page.split("\n---\n", 1)[0]:
        return page
    return page.replace("\n---\n", '\nsearch: {"exclude": true}\n---\n', 1)


def _check_target(target: Path, root: Path, sources: tuple[Path, ...]) -> None:
    if target.exists() and not target.is_dir():
        raise ExportError(f"{target}: error: not a folder")
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).is_file():
        raise ExportError(f"{target}: error: the folder is not empty and holds no earlier export "
                          f"(name a new or empty folder)")
    if root.is_relative_to(target):
        raise ExportError(f"{target}: error: the folder holds the project itself (name a folder outside it)")
    for source in sources:  # an export in the docs folder would be published by the next build, and read by this one
        if target.resolve().is_relative_to(source.resolve()):
            raise ExportError(f"{target}: error: the folder is inside {source.name}/, which the site is made from "
                              f"(name a folder outside it)")
    if not target.parent.is_dir():
        raise ExportError(f"{target.parent}: error: no such folder")


def _write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)


def _hand_written(docs_dir: Path, docs: Path, model_path: Path, renderer: Any, language: str,
                  generated: set[str]) -> int:
    """Copy the docs folder, the stage model's files and the team and calls files left out (data, not pages),
    each page in `language` (its `X.<code>.md` twin, as the plugin publishes it) and rendered from the model."""
    data = {p.resolve() for p in (*model_files(model_path), team_path(model_path), *catalog_files(model_path),
                                  model_path.parent / "calls.yml")}
    pages = 0
    for path in sorted(docs_dir.rglob("*")):
        if not path.is_file() or path.resolve() in data:
            continue
        src = path.relative_to(docs_dir).as_posix()
        if translation_suffix(src) or src in generated:
            continue
        if not src.endswith(".md"):
            _write(docs / src, path.read_bytes())
            continue
        twin = docs_dir / translation_of(src, language)
        source = twin if language != SOURCE_LANGUAGE and twin.is_file() else path
        text = source.read_text(encoding="utf-8-sig")
        head = _FRONT_MATTER.match(text)
        meta, body = (head.group(1), text[head.end():]) if head else ("", text)
        try:
            body = renderer.render_playbook_page(body, src)
        except Exception as exc:  # a template mistake in a page: say where, not a traceback
            raise ExportError(f"{source}: error: cannot render the page's stage-model macros: {exc}") from None
        _write(docs / src, meta + body)
        pages += 1
    return pages


def _overrides(folder: Path, theme: dict, root: Path) -> None:
    """The theme's custom_dir, if the project has one, and on top of it what the plugin does to the theme."""
    custom = theme.get("custom_dir")
    if custom and (root / custom).is_dir():
        shutil.copytree(root / custom, folder, dirs_exist_ok=True)
    templates = Path(__file__).parent / "site" / "templates"
    _write(folder / "partials" / "copyright.html", (templates / "copyright.html").read_text(encoding="utf-8"))
    from .search_worker import WORKER_FOLDER, is_search_worker, mended_worker

    try:
        import material
    except ImportError:  # no Material here: the engine's own search worker is used as it is
        return
    workers = Path(material.__file__).parent / "templates" / WORKER_FOLDER
    for worker in sorted(workers.glob("*.js")) if workers.is_dir() else []:
        source = mended_worker(worker) if is_search_worker(WORKER_FOLDER + worker.name) else None
        if source is not None:
            _write(folder / WORKER_FOLDER / worker.name, source)


def _config_text(config: dict, plugins: list[tuple[str, Any]], theme: dict, languages: SiteLanguages,
                 language: str, labels: Labels, nav: list, audience: str) -> str:
    out: dict[str, Any] = {}
    settings = languages.settings(language)
    for key, value in config.items():
        if key in ("plugins", "nav", "docs_dir", "site_dir", "hooks"):
            continue
        out[key] = value
    for key in ("site_name", "site_description", "copyright"):
        if key in settings:
            out[key] = settings[key]
    out["docs_dir"] = DOCS
    out["site_dir"] = "site"
    # `variant: classic`: Zensical draws the site as Material does (the plugin site's look, its own "modern"
    # otherwise); mkdocs hands the key to Material, which does not read it.
    theme = {**theme, "language": language, "custom_dir": OVERRIDES, "variant": theme.get("variant", "classic")}
    if "palette_toggle_names" in settings:
        theme["palette"] = localized_palette(theme.get("palette"), settings["palette_toggle_names"])
    out["theme"] = theme
    out["extra"] = {**(config.get("extra") or {}), "dealbook_audience": labels("audience_footer", audience=audience)}
    kept: list[Any] = []
    for name, opts in plugins:
        if name == "dealbook":
            continue
        if name in ("search", "material/search"):
            opts = dict(opts or {})
            if catalog(language).get("search_lang"):
                opts["lang"] = catalog(language)["search_lang"]
        kept.append({name: opts} if opts else name)
    out["plugins"] = kept
    out["nav"] = nav
    head = ("# Written by `dealbook export`: the site in one language, every page already made. It builds with\n"
            "# plain mkdocs (Material) or Zensical; no dealbook plugin is needed.\n")
    return head + yaml.dump(out, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120)


class _Dumper(yaml.SafeDumper):
    """Block scalars stay block scalars (`exclude_docs: |`), as a reader wrote them."""


_Dumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))


def _swap(staging: Path, target: Path) -> None:
    """The staging folder becomes `target`; an earlier export there is removed only after."""
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        os.rename(target, old)
    try:
        os.rename(staging, target)
    except OSError:
        if old is not None:
            os.rename(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@click.command(name="export")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--lang", "language", metavar="CODE",
              help="The language of the site to export (one project per language). Default: the site's first.")
@click.option("-f", "--config-file", "config_file", type=click.Path(path_type=Path), default=Path("mkdocs.yml"),
              show_default=True, help="The project's mkdocs configuration.")
def export_command(folder: Path, language: str | None, config_file: Path) -> None:
    """Write the site as a plain docs project into FOLDER: every page already made, the assets, the JSON
    files and the workbooks, and an mkdocs.yml that builds it without the dealbook plugin (plain mkdocs with
    Material, or Zensical). FOLDER is replaced only when the whole export succeeded."""
    try:
        done = export(folder, config_file, language)
    except ExportError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    except OSError as exc:
        click.echo(f"{exc.filename or folder}: error: {exc.strerror or exc}", err=True)
        sys.exit(1)
    click.echo(f"{done.folder}: {done.pages} pages and {done.workbooks} workbooks in {done.language} "
               f"(build it with: mkdocs build -f {done.folder / 'mkdocs.yml'})")
