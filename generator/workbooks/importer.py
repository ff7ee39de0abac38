"""`dealbook import`: bring filled-in workbooks back into the deal files.

For each workbook: read what it holds (`reader`), find the deal file it belongs to, merge
three ways (`model.merge`: the base stored in the workbook, the deal file now, the
workbook), apply the changes as text edits (`sources.deal_edit`: every other byte stays),
and check the result with the rules of `dealbook check` (the command's `check`,
`build.check_files`, on a copy of the would-be file: the read path is the build's, above the
workbooks). All workbooks are read, merged and checked before any file is written;
any problem in any of them writes nothing. Several workbooks of one deal are applied in the
order given, each on top of the one before.

A blank scorecard was made from no deal file: its filled cells fill in or overwrite the
deal's values, and its blank cells change nothing.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from ..diagnostics import Problem, Worded, worded
from ..labels import Labels
from ..model.merge import (
    DONE,
    NEW_PERSON_FIELDS,
    PERSON_FIELDS,
    PLAN_FIELDS,
    TERM_FIELDS,
    Changes,
    Fields,
    Key,
    deal_fields,
    describe,
    merge,
)
from ..sources.deal_edit import EditError, Item, append_items, set_value
from ..sources.deal_files import shown_path
from ..sources.deal_format import ID_PATTERN
from .meta import SCORECARD, NotDealbook, shown
from .reader import MAX_NAMED, Filled, Unreadable, read_filled

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..model.pipeline import Pipeline
    from ..sources.deal_files import Deal
    from ..sources.stage_model import StageModel


@dataclass
class Run:
    root: Path
    model_path: Path
    deals_dir: Path
    as_of: date
    model: StageModel
    echo: Callable[[str], None]
    labels: Labels  # the language of the lines (--lang); a workbook's own words stay in its language
    # What `dealbook check` makes of deal files (root, stage model, deals folder, as-of day, the files): their
    # pipeline (None when the stage model is unusable) and the problems (`build.check_files`).
    check: Callable[[Path, Path, Path, date, list[Path]], tuple[Pipeline | None, list[Problem]]]
    cache_dir: Path  # the project's `.cache/`, where a new text waits to be renamed into place
    texts: dict[Path, str] = field(default_factory=dict)  # deal file → its text after the workbooks so far
    originals: dict[Path, str] = field(default_factory=dict)
    failed: bool = False

    def problem(self, line: str) -> None:
        self.failed = True
        self.echo(line)

    def word(self, text: Worded | str) -> str:
        """`text` in the reader's language; a list of words (a dropdown's) joined as that language lists them."""
        if not isinstance(text, Worded):
            return text
        params = tuple((name, self.labels.list_separator.join(value) if isinstance(value, tuple) else value)
                       for name, value in text.params)
        return self.labels.word(text.code, params)

    def line(self, name: str, *parts: Worded | str) -> str:
        """`file: sheet!cell: what is wrong`, each part worded in the reader's language (an empty part left out)."""
        return ": ".join([name, *(self.word(part) for part in parts if part)])


def import_workbooks(paths: list[Path], *, root: Path, model_path: Path, deals_dir: Path, as_of: date,
                     model: StageModel, dry_run: bool, echo: Callable[[str], None],
                     check: Callable[[Path, Path, Path, date, list[Path]], tuple[Pipeline | None, list[Problem]]],
                     cache_dir: Path, labels: Labels | None = None) -> int:
    """Import every workbook; 0 when all went in (or there was nothing to import), 1 when nothing was written.

    Every line is worded in the language of `labels` (the default language without)."""
    run = Run(root, model_path, deals_dir, as_of, model, echo, labels or Labels(None), check, cache_dir)
    for path in paths:
        _one(run, path)
    if run.failed:
        echo(run.word(Worded("import_nothing_written")))
        return 1
    changed = [p for p in run.texts if run.texts[p] != run.originals[p]]
    for path in changed:
        shown = shown_path(path, root)
        echo("".join(difflib.unified_diff(run.originals[path].splitlines(True), run.texts[path].splitlines(True),
                                          f"a/{shown}", f"b/{shown}")).rstrip("\n"))
    scratch = None if dry_run or not changed else _scratch(cache_dir, deals_dir)
    for path in changed:
        if scratch is not None:
            _write(path, run.texts[path], scratch)
    if changed:
        echo(run.word(worded("import_dry_run", n=len(changed)) if dry_run else
                      worded("import_wrote", files=", ".join(shown_path(p, root) for p in changed))))
    return 0


