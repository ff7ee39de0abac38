"""Read YAML safely into nodes that remember where they came from.

Deal files are written by people, so the reader refuses what PyYAML would
otherwise accept silently: duplicate keys (PyYAML keeps the last one), tags
that ask for Python objects, and aliases that expand into huge documents.
It returns PyYAML *nodes*, not values, so that every later check can point
at a line and column, and so that a text field keeps exactly what was typed
(`country: NO` stays the text "NO", not the boolean false).

When PyYAML cannot read a file, its message names the token it choked on,
often a line after the real mistake. The reader looks at the lines itself
for the slips people actually make (a full-width colon, a missing space
after ':', a tab for indentation) and reports those, at their own line,
every one of them in one run (`_all_slips`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from ..diagnostics import Worded, worded

if TYPE_CHECKING:
    from ..diagnostics import Problems


try:  # The C parser is about seven times faster on a thousand deals.
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - libyaml is missing on this platform
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

# The C composer calls back into the pure-Python resolver for every node, a third of its time.
# The safe loader has no path resolvers (nothing here adds any), so a plain scalar's implicit tag
# depends on its text alone, and the same short texts (keys, numbers, dates, choices) recur in
# every deal: the answers are kept. Long texts are free text, seldom repeated: not kept, so the
# table stays small.
_MEMO_LENGTH = 40
_MEMO_SIZE = 50_000
_SCALAR = yaml.ScalarNode


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    _tags: dict[str, str] = {}

    def resolve(self, kind, value, implicit):
        if kind is _SCALAR and implicit[0]:
            tag = self._tags.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(value) <= _MEMO_LENGTH and len(self._tags) < _MEMO_SIZE and not self.yaml_path_resolvers:
                    self._tags[value] = tag
            return tag
        return super().resolve(kind, value, implicit)

    # What these do with no path resolvers: nothing, twice per node.
    def descend_resolver(self, current_node, current_index):
        if self.yaml_path_resolvers:  # pragma: no cover - none are ever added
            super().descend_resolver(current_node, current_index)

    def ascend_resolver(self):
        if self.yaml_path_resolvers:  # pragma: no cover - none are ever added
            super().ascend_resolver()


MAX_BYTES = 1_000_000
MAX_VALUES = 100_000

CORE = "tag:yaml.org,2002:"
REFUSED = "tag:dealbook,refused"
ALLOWED_TAGS = {CORE + t for t in ("null", "bool", "int", "float", "str", "timestamp", "seq", "map")}

# Line breaks as PyYAML counts them, so that our line numbers agree with the ones in its marks.
LINE_BREAK = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")
# Every character PyYAML refuses to read (its reader's allowed set, inverted).
UNREADABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
C0_NAMES = ("NUL SOH STX ETX EOT ENQ ACK BEL BS HT LF VT FF CR SO SI "
            "DLE DC1 DC2 DC3 DC4 NAK SYN ETB CAN EM SUB ESC FS GS RS US").split()

# The slips, on a line meant as `key: value` (an optional `- ` first, for a list item).
FULLWIDTH_KEY = re.compile(r"^(?P<lead>\s*(?:-\s+)?)(?P<key>[A-Za-z0-9_][\w-]*)\s*(?P<colon>：)")
NO_SPACE_KEY = re.compile(r"^(?P<lead>\s*(?:-\s+)?)(?P<key>[A-Za-z_][\w-]*)(?P<colon>:)(?=[^\s:/])")
TAB_INDENT = re.compile(r"^[ ]*(?:-[ ]+)?(?P<tab>\t)")
KEY_SEPARATOR = re.compile(r":(?:\s|$)")
WALK_BACK = 50  # lines looked at above PyYAML's mark for the start of a broken key line


def position(node: yaml.Node) -> tuple[int, int]:
    """1-based line and column where a node starts."""
    return node.start_mark.line + 1, node.start_mark.column + 1


def slip_hint(text: str) -> Worded | None:
    """The fix for a text that was meant as `key: value`, or None; the schema checks use it too."""
    fullwidth = FULLWIDTH_KEY.match(text)
    if fullwidth:
        return worded("ascii_colon", key=f"'{fullwidth['key']}'")
    if NO_SPACE_KEY.match(text):
        return Worded("space_after_colon")
    return None


def read_bytes(path: Path, shown_as: str, problems: Problems) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError as exc:
        problems.error(shown_as, 1, 1, "", worded("cannot_read_file", why=exc.strerror))
        return None


def read_yaml(path: Path, shown_as: str, problems: Problems, data: bytes | None = None) -> yaml.Node | None:
    """Parse one YAML file (or its bytes, already read) into a node tree, or record why it can't be used."""
    if data is None:
        data = read_bytes(path, shown_as, problems)
        if data is None:
            return None
    if len(data) > MAX_BYTES:
        problems.error(shown_as, 1, 1, "", worded("too_big", size=f"{len(data):,}", limit=f"{MAX_BYTES:,}"),
                       Worded("split_file"))
        return None
    text = _decode(data, shown_as, problems)
    if text is None or not _no_hidden_line_breaks(text, shown_as, problems) \
            or not _readable_characters(text, shown_as, problems):
        return None
    node = _compose(text, shown_as, problems)
    if node is None:
        return None
    if _may_hold_tags_or_aliases(text) and not _check_structure(node, shown_as, problems):
        return None
    return node


