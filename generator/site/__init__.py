"""The site: every path and URL, the renderer and its templates, safe Markdown, the generated pages."""
