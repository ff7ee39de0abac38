"""The history pages — what moved (`/deals/changes/`), where deals die (`/deals/insights/`) — and `/history.json`.

Numbers come from the pipeline's `Movement`; this module only arranges them: sums per kind, the
geometry of the two charts (SVG drawn by the templates, coloured by the stylesheet so that they
follow the light and dark schemes), and the links. Rep text reaches the templates as
variables only, like everywhere else.

It uses the model and the renderer through the objects it is handed, importing neither, so the
import graph stays as shallow as `tests/test_architecture.py` wants it.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..cache import Cache
    from ..labels import Labels
    from ..model.movement import Event, Movement, Week
    from ..model.pipeline import Pipeline
    from .renderer import Renderer

# What the reader is told to do about each reason there is no history (catalog keys).
TODO = {"history_no_git": "history_todo_no_git", "history_not_repo": "history_todo_not_repo",
        "history_shallow": "history_todo_shallow", "history_no_commits": "history_todo_no_commits",
        "history_failed": "history_todo_failed", "history_off": "history_todo_off"}


def _cache_entry(pipeline: Pipeline, renderer: Renderer, cache: Cache, with_json: bool) -> tuple[str, str]:
    assert pipeline.movement is not None
    # One kind per language: pruning the Chinese pages must not drop the English ones at the same HEAD.
    kind = f"history-pages-{renderer.labels.language}"
    return kind, cache.key("history-pages", pipeline.movement.key, renderer.context_key(pipeline), str(with_json))


def history_pages_cached(pipeline: Pipeline, renderer: Renderer, cache: Cache, with_json: bool = True) -> bool:
    """Whether `history_pages` would find its pages in the cache (and compute no movement)."""
    return pipeline.movement is None or cache.get(*_cache_entry(pipeline, renderer, cache, with_json)) is not None


def history_pages(pipeline: Pipeline, renderer: Renderer, cache: Cache, with_json: bool = True,
                  kept: Kept | None = None) -> dict[str, str]:
    """Site path → content for the two pages and `/history.json` (`with_json`: once, in the first language);
    nothing when the build did not ask for them.

    Cached under the movement's key and the rendering context: a rebuild at the same HEAD with the
    same deals takes them from the cache without computing the movement. `kept` (a live preview's)
    keeps each page by the movement's numbers and the titles it shows: a page showing none of the
    deals whose title changed is not made again.
    """
    source = pipeline.movement
    if source is None:
        return {}
    kind, key = _cache_entry(pipeline, renderer, cache, with_json)
    cached = cache.get(kind, key)
    if cached is not None:
        try:
            return pickle.loads(cached)
        except Exception:  # noqa: BLE001 - verified but unreadable (another Python): render them again
            pass
    movement, paths = source.get(), renderer.paths
    pages = {src: _page(kept, src, make, movement, pipeline, renderer)
             for src, make in ((paths.changes_page, changes_page), (paths.insights_page, insights_page))}
    if with_json:
        if "json" not in movement.derived:  # made once for the numbers, whatever the titles
            movement.derived["json"] = json.dumps(movement.as_json(), ensure_ascii=False, indent=1)
        pages[paths.history_json] = movement.derived["json"]
    cache.put(kind, key, pickle.dumps(pages, protocol=pickle.HIGHEST_PROTOCOL))
    cache.prune(kind, {key})
    return pages


class Kept(Protocol):
    def get(self, key: Callable[[], tuple], make: Callable[[], Any],
            still_valid: Callable[[Any], bool] | None = None) -> Any: ...


def _page(kept: Kept | None, src: str, make: Callable[..., str], movement: Movement, pipeline: Pipeline,
          renderer: Renderer) -> str:
    if kept is None:
        return make(movement, pipeline, renderer)
    assert pipeline.movement is not None

    def render() -> tuple[dict[str, str], str]:
        shown: dict[str, str] = {}  # deal id → its title, as this page shows it
        page = make(movement, pipeline, renderer,
                    lambda deal_id: shown.setdefault(deal_id, movement.titles.get(deal_id, deal_id)))
        return shown, page

    # The movement's numbers and every deal present are in `facts`; the titles are checked one by one.
    shown, page = kept.get(lambda: ("history", src, pipeline.movement.facts, renderer.context_key(pipeline)), render,
                           lambda known: all(movement.titles.get(i, i) == t for i, t in known[0].items()))
    return page


def _common(movement: Movement, pipeline: Pipeline, renderer: Renderer, src: str,
            title: Callable[[str], str] | None = None) -> dict:
    paths = renderer.paths
    deal_ids = {view.id for view in pipeline.deals}
    return {
        "m": movement, "as_of": movement.as_of, "link": paths.linker(src), "limits": movement.limits,
        "todo": TODO.get(movement.reason, "history_todo_failed"),
        "deal_link": lambda deal_id: paths.link(src, paths.deal_page(deal_id)) if deal_id in deal_ids else "",
        "title": title or (lambda deal_id: movement.titles.get(deal_id, deal_id)),
        "sums": lambda values: _format_sums(values, renderer.env.filters["number"]),
    }


def changes_page(movement: Movement, pipeline: Pipeline, renderer: Renderer,
                 title: Callable[[str], str] | None = None) -> str:
    src = renderer.paths.changes_page
    as_of = movement.as_of
    week = movement.events_between(as_of - timedelta(days=6), as_of)
    month = movement.events_between(as_of - timedelta(days=29), as_of)
    earlier = [e for e in month if e.date < as_of - timedelta(days=6)]
    return renderer.env.get_template("changes.html.j2").render(
        **_common(movement, pipeline, renderer, src, title),
        summary=[(kind, _of_kind(week, kind, movement.reporting), _of_kind(month, kind, movement.reporting))
                 for kind in movement.kinds],
        week=_grouped(week, movement), earlier=_grouped(earlier, movement),
        week_first=as_of - timedelta(days=6), earlier_last=as_of - timedelta(days=7),
        month_first=as_of - timedelta(days=29),
        waterfalls=[_waterfall_chart(bucket, steps, movement.waterfall.STEPS, renderer)
                    for bucket, steps in sorted(movement.waterfall.steps.items())] if movement.waterfall else [],
    )


def insights_page(movement: Movement, pipeline: Pipeline, renderer: Renderer,
                  title: Callable[[str], str] | None = None) -> str:
    src = renderer.paths.insights_page
    buckets = sorted({b for week in movement.weekly for b in week.by_stage})
    # The meters' scale: the longest time shown (a stage with too few ended stays shows words instead).
    longest = max((row.median_days or 0 for row in movement.conversion if row.timed), default=0) or 1
    return renderer.env.get_template("insights.html.j2").render(
        **_common(movement, pipeline, renderer, src, title),
        longest=longest, closed=sum(b.won + b.lost for b in movement.owners),  # each closed deal has one owner
        weekly=[(_weekly_chart(bucket, movement.weekly, len(pipeline.model.stages), renderer.labels),
                 # The weeks inside the history only: before it, every row would be a zero that means nothing.
                 [(w.week_end, w.counts.get(bucket, 0), sum(w.by_stage.get(bucket, {}).values()),
                   w.weighted.get(bucket, 0.0)) for w in reversed(movement.weekly)
                  if movement.start is None or w.week_end >= movement.start])
                for bucket in buckets],
    )


def _of_kind(events: list[Event], kind: str, reporting: str | None) -> tuple[int, list[tuple[str, float]]]:
    chosen = [e for e in events if e.kind == kind]
    return len(chosen), _sums(chosen, reporting)


def _sums(events: list[Event], reporting: str | None) -> list[tuple[str, float]]:
    """(currency, sum) of the events' values: in the reporting currency when there is one."""
    sums: dict[str, float] = {}
    for event in events:
        if reporting and event.value_reporting is not None:
            sums[reporting] = sums.get(reporting, 0.0) + event.value_reporting
        else:
            sums[event.currency] = sums.get(event.currency, 0.0) + event.value
    return sorted(sums.items())


def _format_sums(values: list[tuple[str, float]], number: Callable[[float], str]) -> str:
    return " · ".join(f"{number(round(amount, 2))} {currency}" for currency, amount in values) or "–"


def _grouped(events: list[Event], movement: Movement) -> list[tuple[str, list[Event], list[tuple[str, float]]]]:
    """(kind, its events newest first, their sums), in the order of the kinds, kinds without events left out."""
    out = []
    for kind in movement.kinds:
        chosen = [e for e in events if e.kind == kind]
        if chosen:
            newest_first = sorted(chosen, key=lambda e: (-e.date.toordinal(), e.deal))
            out.append((kind, newest_first, _sums(chosen, movement.reporting)))
    return out


# --- charts ---------------------------------------------------------------------------------------

def compact(value: float, labels: Labels) -> str:
    """An axis label: 1.2M, 350K — or 120万, 1.5亿 on a Chinese site, as amounts are said there (Babel's
    short form for the site's locale, `Formats.compact`)."""
    return labels.formats.compact(value)


def _text_width(text: str, size: float) -> float:
    """About how wide `text` is at font size `size`: digits and Latin letters ~0.6 em, CJK characters 1 em."""
    return size * sum(1.0 if ord(c) >= 0x2E80 else 0.6 for c in text)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str  # a class of the stylesheet, which holds the colour
    title: str  # shown on hover and read by screen readers
    opacity: float = 1.0  # later stages darker, in the one accent colour of either scheme


@dataclass(frozen=True)
class Chart:
    bucket: str
    width: int
    height: int
    bars: list[Bar]
    texts: list[tuple[float, float, str, str, str]]  # x, y, anchor, css, text
    lines: list[tuple[float, float, float, float, str]]  # x1, y1, x2, y2, css
    path: str = ""  # the weighted-pipeline line of the weekly chart
    legend: tuple[tuple[str, str, float], ...] = ()  # (css, text, opacity)


# The colour class of each step that takes from the pipeline (the stylesheet holds the colours).
_TAKEN = {"decreases": "db-wf--down", "won": "db-wf--won", "lost": "db-wf--lost", "removed": "db-wf--removed"}


@dataclass(frozen=True)
class Step:
    """One row of the waterfall: its words and value are HTML text, its bar an SVG 1000 units wide."""

    step: str
    label: str
    value: str
    css: str
    x: float
    width: float


@dataclass(frozen=True)
class WaterfallChart:
    bucket: str
    steps: list[Step]


def _waterfall_chart(bucket: str, steps: dict[str, float], order: tuple[str, ...],
                     renderer: Renderer) -> WaterfallChart:
    """One row per step, the bar floating from the level before it to the level after it.

    The rows are HTML with an SVG bar each, not one SVG: on a phone the words then wrap and keep
    the page's text size instead of shrinking with a drawing scaled to the screen.
    """
    labels, number = renderer.labels, renderer.env.filters["number"]
    shown = [s for s in order if s != "removed" or steps.get("removed")]

    def value(sign: str, amount: float) -> str:
        return number(round(amount, 2)) if not amount or not sign else sign + number(round(amount, 2))

    level = 0.0
    rows = []  # (step, low, high, css, value shown)
    for step in shown:
        amount = steps.get(step, 0.0)
        if step in ("start", "end"):
            rows.append((step, 0.0, amount, "db-wf--total", value("", amount)))
            level = amount
        elif step in ("new", "increases"):
            rows.append((step, level, level + amount, "db-wf--up", value("+", amount)))
            level += amount
        else:
            rows.append((step, level - amount, level, _TAKEN.get(step, "db-wf--lost"), value("−", amount)))
            level -= amount
    top = max([row[2] for row in rows] + [1.0])
    out = []
    for step, low, high, css, shown_value in rows:
        # A step that moved something gets at least a sliver; one that moved nothing, no bar.
        width = 0.0 if high <= low else max(1000 * (high - low) / top, 6.0)
        out.append(Step(step, labels.waterfall_steps[step], shown_value, css, round(1000 * low / top, 1),
                        round(width, 1)))
    return WaterfallChart(bucket, out)


def _weekly_chart(bucket: str, weeks: list[Week], stages: int, labels: Labels) -> Chart:
    """Stacked columns: the open pipeline of each week by stage, and the weighted pipeline as a line."""
    width, height, right, bottom, top_pad = 520, 250, 18, 26, 8
    plot = height - bottom - top_pad
    totals = [sum(w.by_stage.get(bucket, {}).values()) for w in weeks]
    weighted = [w.weighted.get(bucket, 0.0) for w in weeks]
    top = _nice(max(totals + [1.0]))
    # Room for the longest axis label at the size a phone shows it (21 units, see the stylesheet):
    # 5000万 is wider than 50M.
    left = max(58, round(max(_text_width(compact(top * grid / 4, labels), 21) for grid in range(5)) + 10))
    step = (width - left - right) / max(len(weeks), 1)
    bars, texts, lines = [], [], []
    for grid in range(5):
        value = top * grid / 4
        y = round(top_pad + plot - plot * grid / 4, 1)
        lines.append((left, y, width, y, "db-chart__grid"))
        texts.append((left - 6, y + 4, "end", "db-chart__axis", compact(value, labels)))
    points = []
    for index, week in enumerate(weeks):
        x = left + index * step + step * 0.15
        base = 0.0
        for stage, amount in sorted(week.by_stage.get(bucket, {}).items()):
            h = plot * amount / top
            title = (f"{labels.format_date(week.week_end)} · {labels('stage_n', n=stage)}"
                     f"{labels.colon}{compact(amount, labels)}")
            bars.append(Bar(round(x, 1), round(top_pad + plot - plot * (base + amount) / top, 1), round(step * 0.7, 1),
                            round(h, 1), "db-wk", title, _shade(stage, stages)))
            base += amount
        points.append(f"{x + step * 0.35:.1f},{top_pad + plot - plot * weighted[index] / top:.1f}")
        if index % 4 == (len(weeks) - 1) % 4:  # the last week always has its date
            texts.append((round(x + step * 0.35, 1), height - 8, "middle", "db-chart__axis",
                          labels.formats.day(week.week_end)))
    legend = tuple(("db-wk", str(n), _shade(n, stages)) for n in range(1, stages + 1))
    return Chart(bucket, width, height, bars, texts, lines, "M" + " L".join(points) if points else "", legend)


def _shade(stage: int, stages: int) -> float:
    """One hue, later stages stronger: the stages are an order, not categories; 0.3 still reads on dark."""
    return round(0.3 + 0.7 * (min(max(stage, 1), stages) - 1) / max(stages - 1, 1), 2)


def _nice(value: float) -> float:
    """The axis maximum at or above `value` whose quarters are round numbers (4 grid lines)."""
    power = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8, 10):
        if value <= factor * power:
            return factor * power
    return 10 * power