def _may_hold_tags_or_aliases(text: str) -> bool:
    """False when the walk of `_check_structure` cannot find anything: no tag ('!'), anchor, alias, merge
    key ('<<') or value key ('=', which the safe loader tags `!!value`) can be written without these
    characters, and a text shorter than the limit on values cannot hold more values than it. Most deal
    files: it skips a walk of every node."""
    return len(text) >= MAX_VALUES or any(mark in text for mark in ("!", "&", "*", "<<", "="))


def _line_col(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of a character index, with line breaks counted as PyYAML counts them."""
    before = text[:index]
    breaks = list(LINE_BREAK.finditer(before))
    if not breaks:
        return 1, index + 1
    return len(breaks) + 1, index - breaks[-1].end() + 1


def _decode(data: bytes, shown_as: str, problems: Problems) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The part before the bad byte is valid, so the column can be counted in characters, as editors do.
        before = data[:exc.start].decode("utf-8", "replace")
        breaks = list(EDITOR_BREAK.finditer(before))  # as the rep's editor counts lines
        line, col = len(breaks) + 1, len(before) - (breaks[-1].end() if breaks else 0) + 1
        problems.error(shown_as, line, col, "", worded("not_utf8", byte=f"0x{data[exc.start]:02x}"),
                       Worded("save_utf8"))
        return None
    return text.removeprefix("\ufeff")


def _character_name(char: str) -> str | Worded:
    """The code point and its Unicode name (`U+0007 BEL`), or what kind of character it is, in words."""
    code = ord(char)
    if code < 0x20:
        return f"U+{code:04X} {C0_NAMES[code]}"
    if code == 0x7F:
        return "U+007F DEL"
    if code < 0xA0:
        return worded("c1_character", code=f"U+{code:04X}")
    return worded("not_a_character", code=f"U+{code:04X}")


YAML_ONLY_BREAK = re.compile("[\x85\u2028\u2029]")
EDITOR_BREAK = re.compile(r"\r\n|[\r\n]")
BREAK_NAMES = {"\x85": "U+0085 NEXT LINE", "\u2028": "U+2028 LINE SEPARATOR", "\u2029": "U+2029 PARAGRAPH SEPARATOR"}


def _no_hidden_line_breaks(text: str, shown_as: str, problems: Problems) -> bool:
    """Refuse the characters YAML reads as line breaks and editors do not.

    Left in, every line number after them would be off by one against the rep's editor.
    """
    first = YAML_ONLY_BREAK.search(text)
    if first is None:
        return True
    before = text[:first.start()]
    breaks = list(EDITOR_BREAK.finditer(before))
    line, col = len(breaks) + 1, first.start() - (breaks[-1].end() if breaks else 0) + 1
    problems.error(shown_as, line, col, "", worded("hidden_break", name=BREAK_NAMES[first[0]]),
                   Worded("replace_break"))
    return False


def _readable_characters(text: str, shown_as: str, problems: Problems) -> bool:
    """Report the first character PyYAML would refuse, at its own line and column.

    PyYAML reports these as a position in the whole text, on two lines; looking first gives
    the rep a line, a column and the name of the character.
    """
    first = UNREADABLE.search(text)
    if first is None:
        return True
    line, col = _line_col(text, first.start())
    more = len(UNREADABLE.findall(text)) - 1
    what = "control_character" if ord(first[0]) < 0xA0 else "character"
    code = "bad_control" if what == "control_character" else "bad_character"
    name = _character_name(first[0])
    message = worded(f"{code}_more", name=name, more=more) if more else worded(code, name=name)
    hint = worded("remove_character", what=Worded(what))
    if text.count("\x00") * 3 > len(text):  # every other byte zero: UTF-16 from a Windows editor
        hint = Worded("utf16")
    problems.error(shown_as, line, col, "", message, hint)
    return False


def _compose(text: str, shown_as: str, problems: Problems) -> yaml.Node | None:
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        _report_syntax_error(exc, text, shown_as, problems)
        return None
    except yaml.reader.ReaderError as exc:  # the character check above should have caught it
        line, col = _line_col(text, exc.position)
        problems.error(shown_as, line, col, "", worded("yaml_error", what=_first_line(exc.reason)))
        return None
    except yaml.YAMLError as exc:
        problems.error(shown_as, 1, 1, "", worded("yaml_error", what=_first_line(str(exc))))
        return None
    if node is None:
        problems.error(shown_as, 1, 1, "", Worded("empty"), Worded("run_new"))
    return node


def _first_line(text: str) -> str:
    """PyYAML appends `in "<unicode string>", position N` on further lines: keep the first only."""
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else ""


@dataclass(frozen=True)
class Slip:
    line: int
    col: int
    message: Worded
    hint: Worded | None


def _report_syntax_error(exc: yaml.MarkedYAMLError, text: str, shown_as: str, problems: Problems) -> None:
    slips = _all_slips(exc, text)
    for slip in slips:
        problems.error(shown_as, slip.line, slip.col, "", worded("yaml_syntax", what=slip.message), slip.hint or "")
    if slips:
        return
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    what: str | Worded = _first_line(exc.problem or exc.context or "") or Worded("yaml_unreadable")
    if isinstance(what, str) and what.startswith("but ") and exc.context:  # needs what was expected
        what = f"{_first_line(exc.context)}, {what}"
    hint = _syntax_hint(f"{_first_line(exc.context or '')} {what}")
    problems.error(shown_as, line, col, "", worded("yaml_syntax", what=what), hint)


# How many characters the search for further slips may parse again, in all (a bound on its time): a
# deal file of a few kilobytes may be parsed again hundreds of times, a file of a megabyte twice.
REPARSE_BUDGET = 2_000_000
INDENT = re.compile(r"[ \t-]*")
LINE_BREAK_KEPT = re.compile(r"(\r\n|[\r\n\x85\u2028\u2029])")


def _all_slips(exc: yaml.MarkedYAMLError, text: str) -> list[Slip]:
    """Every slip that stops PyYAML, not only the first: each one found is mended in a copy of the text
    (a tab of the indentation as a space, the full-width colon as ': ', a space after a bare ':') and
    the copy read again, until it reads or what stops it is not a slip. So a file with three full-width
    colons and two tab indentations gets five lines in one run, each at its own line and column.

    Only slips that stop the parser are reported (a '：' inside a summary's text is the rep's text).
    What is left once they are mended is not reported: it may come from the mending (a tab taken as
    one space), and the next run shows it at its real place once the slips are fixed.
    """
    pieces = LINE_BREAK_KEPT.split(text)  # lines at the even places, their line breaks between them
    lines = pieces[0::2]
    slips: list[Slip] = []
    mended: set[int] = set()
    spent = 0
    while True:
        slip = _find_slip(exc, lines)
        if slip is None or slip.line - 1 in mended:
            return slips
        slips.append(slip)
        index = slip.line - 1
        mended.add(index)
        line, at = lines[index], slip.col - 1
        if line[at] == "\t":  # every tab of the indentation, each as one space: the columns stay
            indent = INDENT.match(line)[0]  # type: ignore[index]
            line = indent.replace("\t", " ") + line[len(indent):]
        else:  # '：' or ':', followed by a space
            line = line[:at] + ": " + line[at + 1:].lstrip(" ")
        lines[index] = pieces[2 * index] = line
        if spent > REPARSE_BUDGET:
            return slips
        again = _parse_error("".join(pieces))
        if again is None:
            return slips
        exc = again
        # The parser stops at the error: it read up to there (each parse reads further down the file).
        spent += again.problem_mark.index if again.problem_mark is not None else len(text)


def _parse_error(text: str) -> yaml.MarkedYAMLError | None:
    """What stops the parser in `text`, or None. Events only, no nodes: eight times faster than composing,
    and a slip is a syntax error, which the parser finds (what only composing finds is not a slip)."""
    try:
        for _ in yaml.parse(text, Loader=_BaseLoader):
            pass
    except yaml.MarkedYAMLError as exc:
        return exc
    except yaml.YAMLError:
        return None
    return None


# What PyYAML's own words usually mean, for the errors that are not one of the slips.
SYNTAX_HINTS = (
    ("tab", Worded("spaces_not_tabs")),
    ("single document", Worded("one_document")),
    ("undefined alias", Worded("quote_star")),
    ("nesting depth", Worded("few_levels")),
    ("cannot start any token", worded("quote_special", characters="@ ` % ! & * | >")),
)


def _syntax_hint(what: str) -> Worded:
    for words, hint in SYNTAX_HINTS:
        if words in what:
            return hint
    return Worded("check_indentation")


def _find_slip(exc: yaml.MarkedYAMLError, lines: list[str]) -> Slip | None:
    """The line with the slip that broke the file, near where PyYAML noticed it.

    A key line with a slip is read as the start of a plain text, and PyYAML only notices when
    the text runs into the next key; so the search starts at PyYAML's marks and walks back over
    lines that have no real `key:` separator, which are the lines that text would have swallowed.
    """
    marks = [m.line for m in (exc.context_mark, exc.problem_mark) if m is not None and m.line < len(lines)]
    for index in marks:
        slip = _tab_slip(lines[index], index) or _colon_slip(lines[index], index)
        if slip is not None:
            return slip
    if exc.problem_mark is None:
        return None
    start = min(exc.problem_mark.line, len(lines)) - 1
    for index in range(start, max(start - WALK_BACK, -1), -1):
        slip = _colon_slip(lines[index], index)
        if slip is not None:
            return slip
        if KEY_SEPARATOR.search(_without_comment(lines[index])):
            return None
    return None


def _without_comment(line: str) -> str:
    return re.split(r"(?:^|\s)#", line, maxsplit=1)[0]


def _tab_slip(line: str, index: int) -> Slip | None:
    tab = TAB_INDENT.match(line)
    if tab is None:
        return None
    return Slip(index + 1, tab.start("tab") + 1, Worded("tab_indent"), Worded("spaces_not_tabs"))


def _colon_slip(line: str, index: int) -> Slip | None:
    fullwidth = FULLWIDTH_KEY.match(line)
    if fullwidth:
        return Slip(index + 1, fullwidth.start("colon") + 1, worded("fullwidth_colon", key=f"'{fullwidth['key']}'"),
                    slip_hint(line))
    no_space = NO_SPACE_KEY.match(line)
    if no_space:
        word = line[no_space.start("key"):].split()[0]
        return Slip(index + 1, no_space.start("colon") + 1, worded("no_space", word=f"'{word[:40]}'"),
                    Worded("space_after_colon"))
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _refuse_tag(node: yaml.Node, shown_as: str, problems: Problems) -> None:
    line, col = position(node)
    if node.tag == CORE + "merge":
        problems.error(shown_as, line, col, "", Worded("merge_key"), Worded("write_keys_out"))
    else:
        tag = node.tag.replace(CORE, "!!")
        problems.error(shown_as, line, col, "", worded("tag", tag=f"'{tag}'"), Worded("remove_tag"))
    node.tag = REFUSED  # reported once here; the schema checks skip it


def _check_structure(root: yaml.Node, shown_as: str, problems: Problems) -> bool:
    """Refuse unsafe tags, huge documents and alias bombs; False if the tree must not be looked at further."""
    expanded, written = _measure(root, shown_as, problems)
    if expanded <= MAX_VALUES:
        return True
    line, col = position(root)
    if written > MAX_VALUES:  # big without any help from aliases: a paste, not a bomb
        problems.error(shown_as, line, col, "", worded("too_many_values", limit=f"{MAX_VALUES:,}"),
                       Worded("small_file"))
    else:
        problems.error(shown_as, line, col, "", worded("alias_bomb", limit=f"{MAX_VALUES:,}"), Worded("no_aliases"))
    return False


def _measure(root: yaml.Node, shown_as: str, problems: Problems) -> tuple[int, int]:
    """(values once aliases are expanded, values as written), refusing disallowed tags on the way.

    The walk uses its own stack: a deal may be nested a thousand levels deep (libyaml's limit),
    past Python's recursion limit. Nodes are visited in document order, so the refused tags are
    reported in that order.
    """
    seen: set[int] = set()
    aliased = False
    stack = [root]
    pop, push, extend = stack.pop, stack.append, stack.extend
    mapping = yaml.MappingNode
    while stack:
        node = pop()
        key = id(node)
        if key in seen:  # an alias: the expanded size needs the second walk below
            aliased = True
            continue
        seen.add(key)
        if node.tag not in ALLOWED_TAGS:
            _refuse_tag(node, shown_as, problems)
            continue
        value = node.value
        if value.__class__ is list and value:
            if isinstance(node, mapping):
                for pair in reversed(value):
                    push(pair[1])
                    push(pair[0])
            else:
                extend(reversed(value))
    written = len(seen)
    return (_expanded(root) if aliased else written), written


def _expanded(root: yaml.Node) -> int:
    """The number of values once aliases are expanded, after `_measure` has refused the tags.

    Aliases share node objects, so memoising sizes by identity measures the expanded document
    in time linear in the composed one; a recursive alias counts once, then stops.
    """
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in _children(node))
            continue
        if id(node) in sizes:
            continue
        sizes[id(node)] = 1
        if node.tag not in ALLOWED_TAGS:  # refused: not looked into
            continue
        children = _children(node)
        if children:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(children))
    return sizes[id(root)]
