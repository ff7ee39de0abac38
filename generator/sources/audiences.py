"""Audiences: whom a build is for, and which fields it leaves out.

`playbook/playbook.yml` declares them once, under `audiences:`, each naming the fields it leaves
out in the dotted names `dealbook check` uses (`negotiation`, `stakeholders.notes`, `team.quotas`):

    audiences:
      team: {}                                  # everything (the default)
      company: {leaves_out: [negotiation, stakeholders.stance, competitors, forecast, team.quotas]}
      customer: {keeps: [title, account, next_steps, plan, share]}

A static site has no login: whoever can open it reads all of it. So a build for an audience does
not hide what it leaves out, it never has it: right after the deal files, their past versions in
git and the team file are read, and before anything is computed or rendered, every left-out field
is emptied (`leave_out`, `leave_out_team`, `leave_out_versions`). No page, JSON file, search index,
sitemap or workbook (hidden sheets included) can then show it, in any language, whichever
template or writer is added later. What is computed from a left-out field is computed without it:
a rep's `forecast:` call left out, a deal counts in its stage's forecast category.

The audience travels with the stage model the build uses (`StageModel.audience`), so every cache
key, which holds the model, tells one audience's pages and workbooks from another's, and a page or
sheet that exists only for a left-out field (the deal workbook's Negotiation sheet, the
influence and stance grid) asks `model.audience.shows(name)`.

`keeps:` names the only fields an audience is given, everything else left out, so that a field
added to deal files later is never given to it by mistake: the buyer's view (`customer`) is
declared so. Its pages (one per shared deal) are made by `dealbook build --audience customer`
(`share_build`), not by the engine, which refuses it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..diagnostics import Worded, worded

if TYPE_CHECKING:
    from .deal_files import Deal
    from .deal_versions import DealVersions
    from .spec import Spec
    from .stage_model import StageModel
    from .team import Team

DEFAULT = "team"  # the audience of a build that names none: everything
AUDIENCE_ENV = "DEALBOOK_AUDIENCE"  # `dealbook build --audience NAME` hands the name to the plugin in it
TEAM_PREFIX = "team."  # the team file's member fields, as audiences name them (`team.quotas`)

# Fields a check warns about when they are missing: left out, every deal would be warned about
# (no decision-maker, no lost reason, no exit evidence). `negotiation` is one too, but its check
# is simply off for an audience without it (`for_audience`).
ABSENCE_CHECKED = frozenset({"stakeholders", "stakeholders.role", "lost_reason", "exits"})
# Deal fields the pipeline is computed from and that have no empty value (a deal has a currency even
# when its file names none), besides those every deal file must give.
NEEDED = frozenset({"currency"})


@dataclass(frozen=True)
class Audience:
    """An audience: its name, and what it leaves out (`leaves_out`) or the only fields it keeps (`keeps`)."""

    name: str = DEFAULT
    leaves_out: tuple[str, ...] = ()
    keeps: tuple[str, ...] | None = None

    @property
    def builds_site(self) -> bool:
        """Whether the site (playbook, pipeline, deal pages) is built for it; not for a `keeps:` audience."""
        return self.keeps is None

    def shows(self, name: str) -> bool:
        """Whether the field `name` (dotted) is in this audience's builds: neither it nor a field
        it is part of is left out (`stakeholders.notes` is out when `stakeholders` is)."""
        parts = name.split(".")
        within = {".".join(parts[:n]) for n in range(1, len(parts) + 1)}
        if self.keeps is not None:
            return bool(within & set(self.keeps))
        return not within & set(self.leaves_out)


TEAM = Audience()


def field_names(model: StageModel) -> dict[str, bool]:
    """Every field an audience may name, dotted, and whether it is required: the deal spec's fields
    (`stakeholders.notes`, `negotiation.terms.walk_away`) and the team file's member fields (`team.quotas`)."""
    from .deal_format import deal_spec
    from .spec import ListOf, Record
    from .team import TEAM_SPEC

    names: dict[str, bool] = {}

    def walk(spec: Spec, prefix: str) -> None:
        if not isinstance(spec, Record):
            return
        for key, field in spec.fields.items():
            names[prefix + key] = field.required
            inner = getattr(field.spec, "item", None) or getattr(field.spec, "value", None) or field.spec
            walk(inner, f"{prefix}{key}.")

    walk(deal_spec(model), "")
    members = TEAM_SPEC.fields["members"].spec
    assert isinstance(members, ListOf)
    walk(members.item, TEAM_PREFIX)
    return names


def removable(name: str, names: dict[str, bool]) -> bool:
    """Whether a build can be made without the field: not required, not checked for being missing."""
    return name in names and not names[name] and name not in ABSENCE_CHECKED and name not in NEEDED


def audience_problems(model: StageModel) -> list[tuple[str, Worded, Worded | str]]:
    """(where, message, hint) for each field an audience names that is unknown or cannot be left out."""
    from .spec import suggest

    names = field_names(model)
    known = sorted(names)
    out: list[tuple[str, Worded, Worded | str]] = []
    for audience in model.audiences:
        if audience.leaves_out and audience.keeps is not None:
            out.append((f"audiences.{audience.name}.keeps", Worded("audience_both"), Worded("audience_both_hint")))
        for kind, given in (("leaves_out", audience.leaves_out), ("keeps", audience.keeps or ())):
            seen: set[str] = set()
            for index, name in enumerate(given, start=1):
                where = f"audiences.{audience.name}.{kind}[{index}]"
                if name not in names:
                    out.append((where, worded("audience_unknown_field", name=f"'{name}'"),
                                suggest(name, known) or Worded("audience_field_names")))
                elif name in seen:
                    out.append((where, worded("audience_field_twice", name=f"'{name}'"),
                                Worded("audience_list_once")))
                elif kind == "leaves_out" and not removable(name, names):
                    why = "audience_required" if names[name] or name in NEEDED else "audience_checked"
                    out.append((where, worded(why, name=f"'{name}'"), Worded(f"{why}_hint")))
                seen.add(name)
    return out


