"""What Excel needs of a workbook beyond well-formed XML: the OOXML schema, and Excel's own limits.

The schema check is `openxml-audit` (a Python port of the Open XML SDK's validator). It lives
in its own virtualenv (`.venv/tools`, made by `make test`), not in the one Dealbook runs in: it
needs lxml, which Dealbook itself does not.

Before its verdicts count it must pass a file known to be good (XlsxWriter output: XlsxWriter's
own tests compare its files with files Excel wrote) and fail a broken one; both are tests. Its
one class of false errors on openpyxl's files (font children "out of order": ECMA-376 allows any
order, the SDK expects Excel's) does not arise: Dealbook's workbooks are written by XlsxWriter.
The warning about inline strings (which the schema allows) met only the hand-written writer before it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

from conftest import ROOT, need

INLINE_STRING_WARNING = "inline-string cell"
_CELL_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
_R1C1 = re.compile(r"^[Rr](\d*)[Cc](\d*)$")
_NAME_OK = re.compile(r"^[A-Za-z_\\][A-Za-z0-9_.\\]*$")


def audit_tool() -> Path:
    """The openxml-audit command: $DEALBOOK_OPENXML_AUDIT, or the tools virtualenv beside the running one."""
    candidates = [os.environ.get("DEALBOOK_OPENXML_AUDIT", ""),
                  str(Path(sys.prefix) / "tools" / "bin" / "openxml-audit"),
                  str(ROOT / ".venv" / "tools" / "bin" / "openxml-audit")]
    found = next((Path(c) for c in candidates if c and Path(c).is_file()), None)
    need(found is not None, "openxml-audit (`make test` installs it into .venv/tools)")
    assert found is not None
    return found


def audit(folder: Path) -> dict[str, dict]:
    """openxml-audit's findings for every .xlsx in `folder`, by file name: {"errors": [...], "warnings": [...]}."""
    run = subprocess.run([str(audit_tool()), "-o", "json", "-m", "0", "-r", str(folder)],
                         capture_output=True, text=True, timeout=600)
    assert run.stdout.strip(), run.stderr
    out = {}
    for report in json.loads(run.stdout):
        findings = report.get("errors", [])
        out[Path(report["file"]).name] = {"errors": [f for f in findings if f.get("severity") != "warning"],
                                          "warnings": [f for f in findings if f.get("severity") == "warning"]}
    assert set(out) == {p.name for p in folder.glob("*.xlsx")}, out.keys()
    return out


def excel_limit_problems(path: Path) -> list[str]:
    """What Excel would delete or refuse although the schema allows it, one line each."""
    problems: list[str] = []
    with zipfile.ZipFile(path) as z:
        parts = {name: z.read(name).decode("utf-8") for name in z.namelist() if name.endswith(".xml")}
    sheets = re.findall(r'<sheet [^>]*name="([^"]*)"', parts["xl/workbook.xml"])
    for name, xml in parts.items():
        for formula in map(_unescape, re.findall(r"<formula1>([^<]*)</formula1>", xml)):
            if formula.startswith('"') and len(formula) - 2 > 255:
                problems.append(f"{name}: an inline dropdown list of {len(formula) - 2} characters")
        for ref in re.findall(r"<(?:c:)?f>([^<]*)</(?:c:)?f>", xml) + re.findall(r"<definedName [^>]*>([^<]*)<", xml):
            problems += [f"{name}: unquoted sheet name in {ref!r}" for sheet in sheets if _needs_quotes(sheet)
                         and re.search(rf"(?<!['\w]){re.escape(sheet)}!", _unescape(ref))]
    for defined in re.findall(r'<definedName name="([^"]*)"', parts["xl/workbook.xml"]):
        if defined.startswith("_xlnm."):
            continue
        cell = _CELL_REF.match(defined)
        looks_like_cell = cell is not None and _column_number(cell[1]) <= 16384 and int(cell[2]) <= 1048576
        if not _NAME_OK.match(defined) or looks_like_cell or _R1C1.match(defined) or defined.upper() in ("R", "C"):
            problems.append(f"defined name {defined!r} is not one Excel accepts")
    return problems


