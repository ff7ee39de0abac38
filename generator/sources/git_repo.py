"""The repository holding the deal files: git run in it, and where its top, HEAD and deals folder are.

Both readers of the past use it: `history` (the deals' stage and status changes) and `deal_versions`
(every past version); `history` reads its changes off `deal_versions`, so what both need sits below them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(root: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=True, timeout=300).stdout


def locate(deals_dir: Path) -> tuple[Path, str, str] | str:
    """(top folder, HEAD commit, deals folder relative to the top), or why there is no usable history.

    The reason is a label key; every reader of the history (`history`, `deal_versions`) gives the same one.
    """
    try:
        top = Path(git(deals_dir, "rev-parse", "--show-toplevel").decode().strip())
    except FileNotFoundError:
        return "history_no_git"
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return "history_not_repo"
    try:
        if git(top, "rev-parse", "--is-shallow-repository").strip() == b"true":
            return "history_shallow"
        head = git(top, "rev-parse", "--verify", "-q", "HEAD").decode().strip()
    except subprocess.CalledProcessError:
        return "history_no_commits"
    return top, head, deals_dir.resolve().relative_to(top.resolve()).as_posix()
