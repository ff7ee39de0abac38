"""The theme's files listed once: mkdocs copies the same theme files into the site as without it."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import ROOT
from mkdocs.config import load_config
from mkdocs.structure.files import Files

from generator.site.renderer import CompiledTemplates
from generator.theme_files import list_theme_files_once


def _project_with_overrides(root: Path) -> Path:
    """A copy of the project's site sources with a theme folder of its own (`custom_dir: overrides`)."""
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(ROOT / "playbook", root / "playbook")
    (root / "deals").mkdir()
    (root / "overrides").mkdir()
    text = (root / "mkdocs.yml").read_text(encoding="utf-8")
    (root / "mkdocs.yml").write_text(text.replace("  name: material\n", "  name: material\n  custom_dir: overrides\n"),
                                     encoding="utf-8")
    return root / "overrides"


def _theme_files(config) -> list[tuple[str, str]]:
    files = Files([])
    files.add_files_from_theme(config.theme.get_env(), config)
    return sorted((f.src_uri, f.abs_src_path) for f in files)


def test_the_theme_files_mkdocs_copies_are_the_same_and_a_project_folder_is_listed_afresh(tmp_path: Path) -> None:
    overrides = _project_with_overrides(tmp_path)
    (overrides / "assets").mkdir()
    (overrides / "assets" / "first.css").write_text("a {}", encoding="utf-8")
    plain = load_config(str(tmp_path / "mkdocs.yml"))
    expected = _theme_files(plain)
    assert ("assets/first.css", str(overrides / "assets" / "first.css")) in expected
    assert any(src.startswith("assets/javascripts/") for src, _ in expected)  # Material's own

    listed = load_config(str(tmp_path / "mkdocs.yml"))
    kept: dict[str, list[str]] = {}  # a session's (`Session.theme_listing`)
    list_theme_files_once(listed.theme, tmp_path, kept, CompiledTemplates())
    assert _theme_files(listed) == expected
    assert not any(str(tmp_path) in folder for folder in kept)  # the project's folder is not kept
    assert any("material" in folder for folder in kept)
    (overrides / "assets" / "second.css").write_text("b {}", encoding="utf-8")
    assert ("assets/second.css", str(overrides / "assets" / "second.css")) in _theme_files(listed)


def test_theme_templates_are_compiled_once_and_again_when_they_change(tmp_path: Path) -> None:
    partial = _project_with_overrides(tmp_path) / "partials" / "hello.html"
    partial.parent.mkdir()
    partial.write_text("Hello {{ name }}", encoding="utf-8")
    config = load_config(str(tmp_path / "mkdocs.yml"))
    list_theme_files_once(config.theme, tmp_path, {}, CompiledTemplates())
    assert config.theme.get_env().get_template("partials/hello.html").render(name="A") == "Hello A"

    def no_compiling(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled again")

    second = config.theme.get_env()
    second.compile = no_compiling  # type: ignore[method-assign]
    assert second.get_template("partials/hello.html").render(name="B") == "Hello B"
    partial.write_text("Bye {{ name }}", encoding="utf-8")
    assert config.theme.get_env().get_template("partials/hello.html").render(name="C") == "Bye C"
