"""The forecast calls file: what each rep, and the manager for the whole team, called for a period, and when.

`playbook/calls.yml` is optional, like the team file beside it. Each call is a number someone put
their name to on a day — `commit` (what they are sure of) and `best_case` (commit and what could
still come in), in the reporting currency — so the record of calls is only worth anything if it
cannot be quietly rewritten: it lives in git, and `dealbook call` only ever appends to it.

A call's `date` may be left out: the day of the commit that added its line counts then (from
`git blame`), so a rep who commits a call on Friday does not have to type the date as well. A call
not yet committed counts from the as-of day.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, ClassVar

from ..diagnostics import Worded, worded
from .spec import Checker, Date, Field, ListOf, Number, Record, Text
from .team import PERIOD, read_checked

if TYPE_CHECKING:
    from pathlib import Path

    from ..diagnostics import Problems
    from .stage_model import StageModel
    from .team import Team

WHOLE_TEAM = "team"  # the owner of the manager's call for the whole team

CALLS_SPEC = Record(name="calls", fields={
    "calls": Field(ListOf(Record(name="call", fields={
        "date": Field(Date(), False, "The day of the call; left out, the day of the commit that added it."),
        "owner": Field(Text(), True, "A member of the team file, or `team` for the manager's call of the whole team."),
        "period": Field(PERIOD, True, "The quarter called, as the team file names quarters."),
        "commit": Field(Number(0), True, "What the owner is sure to win in the period, in the reporting currency."),
        "best_case": Field(Number(0), True, "Commit and what could still come in, in the reporting currency."),
        "note": Field(Text(), False, "Why the call moved, in the owner's words."),
    })), True),
})


@dataclass(frozen=True)
class Call:
    day: date
    owner: str  # a member's name, or WHOLE_TEAM
    period: str
    commit: float
    best_case: float
    note: str = ""
    dated_by: str = "file"  # "file" (its own date), "git" (the commit that added it) or "as_of" (not committed)


@dataclass(frozen=True)
class Calls:
    path: str  # as shown to people
    calls: tuple[Call, ...]  # in the file's order
    whole_team: ClassVar[str] = WHOLE_TEAM  # the owner of the manager's calls

    def of(self, owner: str, period: str) -> list[Call]:
        """The owner's calls for a period, oldest first (the file's order among calls of one day)."""
        return sorted((c for c in self.calls if c.owner == owner and c.period == period), key=lambda c: c.day)


# `unreadable`'s hints for a calls.yml that is a folder, or a FIFO or device.
CALLS_FILE_HINTS = (Worded("calls_folder_hint"), Worded("team_ordinary_file"))


def load_calls(path: Path, root: Path | None, model: StageModel, team: Team | None, as_of: date,
               problems: Problems) -> Calls | None:
    """Read and check the calls file; None when it is missing or has errors (which go to `problems`)."""
    checked = read_checked(path, root, CALLS_SPEC, CALLS_FILE_HINTS, problems)
    if checked is None:
        return None
    raw, c = checked
    shown_as = c.path
    before = len(problems.errors)
    _check_meaning(raw["calls"], model, team, c)
    if len(problems.errors) != before:
        return None
    undated = [index for index, call in enumerate(raw["calls"], start=1) if call.get("date") is None]
    committed = _commit_days(path, [c.marks.get(f"calls[{i}]", (0, 0))[0] for i in undated]) if undated else {}
    calls = []
    for index, call in enumerate(raw["calls"], start=1):
        day, dated_by = call.get("date"), "file"
        if day is None:
            line = c.marks.get(f"calls[{index}]", (0, 0))[0]
            day, dated_by = (committed[line], "git") if line in committed else (as_of, "as_of")
        calls.append(Call(day, call["owner"], call["period"], float(call["commit"]), float(call["best_case"]),
                          call.get("note", ""), dated_by))
    return Calls(shown_as, tuple(calls))


def _check_meaning(raw: list[dict], model: StageModel, team: Team | None, c: Checker) -> None:
    def error(where: str, message: Worded, hint: Worded | str = "") -> None:
        line, col = c.marks.get(where, (1, 1))
        c.problems.error(c.path, line, col, where, message, hint)

    fiscal = model.fiscal_year_start != 1
    names = set(team.names) if team is not None else None
    for index, call in enumerate(raw, start=1):
        where = f"calls[{index}]"
        if names is not None and call["owner"] != WHOLE_TEAM and call["owner"] not in names:
            error(f"{where}.owner", worded("call_owner_unknown", owner=f"'{call['owner']}'", team=WHOLE_TEAM),
                  Worded("call_owner_hint"))
        period = call["period"]
        if fiscal != period.startswith("FY"):
            year, quarter = re.fullmatch(r"(?:FY)?(\d{4})-Q([1-4])", period).groups()  # type: ignore[union-attr]
            wanted = f"FY{year}-Q{quarter}" if fiscal else f"{year}-Q{quarter}"
            why = worded("fiscal_start", month=model.fiscal_year_start) if fiscal else Worded("calendar_quarters")
            error(f"{where}.period", worded("not_team_period", period=f"'{period}'", why=why),
                  worded("name_like", wanted=f"'{wanted}'"))
        if call["best_case"] < call["commit"]:
            # Best case is commit plus what could still come in: below commit, one of the two is a slip.
            error(f"{where}.best_case", worded("call_best_below_commit", best_case=_numeral(call["best_case"]),
                                               commit=_numeral(call["commit"])), Worded("call_best_hint"))


def _commit_days(path: Path, lines: list[int]) -> dict[int, date]:
    """The UTC day of the commit that last wrote each of `lines` (1-based) of the file; a line not
    committed, or a file outside git, has none."""
    try:
        out = subprocess.run(["git", "blame", "--porcelain", "--", path.name], cwd=path.parent,
                             capture_output=True, check=True, timeout=60).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.SubprocessError):
        return {}
    wanted, days, times = set(lines), {}, {}
    commit = ""
    for row in out.splitlines():
        head = row.split(" ")
        if len(head) >= 3 and re.fullmatch(r"[0-9a-f]{40}", head[0]):
            commit = head[0]
            final_line = int(head[2])
            if final_line in wanted and commit.strip("0") and commit in times:
                days[final_line] = times[commit]
            elif final_line in wanted and commit.strip("0"):
                days[final_line] = commit  # its time comes on a later row of the same header
        elif row.startswith("committer-time ") and commit.strip("0"):
            times[commit] = datetime.fromtimestamp(int(row.split(" ")[1]), tz=UTC).date()
    return {line: times[value] if isinstance(value, str) else value for line, value in days.items()
            if not isinstance(value, str) or value in times}


def call_text(day: date, owner: str, period: str, commit: float, best_case: float, note: str = "") -> str:
    """One call as `dealbook call` appends it: a YAML list item, every text quoted so nothing in it is read
    as YAML syntax."""
    import json  # JSON strings are YAML double-quoted strings

    lines = [f"  - date: {day.isoformat()}", f"    owner: {json.dumps(owner, ensure_ascii=False)}",
             f"    period: {period}", f"    commit: {_numeral(commit)}", f"    best_case: {_numeral(best_case)}"]
    if note:
        lines.append(f"    note: {json.dumps(note, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def _numeral(value: float) -> str:
    """A number as a rep would write it in the file: 1200000, 1250.5 (never 1.2e+06)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def record_call(path: Path, root: Path | None, model: StageModel, team: Team | None, day: date, owner: str,
                period: str, commit: float, best_case: float, note: str = "") -> Problems:
    """Append one call to the calls file (made if missing), then check the whole file; a call or file with
    a mistake is not kept: the file is put back as it was, and the problems are returned."""
    from ..diagnostics import Problems

    before = path.read_bytes() if path.is_file() else None
    text = before.decode("utf-8") if before is not None else "calls:\n"
    if text and not text.endswith("\n"):
        text += "\n"
    path.write_text(text + call_text(day, owner, period, commit, best_case, note), encoding="utf-8")
    problems = Problems()
    load_calls(path, root, model, team, day, problems)
    if problems.errors:
        if before is None:
            path.unlink()
        else:
            path.write_bytes(before)
    return problems
