"""The code stays ruff-clean."""

from __future__ import annotations

import shutil
import subprocess
import sys

from conftest import ROOT


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff") or str(ROOT / ".venv" / "bin" / "ruff")
    result = subprocess.run([ruff, "check", "generator", "tests", "bench"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_package_imports_without_mkdocs_for_the_core() -> None:
    # The core (loading, checking, computing) must not depend on mkdocs: a future move stays cheap.
    code = ("import sys; import generator.build, generator.cli; "
            "assert not any(m.startswith('mkdocs') for m in sys.modules), sorted(m for m in sys.modules if 'mkdocs' in m)")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