def audiences_of(raw: dict[str, dict]) -> tuple[Audience, ...]:
    """The declared audiences, `team` (everything) first when the model does not declare it."""
    declared = tuple(Audience(name, tuple(given.get("leaves_out") or ()),
                              tuple(given["keeps"]) if given.get("keeps") is not None else None)
                     for name, given in raw.items())
    return declared if any(a.name == DEFAULT for a in declared) else (TEAM, *declared)


def for_audience(model: StageModel, name: str) -> StageModel | None:
    """The stage model of a build for the audience `name` (None: the model declares no such audience).

    Its `audience` is that audience, so caches keyed by the model keep each audience's outputs apart;
    without the negotiation, the check that it is prepared from a stage on is off (every deal would
    be warned about).
    """
    audience = next((a for a in model.audiences if a.name == (name or DEFAULT)), None)
    if audience is None:
        return None
    if audience == model.audience:
        return model
    checks = model.checks
    if not audience.shows("negotiation"):
        checks = replace(checks, negotiation_from_stage=len(model.stages) + 1)
    return replace(model, audience=audience, checks=checks)


def _empty(cls: type, name: str) -> Any:
    """The value a dataclass field has when the file does not give it."""
    field = next(f for f in dataclasses.fields(cls) if f.name == name)
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def _without(deal: Deal, name: str) -> Deal:
    """The deal with the field `name` (dotted, as the deal spec names it) emptied."""
    head, _, rest = name.partition(".")
    if head == "negotiation":  # the file's negotiation.terms is the deal's list of terms
        rest = rest.partition(".")[2]
    if head in deal.texts:  # a shown text (`deal_format.SHOWN_TEXTS`)
        return replace(deal, texts={**deal.texts, head: ""})
    if not rest:
        return replace(deal, **{head: _empty(type(deal), head)})
    value = getattr(deal, head)
    if head == "qualification":
        return replace(deal, qualification={k: v for k, v in value.items() if k != rest})
    if head == "exits":
        return replace(deal, exits={n: replace(e, **{rest: _empty(type(e), rest)}) for n, e in value.items()})
    return replace(deal, **{head: [replace(item, **{rest: _empty(type(item), rest)}) for item in value]})


def _deal_fields(audience: Audience, model: StageModel) -> list[str]:
    """The deal fields a build for the audience empties, outermost first."""
    names = field_names(model)
    if audience.keeps is not None:
        wanted = [n for n in names if not n.startswith(TEAM_PREFIX) and not audience.shows(n)]
    else:
        wanted = [n for n in audience.leaves_out if not n.startswith(TEAM_PREFIX)]
    # A field inside one already emptied needs nothing more; a required one (a `keeps:` audience's) stays.
    return [n for n in wanted if removable(n, names) and not any(n.startswith(w + ".") for w in wanted)]


def leave_out(deals: list[Deal], model: StageModel, kept: dict | None = None) -> list[Deal]:
    """The deals as the model's audience may see them: every field it leaves out emptied.

    `kept` (a live preview's session): the last deals emptied, by the identity of the deal read and the fields
    emptied: a rebuild gets the very same `Deal` for a file that did not change, and so its view, kept while
    the deal is the same object.
    """
    wanted = tuple(_deal_fields(model.audience, model))
    if not wanted:
        return deals
    out = []
    for deal in deals:
        known = kept.get((id(deal), wanted)) if kept is not None else None
        if known is None or known[0] is not deal:
            emptied = deal
            for name in wanted:
                emptied = _without(emptied, name)
            known = (deal, emptied)
        out.append(known[1])
    if kept is not None:
        kept.clear()
        kept.update({(id(deal), wanted): (deal, emptied) for deal, emptied in zip(deals, out, strict=True)})
    return out


def leave_out_team(team: Team | None, audience: Audience) -> Team | None:
    """The team as the audience may see it. Its e-mail addresses are never kept (`team.Member`); without
    its quotas a team file holds nothing a site shows, so the build is made as without one: no quota
    anywhere (not a quota of 0), and no owner checked against it."""
    return team if audience.shows("team.quotas") else None


def leave_out_versions(versions: DealVersions, model: StageModel) -> DealVersions:
    """The past versions of the deal files, read from git for the history pages, without what the
    audience leaves out (the history reads a deal's probability, lost reason and competitors)."""
    from .deal_versions import Facts

    wanted = [n for n in _deal_fields(model.audience, model) if n in Facts._fields]
    if not wanted:
        return versions
    empty = {name: Facts._field_defaults.get(name) for name in wanted}
    return replace(versions, deals={
        deal_id: [v._replace(facts=v.facts._replace(**empty)) if v.facts is not None else v for v in listed]
        for deal_id, listed in versions.deals.items()})


def refusal(model: StageModel, name: str) -> tuple[Worded, Worded] | None:
    """Why no site can be built for the audience `name` (message, hint), or None when it can."""
    buildable = ", ".join(a.name for a in model.audiences if a.builds_site)
    audience = next((a for a in model.audiences if a.name == (name or DEFAULT)), None)
    if audience is None:
        names = ", ".join(a.name for a in model.audiences)
        return (worded("audience_undeclared", name=f"'{name}'", model=model.path, names=names),
                worded("audience_undeclared_hint", model=model.path))
    if not audience.builds_site:
        return worded("audience_not_built", name=f"'{audience.name}'"), worded("audience_not_built_hint",
                                                                             name=audience.name, names=buildable)
    return None
