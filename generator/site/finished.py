"""Finished pages: generated pages whose HTML is complete before the site generator sees them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

# A generated page whose HTML is finished is handed to mkdocs as this Markdown (cheap to convert);
# the plugin puts the HTML in its place, so Python-Markdown never re-parses Dealbook's own markup.
PLACEHOLDER = "<!-- dealbook: finished page -->\n"


@dataclass(frozen=True)
class FinishedPage:
    """A page rendered to HTML: the Markdown stub mkdocs reads, the HTML body, the search entry.

    The body may be given as a function that fetches it: a site generator holds every page until
    the build ends, and at 10,000 deals their bodies alone are about 300 MB per language; fetched
    when the theme needs it and let go once written, one body at a time is in memory.
    """

    markdown: str
    body: str | Callable[[], str]
    search: str
    # What the body is made from, for a body given as a function (its cache key): the Markdown stub
    # stays the same when the body changes, and a live preview must know which pages to write again.
    version: str = ""

    @property
    def html(self) -> str:
        return self.body if isinstance(self.body, str) else self.body()

    @property
    def identity(self) -> str:
        """Differs whenever the page's HTML or search entry differs."""
        body = self.version if not isinstance(self.body, str) else self.body
        return hashlib.sha256("\0".join((self.markdown, self.search, body)).encode("utf-8")).hexdigest()
