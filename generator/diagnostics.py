"""Problems found in deal files and the stage model, and how they are printed (text, JSON, GitHub)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning"]

# A problem is printed as one line, whatever a key or PyYAML's own text held.
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def one_line(text: str) -> str:
    """`text` with line breaks as spaces and other control characters escaped (`\\x1b`)."""
    text = _LINE_BREAKS.sub(" ", text)
    return _CONTROLS.sub(lambda m: " " if m[0] == "\t" else f"\\x{ord(m[0]):02x}", text)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file, at one place in it."""

    path: str
    line: int
    col: int
    severity: Severity
    field: str
    message: str
    hint: str = ""
    # The same in plain words, for managers reading the site: no field names, no positions.
    # Only deal warnings have one; `reader_text` falls back to the field and the message.
    plain: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for name in ("path", "field", "message", "hint"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, one_line(value))

    def __str__(self) -> str:
        field = f"{self.field}: " if self.field else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{self.path}:{self.line}:{self.col}: {self.severity}: {field}{self.message}{hint}"

    @property
    def reader_text(self) -> str:
        return self.plain or self.summary()

    def summary(self) -> str:
        """The field and the message, without the position: for pages and `/deals.json`."""
        return f"{self.field}: {self.message}" if self.field else self.message

    def as_github(self) -> str:
        # GitHub annotations end at a newline and treat '%' specially.
        text = self.summary()
        if self.hint:
            text += f" ({self.hint})"
        text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return f"::{self.severity} file={self.path},line={self.line},col={self.col}::{text}"

    def promoted(self) -> Problem:
        """The same problem as an error (for --strict)."""
        return Problem(self.path, self.line, self.col, "error", self.field, self.message, self.hint, self.plain)


class Problems(list):
    """Problems collected while reading files, in the order they were found."""

    def error(self, path: str, line: int, col: int, field: str, message: str, hint: str = "") -> None:
        self.append(Problem(path, line, col, "error", field, message, hint))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self if p.severity == "warning"]


def command_name(cwd: Path | None = None) -> str:
    """`dealbook` as the reader can run it from `cwd`: `dealbook` when that is what the shell finds,
    else the path of the script, relative when it is below `cwd` (`.venv/bin/dealbook`, as the README
    has it), else `python -m generator` with this interpreter.

    The script is the one this process was started as, or the one installed beside this interpreter
    (a build started as `.venv/bin/mkdocs` has `.venv/bin/dealbook` beside it).
    """
    cwd = Path.cwd() if cwd is None else cwd
    started = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    scripts = [started] if started is not None and started.name in ("dealbook", "dealbook.exe") else []
    scripts.append(Path(sys.executable).parent / "dealbook")
    for script in scripts:
        if not script.is_file():
            continue
        found = shutil.which("dealbook")
        if found is not None and os.path.samefile(found, script):
            return "dealbook"
        return _as_typed(script, cwd)
    return f"{_as_typed(Path(sys.executable), cwd)} -m generator"


def _as_typed(path: Path, cwd: Path) -> str:
    """A path to type at a shell prompt in `cwd`: relative below it (`./x` for a file in it), else absolute."""
    absolute = Path(os.path.abspath(path))
    try:
        relative = absolute.relative_to(os.path.abspath(cwd))
    except ValueError:
        return shlex.quote(str(absolute))
    shown = relative.as_posix()
    return shlex.quote(shown if "/" in shown else f"./{shown}")


# Where a message tells the reader to run the command (`run `dealbook new <id>``, in either catalog);
# a message that only names it (`what `dealbook new` wrote here`) keeps the name.
_COMMAND = re.compile(r"(?:(?<=[Rr]un )|(?<=运行 ))`dealbook(?= )")


def runnable(text: str, command: str) -> str:
    """`text` with each `dealbook …` it tells the reader to run written as `command …`."""
    return _COMMAND.sub(lambda _: f"`{command}", text) if command != "dealbook" else text


def listed(problems: Iterable[Problem], limit: int = 20) -> list[str]:
    """The first `limit` problems as `dealbook check` prints them, then how many more there are."""
    problems = sorted(problems, key=sort_key)
    lines = [str(p) for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"… and {len(problems) - limit} more: run `{command_name()} check` for all of them")
    return lines


def sort_key(problem: Problem) -> tuple:
    return (problem.path, problem.line, problem.col)


def format_problems(problems: Iterable[Problem], style: str = "text") -> str:
    """Render problems as text lines, GitHub annotations or JSON."""
    problems = sorted(problems, key=sort_key)
    if style == "json":
        return json.dumps([asdict(p) for p in problems], ensure_ascii=False, indent=2)
    if style == "github":
        return "\n".join(p.as_github() for p in problems)
    return "\n".join(str(p) for p in problems)