def _one(run: Run, path: Path) -> None:
    name = shown(path.name, quote=False)  # a file name is printed too: no line break of its own
    try:
        filled = read_filled(path, run.model)
    except NotDealbook as why:
        run.problem(run.line(name, worded("import_not_dealbook", why=why.worded)))
        return
    except Unreadable as why:
        run.problem(run.line(name, why.at, why.worded))
        return
    except OSError as exc:
        run.problem(run.line(name, worded("import_cannot_read", why=exc.strerror or str(exc))))
        return
    for at, what in filled.problems:
        run.problem(run.line(name, at, what))
    if filled.problems:
        return
    deal_path = _deal_file(run, filled, name)
    if deal_path is None:
        return
    shown_deal = shown_path(deal_path, run.root)
    for where, what in filled.not_imported[:MAX_NAMED]:
        run.echo(run.line(name, where, worded("import_not_imported", what=what, file=shown_deal)))
    if len(filled.not_imported) > MAX_NAMED:
        run.echo(run.line(name, worded("import_more_not_imported", n=len(filled.not_imported) - MAX_NAMED)))
    _merge_into(run, name, filled, deal_path, shown_deal)


def _merge_into(run: Run, name: str, filled: Filled, deal_path: Path, where_file: str) -> None:
    if deal_path not in run.texts:
        data = deal_path.read_bytes()
        try:
            run.texts[deal_path] = run.originals[deal_path] = data.decode("utf-8")
        except UnicodeDecodeError:
            run.problem(run.line(name, worded("import_not_utf8", file=where_file)))
            return
        if filled.meta.fingerprint and hashlib.sha256(data).hexdigest() != filled.meta.fingerprint:
            run.echo(run.line(name, worded("import_changed_since", file=where_file)))
    text = run.texts[deal_path]
    deal, problems = _check(run, deal_path, text)
    if deal is None:
        run.problem(run.line(name, worded("import_has_errors", file=where_file)))
        return
    theirs = deal_fields(deal)
    merged = merge(filled.meta.base, theirs, _mine(filled, filled.meta.base, theirs),
                   filled_only=filled.meta.kind == SCORECARD)
    # A deal already changed by a workbook before this one in the same call says so: the file on disk has not.
    after = text != run.originals[deal_path]
    for conflict in merged.conflicts:
        mine, theirs = _show(conflict.mine), _show(conflict.theirs)
        run.problem(run.line(name, describe(conflict.key),
                             worded("import_conflict_after", mine=mine, file=where_file, theirs=theirs) if after else
                             worded("import_conflict", mine=mine, file=where_file, theirs=theirs)))
    if merged.conflicts:
        return
    bom = "\ufeff" if text.startswith("\ufeff") else ""  # kept, and kept out of the YAML positions
    # Old Mac line endings (CR alone): edited as LF and turned back, which is exact since the file has no LF.
    cr_only = "\r" in text and "\n" not in text
    try:
        body = text.removeprefix(bom)
        new = _apply(body.replace("\r", "\n") if cr_only else body, merged.changes, theirs)
        new = bom + (new.replace("\n", "\r") if cr_only else new)
    except EditError as why:
        run.problem(run.line(name, f"{where_file}:{why.line}" if why.line else where_file, why.worded))
        return
    except yaml.YAMLError as exc:  # what `dealbook check` reads but the editing parser does not
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        why = getattr(exc, "problem", None) or "YAML"
        run.problem(run.line(name, where_file + where, worded("import_cannot_edit", why=why)))
        return
    if new == text:
        run.echo(run.line(name, Worded("import_nothing")))
        return
    deal, problems = _check(run, deal_path, new)
    if deal is None:
        for problem in problems:
            if problem.severity == "error":
                run.problem(run.line(name, worded("import_would_fail", problem=run.labels.problem_line(problem))))
        return
    run.texts[deal_path] = new


def _deal_file(run: Run, filled: Filled, name: str) -> Path | None:
    """The deal file a workbook is for; always the same Path for one file, so several workbooks of a deal merge."""
    deal_id = filled.deal_id.strip()
    where = filled.deal_id_cell if filled.meta.kind == SCORECARD else ""
    if not deal_id:
        run.problem(run.line(name, filled.deal_id_cell, Worded("import_fill_id")))
        return None
    if not re.fullmatch(ID_PATTERN, deal_id):  # no "/", "..", line break: the id names a file in deals/ only
        run.problem(run.line(name, where, worded("import_names_bad_id", id=shown(deal_id))
                             if filled.meta.kind == SCORECARD else
                             worded("import_data_names_bad_id", id=shown(deal_id))))
        return None
    for suffix in (".yml", ".yaml"):
        path = run.deals_dir / f"{deal_id}{suffix}"
        if path.is_file() and path.resolve().parent == run.deals_dir.resolve():
            return path
    run.problem(run.line(name, where, worded("import_no_deal", id=deal_id,
                                             path=f"{shown_path(run.deals_dir, run.root)}/{deal_id}.yml")))
    return None


