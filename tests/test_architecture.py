"""The package's shape: layers that only point down, no circle of imports, a core without mkdocs.

The layers, lowest first (a module may import its own layer and the layers below it, never one above):

1. base: `formats`, `labels`, `diagnostics`, `cache`. `labels` is the catalog and the values it words (a
   `Worded`, a `StageText`…); `diagnostics` makes problems of those values and words each in English when
   made, so it sits on `labels`. `labels` words, and is in the base because the sources word a few things
   of their own (`dealbook language add`'s files, the skeleton of `dealbook new`); the model words nothing:
   it never imports `labels` (`tests/test_problem_codes.py`). `cache` is the content store every layer
   keeps its results in.
2. sources (`generator/sources/`): read the project's files and git.
3. model (`generator/model/`): computes; no I/O, no closure that reads git (the build's `LazyMovement`).
4. renderers: site (`generator/site/`) and workbooks (`generator/workbooks/`), neither importing the other at
   run time.
5. top: every other module of the package (`build`, `publish`, `plugin`, `cli`, `as_of_build`, `export`,
   `forked`: process handling lives here, never in the sources). A new module below the top is named in
   `BASE` or goes in a layer's folder.

Every import counts: at module level, inside a function (run when the function is), and under
`if TYPE_CHECKING:` (never run: an annotation). The runtime graph (module and function level, and
`importlib.import_module("generator…")`) has no circle; no import of any kind, type-only included, goes from a
lower layer to a higher one. Type-only imports may go both ways within one layer (a source's dataclass
annotated with its neighbour's type), since they never run.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Literal

from conftest import ROOT

PACKAGE = ROOT / "generator"
BASE = {"generator.formats", "generator.labels", "generator.diagnostics", "generator.cache"}
LAYERS = {"base": 1, "sources": 2, "model": 3, "site": 4, "workbooks": 4, "top": 5}
Kind = Literal["module", "function", "type"]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> str:
    if module in BASE:
        return "base"
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in LAYERS else "top"


def _is_type_checking(test: ast.expr) -> bool:
    return ast.unparse(test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def _imports(tree: ast.Module, module: str, is_package: bool) -> list[tuple[str, Kind]]:
    """(imported module, how): every import statement, and `importlib.import_module` of a constant name."""
    out: list[tuple[str, Kind]] = []

    def visit(nodes: list[ast.AST], kind: Kind) -> None:
        for child in nodes:
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                visit(child.body, "type")
                visit(child.orelse, kind)
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
                    out.append((candidate if _is_module(candidate) else target, kind))
            elif isinstance(child, ast.Import):
                out.extend((alias.name, kind) for alias in child.names)
            elif (isinstance(child, ast.Call) and ast.unparse(child.func) in ("importlib.import_module", "import_module")
                  and child.args and isinstance(child.args[0], ast.Constant) and isinstance(child.args[0].value, str)):
                out.append((child.args[0].value, kind))
            is_scope = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            visit(list(ast.iter_child_nodes(child)), "function" if is_scope and kind == "module" else kind)

    visit(list(tree.body), "module")
    return out


def _runtime_imports(tree: ast.Module, module: str, is_package: bool) -> list[tuple[str, int]]:
    """(imported module, 1 at module level / 0 in a function) for imports that run: not those under TYPE_CHECKING."""
    return [(target, int(kind == "module")) for target, kind in _imports(tree, module, is_package) if kind != "type"]


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


@cache
def _graph() -> dict[str, set[tuple[str, Kind]]]:
    """Every module of the package and what it imports of ours, with how."""
    graph: dict[str, set[tuple[str, Kind]]] = {}
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[name] = {(target, kind) for target, kind in _imports(tree, name, path.name == "__init__.py")
                       if target.startswith("generator.") and target != name}
    return graph


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One circle of the graph, as the modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(edges.get(module, ())):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(edges):
        if module not in state and (found := visit(module)):
            return found
    return None


def test_the_runtime_import_graph_has_no_circle() -> None:
    graph = _graph()
    runtime = {module: {t for t, kind in targets if kind != "type"} for module, targets in graph.items()}
    found = _cycle(runtime)
    assert found is None, "import circle (module- and function-level imports): " + " -> ".join(found or [])
    # The measurement sees imports of every kind (a graph that saw none would pass the checks above).
    kinds = {kind for targets in graph.values() for _, kind in targets}
    assert kinds == {"module", "function", "type"}
    assert ("generator.sources.deal_files", "module") in graph["generator.build"]


def test_no_import_goes_up_a_layer() -> None:
    graph = _graph()
    assert {_layer(m) for m in graph} == set(LAYERS)  # every layer has modules: the folders are as named
    upward = []
    for module, targets in sorted(graph.items()):
        for target, kind in sorted(targets):
            mine, theirs = _layer(module), _layer(target)
            if LAYERS[theirs] > LAYERS[mine] or (mine != theirs and LAYERS[mine] == LAYERS[theirs] and kind != "type"):
                upward.append(f"{module} -> {target} ({kind}: {mine} -> {theirs})")
    assert not upward, "imports from a lower layer to a higher one:\n" + "\n".join(upward)


def test_the_layer_check_sees_a_leak() -> None:
    """The checks themselves: a source that forks through the top, or imports the top in a function, is caught."""
    tree = ast.parse("def start():\n    from ..forked import Child\n")
    found = _imports(tree, "generator.sources.deal_files", False)
    assert found == [("generator.forked", "function")]
    assert _layer("generator.forked") == "top" and _layer("generator.sources.deal_files") == "sources"
    assert _layer("generator.labels") == "base" and _layer("generator.workbooks.run") == "workbooks"
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..build import Project\n")
    assert ("generator.build", "type") in _imports(tree, "generator.workbooks.importer", False)
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


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
