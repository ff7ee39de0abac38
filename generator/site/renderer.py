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
import re
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

import jinja2
from markupsafe import Markup, escape

from ..model.forecast import CATEGORIES
from ..sources.deal_format import reference_rows
from .finished import PLACEHOLDER, FinishedPage
from .safe_markdown import SafeMarkdown, is_safe_url

if TYPE_CHECKING:
    from ..diagnostics import Problem
    from ..labels import Labels
    from ..model.forecast import OwnerForecast
    from ..model.pipeline import DealView, Pipeline
    from ..sources.stage_model import StageModel
    from .paths import SitePaths


def _text(value: object) -> Markup:
    """Escape, and keep line breaks visible without ever producing a blank line."""
    if value is None:
        return Markup("")
    return Markup("<br>").join(escape(str(value)).split("\n"))


# Bidirectional embedding, override and isolate controls (U+202A–E, U+2066–9).
_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def _plain(value: object) -> Markup:
    """`text`, without bidi controls: for sentences that quote rep text inside themselves (warnings).

    The same as the templates' plain() macro, as a filter: the dashboard quotes a warning per line.
    """
    return _text(None if value is None else str(value).translate(_BIDI_CONTROLS))


class CompiledTemplates(jinja2.BytecodeCache):
    """Templates compiled once per process, for every Jinja environment that uses it.

    A build makes its environments anew (the renderer's, the theme's), and a site in two languages
    or a live preview builds again and again in one process: the process's session keeps one and hands
    it to each. Entries are checked against the template's source, so an edited template is compiled anew.
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


def age_class(view: DealView) -> str:
    """A card's colour: stale (red) for a stuck deal (`rules.deal_flags`, as everywhere), else how long it has
    been in its stage against the stage's stale threshold: ageing past half of it, fresh, or unknown."""
    if view.stuck:
        return "stale"
    days, limit = view.timeline.days_in_stage, view.timeline.stale_days
    if days is None:
        return "unknown"
    return "ageing" if days * 2 > limit else "fresh"


def front_matter(title: str, **meta: object) -> str:
    # Material prints page.meta.title without escaping, so escape it here;
    # JSON strings are valid YAML scalars.
    safe = html.escape(" ".join(title.split()))
    lines = [f"title: {json.dumps(safe, ensure_ascii=False)}"]
    lines += [f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in meta.items()]
    return "---\n" + "\n".join(lines) + "\n---\n\n"


def once_each(known: dict[int, tuple[object, str]], obj: object, make: Callable[[object], str]) -> str:
    """`make(obj)`, worked out once for each object. `known` (id → (object, value)) holds each
    object it has a value for, so that no other object can take its id meanwhile."""
    entry = known.get(id(obj))
    if entry is None or entry[0] is not obj:
        entry = known[id(obj)] = (obj, make(obj))
    return entry[1]


def forget_except(known: dict[int, tuple[object, str]], objects: list) -> None:
    """Drop what `once_each` keeps for any object but these."""
    for gone in known.keys() - {id(o) for o in objects}:
        del known[gone]


def deal_view_key(view: DealView, deal_repr: Callable[[object], str] = repr) -> str:
    """Everything of a deal's view its pages show, as text (a key of what was rendered from it)."""
    # The stage by its number: the whole model is in `Renderer.context_key` already.
    return repr((deal_repr(view.deal), view.stage.number, view.result, view.warnings, view.timeline, view.forecast,
                 view.flags))


