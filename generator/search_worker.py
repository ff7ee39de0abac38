"""Material's search worker, with its segmentation of Chinese queries mended.

The search index holds Chinese text already cut into words (by jieba, at build time). In the
browser, Material cuts a query of Chinese characters into words found in that index
(`integrations/search/query/segment/index.ts`), but its loop tries every piece of the query
except the whole query: `for (j = i + 1; j < query.length; j++)`. So 地铁 is searched as 地
(16 pages on the sample site instead of 4) and 郑国华 as 郑 and 郑国. Checked on Material
9.8.2, the last release (the project is in maintenance: the loop will not be fixed there).

The plugin publishes the theme's worker with that one comparison made inclusive (`<=`), found
by its shape in the minified file; where a release writes it differently, the worker is
published as it is and the build says so once. `test_browser` searches 地铁 on `/zh/`.

Used by the plugin only; the core never imports it.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

log = logging.getLogger("mkdocs.plugins.dealbook")

WORKER_FOLDER = "assets/javascripts/workers/"
# `for(let j=i+1;j<q.length;j++)q.slice(i,j)in index` in whatever names the minifier chose.
_PIECES_LOOP = re.compile(r"for\(let (\w+)=(\w+)\+1;\1<(\w+)\.length;\1\+\+\)\3\.slice\(\2,\1\)in ")


def is_search_worker(src_uri: str) -> bool:
    return src_uri.startswith(WORKER_FOLDER) and src_uri.endswith(".js") and "/search" in src_uri


def mended(source: str) -> str | None:
    """The worker with the whole query tried as a word too; None when the loop is not found once."""
    found = _PIECES_LOOP.findall(source)
    if len(found) != 1:
        return None
    return _PIECES_LOOP.sub(lambda m: m.group(0).replace(f"{m.group(1)}<", f"{m.group(1)}<=", 1), source)


def mended_worker(path: str | Path) -> str | None:
    return mended(Path(path).read_text(encoding="utf-8"))


def mended_workers(workers: dict[str, str]) -> dict[str, str]:
    """Of the theme's files (site path → file), the search workers this module can mend, mended (site path →
    source); each it cannot is said once in the log and published as it is."""
    out = {}
    for src, path in workers.items():
        if not is_search_worker(src):
            continue
        source = mended_worker(path)
        if source is None:
            log.info("dealbook: %s is not the search worker this version knows; Chinese queries are "
                     "searched as Material cuts them", src)
        else:
            out[src] = source
    return out
