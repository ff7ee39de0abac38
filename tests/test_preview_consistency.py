"""A live preview serves, after every save, what a clean build of the same files makes: 30 saves in a row.

`dealbook serve` rebuilds dirty, keeping rendered pages, rows, JSON entries and views in its session
between rebuilds and building every language in its own process; a memo whose key misses an input
shows a stale page. Each save below (a deal's title, stage, owner, amount, a stakeholder, a deal
removed and added back, a new deal, `team.yml`'s quota, `playbook.yml`'s rate and stage text in both
languages, a hand-written page) is followed by the preview's rebuild, and then every page and JSON file
of a clean build of the same files — in every language — is fetched from the preview and compared,
byte for byte but for the live-reload script the preview adds. The 15 saves are then undone one by
one, newest first: 30 states in all, the last one the first.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from conftest import Project, need
from test_serve import STARTUP_TIMEOUT, _free_port, _server, _wait_for

RELOAD_TIMEOUT = 60.0
# mkdocs serve adds its live-reload script to every HTML page it serves.
_LIVERELOAD = re.compile(r"<script>\nvar livereload = function\(epoch, requestId\) \{.*?\nlivereload\([0-9]+, [0-9]+\);\n</script>",
                         re.S)
LARCHMERE = "deals/larchmere-dairy-erp.yml"
NORTHWIND = "deals/northwind-mes-upgrade.yml"


def _replace(path: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        file = root / path
        text = file.read_text(encoding="utf-8")
        assert text.count(old) >= 1, f"{path} no longer holds {old!r}: the test's edit needs updating"
        file.write_text(text.replace(old, new, 1), encoding="utf-8")

    edit.__name__ = f"{path}: {old.strip()[:30]!r} → {new.strip()[:30]!r}"
    return edit


def _edits(root: Path) -> list[tuple[Callable[[Path], None], Callable[[Path], None]]]:
    """Each save and its undoing."""
    northwind = (root / NORTHWIND).read_text(encoding="utf-8")
    zh_stage = re.search(r"^    name: (.+)$", (root / "playbook/playbook.zh.yml").read_text(encoding="utf-8"), re.M)
    assert zh_stage is not None

    def remove_northwind(r: Path) -> None:
        (r / NORTHWIND).unlink()

    def add_northwind(r: Path) -> None:
        (r / NORTHWIND).write_text(northwind, encoding="utf-8")

    def add_deal(r: Path) -> None:
        (r / "deals/added-in-preview.yml").write_text(
            northwind.replace("MES upgrade for the machining lines", "A deal added while previewing"), encoding="utf-8")

    def remove_deal(r: Path) -> None:
        (r / "deals/added-in-preview.yml").unlink()

    pairs = [
        ("title: ERP and batch traceability for four dairy plants", "title: ERP for the dairy plants, renamed"),
        ("stage: 8", "stage: 7"),
        ("owner: Chen Jing", "owner: Li Wei"),
        ("amount: 3200000", "amount: 4100000"),
        ("  - name: Fiona Tang\n", "  - name: Fiona Tang-Wu\n"),
        ("    stance: skeptic\n", "    stance: supporter\n"),
        ("  sides initialled", "  sides *initialled*"),
    ]
    edits = [(_replace(LARCHMERE, old, new), _replace(LARCHMERE, new, old)) for old, new in pairs]
    edits += [
        (remove_northwind, add_northwind),
        (add_deal, remove_deal),
        (_replace("playbook/team.yml", "quotas: {2026-Q4: 4000000,", "quotas: {2026-Q4: 4700000,"),
         _replace("playbook/team.yml", "quotas: {2026-Q4: 4700000,", "quotas: {2026-Q4: 4000000,")),
        (_replace("playbook/playbook.yml", "  EUR: 7.70", "  EUR: 7.90"),
         _replace("playbook/playbook.yml", "  EUR: 7.90", "  EUR: 7.70")),
        (_replace("playbook/playbook.yml", "name: Preliminary proposal", "name: First proposal"),
         _replace("playbook/playbook.yml", "name: First proposal", "name: Preliminary proposal")),
        (_replace("playbook/playbook.zh.yml", zh_stage.group(0), zh_stage.group(0) + "（改）"),
         _replace("playbook/playbook.zh.yml", zh_stage.group(0) + "（改）", zh_stage.group(0))),
        (_replace("playbook/process.md", "Where the numbers come from", "Where every number comes from"),
         _replace("playbook/process.md", "Where every number comes from", "Where the numbers come from")),
        (_replace("playbook/process.zh.md", "\n", "\n\n预览时加的一段。\n"),
         _replace("playbook/process.zh.md", "\n\n预览时加的一段。\n", "\n")),
    ]
    return edits


def _state(project: Path) -> str:
    """The project's files as they are (not its git folder: the test commits nothing after its start)."""
    digest = hashlib.sha256()
    for path in sorted(project.rglob("*")):
        name = path.relative_to(project).as_posix()
        if path.is_file() and name.split("/")[0] not in ("site", ".cache", ".git", "serve.log"):
            digest.update(name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _clean_build(project: Path, out: Path, site_url: str, made: dict[str, dict[str, bytes]]) -> dict[str, bytes]:
    """A clean build (no cache, no earlier site) of the project's files as they are: site path → bytes of every
    page and JSON file, in every language. The undoing saves bring back states built before (`made`, by the
    files' contents): a clean build of the same files makes the same bytes (`test_workbooks`, `test_cache`)."""
    state = _state(project)
    if state in made:
        return made[state]
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(project, out, ignore=shutil.ignore_patterns("site", ".cache", "serve.log"))
    # A build in its own process, as `dealbook build` makes it, with the preview's address (mkdocs serve sets it).
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    code = ("import sys; from mkdocs.config import load_config; from mkdocs.commands.build import build; "
            "build(load_config(sys.argv[1], site_url=sys.argv[2]))")
    run = subprocess.run([sys.executable, "-c", code, str(out / "mkdocs.yml"), site_url], cwd=out, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    site = out / "site"
    made[state] = {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.rglob("*"))
                   if p.suffix in (".html", ".json") and p.is_file()}
    return made[state]


def _fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def test_thirty_saves_in_a_row_each_serve_what_a_clean_build_makes(sample_project: Project, tmp_path: Path) -> None:
    dealbook = Path(sys.executable).parent / "dealbook"
    need(dealbook.exists(), "dealbook in the virtualenv")
    root = sample_project.root
    git = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "the sample"], cwd=root, check=True)
    edits = _edits(root)
    steps = [do for do, _ in edits] + [undo for _, undo in reversed(edits)]
    assert len(steps) == 30
    port = _free_port()
    base = f"http://127.0.0.1:{port}/"
    log = root / "serve.log"

    def rebuilds() -> int:
        return log.read_text(encoding="utf-8", errors="replace").count(" deals read, ")

    with _server(dealbook, sample_project, port, log) as server:
        _wait_for(lambda: rebuilds() >= 1 and _fetch(base)[0] == 200, STARTUP_TIMEOUT, "the first build", server, log)
        before: set[str] = set()
        made: dict[str, dict[str, bytes]] = {}
        for number, step in enumerate([None, *steps]):
            done = rebuilds()
            if step is not None:
                step(root)
                _wait_for(lambda d=done: rebuilds() > d, RELOAD_TIMEOUT, f"the rebuild after save {number}",
                          server, log)
                time.sleep(0.3)  # a save seen twice by the watcher rebuilds twice: let a second one start
                _wait_for(lambda: not _building(log), RELOAD_TIMEOUT, "the end of the rebuild", server, log)
            clean = _clean_build(root, tmp_path / "clean", base, made)
            assert len(clean) > 80  # both languages: deal pages, dashboards, stages, JSON files
            wrong = []
            for path, expected in clean.items():
                status, served = _fetch(base + path)
                if path.endswith(".html"):
                    served = _LIVERELOAD.sub("", served.decode("utf-8")).encode("utf-8")
                if status != 200 or served != expected:
                    wrong.append(f"{path} ({status})")
                    dump = tmp_path / "wrong" / path.replace("/", "__")
                    dump.parent.mkdir(exist_ok=True)
                    dump.with_suffix(".served").write_bytes(served)
                    dump.with_suffix(".expected").write_bytes(expected)
            gone = [p for p in sorted(before - set(clean)) if _fetch(base + p)[0] != 404]
            name = getattr(step, "__name__", "the first build")
            assert not wrong and not gone, (f"after save {number} ({name}): served differently from a clean "
                                            f"build: {wrong[:12]}; still served though gone: {gone[:12]}")
            before = set(clean)


def _building(log: Path) -> bool:
    """Whether the preview has started a rebuild it has not finished: mkdocs says "Building documentation" at the
    start of each, and Dealbook's summary line ends it."""
    text = log.read_text(encoding="utf-8", errors="replace")
    return text.rfind("Building documentation") > text.rfind(" deals read, ")
