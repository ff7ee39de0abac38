"""The theme's files, listed once per process instead of on every build, and its templates compiled once.

mkdocs lists every file of the theme on every build, to copy the static ones into the site
(`Files.add_files_from_theme`). Material ships about 14,000 icons under `.icons/`, which that
listing walks and then filters out again: 0.1-0.15 s a build, in each language's build, on
every save while serving. The folders of an installed theme do not change while a build or a
preview runs, so they are walked once (and dot-folders not at all: mkdocs never publishes
what is in them); a theme folder inside the project (`custom_dir`) is walked every time.

mkdocs also makes a new Jinja environment for the theme on every build, which compiles Material's
templates again (about 0.05 s a build); the compiled code is kept per process, by file, source
and the environment's syntax settings, as Jinja's own bytecode caches keep it on disk.

Used by the plugin only (it wires this into mkdocs' theme); the core never imports it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

if TYPE_CHECKING:
    from mkdocs.theme import Theme

_LISTED: dict[str, list[str]] = {}  # installed theme folder → its files, as the Jinja loader names them


class _ThemeLoader(jinja2.FileSystemLoader):
    def __init__(self, searchpath: list[str], project: Path):
        super().__init__(searchpath)
        self.project = project

    def list_templates(self) -> list[str]:
        found: set[str] = set()
        for folder in self.searchpath:
            installed = not Path(folder).resolve().is_relative_to(self.project)
            names = _LISTED.get(folder) if installed else None
            if names is None:
                names = _walk(folder)
                if installed:
                    _LISTED[folder] = names
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


_COMPILED: dict[tuple[str, str], tuple[str, object]] = {}  # (settings, template key) → (source checksum, code)


def _settings(env: jinja2.Environment) -> str:
    """What besides a template's source shapes the code Jinja compiles from it."""
    return repr((env.block_start_string, env.block_end_string, env.variable_start_string, env.variable_end_string,
                 env.comment_start_string, env.comment_end_string, env.line_statement_prefix, env.line_comment_prefix,
                 env.trim_blocks, env.lstrip_blocks, env.newline_sequence, env.keep_trailing_newline,
                 sorted(env.extensions), env.optimized, env.is_async,
                 env.autoescape if isinstance(env.autoescape, bool) else id(env.autoescape)))


class _CompiledOnce(jinja2.BytecodeCache):
    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        found = _COMPILED.get((_settings(bucket.environment), bucket.key))
        if found is not None and found[0] == bucket.checksum:
            bucket.code = found[1]  # type: ignore[assignment]

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        _COMPILED[(_settings(bucket.environment), bucket.key)] = (bucket.checksum, bucket.code)


def list_theme_files_once(theme: Theme, project: Path) -> None:
    """Make the environments `theme` gives list the files of installed theme folders from memory,
    and reuse what they compiled."""
    make_env = theme.get_env

    def get_env() -> jinja2.Environment:
        env = make_env()
        if type(env.loader) is jinja2.FileSystemLoader:  # as mkdocs makes it; anything else is left alone
            env.loader = _ThemeLoader(list(env.loader.searchpath), project.resolve())
        if env.bytecode_cache is None:
            env.bytecode_cache = _CompiledOnce()
        return env

    theme.get_env = get_env  # type: ignore[method-assign]