def _needs_quotes(sheet: str) -> bool:
    """Whether Excel reads a reference to this sheet only with its name quoted: a name with anything but letters,
    digits, "_" and "." (a space), one that starts with a digit or ".", or one that reads as a cell (A1, R1C1).
    Excel and XlsxWriter leave other names unquoted (Scorecard!$2:$2, 评估表!$2:$2)."""
    return bool(re.search(r"[^\w.]", sheet) or re.match(r"[\d.]", sheet) or _CELL_REF.match(sheet)
                or _R1C1.match(sheet))


def _unescape(text: str) -> str:
    return text.replace("&quot;", '"').replace("&apos;", "'").replace("&lt;", "<").replace("&gt;", ">") \
        .replace("&amp;", "&")


def _column_number(letters: str) -> int:
    number = 0
    for ch in letters.upper():
        number = number * 26 + ord(ch) - 64
    return number


# --- Printed: LibreOffice's PDF, read back with poppler ----------------------------------------------

_FOOTER = re.compile(r"^(.+?) ?— (\d+) / (\d+)$")  # the footer every printed sheet carries: "&A — &P / &N"
_WIDE = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"


@dataclass
class PrintedPage:
    """One page of a workbook printed to PDF: the sheet it belongs to (from its footer), its lines of text
    (whitespace normalised, see `normalised`), and the size in points of every text on it but the footer."""

    sheet: str
    lines: list[str]
    sizes: list[float]


def normalised(text: str) -> str:
    """Runs of whitespace as one space, and no space beside a CJK character (poppler may put one between any
    two CJK glyphs, or leave one out), so a cell's text compares equal to the same text taken off the page."""
    return re.sub(rf"\s*([{_WIDE}])\s*", r"\1", " ".join(text.split()))


def print_to_pdf(paths: list[Path], out: Path, profile: Path) -> dict[Path, Path]:
    """Each workbook printed to PDF by headless LibreOffice, as File > Export as PDF does: workbook → its PDF."""
    soffice = shutil.which("soffice")
    need(soffice is not None, "LibreOffice (soffice, Debian libreoffice-calc-nogui)")
    need(shutil.which("pdftotext") is not None and shutil.which("pdftohtml") is not None, "poppler-utils")
    assert soffice is not None
    out.mkdir(parents=True, exist_ok=True)
    run = subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--calc",
                          "--convert-to", "pdf", "--outdir", str(out), *map(str, paths)],
                         capture_output=True, text=True, timeout=900)
    done = {p: out / f"{p.stem}.pdf" for p in paths}
    missing = [str(p) for p in done.values() if not p.is_file()]
    assert run.returncode == 0 and not missing, f"soffice failed ({run.returncode}): {run.stderr}\n{missing}"
    return done


def printed_pages(pdf: Path) -> list[PrintedPage]:
    """The pages of a printed workbook, in order."""
    layout = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, timeout=120,
                            check=True).stdout
    # pdftohtml gives each text's size as drawn (the font size times the page's scale: no font metrics), in
    # whole units of its zoom, 1.5 by default: read to two thirds of a point.
    xml = subprocess.run(["pdftohtml", "-xml", "-i", "-zoom", "1.5", "-stdout", str(pdf)], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    root = ET.fromstring(xml)
    fonts: dict[str, float] = {}
    pages = []
    for text, page in zip(layout.split("\f"), root.iter("page"), strict=False):
        lines = [normalised(line) for line in text.splitlines() if line.strip()]
        footers = [m for m in map(_FOOTER.match, lines) if m]
        assert footers, f"{pdf.name}: page {page.get('number')} has no footer: {lines[-3:]}"
        sizes = []
        for element in page:
            if element.tag == "fontspec":
                fonts[element.get("id", "")] = float(element.get("size", "0")) / 1.5
            elif element.tag == "text" and not _FOOTER.match(normalised("".join(element.itertext()))):
                if "".join(element.itertext()).strip():
                    sizes.append(fonts[element.get("font", "")])
        pages.append(PrintedPage(footers[-1][1], lines, sizes))
    assert len(pages) == int(footers[-1][3]), f"{pdf.name}: {len(pages)} pages, the footer says {footers[-1][3]}"
    return pages
