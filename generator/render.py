"""Render the generated pages (Markdown with HTML blocks) from the computed pipeline.

Values from deal files only ever reach a template as *variables* in an
autoescaping Jinja environment, never as template source, so `{{ … }}` in a
deal is just text and `<script>` arrives as `&lt;script&gt;`. The pages are
written as raw HTML blocks so that Markdown does not reinterpret `|`, `*` or
newlines typed by a rep.
"""

from __future__ import annotations

import html
import json
import posixpath
from datetime import date
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from .cache import digest, source_salt
from .catalog import Labels
from .deal_format import deal_spec, reference_rows
from .pipeline import DealView, Pipeline
from .safe_markdown import SafeMarkdown, is_safe_url
from .stage_model import StageModel

_HERE = Path(__file__).parent
RENDERING_SOURCES = (_HERE / "render.py", _HERE / "safe_markdown.py", _HERE / "catalog.py",
                     *sorted((_HERE / "templates").glob("*")), *sorted((_HERE / "catalog").glob("*.yml")))


def dest_url(src: str, directory_urls: bool = True) -> str:
    """The URL mkdocs gives a Markdown source path (relative to the site root)."""
    stem = src[:-3] if src.endswith(".md") else src
    if not src.endswith(".md"):
        return src
    if stem == "index" or stem.endswith("/index"):
        return stem[:-5]
    return f"{stem}/" if directory_urls else f"{stem}.html"


def relative_url(from_src: str, to: str, directory_urls: bool = True) -> str:
    """A link from the page built from `from_src` to `to` (a source path or a site file)."""
    here = dest_url(from_src, directory_urls)
    base = here if here.endswith("/") or here == "" else posixpath.dirname(here) + "/"
    target = dest_url(to, directory_urls)
    rel = posixpath.relpath(target or ".", base or ".")
    return rel + ("/" if target.endswith("/") and not rel.endswith("/") else "")


def _text(value: object) -> Markup:
    """Escape, and keep line breaks visible without ever producing a blank line."""
    if value is None:
        return Markup("")
    return Markup("<br>").join(escape(str(value)).split("\n"))


def _number(value: float | None, places: int = 2) -> str:
    if value is None:
        return "–"
    if float(value).is_integer() and places == 2:
        return f"{value:,.0f}"
    return f"{value:,.{places}f}"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _date(value: date | None) -> str:
    return value.isoformat() if value else ""


def front_matter(title: str, **meta: object) -> str:
    # Material prints page.meta.title without escaping, so escape it here;
    # JSON strings are valid YAML scalars.
    safe = html.escape(" ".join(title.split()))
    lines = [f"title: {json.dumps(safe, ensure_ascii=False)}"]
    lines += [f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in meta.items()]
    return "---\n" + "\n".join(lines) + "\n---\n\n"


class Renderer:
    """One Jinja environment and compiled templates, reused for every page of a build."""

    def __init__(self, model: StageModel, language: str = "en", directory_urls: bool = True,
                 repo_url: str = "", edit_branch: str = "main", workbooks: bool = True):
        self.model = model
        self.labels = Labels(language)
        self.directory_urls = directory_urls
        self.repo_url = repo_url.rstrip("/")
        self.edit_branch = edit_branch
        self.workbooks = workbooks
        self.markdown = SafeMarkdown()
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("generator", "templates"),
            autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
        )
        self.env.filters.update(text=_text, number=_number, percent=_percent, date=_date)
        self.env.globals.update(model=model, labels=self.labels, stage_name=self.stage_name)

    def fingerprint(self, pipeline: Pipeline) -> str:
        """Everything besides a deal's view that its page depends on (for the page cache)."""
        settings = (self.labels.language, self.directory_urls, self.repo_url, self.edit_branch, self.workbooks,
                    pipeline.as_of.isoformat(), pipeline.history_note)
        return digest(source_salt(*RENDERING_SOURCES), repr(self.model), repr(settings))

    def stage_name(self, stage) -> str:
        return stage.name_zh if self.labels.language == "zh" else stage.name

    def _link(self, src: str):
        return lambda to: relative_url(src, to, self.directory_urls)

    def deal_page(self, view: DealView, pipeline: Pipeline) -> str:
        src = f"deals/{view.id}.md"
        edit = ""
        if self.repo_url and is_safe_url(self.repo_url):
            edit = f"{self.repo_url}/edit/{self.edit_branch}/{view.deal.path}"
        body = self.env.get_template("deal.html.j2").render(
            v=view, d=view.deal, r=view.result, as_of=pipeline.as_of, link=self._link(src),
            summary=Markup(self.markdown.convert(view.deal.summary)) if view.deal.summary else "",
            edit_url=edit, workbooks=self.workbooks, history_note=pipeline.history_note,
            matrix=self.stakeholder_matrix(view),
        )
        return front_matter(view.deal.title, hide=["navigation", "toc"]) + body

    def stakeholder_matrix(self, view: DealView) -> list[list[list]]:
        """Rows: influence high → low; columns: stance champion → opponent; cells: stakeholders."""
        influence = self.model.keys("influence")
        stance = self.model.keys("stance")
        grid = [[[] for _ in stance] for _ in influence]
        for person in view.deal.stakeholders:
            if person.influence in influence and person.stance in stance:
                grid[influence.index(person.influence)][stance.index(person.stance)].append(person)
        return grid

    def pipeline_page(self, pipeline: Pipeline) -> str:
        src = "deals/index.md"
        body = self.env.get_template("pipeline.html.j2").render(
            p=pipeline, as_of=pipeline.as_of, link=self._link(src), workbooks=self.workbooks,
            totals=pipeline.stage_totals(), attention=self.needs_attention(pipeline),
        )
        return front_matter(self.labels.pipeline, hide=["navigation", "toc"]) + body

    def needs_attention(self, pipeline: Pipeline) -> list[tuple[DealView, list[str]]]:
        out = []
        for view in pipeline.deals:
            reasons = [f"{w.field}: {w.message}" if w.field else w.message for w in view.warnings]
            if reasons:
                out.append((view, reasons))
        return out

    def stage_page(self, number: int, pipeline: Pipeline | None) -> str:
        stage = self.model.stage(number)
        src = stage.page
        body = self.env.get_template("stage.md.j2").render(
            stage=stage, deals=pipeline.by_stage(number) if pipeline else [], link=self._link(src),
            has_pipeline=pipeline is not None,
        )
        return front_matter(f"{number}. {stage.name}") + body

    def reference_page(self) -> str:
        rows = reference_rows(deal_spec(self.model))
        return self.env.get_template("reference.md.j2").render(rows=rows)

    def playbook_macros(self, src: str) -> dict:
        """What hand-written playbook pages may use: the model and links to stage pages."""
        return {"model": self.model, "link": self._link(src), "labels": self.labels}

    def render_playbook_page(self, markdown_source: str, src: str) -> str:
        """Hand-written pages are trusted templates; they read their numbers from the model."""
        template = self.env.from_string(markdown_source)
        return template.render(**self.playbook_macros(src))
