"""The `dealbook` command: check, schema, new, call, import, build, serve. Argument handling only."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import click

from .build import DEFAULT_CACHE, DEFAULT_DEALS, DEFAULT_MODEL, as_of_date, check_files, read_project
from .cache import Cache
from .diagnostics import Worded, WordedError, command_name, format_problems, worded
from .labels import DEFAULT_LANGUAGE, Labels, languages, primary_subtag, use_project_catalogs
from .site.paths import SitePaths
from .sources.audiences import AUDIENCE_ENV, refusal
from .sources.deal_files import DEAL_SUFFIXES, deal_files, stray_entries, suggested_id
from .sources.deal_format import ID_PATTERN, json_schema
from .sources.language_files import catalog_folder
from .sources.skeleton import skeleton
from .sources.stage_model import StageModelError, load_stage_model

LANGUAGE_ENV = "DEALBOOK_LANG"  # the language a rep reads, for every command with --lang (make check, the hook)


class UsageError(click.UsageError):
    """Wrong usage, in the language of the command's messages: `text` is a catalog code and its values."""

    exit_code = 2

    def __init__(self, text: Worded):
        super().__init__(str(text))
        self.worded = text

    def show(self, file=None) -> None:
        # click's own frame ("Usage: … Try … Error: …") is English: this one is the reader's.
        context = self.ctx or click.get_current_context(silent=True)
        language = context.params.get("language") if context is not None else None
        labels = Labels(language or default_language())  # a command without --lang: the default language
        click.echo(labels.word("cli_error", (("message", self.worded),)), err=True, file=file)
        if context is not None:
            click.echo(labels.word("cli_help", (("command", context.command_path),)), err=True, file=file)


def site_language(config: Path = Path("mkdocs.yml")) -> str | None:
    """The first language of the site configured in `config` (the dealbook plugin's `languages:`, else the
    theme's `language:`), read as plain YAML: a full mkdocs config load takes far longer than `check`
    itself. None when the file or the setting is missing, or it cannot be read."""
    import yaml

    class Lenient(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # mkdocs' own tags (!ENV, !!python/name:…)
        pass

    Lenient.add_multi_constructor("", lambda loader, suffix, node: None)
    try:
        data = yaml.load(config.read_text(encoding="utf-8"), Loader=Lenient)  # noqa: S506 - a safe loader
    except (OSError, UnicodeError, yaml.YAMLError):
        return None
    if not isinstance(data, dict):
        return None
    plugins = data.get("plugins")
    entries = plugins.items() if isinstance(plugins, dict) else \
        [next(iter(p.items())) for p in plugins or [] if isinstance(p, dict) and len(p) == 1] \
        if isinstance(plugins, list) else []
    for name, options in entries:
        languages = options.get("languages") if name == "dealbook" and isinstance(options, dict) else None
        if isinstance(languages, list) and languages:
            return str(languages[0])
    theme = data.get("theme")
    language = theme.get("language") if isinstance(theme, dict) else None
    return str(language) if language else None


def default_language() -> str:
    """The language of a command's messages without --lang: DEALBOOK_LANG when it names a language with a
    catalog (zh_CN.UTF-8 → zh), else the site's first language, else the default."""
    for wanted in (os.environ.get(LANGUAGE_ENV), site_language()):
        code = primary_subtag(wanted)
        if code in languages():
            return code
    return DEFAULT_LANGUAGE


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dealbook")
def main() -> None:
    """Dealbook: the key-account sales playbook and the team's deals."""


def _project_languages() -> tuple[str, ...]:
    """The languages of the project run from here: the package's catalogs and the project's own (written by
    `dealbook language add` beside the default stage model), so that `--lang de` works once `de` is added."""
    folder = catalog_folder(Path(DEFAULT_MODEL))
    if folder.is_dir():
        use_project_catalogs(folder)
    return languages()


def _language_option(command):
    return click.option("--lang", "language", type=click.Choice(_project_languages(), case_sensitive=False),
                        default=default_language, show_default=f"{LANGUAGE_ENV}, else the site's first language",
                        help="The language of the messages; file positions, field names and values "
                             "stay as they are.")(command)


def _as_of() -> object:
    try:
        return as_of_date()
    except ValueError as exc:
        # In the language of the command's messages, where it has --lang.
        context = click.get_current_context(silent=True)
        language = context.params.get("language") if context is not None else None
        labels = Labels(language or default_language())
        click.echo(labels.word("cli_error", (("message", labels.error_text(exc)),)), err=True)  # one line, no usage
        sys.exit(2)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "style", type=click.Choice(["text", "json", "github"]), default="text",
              help="text (editor-clickable lines), json, or github (Actions annotations).")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option("--model", "model_path", type=click.Path(path_type=Path), default=DEFAULT_MODEL, show_default=True,
              help="The stage model file.")
