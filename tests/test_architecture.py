"""The package's shape: folders that show the flow, a shallow import graph, a core without mkdocs."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from functools import cache
from importlib import metadata
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "generator"
MAX_CHAIN = 8  # modules in the longest chain of imports (12 before the package was split by concern; 8 since the
# sources make problems as codes: `diagnostics`, a leaf that imports nothing of ours, sits under `yaml_nodes`)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(tree: ast.Module, module: str, is_package: bool) -> list[tuple[str, int]]:
    """(imported module, level) for imports that run at import time: not those under `if TYPE_CHECKING:`."""
    out = []

    def visit(node: ast.AST, top_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and ast.unparse(child.test) == "TYPE_CHECKING":
                continue
            if isinstance(child, ast.ImportFrom):
                base = module.split(".") if is_package else module.split(".")[:-1]
                if child.level:
                    base = base[: len(base) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                for alias in child.names:
                    candidate = f"{target}.{alias.name}"
                    out.append((candidate if _is_module(candidate) else target, int(top_level)))
            elif isinstance(child, ast.Import):
                out.extend((alias.name, int(top_level)) for alias in child.names)
            is_scope = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            visit(child, top_level and not is_scope)

    visit(tree, True)
    return out


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


@cache
def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imports = _runtime_imports(tree, name, path.name == "__init__.py")
        # Package __init__ modules hold only a docstring; importing `generator.x.y` runs them, but they import nothing.
        graph[name] = {target for target, top in imports if top and target.startswith("generator.") and target != name}
    return graph


def test_import_graph_has_no_cycle_and_no_long_chain() -> None:
    graph = _graph()
    longest: dict[str, list[str]] = {}

    def chain(module: str, seen: tuple[str, ...]) -> list[str]:
        assert module not in seen, f"import cycle: {' -> '.join(seen + (module,))}"
        if module not in longest:
            tails = [chain(target, seen + (module,)) for target in graph.get(module, ())]
            longest[module] = [module, *max(tails, key=len, default=[])]
        return longest[module]

    chains = [chain(module, ()) for module in graph]
    worst = max(chains, key=len)
    assert len(worst) <= MAX_CHAIN, " -> ".join(worst)
    assert len(worst) >= 4  # the measurement itself sees imports (plugin -> build -> …)


def test_only_the_plugin_imports_mkdocs_at_module_level() -> None:
    importers = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        name = _module_name(path)
        for target, top in _runtime_imports(tree, name, path.name == "__init__.py"):
            if top and target.split(".")[0] == "mkdocs":
                importers.add(name)
    assert importers == {"generator.plugin"}


BLOCK_MKDOCS = """
import importlib, pkgutil, sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name == "mkdocs" or name.startswith("mkdocs.") or name.startswith("material"):
            raise ImportError(f"{name} is not installed (blocked by the test)")
sys.meta_path.insert(0, Blocker())
import generator
for info in pkgutil.walk_packages(generator.__path__, "generator."):
    if info.name not in ("generator.plugin", "generator.__main__"):
        importlib.import_module(info.name)
from generator.build import read_project
print("ok")
"""


def test_the_core_imports_without_mkdocs() -> None:
    result = subprocess.run([sys.executable, "-c", BLOCK_MKDOCS], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
    # …and the blocker does block: the plugin cannot be imported under it.
    code = BLOCK_MKDOCS.replace('("generator.plugin", "generator.__main__")', '("generator.__main__",)')
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True).returncode != 0


def test_every_third_party_import_of_the_core_is_declared() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    names = {d.split(">")[0].split("=")[0].split("<")[0].split("[")[0].strip().lower() for d in declared}
    owners = metadata.packages_distributions()
    stdlib = set(sys.stdlib_module_names)
    missing = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for target, _ in _runtime_imports(tree, _module_name(path), path.name == "__init__.py"):
            top = target.split(".")[0]
            if not top or top == "generator" or top in stdlib:
                continue
            dists = {d.lower() for d in owners.get(top, [top])}
            if not dists & names:
                missing.add(f"{top} ({path.relative_to(ROOT)})")
    assert not missing, f"imported but not in pyproject's dependencies: {sorted(missing)}"


def test_folders_show_the_flow() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert {"sources", "model", "site", "workbooks"} <= folders
    # The model is pure computation: no file system, no processes, no site generator.
    for path in (PACKAGE / "model").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = {t for t, _ in _runtime_imports(tree, _module_name(path), path.name == "__init__.py")}
        assert not targets & {"pathlib", "os", "subprocess", "shutil", "mkdocs", "generator.site", "generator.cache"}, \
            path
