"""`make bench-compare`: what a change costs: two revisions of Dealbook building the same deals, alternating.

Each revision is checked out into a temporary git worktree and builds its own copy of the
benchmark project (its own playbook and mkdocs.yml, the same synthetic deals), so a feature
that adds to the stage model is priced with it. Rounds alternate A, B, A, B… so that a change
in the machine's load falls on both. Reports medians of the cold and warm build, in one
language, and B's extra time in percent.

    python -m bench.compare 5a90646 HEAD --deals 1000 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.run import ONE_LANGUAGE, ROOT, timed

SETUP = """
import sys
from pathlib import Path
from bench.run import make_projects
make_projects(Path(sys.argv[1]), int(sys.argv[2]))
"""


def _worktree(revision: str, folder: Path) -> Path:
    subprocess.run(["git", "worktree", "add", "--detach", "-q", str(folder), revision], cwd=ROOT, check=True)
    return folder


def _project(source: Path, folder: Path, count: int) -> Path:
    folder.mkdir()
    env = {**os.environ, "PYTHONPATH": str(source)}
    subprocess.run([sys.executable, "-c", SETUP, str(folder), str(count)], cwd=source, env=env, check=True)
    project = folder / "dealbook"
    if not (project / ONE_LANGUAGE).exists():  # a revision from before the second language
        config = (project / "mkdocs.yml").read_text(encoding="utf-8")
        (project / ONE_LANGUAGE).write_text(config.replace("languages: [en, zh]", "languages: [en]"), encoding="utf-8")
    return project


def compare(revisions: tuple[str, str], count: int, rounds: int) -> dict[str, dict[str, float]]:
    dealbook = str(Path(sys.executable).parent / "dealbook")
    samples = {rev: {"cold": [], "warm": []} for rev in revisions}
    with tempfile.TemporaryDirectory(prefix="dealbook-compare-") as tmp:
        sources = {rev: _worktree(rev, Path(tmp) / f"src-{n}") for n, rev in enumerate(revisions)}
        try:
            projects = {rev: _project(sources[rev], Path(tmp) / f"site-{n}", count)
                        for n, rev in enumerate(revisions)}
            for number in range(rounds):
                for rev in revisions:
                    project = projects[rev]
                    # The revision's own code: its folder comes first on the path (the plugin is
                    # found through the installed entry point, imported from there).
                    os.environ["PYTHONPATH"] = str(sources[rev])
                    shutil.rmtree(project / ".cache", ignore_errors=True)
                    shutil.rmtree(project / "site", ignore_errors=True)
                    for step in ("cold", "warm"):
                        seconds, _, _ = timed([dealbook, "build", "-q", "-f", ONE_LANGUAGE], project)
                        samples[rev][step].append(seconds)
                        print(f"  round {number + 1}: {rev:12s} {step} {seconds:7.2f} s", flush=True)
        finally:
            os.environ.pop("PYTHONPATH", None)
            for folder in sources.values():
                subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT, check=False)
    return {rev: {step: statistics.median(values) for step, values in steps.items()}
            for rev, steps in samples.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--deals", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    medians = compare((args.before, args.after), args.deals, args.rounds)
    a, b = medians[args.before], medians[args.after]
    print(f"\nN = {args.deals:,} deals, English only, median of {args.rounds} rounds, load average "
          f"{os.getloadavg()[1]:.1f}\n")
    print(f"| build | {args.before} | {args.after} | added |\n|---|---:|---:|---:|")
    for step in ("cold", "warm"):
        print(f"| {step} | {a[step]:.2f} s | {b[step]:.2f} s | {100 * (b[step] / a[step] - 1):+.1f} % |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