def _mine(filled: Filled, base: Fields | None, theirs: Fields) -> Changes:
    """The workbook's fields, keyed like `deal_fields`.

    A row that the deal file has (or had) is matched, and only its importable fields count;
    a new row also brings its name, topic or milestone, and a new stakeholder their title and role.
    """
    mine: Changes = {}
    for factor, score in filled.scores.items():
        mine[("qualification", factor)] = score
    known = {key[:3] for key in (base or {}) | theirs}
    for row in filled.people:
        prefix = ("stakeholders", row.key, row.n)
        if prefix not in known:
            mine[(*prefix, "name")] = str(row.values["name"])
        for attribute in NEW_PERSON_FIELDS if prefix not in known else PERSON_FIELDS:
            mine[(*prefix, attribute)] = _value(row.values.get(attribute))
    for row in filled.terms:
        prefix = ("negotiation", row.key, row.n)
        if prefix not in known:
            if all(v is None for v in row.values.values()):
                continue  # an empty row for a topic the deal has no term on
            mine[(*prefix, "topic")] = row.key
        for attribute in TERM_FIELDS:
            mine[(*prefix, attribute)] = _value(row.values.get(attribute))
    for row in filled.plan:
        prefix = ("plan", row.key, row.n)
        if prefix not in known:
            mine[(*prefix, "milestone")] = str(row.values["milestone"])
        for attribute in PLAN_FIELDS:
            value = row.values.get(attribute)
            mine[(*prefix, attribute)] = value if attribute == "stage" else _value(value)
    return mine


def _value(value: object) -> str | None:
    return None if value is None else str(value)


def _apply(text: str, changes: dict[Key, object], theirs: Fields) -> str:
    """The deal file's text with the merged changes made, in the workbook's order; new rows appended whole."""
    rows = {key[:3] for key in theirs if key[0] != "qualification"}
    added: dict[tuple, dict[str, object]] = {}
    for key, value in changes.items():
        if key[0] == "qualification":
            text = set_value(text, ["qualification", key[1]], value)  # type: ignore[arg-type]
            continue
        list_path: list = ["negotiation", "terms"] if key[0] == "negotiation" else [key[0]]
        match = {"stakeholders": "name", "negotiation": "topic", "plan": "milestone"}[key[0]]
        if key[:3] not in rows:
            added.setdefault(key[:3], {})[key[3]] = value
            continue
        text = set_value(text, [*list_path, Item(match, key[1], key[2]), key[3]], _typed(key[3], value))
    people: list[dict] = []
    terms: list[dict] = []
    milestones: list[dict] = []
    for (kind, first, _), values in added.items():
        if kind == "stakeholders":
            item = {"name": values.pop("name", first)} | {a: values[a] for a in NEW_PERSON_FIELDS
                                                           if values.get(a) is not None}
            people.append({k: _typed(k, v) for k, v in item.items()})
        elif kind == "plan":
            item = {"milestone": values.pop("milestone", first)} | {a: values[a] for a in PLAN_FIELDS
                                                                     if values.get(a) is not None}
            milestones.append({k: _typed(k, v) for k, v in item.items()})
        else:
            terms.append({"topic": first} | {a: values[a] for a in TERM_FIELDS if values.get(a) is not None})
    # All new rows of a list in one edit: one parse, however many rows a workbook adds.
    text = append_items(text, ["stakeholders"], people)
    text = append_items(text, ["negotiation", "terms"], terms)
    return append_items(text, ["plan"], milestones)


def _typed(attribute: str, value: object) -> object:
    """A field's value as the deal file writes it: a date unquoted, a milestone done as `true`, a stage a number."""
    if value is not None and attribute in ("last_contact", "due"):
        return date.fromisoformat(str(value))
    if value is not None and attribute == "done":
        return value == DONE
    return value


def _show(value: object) -> Worded | str:
    if value is None:
        return Worded("import_blank")
    text = str(value).replace("\n", " ")
    return repr(text[:60] + "…" if len(text) > 60 else text) if isinstance(value, str) else text


def _check(run: Run, deal_path: Path, text: str) -> tuple[Deal | None, list[Problem]]:
    """The deal as `dealbook check` reads `text` in place of the file; None when it has an error.

    The text is checked as a copy in a scratch folder, under the file's own name, so every rule
    of the check applies (the file name is the deal id) and the real file is not touched.
    """
    shown = shown_path(deal_path, run.root)
    with tempfile.TemporaryDirectory(prefix="dealbook-import-") as scratch:
        folder = Path(scratch) / "deals"
        folder.mkdir()
        copy = folder / deal_path.name
        copy.write_text(text, encoding="utf-8", newline="")
        pipeline, found = run.check(Path(scratch), run.model_path, folder, run.as_of, [copy])
    # Shown at the deal file's own path; the code and values kept, so the lines are worded in the reader's language.
    problems = [replace(p, path=shown) for p in found]
    if pipeline is None or any(p.severity == "error" for p in problems):
        return None, problems
    views = pipeline.deals
    return (views[0].deal if views else None), problems


def _scratch(cache_dir: Path, deals_dir: Path) -> Path:
    """Where a deal file's new text is written before it is renamed into place: never in deals/ itself, where a
    kill at the wrong moment would leave a stray file that `git add deals` stages. The project's cache folder
    when it is on the same file system (a rename is one step only within one), else the deals folder's parent."""
    cache = cache_dir / "import"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        if os.stat(cache).st_dev == os.stat(deals_dir).st_dev:
            return cache
    except OSError:
        pass
    return deals_dir.resolve().parent


def _write(path: Path, text: str, scratch: Path) -> None:
    """Replace the file in one step, so an interrupted import never leaves half a deal file."""
    data = text.encode("utf-8")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=scratch)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
