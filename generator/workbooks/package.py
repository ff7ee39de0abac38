"""The parts of a written .xlsx that openpyxl cannot get right, patched in the zip.

- Formula results. openpyxl writes `<f>` with an empty `<v/>`: a viewer that does not
  calculate (a mail or phone preview, a web viewer) shows such cells empty or as 0. Every
  formula cell is given its result here (the `<v>` beside the `<f>`, as Excel itself
  writes it), from the same Python computation the site uses; the calculation chain still
  runs on open (`fullCalcOnLoad`), so Excel and LibreOffice recompute what a rep changes.
- Font children in Excel's order. The schema (ECMA-376 `CT_Font`) accepts them in any order,
  but Excel writes, and the Open XML SDK's validator expects, one sequence; openpyxl writes
  another. Writing Excel's order costs nothing and keeps the validator's verdict meaningful.

The patches are regular-expression edits of openpyxl's own output, so the bytes stay
reproducible; each one checks that it found what it expected and raises otherwise (a bug
in Dealbook, caught by the tests, never a rep's problem).
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

# CT_Font's children in the order Excel writes them (the Open XML SDK's sequence).
FONT_ORDER = ("b", "i", "strike", "condense", "extend", "outline", "shadow", "u", "vertAlign", "sz", "color",
              "name", "family", "charset", "scheme")
_FONT = re.compile(rb"<font>(.*?)</font>", re.S)
_EMPTY_ELEMENT = re.compile(rb"<(\w+)\b[^>]*/>")
# A formula cell as openpyxl writes it (ElementTree: `<v />`, lxml: `<v></v>` or `<v/>`).
_FORMULA_CELL = re.compile(rb'<c r="([A-Z]+[0-9]+)"([^>]*)><f>([^<]*)</f>(?:<v ?/>|<v></v>)</c>')

CachedValue = str | int | float | bool


def cached_value_xml(value: CachedValue) -> tuple[bytes, bytes]:
    """The `t` attribute (or nothing, for a number) and the `<v>` text of a formula's result."""
    if isinstance(value, bool):
        return b' t="b"', b"1" if value else b"0"
    if isinstance(value, int | float):
        return b"", repr(float(value) if isinstance(value, float) else int(value)).encode()
    return b' t="str"', escape(value).encode()


def add_cached_values(xml: bytes, values: dict[str, CachedValue], part: str) -> bytes:
    """Give every formula cell of one worksheet part its result; each must have one, and no other cell."""
    seen: set[str] = set()

    def patch(match: re.Match[bytes]) -> bytes:
        ref = match[1].decode()
        if ref not in values:
            raise ValueError(f"{part}: formula cell {ref} has no computed value")
        seen.add(ref)
        kind, text = cached_value_xml(values[ref])
        return b'<c r="%s"%s%s><f>%s</f><v>%s</v></c>' % (match[1], match[2], kind, match[3], text)

    out = _FORMULA_CELL.sub(patch, xml)
    if seen != set(values):
        raise ValueError(f"{part}: computed values for cells that hold no formula: {sorted(set(values) - seen)}")
    return out


def order_font_children(xml: bytes) -> bytes:
    """styles.xml with every font's child elements in Excel's order (all of them are empty elements)."""

    def reorder(match: re.Match[bytes]) -> bytes:
        children = [(m[1].decode(), m[0]) for m in _EMPTY_ELEMENT.finditer(match[1])]
        if b"".join(c for _, c in children) != match[1]:
            raise ValueError("styles.xml: a font holds something other than empty elements")
        children.sort(key=lambda c: FONT_ORDER.index(c[0]))
        return b"<font>" + b"".join(c for _, c in children) + b"</font>"

    return _FONT.sub(reorder, xml)
