"""`dealbook language add CODE`: the files of a new language to translate (the work is in
`sources/language_files`; this is argument handling and the words of the command)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .diagnostics import command_name, format_problems, worded
from .labels import DEFAULT_LANGUAGE, LANGUAGES, Labels, primary_subtag, use_project_catalogs
from .sources.language_files import LanguageFilesError, catalog_folder, scaffold
from .sources.stage_model import StageModelError, load_stage_model

DEFAULT_MODEL = Path("playbook/playbook.yml")  # as every command (build.DEFAULT_MODEL, not imported: a short chain)


@click.group(name="language")
def language() -> None:
    """The site's languages: add one to translate."""


@language.command()
@click.argument("code")
@click.option("--from", "source", type=click.Choice([DEFAULT_LANGUAGE]), default=DEFAULT_LANGUAGE, show_default=True,
              help="The language the texts are copied from: the stage model's own, so that a text still the "
                   "same as it is known to be untranslated.")
@click.option("--model", "model_path", type=click.Path(path_type=Path), default=DEFAULT_MODEL, show_default=True,
              help="The stage model file; the pages and the project's catalogs are beside it.")
@click.option("--lang", "reader", type=click.Choice(LANGUAGES), default=DEFAULT_LANGUAGE, show_default=True,
              help="The language of the messages.")
def add(code: str, source: str, model_path: Path, reader: str) -> None:
    """Write the files of language CODE to translate: its catalog (playbook/catalog/CODE.yml, unless
    Dealbook has one), the stage model's texts (playbook/playbook.CODE.yml) and each page X.md as
    X.CODE.md, every text marked untranslated. Writes nothing if any of them exists.

    Exits 0 when written, 1 when nothing was.
    """
    labels = Labels(reader)
    if not model_path.is_file():
        _fail(labels, str(model_path), worded("cannot_read_file", why="no such file"))
    try:
        model = load_stage_model(model_path, str(model_path))
    except StageModelError as exc:
        click.echo(format_problems(exc.problems, "text", labels, command_name()), err=True)
        sys.exit(1)
    use_project_catalogs(catalog_folder(model_path))
    code = primary_subtag(code) if code.strip() else code
    try:
        written = scaffold(code, model, model_path, source)
    except LanguageFilesError as exc:
        _fail(labels, exc.path, exc.worded)
    pages = [path for path in written if path.suffix == ".md"]
    files = [str(path) for path in written if path.suffix != ".md"]
    if pages:
        files.append(f"{len(pages)} × *.{code}.md")
    click.echo(labels("language_added", count=len(written), language=code, files=", ".join(files),
                      command=command_name()))


def _fail(labels: Labels, path: str, message) -> None:
    click.echo(f"{path}: error: {labels.word(message.code, message.params)}", err=True)  # one line, nothing written
    sys.exit(1)
