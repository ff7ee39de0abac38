"""Finished pages: generated pages whose HTML is complete before the site generator sees them."""

from __future__ import annotations

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

    @property
    def html(self) -> str:
        return self.body if isinstance(self.body, str) else self.body()
