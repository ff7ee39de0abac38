"""The one read → compute → outputs path, shared by the plugin, `dealbook check` and the benchmark.

`read_project` reads the stage model, the deal files and the git history and computes the
pipeline; problems are returned, never raised. `site_outputs` turns a pipeline into the
generated pages and the workbook jobs. Neither knows anything of mkdocs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .cache import Cache
from .diagnostics import Problem, Problems, WordedError, worded
from .labels import PLACEHOLDERS, Labels
from .model.pipeline import Pipeline, ViewMemo, compute
from .site.paths import SitePaths
from .sources.audiences import for_audience, leave_out, leave_out_team, leave_out_versions, refusal
from .sources.calls import load_calls
from .sources.deal_files import Deal, DealLoader, deal_files, shown_path, stray_entries
from .sources.history import History, read_history, read_latest, skipped_warnings
from .sources.stage_model import StageModel, StageModelError, load_stage_model
from .sources.team import Team, load_team

if TYPE_CHECKING:
    from .model.movement import Movement, MovementSource
    from .site.pages import Remembered, SitePages
    from .site.renderer import CompiledTemplates, Renderer
    from .sources.deal_versions import VersionsSource
    from .workbooks.jobs import Job

DEFAULT_MODEL = Path("playbook/playbook.yml")
DEFAULT_DEALS = Path("deals")
DEFAULT_CACHE = Path(".cache")
TEAM_FILE = "team.yml"  # beside the stage model; optional
CALLS_FILE = "calls.yml"  # the forecast calls, beside it too; optional


def calls_path(model_path: Path) -> Path:
    """The forecast calls belong with the team file: their amounts are in the same currency and periods."""
    return model_path.parent / CALLS_FILE


def team_path(model_path: Path) -> Path:
    """The team file belongs with the stage model: the quotas are in its reporting currency and periods."""
    return model_path.parent / TEAM_FILE


# The build stamps SOURCE_DATE_EPOCH into gzip headers (mkdocs' sitemap.xml.gz), whose time field is
# an unsigned 32-bit number of seconds: 1970-01-01 to 2106-02-07. A value outside it is refused here,
# for `check` and the build alike, instead of failing deep inside the build.
LAST_EPOCH = 2**32 - 1


def as_of_date(environ: dict[str, str] | None = None) -> date:
    """Today, or the date of SOURCE_DATE_EPOCH when set (reproducible builds)."""
    env = os.environ if environ is None else environ
    epoch = env.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        if not re.fullmatch(r"[0-9]{1,20}", epoch) or int(epoch) > LAST_EPOCH:
            shown = epoch if len(epoch) <= 40 else epoch[:40] + "…"
            raise WordedError(worded("source_date_epoch", value=repr(shown), last=LAST_EPOCH))
        return datetime.fromtimestamp(int(epoch), tz=UTC).date()
    return datetime.now(tz=UTC).date()


@dataclass
class Project:
    """What was read and computed; `model` and `pipeline` are None when the stage model is unusable."""

    model: StageModel | None
    pipeline: Pipeline | None
    problems: Problems


HistoryDepth = Literal["full", "latest", "none"]


@dataclass
class Kept:
    """What a process keeps from one build to the next (a `Session`'s), each part updated by the build using it."""

    models: dict = field(default_factory=dict)  # the stage model last read, by its files' names and bytes
    movements: dict = field(default_factory=dict)  # the history's movement last computed, by its facts
    histories: dict | None = None  # a live preview's: the git history last read, by commit
    emptied: dict | None = None  # a live preview's: the deals as the audience sees them, by the deal read
    snapshots: dict | None = None  # a live preview's: the quarter's start last computed, by its inputs


def read_project(root: Path, model_path: Path, deals_dir: Path, as_of: date, labels: Labels, cache: Cache,
                 files: list[Path] | None = None, history: HistoryDepth = "full", movement: bool = False,
                 remembered: dict | None = None, views: ViewMemo | None = None,
                 history_since: int | None = None, audience: str = "",
                 kept: Kept | None = None) -> Project:
    """Everything `dealbook check` and the build need: every deal file, or only `files`.

    `history`: "full" (builds), "latest" (`dealbook check`: enough for the warnings) or "none".
    `movement`: also read every past version of the deal files, for the history pages (builds only).
    `remembered`: the deals read by the previous rebuild of a live preview, by file signature (updated).
    `views`: the views it computed from them (updated).
    `history_since`: the plugin's option as a UTC timestamp; commits before it are not read as history.
    `audience`: whom the build is for (`audiences:` in the stage model; "" is the team, everything): what
    it leaves out is taken out of the deals, their past versions and the team right after they are read.
    `kept`: what the process keeps from one build to the next (a session's; updated).
    """
    try:
        model = load_stage_model(model_path, shown_path(model_path, root), kept.models if kept else None)
    except StageModelError as exc:
        return Project(None, None, exc.problems)
    problems = Problems()
    team_file = team_path(model_path)
    # The team file may not lead out of the project; a stage model named outside it (`--model`) brings
    # the team file beside it, which may not lead out of that folder.
    inside = model_path.resolve().is_relative_to(root.resolve())
    read_as = model  # the deal files are read (and their parsing cached) as the model declares them
    if audience:  # the plugin refuses an audience no site can be built for before the build starts
        why = refusal(model, audience)
        if why is not None:
            raise WordedError(why[0])
        model = for_audience(model, audience)  # type: ignore[assignment]
    team = leave_out_team(load_team(team_file, root if inside else model_path.parent, model, problems),
                          model.audience)
    # A deal named like a generated file would replace it; the set depends on the stage model only,
    # not on URL settings, so the default paths give it.
    loader = DealLoader(read_as, root, cache, reserved=SitePaths().reserved_ids(read_as), remembered=remembered)
    if movement:  # builds only: `dealbook check` starts faster without what reads the past versions
        from .sources.deal_versions import open_versions
    paths = files if files is not None else deal_files(deals_dir)
    loader.start(paths, fork_part)  # before the threads below: it may fork
    # git reads the history in its own processes while this one parses the deals.
    with ThreadPoolExecutor(max_workers=2) as pool:
        past = None
        if history == "full":  # kept in memory for a live preview's next rebuild
            past = pool.submit(read_history, deals_dir, cache, kept.histories if kept else None, history_since)
        elif history == "latest":
            past = pool.submit(read_latest, deals_dir, cache)
        versions = pool.submit(open_versions, deals_dir, cache, history_since) if history == "full" and movement \
            else None
        # Nothing downstream (pages, JSON, search, workbooks, warnings) ever sees what the audience leaves out.
        deals = leave_out(loader.load_all(paths, problems), model, kept.emptied if kept else None)
        known = past.result() if past is not None else History({}, "history_off")
        source = versions.result() if versions is not None else None
    # The dashboard's snapshot of the quarter's start, read before the cache is saved: its deals are parsed
    # (and kept) like today's.
    snapshot = quarter_snapshot(deals_dir, root, loader, model, as_of, known, team, kept.snapshots if kept else None) \
        if movement and history == "full" and files is None else None
    loader.save_cache(prune=files is None)
    if files is None:  # what sits in deals/ without being read: a warning each, in the build log too
        problems.extend(stray_entries(deals_dir, root))
    # Past versions of deal files the history leaves out (unreadable, out of bounds): a warning each.
    problems.extend(skipped_warnings(known, lambda name: shown_path(deals_dir / name, root)))
    pipeline = compute(deals, model, as_of, problems, known, team, views, placeholders=PLACEHOLDERS)
    # The forecast calls belong with the team file, beside the stage model; a mistake in them is an error line.
    pipeline.calls = load_calls(calls_path(model_path), root if inside else model_path.parent, model,
                                team, as_of, pipeline.problems)
    if not model.audience.shows("forecast"):
        # A forecast call is the owner's own call, like a deal's `forecast:`: an audience without the one
        # gets neither (checked still, so a mistake in the file is found in every build).
        pipeline.calls = None
    pipeline.snapshot = snapshot
    if movement:
        pipeline.movement = history_movement(source, deals_dir, cache, deals, paths, model, as_of,
                                             kept.movements if kept else None)
    return Project(model, pipeline, pipeline.problems)


def check_files(root: Path, model_path: Path, deals_dir: Path, as_of: date,
                files: list[Path]) -> tuple[Pipeline | None, list[Problem]]:
    """What `dealbook check` says of `files` (each problem keeping its code): the pipeline they make, None when
    the stage model is unusable. `dealbook import` checks a would-be deal file with it, handed down to the
    importer (the workbooks render and import; the read path is this module's, above them)."""
    project = read_project(root, model_path, deals_dir, as_of, Labels("en"), Cache(None), files=files,
                           history="none")
    return project.pipeline, project.problems


def fork_part(work: Callable[[], dict]) -> Callable[[], dict | None] | None:
    """A part of the deal files read in a forked process (`DealLoader.start`): the sources read, the build
    runs processes."""
    from .forked import in_child  # only a cold read of many files forks

    return in_child(work)


def quarter_snapshot(deals_dir: Path, root: Path, loader: DealLoader, model: StageModel, as_of: date,
                     history: History, team: Team | None, memo: dict | None = None) -> Pipeline | None:
    """The pipeline as it stood on the first day of the as-of day's quarter: the deal files of the last
    commit on or before it, computed as of that day (the dashboard links to it, so a manager can set
    this week against where the quarter started). None without a history that goes back that far.

    `memo` (a live preview's): the snapshot last computed, under everything it is computed from. A save
    changes none of it (a commit does), and reading and computing a thousand past deal files again after
    every save would double the time the rep waits.
    """
    from .model.accuracy import period_start
    from .model.forecast import period_of
    from .sources.deal_versions import commit_on, files_at

    day = period_start(period_of(as_of, model.fiscal_year_start), model.fiscal_year_start)
    found = commit_on(deals_dir, day)
    if found is None:
        return None
    # The function's inputs, whole (a tuple compares its items by identity first: the history and the model
    # a preview keeps are the same objects from one save to the next).
    inputs = (found, deals_dir, root, model, day, history, team)
    if memo is not None and memo.get("inputs") == inputs:
        loader.keep(memo["parsed"])  # the past files' parses stay in the cache for the next clean build
        return memo["snapshot"]
    files = files_at(found)
    if files is None:
        return None
    # A mistake in a past version is not today's to fix: it is left out of the snapshot, not reported.
    past_problems, parsed = Problems(), set[str]()
    deals = [deal for name, data in files
             if (deal := loader.load_data(name, shown_path(deals_dir / name, root), data, past_problems, parsed))]
    snapshot = compute(leave_out(deals, model), model, day, past_problems, history, team, placeholders=PLACEHOLDERS)
    if memo is not None:
        memo.clear()
        memo.update(inputs=inputs, snapshot=snapshot, parsed=parsed)
    return snapshot


def history_movement(source: VersionsSource | None, deals_dir: Path, cache: Cache, deals: list[Deal],
                     paths: list[Path], model: StageModel, as_of: date,
                     movements: dict[str, Movement] | None = None) -> MovementSource:
    """The input of the history pages, computed only if the pages are not cached under its key:
    a rebuild at the same HEAD with the same deals reads no versions and computes nothing. `movements` (a
    session's) keeps the last one computed by its key without the titles: while serving, a save that changes
    no stage, status, amount or other history fact (notes, next steps, a title) reuses it."""
    from dataclasses import replace

    from .model.movement import movement, movement_inputs
    from .sources.deal_versions import VersionsSource

    if source is None:
        source = VersionsSource(deals_dir, cache, reason="history_off")
    present = {p.stem for p in paths}
    facts = cache.key("movement", source.key or source.reason, movement_inputs(deals, present, model, as_of))
    titles = {d.id: d.title for d in deals}

    def compute() -> Movement:
        memo = movements if movements is not None else {}
        known = memo.get(facts)
        if known is None:
            memo.clear()
            # The past versions without what the model's audience leaves out (its key holds the model).
            known = memo[facts] = movement(leave_out_versions(source.load(), model), deals, present,
                                                     model, as_of)
        return replace(known, titles=titles)

    return LazyMovement(cache.key("movement and titles", facts, repr(sorted(titles.items()))), compute, facts)


class LazyMovement:
    """The history pages' numbers, computed when first asked for (a `model.movement.MovementSource`): the
    closure that reads the past versions stays here, in the build, and the model only computes."""

    def __init__(self, key: str, compute: Callable[[], Movement], facts: str = "") -> None:
        self.key = key
        self.facts = facts or key  # the key without the deals' titles, when it is known
        self._compute = compute
        self._value: Movement | None = None

    def get(self) -> Movement:
        if self._value is None:
            self._value = self._compute()
        return self._value


@dataclass
class SiteOutputs:
    """The generated text files and finished pages, and the workbooks still to write."""

    pages: SitePages
    workbooks: list[Job]


def site_outputs(pipeline: Pipeline, labels: Labels, paths: SitePaths, cache: Cache, *, repo_url: str = "",
                 edit_branch: str = "main", workbooks: bool = True, first_language: bool = True,
                 remembered: Remembered | None = None,
                 compiled: CompiledTemplates | None = None,
                 start_workbooks: Callable[[list[Job]], None] | None = None) -> tuple[SiteOutputs, Renderer]:
    """Everything a build adds to the site; the renderer is returned for the hand-written pages.

    A site in several languages calls this once per language with the same pipeline (the pages word
    its warnings); only the first writes `/deals.json`, and each keeps its own cache entries.
    `start_workbooks` is given the workbooks before any page is rendered: they need only the pipeline, and
    rendering them in other processes while this one renders the pages keeps every processor busy.
    """
    # Imported here: `dealbook check` needs none of Jinja, Markdown or openpyxl, and starts faster without them.
    from .site.pages import generated_pages
    from .site.renderer import Renderer
    from .workbooks.jobs import plan_workbooks

    deal_repr = remembered.deal_repr if remembered is not None else repr
    renderer = Renderer(pipeline.model, labels, paths, repo_url, edit_branch, workbooks,
                        rows=remembered.rows if remembered else None, deal_repr=deal_repr, compiled=compiled,
                        view_key=remembered.view_key if remembered is not None else None,
                        worded=remembered.worded_by(labels.texts, pipeline.model) if remembered is not None else None)
    jobs = plan_workbooks(pipeline, labels, paths, cache, deal_repr) if workbooks else []
    if start_workbooks is not None and jobs:
        start_workbooks(jobs)
    kind = "pages" if first_language else f"pages-{labels.language}"
    pages = generated_pages(pipeline, renderer, cache, kind=kind, with_site_json=first_language,
                            remembered=remembered)
    if remembered is not None:
        remembered.forget_deals_except([view.deal for view in pipeline.deals])
    return SiteOutputs(pages, jobs), renderer
