"""Finished pages: generated pages whose HTML is complete before the site generator sees them."""

from __future__ import annotations

from dataclasses import dataclass

# A generated page whose HTML is finished is handed to mkdocs as this Markdown (cheap to convert);
# the plugin puts the HTML in its place, so Python-Markdown never re-parses Dealbook's own markup.
PLACEHOLDER = "<!-- dealbook: finished page -->\n"


@dataclass(frozen=True)
class FinishedPage:
    """A page rendered to HTML: the Markdown stub mkdocs reads, the HTML body, the search entry."""

    markdown: str
    html: str
    search: str