class Renderer:
    """One Jinja environment and compiled templates, reused for every page of a build."""

    def __init__(self, model: StageModel, labels: Labels, paths: SitePaths, repo_url: str = "",
                 edit_branch: str = "main", workbooks: bool = True, rows: dict | None = None,
                 deal_repr: Callable[[object], str] = repr, view_key: Callable[[DealView], str] | None = None,
                 compiled: CompiledTemplates | None = None, worded: dict | None = None):
        self.model = model
        self.labels = labels
        self.paths = paths
        self.repo_url = repo_url.rstrip("/")
        self.edit_branch = edit_branch
        self.workbooks = workbooks
        self.markdown = SafeMarkdown()
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("generator.site", "templates"),
            autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
            bytecode_cache=compiled,  # none: compiled for this renderer alone
        )
        self.compiled = compiled
        # Dates, amounts and percents as the site's language writes them (Babel, `labels.formats`).
        formats = labels.formats
        self.env.filters.update(text=_text, plain=_plain, number=formats.number, percent=formats.percent,
                                date=formats.date, month=formats.month)
        self.env.globals.update(model=model, labels=labels, paths=paths, t=labels.pick,
                                term=partial(labels.term, model), stage_name=labels.stage_name,
                                categories=CATEGORIES, age=age_class)
        # A deal's row in a deals table (its card, …), by page and by what it shows: a live preview
        # hands in `rows` and keeps them from one rebuild to the next.
        self.rows: dict[tuple, Markup] | None = rows  # None: render each fragment where it is shown
        self._rows_used: set[tuple] = set()
        self._view_keys: dict[int, tuple[object, str]] = {}
        # The deal warnings are codes and values: worded here, in this renderer's language, once per view.
        self.wording = labels.with_model(model)
        # Each view's warnings in this language; a live preview's (`worded`) are kept from one rebuild to the next.
        self._worded: dict[int, tuple[object, list[Problem]]] = worded if worded is not None else {}
        self._deal_repr = deal_repr  # repr, or one that remembers it for the deals of a live preview
        self._remembered_key = view_key  # a live preview's: it remembers the key of each view it keeps
        self._context: str | None = None

    def for_paths(self, paths: SitePaths) -> Renderer:
        """A renderer of the same site at other paths (the quarter's snapshot), linking to no workbook: those
        are today's."""
        return Renderer(self.model, self.labels, paths, self.repo_url, self.edit_branch, workbooks=False,
                        deal_repr=self._deal_repr, view_key=self._remembered_key, compiled=self.compiled)

    def context_key(self, pipeline: Pipeline) -> str:
        """Everything besides a deal's view that its page depends on (for the page cache)."""
        if self._context is None:
            settings = (self.labels.language, self.paths.url("deals/x.md"), self.repo_url, self.edit_branch,
                        self.workbooks, pipeline.as_of.isoformat(), pipeline.history_note)
            self._context = repr((self.model, settings))
        return self._context

    def view_key(self, view: DealView) -> str:
        """Everything of a deal's view its pages show (computed once per build: it is not cheap)."""
        if self._remembered_key is not None:
            return self._remembered_key(view)
        return once_each(self._view_keys, view, lambda v: deal_view_key(v, self._deal_repr))

    def warnings(self, view: DealView) -> list[Problem]:
        """A deal's warnings worded in this renderer's language (message, hint and the site's plain sentence)."""
        return once_each(self._worded, view, lambda v: [self.wording.in_language(w) for w in v.warnings])

    def deal_json(self, view: DealView) -> dict:
        """A deal's entry in `/deals.json`, its warnings worded in this renderer's language beside their codes."""
        return view.as_json([w.summary() for w in self.warnings(view)])

    def _per_deal(self, name: str, src: str, pipeline: Pipeline,
                  owner_srcs: dict[str, str]) -> Callable[..., Markup]:
        """For the page `src`: a function giving a deal's fragment (template `name`), rendered once.

        A fragment shows its deal's view (the other arguments are computed from it) and its owner's link.
        """
        template = self.env.get_template(name)
        link, fc, scope = self.paths.linker(src), pipeline.forecast, (self.context_key(pipeline), src, name)

        def render(view: DealView, more: tuple) -> Markup:
            return Markup(template.render(view=view, link=link, owner_src=owner_srcs, fc=fc,
                                          reasons=more[0] if more else ()))

        def fragment(view: DealView, *more: object) -> Markup:
            if self.rows is None:  # a build shows each fragment once: keeping them would only cost memory
                return render(view, more)
            key = (scope, owner_srcs[view.deal.owner], self.view_key(view))
            html = self.rows.get(key)
            if html is None:
                html = self.rows[key] = render(view, more)
            self._rows_used.add(key)
            return html

        return fragment

    def forget_unused_rows(self) -> None:
        """Drop the rows no page of this build showed (a live preview's rows would grow with every edit)."""
        for key in set(self.rows or ()) - self._rows_used:
            del self.rows[key]  # type: ignore[union-attr]

    def deal_page(self, view: DealView, pipeline: Pipeline, owner_src: str) -> FinishedPage:
        src = self.paths.deal_page(view.id)
        edit = ""
        if self.repo_url and is_safe_url(self.repo_url):
            edit = f"{self.repo_url}/edit/{self.edit_branch}/{view.deal.path}"
        body = self.env.get_template("deal.html.j2").render(
            v=view, d=view.deal, r=view.result, as_of=pipeline.as_of, link=self.paths.linker(src),
            summary=Markup(self.markdown.convert(view.deal.summary)) if view.deal.summary else "",
            edit_url=edit, workbooks=self.workbooks, history_note=pipeline.history_note,
            matrix=self.stakeholder_matrix(view), owner_src=owner_src, fc=pipeline.forecast,
            warnings=self.warnings(view),
        )
        return FinishedPage(front_matter(view.deal.title, hide=["navigation", "toc"]) + PLACEHOLDER, body,
                            self.deal_search_entry(view))

    def deal_search_entry(self, view: DealView) -> str:
        """What search indexes for a deal page: its words, not its markup (much less to parse)."""
        d = view.deal
        status = self.labels.term(self.model, "status", d.status)
        summary = html.unescape(re.sub(r"<[^>]+>", " ", self.markdown.convert(d.summary))) if d.summary else ""
        words = [d.account, d.owner, self.labels.stage_name(view.stage), status, summary, d.lost_reason]
        for person in d.stakeholders:
            words += [person.name, person.title, person.notes]
        words += [step.action for step in d.next_steps] + [step.owner for step in d.next_steps]
        for rival in d.competitors:
            words += [rival.name, rival.strengths, rival.weaknesses]
        words += [e.evidence for e in d.exits.values()]
        text = " ".join(" ".join(w.split()) for w in words if w)
        return f"<h1>{escape(d.title)}</h1><p>{escape(text)}</p>"

    def stakeholder_matrix(self, view: DealView) -> list[list[list]]:
        """Rows: influence high → low; columns: stance champion → opponent; cells: stakeholders."""
        influence = self.model.keys("influence")
        stance = self.model.keys("stance")
        grid = [[[] for _ in stance] for _ in influence]
        for person in view.deal.stakeholders:
            if person.influence in influence and person.stance in stance:
                grid[influence.index(person.influence)][stance.index(person.stance)].append(person)
        return grid

    def pipeline_page(self, pipeline: Pipeline, owner_srcs: dict[str, str]) -> FinishedPage:
        """The dashboard: headline figures and the forecast first (one screen), then the detail."""
        fc = pipeline.forecast
        body = self.env.get_template("pipeline.html.j2").render(
            p=pipeline, fc=fc, as_of=pipeline.as_of, link=self.paths.linker(self.paths.pipeline_page),
            workbooks=self.workbooks, attention=self.needs_attention(pipeline), owner_src=owner_srcs,
            periods=fc.table_periods(), deal_owners=sorted({v.deal.owner for v in pipeline.deals}),
            deal_row=self._per_deal("deal_row.html.j2", self.paths.pipeline_page, pipeline, owner_srcs),
            attention_item=self._per_deal("attention_item.html.j2", self.paths.pipeline_page, pipeline, owner_srcs),
            grade_item=self._per_deal("grade_item.html.j2", self.paths.pipeline_page, pipeline, owner_srcs),
        )
        title = self.labels.pipeline
        return FinishedPage(front_matter(title, hide=["navigation", "toc"]) + PLACEHOLDER, body,
                            f"<h1>{escape(title)}</h1>")

    def forecast_page(self, pipeline: Pipeline, owner_srcs: dict[str, str]) -> FinishedPage:
        """Forecast calls: this quarter's pace, and how right each owner's and the manager's calls were."""
        body = self.env.get_template("forecast.html.j2").render(
            p=pipeline, fc=pipeline.forecast, as_of=pipeline.as_of, link=self.paths.linker(self.paths.forecast_page),
            pace=pipeline.pacing, acc=pipeline.accuracy, owner_src=owner_srcs)
        title = self.labels.calls_title
        return FinishedPage(front_matter(title, hide=["navigation", "toc"]) + PLACEHOLDER, body,
                            f"<h1>{escape(title)}</h1>")

    def board_page(self, pipeline: Pipeline, owner_srcs: dict[str, str]) -> FinishedPage:
        """A column per stage, a card per open deal, the largest first."""
        by_stage: dict[int, list[DealView]] = {s.number: [] for s in self.model.stages}
        for view in pipeline.open_deals:
            by_stage[view.deal.stage].append(view)
        columns = [(totals, sorted(by_stage[totals.stage.number], key=lambda v: (-v.forecast.amount, v.id)))
                   for totals in pipeline.forecast.stages]
        body = self.env.get_template("board.html.j2").render(
            p=pipeline, fc=pipeline.forecast, as_of=pipeline.as_of, link=self.paths.linker(self.paths.board_page),
            columns=columns, owner_src=owner_srcs,
            card=self._per_deal("board_card.html.j2", self.paths.board_page, pipeline, owner_srcs),
        )
        # The board repeats what the deal pages say: kept out of the search index so results lead to the deal.
        return FinishedPage(front_matter(self.labels.board, hide=["navigation", "toc"], search={"exclude": True})
                            + PLACEHOLDER, body, f"<h1>{escape(self.labels.board)}</h1>")

    def owner_page_key(self, owner: OwnerForecast, pipeline: Pipeline, owner_srcs: dict[str, str]) -> tuple:
        """Everything `owner_page` shows, for a live preview to keep the page while none of it changes."""
        fc = pipeline.forecast
        return ("owner", self.context_key(pipeline), repr(owner), repr(fc.table_periods(owner.periods, owner)),
                fc.has_team, pipeline.movement is None, repr(sorted(owner_srcs.items())),
                repr(pipeline.accuracy.owner(owner.owner)),
                tuple(self.view_key(v) for v in pipeline.deals if v.deal.owner == owner.owner))

    def owner_page(self, owner: OwnerForecast, pipeline: Pipeline, owner_srcs: dict[str, str]) -> FinishedPage:
        src = owner_srcs[owner.owner]
        views = [v for v in pipeline.deals if v.deal.owner == owner.owner]
        overdue = sorted(((v, step) for v in views if v.is_open for step in v.deal.next_steps
                          if step.due is not None and not step.done and step.due < pipeline.as_of),
                         key=lambda pair: (pair[1].due, pair[0].id))
        body = self.env.get_template("owner.html.j2").render(
            p=pipeline, fc=pipeline.forecast, o=owner, as_of=pipeline.as_of, link=self.paths.linker(src),
            views=views, overdue=overdue, owner_src=owner_srcs,
            periods=pipeline.forecast.table_periods(owner.periods, owner),
            deal_row=self._per_deal("deal_row.html.j2", src, pipeline, owner_srcs),
        )
        title = self.labels("owner_page", owner=owner.owner)
        # Search finds the owner's page by their name and the titles of their deals.
        words = " ".join(" ".join(v.deal.title.split()) for v in views)
        return FinishedPage(front_matter(title, hide=["navigation", "toc"]) + PLACEHOLDER, body,
                            f"<h1>{escape(title)}</h1><p>{escape(words)}</p>")

    def needs_attention(self, pipeline: Pipeline) -> list[tuple[DealView, list[str]]]:
        """Deals with warnings, the largest (converted) first, each warning in plain words (no field names)."""
        views = sorted((v for v in pipeline.deals if v.warnings),
                       key=lambda v: (not v.is_open, -v.forecast.amount, v.id))
        return [(view, [w.reader_text for w in self.warnings(view)]) for view in views]

    def stage_page_key(self, number: int, pipeline: Pipeline) -> tuple:
        """Everything `stage_page` shows, for a live preview to keep the page while none of it changes."""
        return ("stage", self.context_key(pipeline), number, tuple(self.view_key(v) for v in pipeline.by_stage(number)))

    def stage_page(self, number: int, pipeline: Pipeline | None) -> str:
        stage = self.model.stage(number)
        src = self.paths.stage_page(stage)
        body = self.env.get_template("stage.md.j2").render(
            stage=stage, deals=pipeline.by_stage(number) if pipeline else [], has_pipeline=pipeline is not None,
            link=self.paths.linker(src), md=self.paths.source_linker(src),
        )
        return front_matter(f"{number}. {self.labels.stage_name(stage)}") + body

    def reference_page(self) -> str:
        rows = reference_rows(self.model, self.labels)
        return front_matter(self.labels.reference_title) + \
            self.env.get_template("reference.md.j2").render(rows=rows)

    def render_playbook_page(self, markdown_source: str, src: str) -> str:
        """Hand-written pages are trusted templates; they read their numbers from the model."""
        template = self.env.from_string(markdown_source)
        # link(): a URL, for raw HTML; md(): a source path, for Markdown links mkdocs checks and rewrites.
        return template.render(link=self.paths.linker(src), md=self.paths.source_linker(src))
