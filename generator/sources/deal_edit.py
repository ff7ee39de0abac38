"""Change a few values of a deal file and leave every other byte as it was.

Why text edits at node positions and not ruamel.yaml's round trip: a rep's file must come
back from `dealbook import` with its comments, key order, quoting, blank lines, line endings
and modeline untouched, and the diff must show only the values that changed. ruamel.yaml
re-emits the whole document: it normalises indentation to one setting per file, re-spaces
flow mappings such as `{funding: 2, price: 3}`, re-wraps long lines and re-quotes the values
it writes, so "byte for byte" would hold only for files that happen to look like its output.
Here the document is parsed with PyYAML (already a dependency), which records where every
node starts and ends; each edit splices new text into exactly that span, or inserts new
lines after the last line of a mapping or list, in the file's own indentation and line
endings. Bytes outside the edited spans cannot change, by construction.

Edits are applied one at a time, re-parsing between them (deal files are small), so no
offsets need to be shifted by hand. What this cannot place (a value behind an alias or a
tag) raises `EditError`, and nothing is written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date

import yaml

from ..diagnostics import Worded

# The pure-Python parser: its marks count characters of the text (libyaml's C parser counts bytes).
_Loader = yaml.SafeLoader
INDENT = 2  # for new nested blocks, when the file shows no indentation of its own
_TAB_BEFORE_COMMENT = re.compile(r"(?<=\S)\t(?=[ \t]*#)|(?<=[ \t])\t(?=[ \t]*#)")


class EditError(Exception):
    """The file is laid out in a way these edits cannot change safely: `worded` says how (worded at the edge,
    in the reader's language; `str()` is English), `line` where (0: the file as a whole)."""

    def __init__(self, code: str, node: yaml.Node | None = None):
        self.worded, self.line = Worded(code), node.start_mark.line + 1 if node is not None else 0
        super().__init__(f"line {self.line}: {self.worded}" if self.line else str(self.worded))


@dataclass(frozen=True)
class Item:
    """A path step that picks the n-th item of a list whose `field` equals `value` (compared by `normal`)."""

    field: str
    value: str
    n: int = 0


Step = str | Item
Scalar = int | date | str


def set_value(text: str, path: list[Step], value: Scalar | dict | list | None) -> str:
    """`text` with the value at `path` set (None: the key removed); missing mappings on the way are created.

    `value` may also be a mapping or a list of mappings, written as a new block (used to create
    what is missing on the way).
    """
    root = _compose(text)
    _, node = _walk(root, path[:-1])
    key = path[-1]
    if not isinstance(key, str):
        raise EditError("edit_whole_item")
    if node is None:  # a mapping on the way is missing: add it whole, with the value in it
        if value is None:
            return text
        if not path[:-1] or not isinstance(path[-2], str):
            raise EditError("edit_item_missing")
        return set_value(text, path[:-1], {key: value})
    if _is_null(node):  # `qualification:` with nothing under it
        return text if value is None else _replace_null(text, node, {key: value}, _key_column(text, node))
    if not isinstance(node, yaml.MappingNode):
        raise EditError("edit_expected_mapping", node)
    entry = next(((k, v) for k, v in node.value if k.value == key), None)
    if value is None:
        if entry is None:
            return text
        if len(node.value) == 1 and not node.flow_style and path[:-1] and isinstance(path[-2], str):
            return set_value(text, path[:-1], None)  # the mapping's last key: remove the mapping
        return _remove_entry(text, node, entry)
    if entry is None:
        return _insert_entry(text, node, key, value)
    _, old = entry
    if isinstance(value, dict | list):
        if not _is_null(old):
            raise EditError("edit_expected_nothing", old)
        return _replace_null(text, old, value, _key_column(text, old))
    if not isinstance(old, yaml.ScalarNode):
        raise EditError("edit_expected_value", old)
    return _replace_scalar(text, node, old, value)


def append_item(text: str, path: list[Step], item: dict[str, Scalar]) -> str:
    """`text` with `item` (a mapping of scalars) added at the end of the list at `path`, created if missing."""
    return append_items(text, path, [item])


def append_items(text: str, path: list[Step], items: list[dict[str, Scalar]]) -> str:
    """`text` with `items` added at the end of the list at `path` in one edit (one parse, however many items)."""
    if not items:
        return text
    root = _compose(text)
    parent, node = _walk(root, path)
    if node is None or _is_null(node):
        return set_value(text, path, items)
    if not isinstance(node, yaml.SequenceNode):
        raise EditError("edit_expected_list", node)
    nl = _newline(text)
    if node.flow_style:
        at = _closing(text, node, "]")
        sep = ", " if node.value else ""
        return text[:at] + sep + ", ".join(_flow(item) for item in items) + text[at:]
    first = node.value[0]
    line_start = text.rfind("\n", 0, first.start_mark.index) + 1
    dash = text.index("-", line_start) - line_start  # the column of the items' dash
    key_col = first.start_mark.column if isinstance(first, yaml.MappingNode) else dash + 2
    lines = []
    for item in items:
        for index, (key, value) in enumerate(item.items()):
            lead = " " * dash + "-" + " " * (key_col - dash - 1) if index == 0 else " " * key_col
            lines.extend(_entry_lines(lead, key, value, key_col))
    return _insert_lines(text, _line_end(text, _extent_end(text, node)), lines, nl)


# --- Reading -------------------------------------------------------------------------------

def _compose(text: str) -> yaml.Node:
    # A tab before a comment (`funding: 2\t# why`) is read by libyaml, as `dealbook check` reads it, and refused by
    # the pure-Python parser used here for its character positions: it is parsed as a space, in place.
    text = _TAB_BEFORE_COMMENT.sub(" ", text)
    if "*" in text or "&" in text:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise EditError("edit_aliases")
    return yaml.compose(text, Loader=_Loader)


def _walk(root: yaml.Node, path: list[Step]) -> tuple[yaml.Node | None, yaml.Node | None]:
    """(the node holding the last step, the node at `path`); the node is None when a key is missing."""
    parent: yaml.Node | None = None
    node: yaml.Node | None = root
    for step in path:
        parent = node
        if isinstance(step, str):
            if not isinstance(node, yaml.MappingNode):
                raise EditError("edit_expected_mapping", node)
            node = next((v for k, v in node.value if k.value == step), None)
        else:
            if not isinstance(node, yaml.SequenceNode):
                raise EditError("edit_expected_list", node)
            found = [item for item in node.value if isinstance(item, yaml.MappingNode)
                     and any(k.value == step.field and _normal(v.value) == _normal(step.value)
                             for k, v in item.value if isinstance(v, yaml.ScalarNode))]
            node = found[step.n] if step.n < len(found) else None
        if node is None:
            return parent, None
    return parent, node


def _normal(value: object) -> str:
    return " ".join(str(value).split())


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")


def _key_column(text: str, null: yaml.Node) -> int:
    """The column of the key whose (null) value `null` is: the first non-blank of its line."""
    line_start = text.rfind("\n", 0, null.start_mark.index) + 1
    line = text[line_start:null.start_mark.index]
    return len(line) - len(line.lstrip(" -"))


def _column(node: yaml.Node | None) -> int:
    """The column of the keys of a block mapping."""
    if isinstance(node, yaml.MappingNode) and node.value:
        return node.value[0][0].start_mark.column
    return 0


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _extent_end(text: str, node: yaml.Node) -> int:
    """Where a node's own text ends: not counting the blank lines and comments PyYAML's end mark runs over."""
    if isinstance(node, yaml.ScalarNode):
        start, end = node.start_mark.index, node.end_mark.index
        return start + len(text[start:end].rstrip()) if node.style in ("|", ">") else end
    if node.flow_style:
        return node.end_mark.index
    children = [child for pair in node.value for child in pair] if isinstance(node, yaml.MappingNode) else node.value
    return max((_extent_end(text, child) for child in children), default=node.start_mark.index)


def _line_end(text: str, index: int) -> int:
    """The start of the line after the one `index` is on (past a trailing comment)."""
    found = text.find("\n", index)
    return len(text) if found < 0 else found + 1


def _closing(text: str, node: yaml.Node, bracket: str) -> int:
    at = node.end_mark.index - 1
    if text[at] != bracket:
        raise EditError("edit_no_closing_bracket" if bracket == "]" else "edit_no_closing_brace", node)
    while text[at - 1] in " \t\r\n":
        at -= 1
    return at


# --- Writing -------------------------------------------------------------------------------

def _insert_lines(text: str, at: int, lines: list[str], nl: str) -> str:
    block = "".join(line + nl for line in lines)
    if at == len(text) and text and not text.endswith("\n"):
        block = nl + block
    return text[:at] + block + text[at:]


def _insert_entry(text: str, mapping: yaml.MappingNode, key: str, value: object) -> str:
    if mapping.flow_style:
        at = _closing(text, mapping, "}")
        sep = ", " if mapping.value else ""
        return text[:at] + sep + f"{key}: {_flow(value)}" + text[at:]
    col = _column(mapping)
    lines = _entry_lines(" " * col, key, value, col)
    if col == 0 and isinstance(value, dict | list) and "\n\n" in text.replace("\r\n", "\n"):
        lines.insert(0, "")  # a new top-level section, set off by a blank line like the others
    return _insert_lines(text, _line_end(text, _extent_end(text, mapping)), lines, _newline(text))


def _entry_lines(lead: str, key: str, value: object, col: int) -> list[str]:
    """`key: value` as block lines; `lead` is what goes before the key on the first line (indent, or `- `)."""
    if isinstance(value, dict):
        inner = col + INDENT
        lines = [f"{lead}{key}:"]
        for k, v in value.items():
            lines.extend(_entry_lines(" " * inner, k, v, inner))
        return lines
    if isinstance(value, list):
        inner = col + INDENT
        lines = [f"{lead}{key}:"]
        for item in value:
            for index, (k, v) in enumerate(item.items()):
                item_lead = " " * inner + "- " if index == 0 else " " * (inner + 2)
                lines.extend(_entry_lines(item_lead, k, v, inner + 2))
        return lines
    rendered = _scalar(value, style=None, flow=False, indent=col + INDENT)
    first, *rest = rendered.split("\n")
    return [f"{lead}{key}: {first}", *rest]


def _replace_null(text: str, null: yaml.Node, value: dict | list, col: int) -> str:
    """`key:` with nothing after it (or `~`) gets a nested block; `col` is the key's column."""
    at, end = null.start_mark.index, null.end_mark.index
    inner = col + INDENT
    lines: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            lines.extend(_entry_lines(" " * inner, k, v, inner))
    else:
        for item in value:
            for index, (k, v) in enumerate(item.items()):
                lines.extend(_entry_lines(" " * inner + "- " if index == 0 else " " * (inner + 2), k, v, inner + 2))
    nl = _newline(text)
    line_end = _line_end(text, end)
    head = text[:at].rstrip(" ")
    rest = text[end:line_end]  # a comment after the colon stays on its line
    block = "".join(line + nl for line in lines)
    if line_end == len(text) and not rest.endswith("\n"):
        rest += nl
    return head + rest + block + text[line_end:]


def _replace_scalar(text: str, mapping: yaml.MappingNode, old: yaml.ScalarNode, value: Scalar) -> str:
    start = old.start_mark.index
    if _is_null(old) and old.start_mark.index == old.end_mark.index:
        return text[:start] + " " + _scalar(value, None, bool(mapping.flow_style), _column(mapping) + INDENT) \
            + text[start:]
    end = _extent_end(text, old)
    indent = _column(mapping) + INDENT
    if old.style in ("|", ">"):
        content = re.match(r"[|>][-+0-9]*[^\n]*\n( *)", text[start:end + 1])
        indent = len(content[1]) if content and content[1] else indent
    rendered = _scalar(value, old.style, bool(mapping.flow_style), indent)
    return text[:start] + rendered.replace("\n", _newline(text)) + text[end:]


def _scalar(value: Scalar, style: str | None, flow: bool, indent: int) -> str:
    """A scalar in YAML, in the style it had where that style can hold the new value."""
    if isinstance(value, bool):  # a plan milestone's `done`
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    text = value
    multiline = "\n" in text
    if not flow and (style in ("|", ">") or multiline) and not text.startswith((" ", "\t")) \
            and "\t" not in text:
        header = "|-" if style != "|" else "|"
        return header + "\n" + "\n".join(" " * indent + line if line else "" for line in text.split("\n"))
    if style == "'" and not multiline:
        return "'" + text.replace("'", "''") + "'"
    if style != '"' and not multiline and _plain_ok(text, flow):
        return text
    return json.dumps(text, ensure_ascii=False)


def _plain_ok(text: str, flow: bool) -> bool:
    """Whether `text` reads back as the same text unquoted (not a number, date, boolean, comment…)."""
    if not text or text != text.strip() or any(c in text for c in "\t\"'\\"):
        return False
    if flow and any(c in text for c in ",[]{}"):
        return False
    try:
        loaded = yaml.safe_load(("{k: %s}" if flow else "k: %s") % text)
    except yaml.YAMLError:
        return False
    return loaded == {"k": text} and not text.startswith(("&", "*", "!", "%", "@", "`", "|", ">", "-", "?", "#"))


def _flow(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value, None, True, 0)  # type: ignore[arg-type]


def _remove_entry(text: str, mapping: yaml.MappingNode, entry: tuple[yaml.Node, yaml.Node]) -> str:
    key, value = entry
    index = next(i for i, (k, _) in enumerate(mapping.value) if k is key)
    if mapping.flow_style:
        if index > 0:  # from the end of the entry before: ", key: value"
            return text[:_extent_end(text, mapping.value[index - 1][1])] + text[_extent_end(text, value):]
        if len(mapping.value) > 1:  # the first of several: "key: value, "
            return text[:key.start_mark.index] + text[mapping.value[1][0].start_mark.index:]
        return text[:key.start_mark.index] + text[_extent_end(text, value):]
    line_start = text.rfind("\n", 0, key.start_mark.index) + 1
    end = _line_end(text, max(_extent_end(text, value), key.end_mark.index))
    if text[line_start:key.start_mark.index].strip():  # `- key: value`: the dash stays, the next key moves up
        if index + 1 >= len(mapping.value):
            raise EditError("edit_only_item_field", key)
        return text[:key.start_mark.index] + text[mapping.value[index + 1][0].start_mark.index:]
    if len(mapping.value) == 1:
        raise EditError("edit_only_field", key)
    return text[:line_start] + text[end:]
