"""What moved and where deals die: events, stage conversion, win/loss and weekly snapshots.

Pure computation over the committed versions of every deal file (`sources.deal_versions`) and
the deals as they are in the work tree now. Each deal becomes a list of states, oldest first:
one per commit that changed its file (None where the file was deleted), plus one dated the
as-of day when the work tree says something the last commit does not. Everything here is read
off those lists, so the pages, `/history.json` and the tests cannot disagree.

Amounts are converted to the stage model's reporting currency by `amount_reporting`, the one
place that converts here, with the forecast's rates and rounding; an amount in a currency without
a rate (a past version of a deal, say) is kept in its own currency.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, ClassVar, Protocol

from ..sources.deal_versions import Facts
from .forecast import convert
from .scoring import round_half_up, win_probability

if TYPE_CHECKING:
    from ..sources.deal_files import Deal
    from ..sources.deal_versions import DealVersions, Version
    from ..sources.stage_model import StageModel

# The names managers give what moved (as forecast tools name them): new, moved forward a stage, moved
# back, pushed out, pulled in, increased, decreased, won, lost, abandoned — and reopened and deleted.
KINDS = ("created", "advanced", "moved-back", "slipped", "pulled-in", "increased", "decreased",
         "won", "lost", "abandoned", "reopened", "deleted")
CLOSED = ("won", "lost", "abandoned")
WEEKS = 26
# Below these, a figure says more about how short the history is than about the team: the pages say so
# in words instead of showing it (see `Movement.too_short`).
MIN_CLOSED_FOR_RATE = 5  # fewer closed deals than this (in a stage's row, a competitor's, an owner's): no win rate
MIN_CLOSED_FOR_FLAG = 10  # and a gap to the model's probability is flagged only from this many
MIN_EXITS_FOR_TIME = 3  # fewer stays in a stage that have ended (moved on, closed, deleted): no time in stage
MIN_WEEKS_FOR_TREND = 4  # fewer week ends inside the history than this: no weekly chart
FLAG_GAP = 0.15
WATERFALL_DAYS = 30

State = tuple[date, Facts | None]


def amount_reporting(amount: float, currency: str, model: StageModel) -> float | None:
    """`amount` in the model's reporting currency (the forecast's conversion), or None without a rate."""
    rate = model.rate(currency)
    return None if rate is None else convert(amount, rate)


@dataclass(frozen=True)
class Event:
    """One thing that happened to a deal, on the day it was committed (or the as-of day, if not yet)."""

    date: date
    deal: str
    kind: str
    before: object  # "from": a stage, a date, an amount or a status, by kind
    after: object  # "to"
    stage: int  # the deal's stage after the event (before it, for a deletion)
    currency: str
    value: float  # what the event adds to its kind's sum: the deal's amount, or the change for increased/decreased
    value_reporting: float | None

    def as_json(self) -> dict:
        def plain(value: object) -> object:
            return value.isoformat() if isinstance(value, date) else value

        return {"date": self.date.isoformat(), "deal": self.deal, "kind": self.kind,
                "from": plain(self.before), "to": plain(self.after), "amount_reporting": self.value_reporting,
                "stage": self.stage, "amount": self.value, "currency": self.currency}


@dataclass(frozen=True)
class ConversionRow:
    stage: int
    entered: int
    moved_on: int
    won: int
    lost: int  # lost or abandoned
    open: int
    median_days: float | None
    model_probability: float
    observed_win_rate: float | None
    flagged: bool  # the observed rate is far from the model's, on enough closed deals
    exits: int = 0  # stays in the stage that ended within the history: moved on or back, closed, deleted

    @property
    def closed(self) -> int:
        return self.won + self.lost

    @property
    def timed(self) -> bool:
        """Whether enough stays in the stage have ended for its time in stage to mean something."""
        return self.exits >= MIN_EXITS_FOR_TIME

    def as_json(self) -> dict:
        return {"stage": self.stage, "entered": self.entered, "moved_on": self.moved_on, "won": self.won,
                "lost": self.lost, "open": self.open, "median_days": self.median_days,
                "model_probability": self.model_probability, "observed_win_rate": self.observed_win_rate,
                "exits": self.exits}


@dataclass(frozen=True)
class Week:
    """The open pipeline at the end of one Sunday, as the deal files were committed then."""

    week_end: date
    open_deals: int
    by_stage: dict[str, dict[int, float]]  # bucket (currency, or the reporting currency) → stage → amount
    weighted: dict[str, float]
    counts: dict[str, int]  # bucket → open deals

    def as_json(self, reporting: str | None) -> dict:
        def rounded(value: float) -> float:
            return round_half_up(value, 2)

        per_currency = {bucket: {"by_stage": {str(s): rounded(a) for s, a in sorted(stages.items())},
                                 "open_deals": self.counts.get(bucket, 0),
                                 "weighted": rounded(self.weighted.get(bucket, 0.0))}
                        for bucket, stages in sorted(self.by_stage.items())}
        mine = per_currency.get(reporting or "", {})
        return {"week_end": self.week_end.isoformat(),
                # In the reporting currency when there is one; null otherwise, see per_currency.
                "by_stage": mine.get("by_stage", {}) if reporting else None,
                "open_deals": self.open_deals,
                "weighted": mine.get("weighted", 0.0) if reporting else None,
                # Per currency without a reporting one; with one, only amounts it has no rate for (an old version's).
                "per_currency": {b: v for b, v in per_currency.items() if b != reporting}}


@dataclass(frozen=True)
class Breakdown:
    """Closed deals grouped by one attribute (lost reason, stage where lost, competitor, owner)."""

    label: str  # as typed by a rep (the first spelling seen), or a stage number as text
    won: int
    lost: int  # lost or abandoned
    won_amounts: dict[str, float]  # bucket → amount
    lost_amounts: dict[str, float]

    @property
    def win_rate(self) -> float | None:
        closed = self.won + self.lost
        return self.won / closed if closed >= MIN_CLOSED_FOR_RATE else None


@dataclass
class Waterfall:
    """How the open pipeline went from `start` (the end of `start_day`) to `end` (the end of `end_day`), per bucket.

    Kept in whole cents, so start + new + increases − decreases − won − lost − removed is end exactly,
    not up to a float's last digit; `steps` gives them in the currency's units.
    """

    start_day: date
    end_day: date | None = None
    cents: dict[str, dict[str, int]] = field(default_factory=dict)  # bucket → step → amount in cents

    STEPS: ClassVar[tuple[str, ...]] = ("start", "new", "increases", "decreases", "won", "lost", "removed", "end")

    def add(self, bucket: str, step: str, amount: float) -> None:
        self.add_cents(bucket, step, _cents(amount))

    def add_cents(self, bucket: str, step: str, cents: int) -> None:
        self.cents.setdefault(bucket, dict.fromkeys(self.STEPS, 0))[step] += cents

    @property
    def steps(self) -> dict[str, dict[str, float]]:
        return {bucket: {step: value / 100 for step, value in steps.items()} for bucket, steps in self.cents.items()}


def _cents(amount: float) -> int:
    return int(round_half_up(amount * 100, 0))


@dataclass
class Movement:
    """Everything the history pages and `/history.json` show; `reason` (a label key) says why it is empty."""

    kinds: ClassVar[tuple[str, ...]] = KINDS  # the order the pages list them in
    # What each figure takes before the pages show it (they say so in words below it).
    limits: ClassVar[dict[str, int]] = {"rate": MIN_CLOSED_FOR_RATE, "flag": MIN_CLOSED_FOR_FLAG,
                                        "exits": MIN_EXITS_FOR_TIME, "weeks": MIN_WEEKS_FOR_TREND}
    as_of: date
    reporting: str | None = None
    events: list[Event] = field(default_factory=list)
    conversion: list[ConversionRow] = field(default_factory=list)
    weekly: list[Week] = field(default_factory=list)
    waterfall: Waterfall | None = None
    lost_reasons: list[Breakdown] = field(default_factory=list)
    lost_at_stage: list[Breakdown] = field(default_factory=list)
    competitors: list[Breakdown] = field(default_factory=list)
    owners: list[Breakdown] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)  # deal id → title, for deals that still have a page
    reason: str = ""
    # The first day of the history: `history_since`'s day when it is set, else the first commit's (the as-of
    # day when nothing is committed yet). Everything here is counted from it.
    start: date | None = None
    since: date | None = None  # `history_since`'s day, when it is set (then it is `start`)
    # What the site derives from the numbers alone (`/history.json`), kept once made. `replace(m, titles=…)`
    # hands the copy this same dict: another title changes none of it.
    derived: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def available(self) -> bool:
        return not self.reason

    def events_between(self, first: date, last: date) -> list[Event]:
        return [e for e in self.events if first <= e.date <= last]

    @property
    def days(self) -> int:
        """Days of history up to the as-of day."""
        return max(0, (self.as_of - self.start).days) if self.start else 0

    @property
    def weeks_in_history(self) -> int:
        """The weekly snapshots that fall inside the history (on or after its first day)."""
        return sum(1 for week in self.weekly if self.start and week.week_end >= self.start)

    @property
    def closed(self) -> int:
        """Deals that ended won, lost or abandoned within the history (each has one owner)."""
        return sum(b.won + b.lost for b in self.owners)

    @property
    def too_short(self) -> dict[str, bool]:
        """Which figures the history is too short for, by page section: `rates` (no stage has enough closed
        deals for a win rate), `time` (no stage enough ended stays), `weekly` (too few week ends), `month`
        (the history began within the waterfall's 30 days, so all that was open then counts as new)."""
        return {"rates": not any(row.observed_win_rate is not None for row in self.conversion),
                "time": not any(row.timed for row in self.conversion),
                "weekly": self.weeks_in_history < MIN_WEEKS_FOR_TREND,
                "month": self.days < WATERFALL_DAYS}

    def as_json(self) -> dict:
        return {"as_of": self.as_of.isoformat(), "reporting_currency": self.reporting,
                "available": self.available, "reason": self.reason or None,
                # The first day of the history, and `history_since`'s day when it is set (null when not).
                "history_start": self.start.isoformat() if self.start else None,
                "history_since": self.since.isoformat() if self.since else None,
                "events": [e.as_json() for e in self.events],
                "conversion": [row.as_json() for row in self.conversion],
                "weekly": [week.as_json(self.reporting) for week in self.weekly]}


class MovementSource(Protocol):
    """The history pages' numbers, computed when first asked for (`build.LazyMovement`: what reads the
    past versions is the build's; the model takes the pipeline's data and this interface only).

    `key` names every input (the versions' HEAD, the deals in the work tree, the model, the as-of
    date), so a rebuild whose pages are cached under it computes nothing and reads no versions;
    `facts` is the key without the deals' titles.
    """

    key: str
    facts: str

    def get(self) -> Movement: ...


def movement_inputs(deals: list[Deal], present: set[str], model: StageModel, as_of: date) -> str:
    """Everything besides the versions and the deals' titles that `movement()` reads, as text for a cache key."""
    return repr((model, as_of, sorted(present), [(d.id, facts_of(d)) for d in deals]))


def facts_of(deal: Deal) -> Facts:
    """The history's fields of a deal as it is in the work tree."""
    return Facts(stage=deal.stage, status=deal.status, amount=deal.amount, currency=deal.currency,
                 expected_close=deal.expected_close, probability=deal.probability, owner=deal.owner,
                 lost_reason=deal.lost_reason, competitors=tuple(c.name for c in deal.competitors))


def week_ends(as_of: date, weeks: int = WEEKS) -> list[date]:
    """The last `weeks` Sundays before `as_of` (never `as_of` itself), oldest first."""
    last = as_of - timedelta(days=(as_of.weekday() + 1) % 7 or 7)
    return [last - timedelta(weeks=n) for n in reversed(range(weeks))]


def movement(versions: DealVersions, deals: list[Deal], present: set[str], model: StageModel,
             as_of: date) -> Movement:
    """The history of the pipeline up to `as_of`.

    `deals` are the deal files read from the work tree now; `present` names every deal file there,
    read or not (a file with an error in the live preview is not taken for a deleted deal).
    """
    reporting = model_reporting(model)
    if not versions.available:
        return Movement(as_of, reporting, reason=versions.reason)
    current = {d.id: facts_of(d) for d in deals}
    states = {deal_id: _states(versions.deals.get(deal_id, []), current.get(deal_id), deal_id in present,
                               as_of, model)
              for deal_id in sorted(versions.deals.keys() | current.keys())}
    states = {k: v for k, v in states.items() if v}
    bucket = _bucketer(model, reporting)
    firsts = [timeline[0][0] for timeline in states.values()]
    start = versions.since or min(firsts, default=as_of)
    result = Movement(as_of, reporting, titles={d.id: d.title for d in deals}, start=min(start, as_of),
                      since=versions.since)
    result.events = _events(states, model)
    result.conversion = _conversion(states, model, as_of)
    result.weekly = _weekly(states, model, week_ends(as_of), bucket)
    result.waterfall = _waterfall(states, as_of - timedelta(days=WATERFALL_DAYS), as_of, bucket)
    _breakdowns(result, states, model, bucket)
    return result


def model_reporting(model: StageModel) -> str | None:
    """The reporting currency, when the model has one and it converts the default currency."""
    if amount_reporting(1.0, model.currency, model) is None:
        return None
    return model.reporting_currency


def _bucketer(model: StageModel, reporting: str | None):
    """(bucket, amount) of an amount: the reporting currency and the converted amount, or the amount's own."""

    def bucket(amount: float, currency: str) -> tuple[str, float]:
        if reporting:
            converted = amount_reporting(amount, currency, model)
            if converted is not None:
                return reporting, converted
        return currency, float(amount)

    return bucket


def _states(versions: list[Version], now: Facts | None, present: bool, as_of: date, model: StageModel) -> list[State]:
    """The deal's states, oldest first, ending with the work tree when it differs from the last commit."""
    # The versions are in the order of the first-parent line and their days never go back (see
    # `deal_versions._read_log`); one dated after the as-of day is not history yet: left out, so the
    # work tree below brings its change in on the as-of day, as an edit not committed yet.
    states: list[State] = [(v.date, _normal(v.facts, model)) for v in versions if v.date <= as_of]
    last = states[-1][1] if states else None
    if now is not None:
        now = _normal(now, model)
        if last is None or _moving(last) != _moving(now):
            states.append((as_of, now))
        elif last != now:
            # The same for the history (stage, status, dates, amounts), different text: the work tree's
            # owner, lost reason and competitors are the ones to report, on the last commit's day.
            states[-1] = (states[-1][0], now)
    elif not present and last is not None:
        states.append((as_of, None))  # deleted in the work tree, not committed yet
    return states


def _normal(facts: Facts | None, model: StageModel) -> Facts | None:
    if facts is None or facts.currency:
        return facts
    return facts._replace(currency=model.currency)


def _moving(facts: Facts) -> tuple:
    """The fields whose changes are events."""
    return facts.stage, facts.status, facts.expected_close, facts.amount, facts.currency


def _is_open(facts: Facts | None) -> bool:
    return facts is not None and facts.status == "open"


# --- events -------------------------------------------------------------------------------------

def _events(states: dict[str, list[State]], model: StageModel) -> list[Event]:
    out: list[Event] = []
    for deal_id, timeline in states.items():
        previous: Facts | None = None
        for day, facts in timeline:
            out += _transition(day, deal_id, previous, facts, model)
            previous = facts
    out.sort(key=lambda e: (e.date, e.deal))  # stable: a deal's events of one day keep their order
    return out


def _transition(day: date, deal_id: str, before: Facts | None, after: Facts | None,
                model: StageModel) -> list[Event]:
    def event(kind: str, old: object, new: object, facts: Facts, value: float | None = None,
              reporting: float | None = None) -> Event:
        assert facts.currency is not None
        amount = facts.amount if value is None else value
        if value is None:
            reporting = amount_reporting(facts.amount, facts.currency, model)
        return Event(day, deal_id, kind, old, new, facts.stage, facts.currency, amount, reporting)

    if after is None:
        return [] if before is None else [event("deleted", before.stage, None, before)]
    if before is None:
        return [event("created", None, after.stage, after)]
    out = []
    if before.status != after.status and after.status == "open":
        out.append(event("reopened", before.status, after.status, after))
    if after.stage != before.stage:
        out.append(event("advanced" if after.stage > before.stage else "moved-back", before.stage, after.stage, after))
    if _is_open(before) and _is_open(after) and before.expected_close and after.expected_close \
            and before.expected_close != after.expected_close:
        # Only while open: the close date edited in the commit that closes a deal is when it was signed, not a slip.
        kind = "slipped" if after.expected_close > before.expected_close else "pulled-in"
        out.append(event(kind, before.expected_close, after.expected_close, after))
    if (before.amount, before.currency) != (after.amount, after.currency):
        assert before.currency is not None and after.currency is not None
        new = amount_reporting(after.amount, after.currency, model)
        old = amount_reporting(before.amount, before.currency, model)
        change = after.amount - before.amount if before.currency == after.currency else after.amount
        reporting = None if new is None or old is None else round_half_up(new - old, 2)
        # Another currency compares in the reporting currency when both have a rate; else by the number.
        up = reporting > 0 if reporting is not None else after.amount > before.amount
        out.append(event("increased" if up else "decreased", before.amount, after.amount, after, change, reporting))
    if before.status != after.status and after.status in CLOSED:
        out.append(event(after.status, before.status, after.status, after))
    return out


# --- conversion ---------------------------------------------------------------------------------

def _outcome(timeline: list[State]) -> str:
    """won, lost (lost or abandoned), open, or removed (deleted while open)."""
    final = timeline[-1][1]
    if final is not None:
        return "won" if final.status == "won" else "lost" if final.status in CLOSED else \
            "open" if final.status == "open" else "removed"
    last = next((f for _, f in reversed(timeline) if f is not None), None)
    # A closed deal whose file was cleaned away still ended as it ended.
    return "won" if last and last.status == "won" else "lost" if last and last.status in CLOSED else "removed"


def _conversion(states: dict[str, list[State]], model: StageModel, as_of: date) -> list[ConversionRow]:
    entered: dict[int, int] = defaultdict(int)
    moved_on: dict[int, int] = defaultdict(int)
    ended: dict[tuple[int, str], int] = defaultdict(int)
    days: dict[int, list[int]] = defaultdict(list)
    exits: dict[int, int] = defaultdict(int)
    for timeline in states.values():
        outcome = _outcome(timeline)
        first_at: dict[int, int] = {}
        open_days: dict[int, int] = {}
        for index, (day, facts) in enumerate(timeline):
            if facts is None:
                continue
            first_at.setdefault(facts.stage, index)
            if facts.status == "open":
                until = timeline[index + 1][0] if index + 1 < len(timeline) else as_of
                open_days[facts.stage] = open_days.get(facts.stage, 0) + max(0, (until - day).days)
                after = timeline[index + 1][1] if index + 1 < len(timeline) else facts
                if after is None or after.stage != facts.stage or after.status != "open":
                    exits[facts.stage] += 1  # the stay ended: moved on or back, closed, or deleted
        for stage, index in first_at.items():
            entered[stage] += 1
            ended[(stage, outcome)] += 1
            if any(f is not None and f.stage > stage for _, f in timeline[index + 1:]):
                moved_on[stage] += 1
        for stage, spent in open_days.items():
            days[stage].append(spent)
    rows = []
    for stage in model.stages:
        n = stage.number
        won, lost = ended[(n, "won")], ended[(n, "lost")]
        rate = won / (won + lost) if won + lost >= MIN_CLOSED_FOR_RATE else None
        rows.append(ConversionRow(
            stage=n, entered=entered[n], moved_on=moved_on[n], won=won, lost=lost, open=ended[(n, "open")],
            median_days=statistics.median(days[n]) if days[n] else None, model_probability=stage.probability,
            observed_win_rate=rate,
            flagged=rate is not None and won + lost >= MIN_CLOSED_FOR_FLAG and abs(rate - stage.probability) > FLAG_GAP,
            exits=exits[n],
        ))
    return rows


# --- weekly snapshots and the waterfall ---------------------------------------------------------

def _weekly(states: dict[str, list[State]], model: StageModel, ends: list[date], bucket) -> list[Week]:
    count: list[dict[str, int]] = [defaultdict(int) for _ in ends]
    by_stage: list[dict[str, dict[int, float]]] = [{} for _ in ends]
    weighted: list[dict[str, float]] = [defaultdict(float) for _ in ends]
    stages = len(model.stages)
    for timeline in states.values():
        # By date (a rebased history can have commits out of date order): the state at the end of each Sunday.
        ordered = sorted(timeline, key=lambda s: s[0])
        position, facts = 0, None
        for week, end in enumerate(ends):
            while position < len(ordered) and ordered[position][0] <= end:
                facts = ordered[position][1]
                position += 1
            if not _is_open(facts):
                continue
            assert facts is not None and facts.currency is not None
            key, amount = bucket(facts.amount, facts.currency)
            count[week][key] += 1
            stage_sums = by_stage[week].setdefault(key, {})
            stage_sums[facts.stage] = stage_sums.get(facts.stage, 0.0) + amount
            if 1 <= facts.stage <= stages:
                chance = win_probability(facts.status, facts.stage, facts.probability, model)
                weighted[week][key] += bucket(round_half_up(facts.amount * chance, 2), facts.currency)[1]
    return [Week(end, sum(count[n].values()), by_stage[n], dict(weighted[n]), dict(count[n]))
            for n, end in enumerate(ends)]


def waterfall_between(versions: DealVersions, model: StageModel, start_day: date, end_day: date) -> Waterfall:
    """The waterfall of any window of the committed history: from the open pipeline at the end of
    `start_day` to that at the end of `end_day` (the history pages show the 30 days up to the as-of
    day, the work tree's edits included)."""
    states = {deal_id: _states(versions.deals[deal_id], None, True, end_day, model)
              for deal_id in sorted(versions.deals)}
    return _waterfall({k: v for k, v in states.items() if v}, start_day, end_day,
                      _bucketer(model, model_reporting(model)))


def _waterfall(states: dict[str, list[State]], start_day: date, end_day: date, bucket) -> Waterfall:
    """start + new + increases − decreases − won − lost − removed = end, exactly, per bucket."""
    flows = Waterfall(start_day, end_day)
    for timeline in states.values():
        ordered = [s for s in sorted(timeline, key=lambda s: s[0]) if s[0] <= end_day]
        before = None
        for day, facts in ordered:
            if day <= start_day:
                before = facts
                continue
            _flow(flows, before, facts, bucket)
            before = facts
        if _is_open(before):  # the state now
            assert before is not None and before.currency is not None
            flows.add(*_at(bucket, before, "end"))
        start = next((f for d, f in reversed(ordered) if d <= start_day), None)
        if _is_open(start):
            assert start is not None
            flows.add(*_at(bucket, start, "start"))
    return flows


def _at(bucket, facts: Facts, step: str) -> tuple[str, str, float]:
    assert facts.currency is not None
    key, amount = bucket(facts.amount, facts.currency)
    return key, step, amount


def _flow(flows: Waterfall, before: Facts | None, after: Facts | None, bucket) -> None:
    was, now = _is_open(before), _is_open(after)
    if not was and now:
        assert after is not None
        flows.add(*_at(bucket, after, "new"))  # created, or reopened
        return
    if not was:
        return
    assert before is not None
    if after is None:
        flows.add(*_at(bucket, before, "removed"))
        return
    old_key, _, old = _at(bucket, before, "")
    new_key, _, new = _at(bucket, after, "")
    if old_key != new_key:  # another currency: it leaves one pipeline and joins the other
        flows.add(old_key, "decreases", old)
        flows.add(new_key, "increases", new)
    elif _cents(new) != _cents(old):  # the change in whole cents, so that the steps add up to the cent
        flows.add_cents(new_key, "increases" if new > old else "decreases", abs(_cents(new) - _cents(old)))
    if not now:
        flows.add(new_key, "won" if after.status == "won" else "lost" if after.status in CLOSED else "removed", new)


# --- win/loss -----------------------------------------------------------------------------------

def _breakdowns(result: Movement, states: dict[str, list[State]], model: StageModel, bucket) -> None:
    reasons: dict[str, list] = {}
    at_stage: dict[int, list] = {}
    competitors: dict[str, list] = {}
    owners: dict[str, list] = {}

    def count(groups: dict, key: object, label: str, won: bool, facts: Facts) -> None:
        # Spellings that differ only in case or spacing are one group, shown as first seen.
        row = groups.setdefault(key, [label, 0, 0, defaultdict(float), defaultdict(float)])
        row[1 if won else 2] += 1
        assert facts.currency is not None
        name, amount = bucket(facts.amount, facts.currency)
        row[3 if won else 4][name] += amount

    for timeline in states.values():
        outcome = _outcome(timeline)
        if outcome not in ("won", "lost"):
            continue
        facts = next(f for _, f in reversed(timeline) if f is not None)
        won = outcome == "won"
        if not won:
            reason = " ".join(facts.lost_reason.split())
            count(reasons, reason.casefold(), reason, False, facts)
            count(at_stage, facts.stage, str(facts.stage), False, facts)
        for name in dict.fromkeys(" ".join(c.split()) for c in facts.competitors if c.strip()):
            count(competitors, name.casefold(), name, won, facts)
        owner = " ".join(facts.owner.split())
        count(owners, owner.casefold(), owner, won, facts)

    def rows(groups: dict, by_stage: bool = False) -> list[Breakdown]:
        made = [Breakdown(label, won, lost, dict(won_sums), dict(lost_sums))
                for label, won, lost, won_sums, lost_sums in groups.values()]
        if by_stage:
            return sorted(made, key=lambda b: int(b.label))
        return sorted(made, key=lambda b: (-(b.won + b.lost), b.label.casefold()))

    result.lost_reasons = rows(reasons)
    result.lost_at_stage = rows(at_stage, by_stage=True)
    result.competitors = rows(competitors)
    result.owners = rows(owners)
