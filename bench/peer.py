"""A plain mkdocs-material project of N ordinary pages: the floor a Dealbook build is compared with.

Every page is hand-written-style Markdown of about the size of a deal page: a heading, an
admonition, a 12-row and a 5-row table of short business-like text, a 4-item list and a
paragraph. No plugin besides the default search, no Jinja macros, no md_in_html: what any
mkdocs-material site pays per page. Content is seeded, so two runs write the same files.

    python -m bench.peer --pages 1000 --out /tmp/peer
    cd /tmp/peer && mkdocs build
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

WORDS = ("account rollout upgrade platform analytics service network plant warehouse migration compliance "
         "logistics hospital metro energy retail finance quality traceability budget pilot contract renewal "
         "tender proposal demo workshop").split()
OWNERS = tuple(f"Rep {n}" for n in range(25))
STAGES = ("Planning", "Research", "Proposal", "Demo", "Formal proposal", "Evaluation", "Negotiation", "Signing")
STATUSES = ("open", "won", "lost", "on hold")

CONFIG = """\
site_name: Plain peer ({pages:,} pages)
docs_dir: docs
site_dir: site

theme:
  name: material
  font: false

plugins:
  - search

markdown_extensions:
  - admonition
  - tables

validation:
  nav:
    omitted_files: ignore

nav:
  - Home: index.md
"""


def _phrase(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _sentence(rng: random.Random, n: int = 8) -> str:
    return _phrase(rng, n).capitalize() + "."


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def page_text(index: int, rng: random.Random) -> str:
    """One ordinary page: heading, admonition, 12-row and 5-row tables, a 4-item list and a paragraph."""
    title = f"{_phrase(rng, 3).title()} {index}"
    activities = _table(
        ["Date", "Owner", "Stage", "Activity", "Status"],
        [[f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", rng.choice(OWNERS), rng.choice(STAGES),
          _phrase(rng, 4).capitalize(), rng.choice(STATUSES)] for _ in range(12)],
    )
    contacts = _table(
        ["Name", "Title", "Role", "Notes"],
        [[f"Person {index}-{n}", rng.choice(["CIO", "CFO", "Plant manager", "Buyer"]),
          rng.choice(["decision-maker", "influencer", "user", "gatekeeper"]), _phrase(rng, 5).capitalize()]
         for n in range(5)],
    )
    steps = "\n".join(f"- {_sentence(rng, 6)}" for _ in range(4))
    return (f"# {title}\n\n"
            f"!!! note \"Summary\"\n    {_sentence(rng, 14)}\n\n"
            f"## Activities\n\n{activities}\n\n"
            f"## Contacts\n\n{contacts}\n\n"
            f"## Next steps\n\n{steps}\n\n"
            f"{' '.join(_sentence(rng, 12) for _ in range(4))}\n")


def write_plain_peer(root: Path, pages: int, seed: int = 7) -> Path:
    """Write a plain mkdocs-material project of `pages` pages (plus a home page) into `root`.

    Returns the path of its mkdocs.yml. An existing `root/docs` is replaced; `root/site` is left alone.
    """
    rng = random.Random(seed)
    docs = root / "docs"
    if docs.exists():
        shutil.rmtree(docs)
    (docs / "pages").mkdir(parents=True)
    (docs / "index.md").write_text(f"# Plain peer\n\n{pages:,} ordinary pages, none of them in the nav.\n",
                                   encoding="utf-8")
    for index in range(pages):
        (docs / "pages" / f"page-{index:05d}.md").write_text(page_text(index, rng), encoding="utf-8")
    config = root / "mkdocs.yml"
    config.write_text(CONFIG.format(pages=pages), encoding="utf-8")
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--out", type=Path, required=True, help="project folder to write (created if missing)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    config = write_plain_peer(args.out, args.pages, args.seed)
    print(f"wrote {args.pages:,} pages; build with: mkdocs build -f {config}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
