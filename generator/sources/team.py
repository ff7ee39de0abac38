"""The team file: who sells, and their quota per forecast period, in the reporting currency.

`playbook/team.yml` is optional. It is read with the same spec language as the stage model and
the deals, so a mistake in it is one `file:line:col` line. Without it the pipeline has no quotas,
and no deal owner is questioned; with it, a deal whose owner is not a member gets a warning.

The file is private: it is read under the same rules as a deal file (only a regular file inside
the project; a folder, a FIFO or a link leading out of the project is one error line, and a FIFO
is never opened, so it cannot hang the build), and its e-mail addresses are checked but not kept
(`Member` has no such field), so no page, JSON file or workbook can publish what it never holds.
Who may see what is a later decision; the addresses stay in the file for it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..diagnostics import Worded, worded
from .project_files import entry_name, shown_path, unreadable
from .spec import Checker, Field, ListOf, Number, Pattern, Record, Text, TextMapOf
from .yaml_nodes import read_yaml

if TYPE_CHECKING:
    from pathlib import Path

    from ..diagnostics import Problems
    from .stage_model import StageModel

# Calendar quarters (2027-Q1) or fiscal ones (FY2027-Q1); which one a team uses follows the stage model.
PERIOD = Pattern(regex=r"(FY)?\d{4}-Q[1-4]", what="a quarter such as 2027-Q1 or FY2027-Q1", what_code="quarter",
                 example="2027-Q1")
EMAIL = Pattern(regex=r"[^@\s]+@[^@\s]+", what="an e-mail address", what_code="email", example="li.wei@example.com")

TEAM_SPEC = Record(name="team", fields={
    "members": Field(ListOf(Record(name="member", fields={
        "name": Field(Text(), True, "The name exactly as deal files write it in `owner:`."),
        "email": Field(EMAIL, False, "Checked, never published."),
        "quotas": Field(TextMapOf(key=PERIOD, value=Number(0)), False),
    })), True),
})


@dataclass(frozen=True)
class Member:
    name: str
    quotas: tuple[tuple[str, float], ...] = ()  # (period, amount), as written; a tuple keeps the object hashable

    def quota(self, period: str) -> float:
        """The quota for a period; a period the file does not name has none (0)."""
        return dict(self.quotas).get(period, 0.0)


@dataclass(frozen=True)
class Team:
    path: str  # as shown to people
    members: tuple[Member, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.members)

    def member(self, name: str) -> Member | None:
        return next((m for m in self.members if m.name == name), None)


# `unreadable`'s hints for a team.yml that is a folder, or a FIFO or device.
TEAM_FILE_HINTS = (Worded("team_folder_hint"), Worded("team_ordinary_file"))


def read_checked(path: Path, root: Path | None, spec: Record, hints: tuple[Worded, Worded],
                 problems: Problems) -> tuple[dict, Checker] | None:
    """A project file beside the stage model (the team, the forecast calls) read under the deal files'
    rules and checked against `spec`: its values and the checker (positions), or None when it is missing
    or has errors (which go to `problems`)."""
    if not os.path.lexists(path):  # a broken link is there, and reported
        return None
    why = unreadable(path, root, hints=hints)
    if why is not None:  # named as the entry, not where a link leads
        problems.error(entry_name(path, root), 1, 1, "", *why)
        return None
    shown_as = shown_path(path, root)
    node = read_yaml(path, shown_as, problems)
    if node is None:
        return None
    c = Checker(shown_as, problems)
    raw = spec.check(node, "", c)
    return None if c.failed or raw is None else (raw, c)


def load_team(path: Path, root: Path | None, model: StageModel, problems: Problems) -> Team | None:
    """Read and check the team file; None when it is missing or has errors (which go to `problems`).

    `root` is the project: a team file that is a link leading out of it is refused, like a deal file.
    """
    checked = read_checked(path, root, TEAM_SPEC, TEAM_FILE_HINTS, problems)
    if checked is None:
        return None
    raw, c = checked
    shown_as = c.path
    members = tuple(Member(m["name"], tuple((p, float(q)) for p, q in m.get("quotas", {}).items()))
                    for m in raw["members"])
    team = Team(shown_as, members)
    before = len(problems.errors)
    _check_meaning(team, model, c)
    return team if len(problems.errors) == before else None


def _check_meaning(team: Team, model: StageModel, c: Checker) -> None:
    def error(where: str, message: Worded, hint: Worded) -> None:
        line, col = c.marks.get(where, (1, 1))
        c.problems.error(c.path, line, col, where, message, hint)

    seen: dict[str, int] = {}
    fiscal = model.fiscal_year_start != 1
    for index, member in enumerate(team.members, start=1):
        if member.name in seen:
            error(f"members[{index}].name", worded("member_twice", name=f"'{member.name}'", index=seen[member.name]),
                  Worded("list_once"))
        seen.setdefault(member.name, index)
        for period, _ in member.quotas:
            # A quota named in the other style would never match a deal's period and silently count as none.
            if fiscal != period.startswith("FY"):
                year, quarter = re.fullmatch(r"(?:FY)?(\d{4})-Q([1-4])", period).groups()  # type: ignore[union-attr]
                wanted = f"FY{year}-Q{quarter}" if fiscal else f"{year}-Q{quarter}"
                why = (worded("fiscal_start", month=model.fiscal_year_start) if fiscal
                       else Worded("calendar_quarters"))
                error(f"members[{index}].quotas.{period}", worded("not_team_period", period=f"'{period}'", why=why),
                      worded("name_like", wanted=f"'{wanted}'"))
