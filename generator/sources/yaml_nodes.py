"""Read YAML safely into nodes that remember where they came from.

Deal files are written by people, so the reader refuses what PyYAML would
otherwise accept silently: duplicate keys (PyYAML keeps the last one), tags
that ask for Python objects, and aliases that expand into huge documents.
It returns PyYAML *nodes*, not values, so that every later check can point
at a line and column, and so that a text field keeps exactly what was typed
(`country: NO` stays the text "NO", not the boolean false).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from ..diagnostics import Problems


try:  # The C parser is about seven times faster on a thousand deals.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - libyaml is missing on this platform
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_BYTES = 1_000_000
MAX_VALUES = 100_000

CORE = "tag:yaml.org,2002:"
REFUSED = "tag:dealbook,refused"
ALLOWED_TAGS = {CORE + t for t in ("null", "bool", "int", "float", "str", "timestamp", "seq", "map")}


def position(node: yaml.Node) -> tuple[int, int]:
    """1-based line and column where a node starts."""
    return node.start_mark.line + 1, node.start_mark.column + 1


def read_bytes(path: Path, shown_as: str, problems: Problems) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError as exc:
        problems.error(shown_as, 1, 1, "", f"cannot read the file: {exc.strerror}")
        return None


def read_yaml(path: Path, shown_as: str, problems: Problems, data: bytes | None = None) -> yaml.Node | None:
    """Parse one YAML file (or its bytes, already read) into a node tree, or record why it can't be used."""
    if data is None:
        data = read_bytes(path, shown_as, problems)
        if data is None:
            return None
    if len(data) > MAX_BYTES:
        problems.error(shown_as, 1, 1, "", f"the file is {len(data):,} bytes; the limit is {MAX_BYTES:,}",
                       "split it up or remove pasted material")
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        problems.error(shown_as, line, col, "", f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
                       "save the file with UTF-8 encoding")
        return None
    text = text.removeprefix("\ufeff")
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or exc.context or "the YAML cannot be read"
        hint = "use spaces, not tabs, to indent" if "\\t" in what or "tab" in what else \
            "check the indentation and quoting on this line and the one before"
        problems.error(shown_as, line, col, "", f"YAML syntax error: {what}", hint)
        return None
    except yaml.YAMLError as exc:
        problems.error(shown_as, 1, 1, "", f"YAML error: {exc}")
        return None
    if node is None:
        problems.error(shown_as, 1, 1, "", "the file is empty", "run `dealbook new <id>` for a starting point")
        return None
    if not _check_structure(node, shown_as, problems):
        return None
    return node


def _check_structure(root: yaml.Node, shown_as: str, problems: Problems) -> bool:
    """Refuse unsafe tags and alias bombs; False if the tree must not be looked at further."""
    sizes: dict[int, int] = {}

    def visit(node: yaml.Node) -> int:
        # Aliases share node objects, so memoising by identity measures the expanded
        # document in time linear in the *composed* one, and checks each node once.
        known = sizes.get(id(node))
        if known is not None:
            return known
        sizes[id(node)] = 1  # a recursive alias counts once, then stops
        if node.tag not in ALLOWED_TAGS:
            line, col = position(node)
            tag = node.tag.replace(CORE, "!!")
            problems.error(shown_as, line, col, "", f"the tag '{tag}' is not allowed",
                           "deal files hold plain data; remove the tag")
            node.tag = REFUSED  # reported once here; the schema checks skip it
            return 1
        if isinstance(node, yaml.MappingNode):
            total = 1 + sum(visit(k) + visit(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total = 1 + sum(visit(v) for v in node.value)
        else:
            total = 1
        sizes[id(node)] = total
        return total

    if visit(root) > MAX_VALUES:
        line, col = position(root)
        problems.error(shown_as, line, col, "", f"anchors and aliases expand to more than {MAX_VALUES:,} values",
                       "write the values out instead of using & and *")
        return False
    return True