@click.option("--deals", "deals_dir", type=click.Path(path_type=Path), default=DEFAULT_DEALS, show_default=True,
              help="The folder of deal files.")
@_language_option
def check(paths: tuple[Path, ...], style: str, strict: bool, model_path: Path, deals_dir: Path, language: str) -> None:
    """Validate deal files (default: every deal in deals/) and the stage model.

    Exits 0 when there is no error, 1 when there is any, 2 on wrong usage.
    """
    if not model_path.is_file():
        raise UsageError(worded("cli_no_model", path=model_path))
    files: list[Path] | None = None
    folders: list[Path] = []  # given as arguments: what else sits in them is reported as with no arguments
    if paths:
        files = []
        for path in paths:
            # A folder named like a deal file is taken as a (wrong) deal file, so it is reported, not listed.
            if path.suffix not in DEAL_SUFFIXES and os.path.isdir(path):
                files.extend(deal_files(path))
                folders.append(path)
            elif os.path.lexists(path):
                # Whatever it is (FIFO, folder, broken link, …): the loader says what is wrong, without opening it.
                files.append(path)
            else:
                raise UsageError(worded("cli_no_such_path", path=path))
    elif not deals_dir.is_dir():
        raise UsageError(worded("cli_no_deals_folder", path=deals_dir))
    labels = Labels(language)
    project = read_project(Path.cwd(), model_path, deals_dir, _as_of(), labels, Cache(Path.cwd() / DEFAULT_CACHE),
                           files, history="latest")
    pipeline, problems = project.pipeline, list(project.problems)
    for folder in folders:
        problems.extend(stray_entries(folder, Path.cwd()))
    if files is None:  # what the other languages leave untranslated: one warning per file
        from .sources.language_files import untranslated

        problems.extend(untranslated(model_path, Path.cwd(), project.model))
    if strict:
        problems = [p.promoted() for p in problems]
    # Worded here, in the reader's language; a command to run is named as the reader can run it from here.
    text = format_problems(problems, style, labels.with_model(project.model), command_name())
    if text:
        click.echo(text)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if style == "text":
        sys.stdout.flush()  # the notes and the summary go to stderr, after the problems
        if pipeline and pipeline.history_note:
            note = labels("history_note_log", reason=labels(pipeline.history_note))
            click.echo(labels("check_note", text=note), err=True)
        checked = len(files) if files is not None else len(deal_files(deals_dir))
        click.echo(labels("check_summary", checked=checked, errors=errors, warnings=warnings), err=True)
    sys.exit(1 if errors else 0)


def _load_model(model_path: Path, labels: Labels | None = None):
    try:
        return load_stage_model(model_path, str(model_path))
    except StageModelError as exc:
        click.echo(format_problems(exc.problems, labels=labels, command=command_name()), err=True)
        sys.exit(1)
    except FileNotFoundError:
        raise UsageError(worded("cli_no_model", path=model_path)) from None


@main.command()
@click.option("--model", "model_path", type=click.Path(path_type=Path), default=DEFAULT_MODEL, show_default=True)
def schema(model_path: Path) -> None:
    """Print the JSON Schema of a deal file."""
    click.echo(json.dumps(json_schema(_load_model(model_path), Labels("en")), ensure_ascii=False, indent=2))


@main.command()
@click.argument("deal_id")
@click.option("--deals", "deals_dir", type=click.Path(path_type=Path), default=DEFAULT_DEALS, show_default=True)
@click.option("--model", "model_path", type=click.Path(path_type=Path), default=DEFAULT_MODEL, show_default=True)
@_language_option
def new(deal_id: str, deals_dir: Path, model_path: Path, language: str) -> None:
    """Write a commented skeleton deal to deals/<DEAL_ID>.yml."""
    labels = Labels(language)
    if not re.fullmatch(ID_PATTERN, deal_id):
        raise UsageError(worded("new_bad_id", id=deal_id, example=suggested_id(deal_id)))
    model = _load_model(model_path, labels)
    # `check` refuses these (the deal's page or workbook would replace a generated one): so does `new`.
    if deal_id in SitePaths().reserved_ids(model):
        raise UsageError(worded("new_reserved", id=deal_id, example=_free_id(f"{deal_id}-deal", deals_dir)))
    target = deals_dir / f"{deal_id}.yml"
    if target.exists() or (deals_dir / f"{deal_id}.yaml").exists():
        raise UsageError(worded("new_exists", target=target))
    deals_dir.mkdir(parents=True, exist_ok=True)
    target.write_text(skeleton(model, _as_of(), labels), encoding="utf-8")
    click.echo(labels("new_written", target=target, command=command_name()))


