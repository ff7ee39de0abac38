"""Shared fixtures: real projects in tmp_path, built with the real mkdocs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator.site.paths import SitePaths

ROOT = Path(__file__).resolve().parent.parent
AS_OF_EPOCH = "1795737600"  # 2026-11-27 00:00 UTC: tests see one fixed as-of date
REQUIRE_TOOLS = os.environ.get("DEALBOOK_REQUIRE_TOOLS") == "1" or os.environ.get("CI") == "true"


# The smallest valid deal, and one that passes without warnings at stage 2.
MINIMAL_DEAL = """\
title: ERP rollout
account: Example Co
owner: Test Rep
stage: 2
status: open
amount: 1000
expected_close: 2027-01-31
"""
BASE_DEAL = MINIMAL_DEAL + """\
stakeholders:
  - name: Ann
    role: decision-maker
exits:
  1: {date: 2026-11-20, evidence: Meeting booked}
"""


def directory_urls(config: Path) -> bool:
    """The `use_directory_urls` setting of an mkdocs.yml (mkdocs' default, true, when it is not set)."""
    found = re.search(r"^use_directory_urls:\s*(\S+)", config.read_text(encoding="utf-8"), re.M)
    return found is None or found.group(1).lower() == "true"


# The URLs of the shipped mkdocs.yml, which every test project copies.
SITE_PATHS = SitePaths(directory_urls=directory_urls(ROOT / "mkdocs.yml"))


def run_check(cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """`dealbook check` as a rep runs it, at the tests' as-of date."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": AS_OF_EPOCH}
    return subprocess.run([sys.executable, "-m", "generator", "check", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def need(tool_present: bool, what: str) -> None:
    """Skip when a system tool is missing on a developer machine; fail in CI, where it must be there."""
    if tool_present:
        return
    if REQUIRE_TOOLS:
        pytest.fail(f"{what} is required here (DEALBOOK_REQUIRE_TOOLS/CI is set) but is not installed")
    pytest.skip(f"{what} is not installed")


@dataclass
class Project:
    root: Path

    @property
    def site(self) -> Path:
        return self.root / "site"

    @property
    def deals(self) -> Path:
        return self.root / "deals"

    @property
    def model(self) -> Path:
        return self.root / "playbook" / "playbook.yml"

    def write_deal(self, name: str, text: str) -> Path:
        path = self.deals / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    def build(self, strict: bool = False) -> None:
        """Build in-process with the real mkdocs; raises mkdocs' exceptions."""
        from mkdocs.commands.build import build
        from mkdocs.config import load_config

        config = load_config(str(self.root / "mkdocs.yml"), strict=strict)
        build(config)

    @property
    def paths(self) -> SitePaths:
        """Site paths and URLs with this project's URL setting."""
        return SitePaths(directory_urls=directory_urls(self.root / "mkdocs.yml"))

    def page(self, url: str) -> str:
        """The HTML of a page named without its ending: `deals/acme` is deals/acme.html or
        deals/acme/index.html, whichever `use_directory_urls` made; "" is the home page."""
        url = url.strip("/")
        candidates = [self.site / url / "index.html", self.site / f"{url}.html"] if url else [self.site / "index.html"]
        for path in candidates:
            if path.is_file():
                return path.read_text(encoding="utf-8")
        raise FileNotFoundError(f"no page {url!r} in {self.site}: tried {[str(c) for c in candidates]}")


def new_project(root: Path, team: bool = False) -> Project:
    """A copy of the project's site sources in `root`, with an empty deals/ folder.

    The shipped playbook/team.yml lists the owners of the sample deals; a test's own deals (owner
    "Test Rep") would each get an "owner not in the team" warning, so it comes only with the samples
    (`team=True`).
    """
    root.mkdir(parents=True)
    # Without the shipped `history_since`: it dates this repository's history, and a test's own starts earlier.
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    (root / "mkdocs.yml").write_text(re.sub(r"\n *history_since:.*", "", config), encoding="utf-8")
    shutil.copytree(ROOT / "playbook", root / "playbook",
                    ignore=None if team else shutil.ignore_patterns("team.yml"))
    (root / "deals").mkdir()
    return Project(root)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A copy of the project's site sources with an empty deals/ folder, and no team file."""
    made = new_project(tmp_path / "project")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", AS_OF_EPOCH)
    monkeypatch.chdir(made.root)
    return made


@pytest.fixture
def sample_project(project: Project) -> Project:
    """The project with the sample deals shipped in deals/, and the team file that lists their owners."""
    for path in (ROOT / "deals").iterdir():
        shutil.copy(path, project.deals / path.name)
    shutil.copy(ROOT / "playbook" / "team.yml", project.root / "playbook" / "team.yml")
    return project



# --- LibreOffice ---------------------------------------------------------------------------

Recalc = Callable[[list[Path], Path], dict[str, Path]]


@pytest.fixture(scope="session")
def libreoffice(tmp_path_factory: pytest.TempPathFactory) -> Recalc:
    """Recalculate (and re-save) workbooks with headless LibreOffice (a fresh profile for this session)."""
    soffice = shutil.which("soffice")
    need(soffice is not None, "LibreOffice (soffice, Debian libreoffice-calc-nogui)")
    profile = tmp_path_factory.mktemp("lo-profile")

    def recalc(paths: list[Path], out: Path) -> dict[str, Path]:
        out.mkdir(parents=True, exist_ok=True)
        assert len({p.name for p in paths}) == len(paths), "LibreOffice writes by file name"
        run = subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--calc",
                              "--convert-to", "xlsx", "--outdir", str(out), *map(str, paths)],
                             capture_output=True, text=True, timeout=600)
        done = {p.stem: out / p.name for p in paths}
        missing = [str(p) for p in done.values() if not p.is_file()]
        assert run.returncode == 0 and not missing, f"soffice failed ({run.returncode}): {run.stderr}\n{missing}"
        return done

    return recalc


def make_workdir(root: Path) -> Path:
    """A folder to run `dealbook check` in: the shipped stage model with its texts files, no deals yet."""
    (root / "playbook").mkdir(parents=True)
    for model in (ROOT / "playbook").glob("playbook*.yml"):
        (root / "playbook" / model.name).write_bytes(model.read_bytes())
    (root / "deals").mkdir()
    return root


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return make_workdir(tmp_path)
