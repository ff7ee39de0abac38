"""The theme's files, listed once per process instead of on every build, and its templates compiled once.

mkdocs lists every file of the theme on every build, to copy the static ones into the site
(`Files.add_files_from_theme`). Material ships about 14,000 icons under `.icons/`, which that
listing walks and then filters out again, in each language's build, on every save while serving.
The folders of an installed theme do not change while a build or a preview runs, so they are
walked once per process (and dot-folders not at all: mkdocs never publishes what is in them); a
theme folder inside the project (`custom_dir`) is walked every time.

mkdocs also makes a new Jinja environment for the theme on every build, which compiles Material's
templates again; the environment is given the session's compiled templates (`CompiledTemplates`,
checked against each template's source).

Used by the plugin only (it wires this into mkdocs' theme); the core never imports it. What is kept
is the session's (`Session.theme_listing`, `Session.compiled`), handed in: no module state here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

if TYPE_CHECKING:
    from mkdocs.theme import Theme


class _ThemeLoader(jinja2.FileSystemLoader):
    def __init__(self, searchpath: list[str], project: Path, listed: dict[str, list[str]]):
        super().__init__(searchpath)
        self.project = project
        self.listed = listed  # installed theme folder → its files, as the Jinja loader names them

    def list_templates(self) -> list[str]:
        found: set[str] = set()
        for folder in self.searchpath:
            installed = not Path(folder).resolve().is_relative_to(self.project)
            names = self.listed.get(folder) if installed else None
            if names is None:
                names = _walk(folder)
                if installed:
                    self.listed[folder] = names
            found.update(names)
        return sorted(found)


def _walk(folder: str) -> list[str]:
    """As `jinja2.FileSystemLoader.list_templates` names them, without what is under a dot-folder."""
    names = []
    for top, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith(".")]
        for name in files:
            names.append(os.path.relpath(os.path.join(top, name), folder).replace(os.sep, "/"))
    return names


def list_theme_files_once(theme: Theme, project: Path, listed: dict[str, list[str]],
                          compiled: jinja2.BytecodeCache) -> None:
    """Make the environments `theme` gives list the files of installed theme folders from `listed` (filled on
    first use), and reuse the templates `compiled` holds."""
    make_env = theme.get_env

    def get_env() -> jinja2.Environment:
        env = make_env()
        if type(env.loader) is jinja2.FileSystemLoader:  # as mkdocs makes it; anything else is left alone
            env.loader = _ThemeLoader(list(env.loader.searchpath), project.resolve(), listed)
        if env.bytecode_cache is None:
            env.bytecode_cache = compiled
        return env

    # No public hook in mkdocs 1.6.1: `commands/build.py` lists the theme's files with a fresh
    # `config.theme.get_env()` before `on_files`, and no event hands over that environment or its loader
    # before it is used, so the theme's `get_env` is wrapped here.
    theme.get_env = get_env  # type: ignore[method-assign]