def _free_id(wanted: str, deals_dir: Path) -> str:
    """`wanted`, or `wanted-2`, `-3`…: the first id no deal file uses yet."""
    n, candidate = 1, wanted
    while any((deals_dir / f"{candidate}{suffix}").exists() for suffix in DEAL_SUFFIXES):
        n += 1
        candidate = f"{wanted}-{n}"
    return candidate


@main.command()
@click.argument("owner")
@click.argument("period")
@click.option("--commit", "commit_amount", type=float, required=True,
              help="What the owner is sure to win in the period, in the reporting currency.")
@click.option("--best-case", "best_case", type=float, required=True,
              help="Commit and what could still come in, in the reporting currency.")
@click.option("--note", default="", help="Why the call moved.")
@click.option("--model", "model_path", type=click.Path(path_type=Path), default=DEFAULT_MODEL, show_default=True)
@_language_option
def call(owner: str, period: str, commit_amount: float, best_case: float, note: str, model_path: Path,
         language: str) -> None:
    """Record a forecast call, dated today, in calls.yml beside the stage model: OWNER is a member of
    the team file, or `team` for the manager's call of the whole team; PERIOD is a quarter (2027-Q1)."""
    from .build import CALLS_FILE, team_path
    from .diagnostics import Problems
    from .sources.calls import record_call
    from .sources.team import load_team

    labels = Labels(language)
    model = _load_model(model_path, labels)
    problems = Problems()
    team = load_team(team_path(model_path), Path.cwd(), model, problems)
    calls_file = model_path.parent / CALLS_FILE
    if not problems.errors:
        problems = record_call(calls_file, Path.cwd(), model, team, _as_of(), owner, period, commit_amount,
                               best_case, note)
    if problems.errors:
        click.echo(format_problems(problems, labels=labels, command=command_name()), err=True)
        sys.exit(1)
    click.echo(labels("call_written", path=calls_file, owner=owner, period=period))


@main.command(name="import")
@click.argument("workbooks", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print what would change; write nothing.")
@click.option("--deals", "deals_dir", type=click.Path(path_type=Path), default=DEFAULT_DEALS, show_default=True)
@click.option("--model", "model_path", type=click.Path(path_type=Path), default=DEFAULT_MODEL, show_default=True)
@_language_option
def import_(workbooks: tuple[Path, ...], dry_run: bool, deals_dir: Path, model_path: Path, language: str) -> None:
    """Update deal files from filled-in deal workbooks and blank scorecards (.xlsx).

    Scores, stakeholders' influence, stance, last contact and notes (new names are added) and
    negotiation terms; every other cell a rep changed is named as not imported. Prints a diff of
    each changed file. Exits 0 when all went in (or there was nothing to import), 1 when nothing
    was written (one line per problem, naming the file and the sheet!cell), 2 on wrong usage.
    """
    from .workbooks.importer import import_workbooks  # openpyxl and the merge only for this command

    missing = [str(p) for p in workbooks if not p.is_file()]
    if missing:
        raise UsageError(worded("cli_no_such_file", paths=", ".join(missing)))
    if not deals_dir.is_dir():
        raise UsageError(worded("cli_no_deals_import", path=deals_dir))
    labels = Labels(language)
    model = _load_model(model_path, labels)
    code = import_workbooks(list(workbooks), root=Path.cwd(), model_path=model_path, deals_dir=deals_dir,
                            as_of=_as_of(), model=model, dry_run=dry_run, echo=click.echo, labels=labels,
                            check=check_files, cache_dir=Path.cwd() / DEFAULT_CACHE)
    sys.exit(code)


# `stage_model:` under the dealbook plugin in mkdocs.yml (the plugin's default otherwise).
_STAGE_MODEL_LINE = re.compile(r"^[ \t]+stage_model:[ \t]*['\"]?([^'\"#\s]+)", re.M)


def _refused_line(args: list[str], name: str, language: str | None) -> str | None:
    """`dealbook build --audience NAME`: the one line refusing an audience the stage model named in
    mkdocs.yml (the one `-f` names) cannot build a site for, before mkdocs starts; None otherwise
    (a stage model that cannot be read is the build's to report)."""
    config = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-f", "--config-file")),
                  next((a.split("=", 1)[1] for a in args if a.startswith("--config-file=")), "mkdocs.yml"))
    try:
        text = Path(config).read_text(encoding="utf-8")
    except (OSError, UnicodeError):
        text = ""
    found = _STAGE_MODEL_LINE.search(text)
    shown = found.group(1) if found else "playbook/playbook.yml"
    try:
        model = load_stage_model(Path(config).parent / shown, shown)
    except (StageModelError, OSError):
        return None
    why = refusal(model, name)
    if why is None:
        return None
    labels = Labels(language)
    return f"error: --audience: {labels.word(why[0].code, why[0].params)} ({labels.word(why[1].code, why[1].params)})"


