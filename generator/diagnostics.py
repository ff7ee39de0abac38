"""Problems found in deal files and the stage model, and how they are printed (text, JSON, GitHub)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Literal

# The values a problem is made of live with the catalog that words them (`labels`, below this module: a
# problem is worded in English when made); they are imported from here too.
from .labels import (
    Labels,
    Params,
    StageText,
    Term,
    Worded,
    WordedError,
    _english,
    needs_model,
    runnable,
    worded,
)

__all__ = ["Params", "StageText", "Term", "Worded", "WordedError", "needs_model", "runnable", "worded"]

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
    message: str = ""
    hint: str = ""
    # The same in plain words, for managers reading the site: no field names, no positions.
    # Only deal warnings have one; `reader_text` falls back to the field and the message.
    plain: str = field(default="", compare=False)
    # What is wrong as a catalog key and its values, worded by `Labels.problem_message` in the reader's
    # language; `message` and `hint` are then the English wording, for logs and `str()`.
    code: str = ""
    params: Params = ()
    hint_code: str = ""
    hint_params: Params = ()

    def __post_init__(self) -> None:
        # A parameter worded from the stage model (a deal warning's stage name) is worded at the edge alone.
        if self.code and not self.message and not needs_model(self.params):
            object.__setattr__(self, "message", _english(self.code, self.params))
        if self.hint_code and not self.hint and not needs_model(self.hint_params):
            object.__setattr__(self, "hint", _english(self.hint_code, self.hint_params))
        for name in ("path", "field", "message", "hint"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, one_line(value))

    def __str__(self) -> str:
        hint = f" ({self.hint})" if self.hint else ""
        return f"{self.path}:{self.line}:{self.col}: {self.severity}: {self.summary()}{hint}"

    @property
    def reader_text(self) -> str:
        return self.plain or self.summary()

    def summary(self) -> str:
        """The field and the message, without the position: for pages and `/deals.json`."""
        message = self.message or self.code  # the code of a problem not worded yet (`Labels.in_language`)
        return f"{self.field}: {message}" if self.field else message

    def as_github(self) -> str:
        # GitHub annotations end at a newline and treat '%' specially.
        text = self.summary()
        if self.hint:
            text += f" ({self.hint})"
        text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return f"::{self.severity} file={self.path},line={self.line},col={self.col}::{text}"

    def promoted(self) -> Problem:
        """The same problem as an error (for --strict)."""
        return replace(self, severity="error")


def problem(path: str, line: int, col: int, severity: Severity, field: str, message: Worded,
            hint: Worded | str = "") -> Problem:
    """A problem whose message and hint (`""` for none) are `Worded`: a catalog key and its values."""
    code, params = (message.code, message.params) if isinstance(message, Worded) else ("", ())
    hint_code, hint_params = (hint.code, hint.params) if isinstance(hint, Worded) else ("", ())
    return Problem(path, line, col, severity, field, "" if code else message, "" if hint_code else hint,
                   code=code, params=params, hint_code=hint_code, hint_params=hint_params)


class Problems(list):
    """Problems collected while reading files, in the order they were found."""

    def error(self, path: str, line: int, col: int, field: str, message: Worded, hint: Worded | str = "") -> None:
        """An error; `message` and `hint` (`""` for none) are `Worded`: a catalog key and its values."""
        self.append(problem(path, line, col, "error", field, message, hint))

    def warning(self, path: str, line: int, col: int, field: str, message: Worded, hint: Worded | str = "") -> None:
        self.append(problem(path, line, col, "warning", field, message, hint))

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


def listed(problems: Iterable[Problem], limit: int = 20, labels: Labels | None = None) -> list[str]:
    """The first `limit` problems as `dealbook check` prints them, then how many more there are."""
    problems = sorted(problems, key=sort_key)
    lines = [labels.problem_line(p) if labels is not None else str(p) for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"… and {len(problems) - limit} more: run `{command_name()} check` for all of them")
    return lines


def sort_key(problem: Problem) -> tuple:
    return (problem.path, problem.line, problem.col)


def format_problems(problems: Iterable[Problem], style: str = "text", labels: Labels | None = None,
                    command: str = "dealbook") -> str:
    """Render problems as text lines, GitHub annotations or JSON, worded in the language of `labels`
    (English without), a command to run named as `command`.

    JSON gives each problem's `code` and `params` (and `hint_code`, `hint_params`) beside the worded
    `message` and `hint`, so that a tool can tell problems apart without reading words."""
    if labels is None:
        labels = Labels("en")
    problems = [labels.in_language(p, command) for p in sorted(problems, key=sort_key)]
    if style == "json":
        return json.dumps([_as_json(p) for p in problems], ensure_ascii=False, indent=2)
    if style == "github":
        return "\n".join(p.as_github() for p in problems)
    return "\n".join(str(p) for p in problems)


def _as_json(problem: Problem) -> dict[str, object]:
    out: dict[str, object] = {name: getattr(problem, name) for name in
                              ("path", "line", "col", "severity", "field", "message", "hint", "plain", "code")}
    out["params"] = _json_params(problem.params)
    out["hint_code"] = problem.hint_code
    out["hint_params"] = _json_params(problem.hint_params)
    return out


def _json_params(params: Params) -> dict[str, object]:
    return {name: _json_value(value) for name, value in params}


def json_params(params: Params) -> dict[str, object]:
    """Parameters as JSON values: a `Worded` as its code and params, a `StageText` or `Term` as its fields,
    a date in ISO 8601 (for `--format json` and `/deals.json`)."""
    return _json_params(params)


def _json_value(value: object) -> object:
    if isinstance(value, Worded):
        return {"code": value.code, "params": _json_params(value.params)}
    if isinstance(value, (StageText, Term)):
        return asdict(value)
    return value.isoformat() if isinstance(value, date) else value
