"""Texts written over several YAML lines, joined the way Chinese and Japanese readers expect.

YAML folds a line break inside a plain, quoted or `>` text into a space, and Markdown shows a
line break inside a paragraph as a space. Between two CJK characters that space is a stray gap
("无法满足 电子病历"): CJK text has no spaces between words. The rule CommonMark renderers for
CJK use (markdown-it's cjk-breaks) is applied once, when a deal is read, so pages, workbooks
and `/deals.json` all get the same text: a line break between two wide characters that are not
Hangul (Korean puts spaces between words) joins the lines with nothing.
"""

from __future__ import annotations

import re
import unicodedata

import yaml

_HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff]")
# YAML's line breaks (str.splitlines would also split at \v, \f and others that YAML keeps).
_YAML_LINES = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_HEADING = re.compile(r" {0,3}#{1,6}(\s|$)")
_FENCE = re.compile(r" {0,3}(```|~~~)")


def is_cjk(char: str) -> bool:
    """A wide (East Asian Wide or Fullwidth) character that is not Hangul: Han, kana, CJK punctuation."""
    return unicodedata.east_asian_width(char) in "WF" and not _HANGUL.match(char)


def _joins(left: str, right: str) -> bool:
    return bool(left) and bool(right) and is_cjk(left[-1]) and is_cjk(right[0])


def join_soft_breaks(markdown: str) -> str:
    """Markdown with its soft line breaks between two CJK characters removed.

    Only a plain soft break is joined: not a hard break (two trailing spaces or a backslash:
    the line then does not end in a CJK character), not after a `#` heading (which ends at its
    line), not inside fenced or indented code.
    """
    if "\n" not in markdown:
        return markdown
    lines = markdown.split("\n")
    out = [lines[0]]
    fenced = bool(_FENCE.match(lines[0]))
    for line in lines[1:]:
        previous = out[-1]
        if _FENCE.match(line):
            fenced = not fenced
        elif (not fenced and _joins(previous, line.lstrip(" ")) and not _HEADING.match(previous)
              and not previous.startswith("    ") and not line.startswith("    ")):
            out[-1] = previous + line.lstrip(" ")
            continue
        out.append(line)
    return "\n".join(out)


def join_folded_lines(root: yaml.Node, source: str) -> None:
    """In every text of the node tree that YAML folded from several lines, drop the space a line
    break became between two CJK characters. Changes the nodes in place; `source` is the YAML text.

    The folds are found from the source: each source line's text is located in the value, in
    order, and a single space between the end of one line's text and the start of the next is
    the fold. A text whose lines cannot be found as they are (escapes in a quoted text) is left
    as YAML read it.
    """
    if source.isascii():  # no wide character anywhere: no fold can be between two
        return
    lines: list[str] | None = None
    todo = [root]
    seen: set[int] = set()
    # Every node of every deal passes here: the common case (a one-line scalar) is tested first.
    scalar, mapping, sequence = yaml.ScalarNode, yaml.MappingNode, yaml.SequenceNode
    pop, extend, add = todo.pop, todo.extend, seen.add
    while todo:
        node = pop()
        key = id(node)
        if key in seen:  # aliases share nodes
            continue
        add(key)
        if node.__class__ is scalar or isinstance(node, scalar):
            if " " in node.value and node.style != "|" and node.start_mark.line != node.end_mark.line:
                if lines is None:
                    lines = _YAML_LINES.split(source)
                node.value = _unfold(node, lines)
        elif isinstance(node, mapping):
            for pair in node.value:
                extend(pair)
        elif isinstance(node, sequence):
            extend(node.value)


def _unfold(node: yaml.ScalarNode, lines: list[str]) -> str:
    start, end, value = node.start_mark, node.end_mark, node.value
    if node.style == ">":
        texts = lines[start.line + 1:end.line + 1]  # the line with '>' holds only the header
        if end.column == 0 and len(texts) > 0:
            texts = texts[:-1]  # a block ends at the start of the line after it
    else:
        quote = 1 if node.style in ("'", '"') else 0
        texts = lines[start.line:end.line + 1]
        texts[-1] = texts[-1][:max(0, end.column - quote)]
        texts[0] = texts[0][start.column + quote:]
    parts = [t.strip(" \t") for t in texts if t.strip(" \t")]
    cuts: list[int] = []
    at, previous_end = 0, -1
    for part in parts:
        found = value.find(part, at)
        if found < 0:
            return value
        if (previous_end > 0 and found == previous_end + 1 and value[previous_end] == " "
                and _joins(value[previous_end - 1], value[found])):
            cuts.append(previous_end)
        at = previous_end = found + len(part)
    for cut in reversed(cuts):
        value = value[:cut] + value[cut + 1:]
    return value