def _history_since(args: list[str]) -> None:
    """A `history_since:` in mkdocs.yml that YAML cannot read as a date (2026-02-30) is one line here:
    mkdocs would stop with a traceback before the plugin can say what is wrong."""
    from .sources.deal_versions import since_problem

    config = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-f", "--config-file")),
                  next((a.split("=", 1)[1] for a in args if a.startswith("--config-file=")), "mkdocs.yml"))
    problem = since_problem(Path(config), raw=True)
    if problem:
        click.echo(problem, err=True)
        sys.exit(1)


ENGINE_ENV = "DEALBOOK_ENGINE"


def _mkdocs(args: list[str]) -> None:
    """Run the engine's command line: DEALBOOK_ENGINE=mkdocs|properdocs, else mkdocs, else ProperDocs.

    ProperDocs 1.6.7 is a fork of mkdocs 1.x that runs the same plugins (README, "Engines"). It is optional,
    so it is imported by name; mkdocs comes first when both are installed, as Material is made for it.
    """
    import importlib
    import importlib.util

    wanted = os.environ.get(ENGINE_ENV, "").strip().lower()
    if wanted not in ("", "mkdocs", "properdocs"):
        click.echo(f"Error: {ENGINE_ENV}={wanted}: not an engine (mkdocs or properdocs)", err=True)
        sys.exit(2)
    engines = [wanted] if wanted else ["mkdocs", "properdocs"]
    found = [name for name in engines if importlib.util.find_spec(name) is not None]
    if not found:
        click.echo(f"Error: {' or '.join(engines)} is not installed (pip install {engines[0]})", err=True)
        sys.exit(2)
    if found[0] == "properdocs" and not any(a.startswith(("-f", "--config-file")) for a in args) \
            and not os.path.exists("properdocs.yml"):
        # ProperDocs 1.6.7 reads mkdocs.yml too, but logs that it should be renamed; Dealbook keeps the one name.
        args = [args[0], "-f", "mkdocs.yml", *args[1:]]
    engine = importlib.import_module(f"{found[0]}.__main__")
    engine.cli.main(args=args, prog_name="dealbook", standalone_mode=True)


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--as-of", "as_of_day", metavar="YYYY-MM-DD",
              help="Build the site as it stood on that day: the last commit on or before it, as of that day.")
@click.option("--audience", metavar="NAME", help="Build the site for one audience of the stage model's "
              "audiences: (what it leaves out is in no file of the site). Default: team, everything.")
@click.pass_context
def build(ctx: click.Context, as_of_day: str | None, audience: str | None) -> None:
    """Build the site into site/ (wraps `mkdocs build`; extra options are passed on).

    The site is built into a folder beside it and put in its place only when the whole build
    succeeded: a failed or interrupted build leaves the last site as it was.
    """
    if as_of_day is None:  # --audience, else DEALBOOK_AUDIENCE, else mkdocs.yml's audience:
        from .share_build import customer_build  # the buyer's pages: not an engine build (share_build.py)

        code = customer_build(audience, list(ctx.args), Path.cwd(), _as_of, os.environ.get("DEALBOOK_LANG"),
                              click.echo)
        if code is not None:
            sys.exit(code)
    if audience is not None:  # the plugin takes it from there; one the stage model cannot build is one line here
        refused = _refused_line(list(ctx.args), audience, os.environ.get("DEALBOOK_LANG"))
        if refused:
            click.echo(refused, err=True)
            sys.exit(1)
        os.environ[AUDIENCE_ENV] = audience
    if as_of_day is not None:
        from .as_of_build import build_as_of, parse_day

        try:
            sys.exit(build_as_of(parse_day(as_of_day), list(ctx.args), Path.cwd()))
        except WordedError as exc:  # one line, no usage text
            click.echo(f"Error: {Labels(os.environ.get('DEALBOOK_LANG')).error_text(exc)}", err=True)
            sys.exit(1)
    _as_of()  # a bad SOURCE_DATE_EPOCH is one line here, before mkdocs starts
    _history_since(ctx.args)
    _mkdocs(["build", *ctx.args])


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def serve(ctx: click.Context) -> None:
    """Live preview; saving a deal reloads the page (wraps `mkdocs serve`).

    Rebuilds are dirty by default: only the pages whose content changed are rendered again
    (the changed deal, the pipeline, the stage pages). Pass --clean for full rebuilds.
    """
    _as_of()
    _history_since(ctx.args)
    args = list(ctx.args)
    if "--clean" not in args and "-c" not in args and "--dirty" not in args:
        args.append("--dirty")
    _mkdocs(["serve", *args])


from .language_command import language  # noqa: E402 - `dealbook language add`, in a module of its own

main.add_command(language)

from .export import export_command  # noqa: E402 - `dealbook export DIR`, in a module of its own

main.add_command(export_command)
