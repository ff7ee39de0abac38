"""`dealbook build --as-of DAY`: the whole site as it stood on a past day.

The project as committed then — deal files, stage model, team file and pages of the last commit on or
before the day, on the first-parent line of HEAD — is built as of that day (SOURCE_DATE_EPOCH), so
every page, JSON file and workbook is what a build run that evening would have published, and every
page says so in a banner. Building the commit's own files, not today's stage model over old deals,
is what makes the past site trustworthy: a stage renamed since, or a rate changed, does not rewrite it.

The commit is checked out into a throw-away shared clone under the project's `.cache/`, so the
reader's working tree, index and `.git` are never touched; the clone shares git's objects, so the
history the deal pages read is the commit's own. The site goes where a plain build puts it (`site/`,
or `-d`), swapped in whole like any build.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path

from .diagnostics import WordedError, worded

AS_OF_ENV = "DEALBOOK_AS_OF_BUILD"  # the day and commit a build stands on, for its banner: "2026-09-30 1a2b3c4"


def parse_day(text: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
        raise WordedError(worded("as_of_not_a_day", value=repr(text)))
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise WordedError(worded("as_of_not_a_day", value=repr(text))) from None


def commit_on(day: date, root: Path) -> tuple[str, Path]:
    """The last first-parent commit of HEAD made on or before `day` (UTC), and the repository's top folder."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, timeout=120)
        if done.returncode != 0:
            raise WordedError(worded("as_of_no_git", folder=str(root)))
        return done.stdout.decode("utf-8", "replace").strip()

    top = Path(git("rev-parse", "--show-toplevel"))
    end_of_day = datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
    # Committer dates, as the history pages read them; `--before` alone would follow second parents.
    found = git("rev-list", "-1", "--first-parent", f"--before={end_of_day.isoformat()}", "HEAD")
    if not found:
        raise WordedError(worded("as_of_before_history", day=day.isoformat()))
    return found, top


def _site_dir(args: list[str], root: Path) -> tuple[list[str], Path]:
    """The build's arguments without `-d`, and where the site goes (as a plain build would put it)."""
    rest, site = [], None
    items = iter(args)
    for arg in items:
        if arg in ("-d", "--site-dir"):
            site = next(items, None)
        elif arg.startswith("--site-dir="):
            site = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return rest, (root / (site or "site")).resolve()


def build_as_of(day: date, args: list[str], root: Path) -> int:
    """Build the project as it stood on `day`; the exit status of the build."""
    commit, top = commit_on(day, root)
    inside = root.resolve().relative_to(top.resolve())  # the project may be a folder of the repository
    rest, site = _site_dir(args, root)
    work = root / ".cache" / "as-of" / f"{day.isoformat()}-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.parent.mkdir(parents=True, exist_ok=True)
    try:
        for command in (["git", "clone", "--quiet", "--shared", "--no-checkout", str(top), str(work)],
                        ["git", "-C", str(work), "checkout", "--quiet", "--detach", commit]):
            done = subprocess.run(command, capture_output=True, timeout=600)
            if done.returncode != 0:
                raise WordedError(worded("as_of_checkout", commit=commit[:12],
                                         why=done.stderr.decode("utf-8", "replace").strip()[:200]))
        noon = datetime.combine(day, time(12), tzinfo=UTC)  # the day itself in any time zone's reading of UTC
        env = {**os.environ, "SOURCE_DATE_EPOCH": str(int(noon.timestamp())),
               AS_OF_ENV: f"{day.isoformat()} {commit[:12]}"}
        # -P: the clone holds the commit's own `generator/` folder, which must not shadow the installed one.
        return subprocess.run([sys.executable, "-P", "-m", "generator", "build", "-d", str(site), *rest],
                              cwd=work / inside, env=env).returncode
    finally:
        shutil.rmtree(work, ignore_errors=True)
