"""`dealbook import` of hostile and damaged workbooks: one line and exit 1 (nothing written), or the change applied
and every cell it does not take named; never a traceback, never a silently deleted field, each run bounded in
time and memory (measured on the command's own process)."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from conftest import AS_OF_EPOCH, Project
from test_workbook_import import DEAL, DEAL_ID, edit, score_row, workbook

from generator.workbooks import reader

SECONDS = 5.0
MEMORY_MB = 300


class Run:
    def __init__(self, code: int, stdout: str, stderr: str, seconds: float, memory_mb: float):
        self.returncode, self.stdout, self.stderr, self.seconds, self.memory_mb = code, stdout, stderr, seconds, memory_mb

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


# The command's own peak memory: VmHWM of its process, read as it exits. (ru_maxrss would not do: a child forked
# from a test process that has built a large workbook starts with that process's pages, and keeps the peak
# across exec.)
MEASURED = ("import atexit, os, sys\n"
            "def peak():\n"
            "    with open('/proc/self/status') as status:\n"
            "        line = next(line for line in status if line.startswith('VmHWM:'))\n"
            "    with open(os.environ['DEALBOOK_TEST_PEAK'], 'w') as out:\n"
            "        out.write(line.split()[1])\n"
            "atexit.register(peak)\n"
            "if sys.argv[1] == '-c':\n"
            "    exec(sys.argv[2])\n"
            "else:\n"
            "    from generator.cli import main\n"
            "    main(sys.argv[1:], prog_name='dealbook')\n")


def measured(cwd: Path, *args: str) -> Run:
    """`dealbook ARGS` (or `-c CODE`) in its own process: exit code, output, CPU seconds and peak memory.

    Time is the process's CPU time (user + system, from wait4: not inherited across fork), so a machine busy
    with other work does not make a bounded import look slow; the wall time only guards against a hang.
    """
    peak = cwd / ".import-peak"
    env = {**os.environ, "SOURCE_DATE_EPOCH": AS_OF_EPOCH, "DEALBOOK_TEST_PEAK": str(peak)}
    out, err = cwd / ".import-stdout", cwd / ".import-stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen([sys.executable, "-c", MEASURED, *args], cwd=cwd, env=env, stdout=stdout,
                                   stderr=stderr)
        start = time.monotonic()
        while (waited := os.wait4(process.pid, os.WNOHANG))[0] == 0:
            if time.monotonic() - start > 120:
                process.kill()
            time.sleep(0.02)
        process.returncode = os.waitstatus_to_exitcode(waited[1])  # reaped here; Popen must not wait again
    usage = waited[2]
    texts = out.read_text(encoding="utf-8"), err.read_text(encoding="utf-8")
    memory_mb = int(peak.read_text()) / 1024 if peak.exists() else float("inf")  # VmHWM is in kB
    for path in (out, err, peak):
        path.unlink(missing_ok=True)
    return Run(process.returncode, *texts, usage.ru_utime + usage.ru_stime, memory_mb)


def run_import(cwd: Path, *args: str) -> Run:
    return measured(cwd, "import", *args)


def refused(project: Project, deal: Path, path: Path, expected: str | re.Pattern) -> Run:
    """Import of `path` ends with one line (matching `expected`) and "nothing was written"; the deal is untouched."""
    result = run_import(project.root, str(path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr == "", result.stderr
    assert len(result.lines) == 2 and result.lines[1] == "nothing was written", result.stdout
    if isinstance(expected, str):
        assert result.lines[0] == expected
    else:
        assert expected.fullmatch(result.lines[0]), result.lines[0]
    assert deal.read_bytes() == DEAL.encode("utf-8")
    bounded(result)
    return result


def bounded(result: Run) -> None:
    print(f"measured: {result.seconds:.2f} s of CPU, {result.memory_mb:.0f} MB: {result.lines[:1]}")
    assert "Traceback" not in result.stdout + result.stderr
    assert result.seconds < SECONDS, f"{result.seconds:.1f} s"
    assert result.memory_mb < MEMORY_MB, f"{result.memory_mb:.0f} MB"


@pytest.fixture
def deal(project: Project) -> Path:
    path = project.deals / f"{DEAL_ID}.yml"
    path.write_text(DEAL, encoding="utf-8")
    return path


@pytest.fixture
def made(project: Project, deal: Path) -> Path:
    """The deal's workbook as the site publishes it."""
    return workbook(project, DEAL_ID, "hz-metro.xlsx")


# --- Building damaged packages ------------------------------------------------------------------

def parts_of(path: Path) -> dict[str, bytes]:
    """The workbook's parts, each text written into its cell (an inline string) instead of XlsxWriter's table of
    shared strings, so that a test finds and changes a cell's text in its sheet's XML."""
    with zipfile.ZipFile(path) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    table = parts.pop("xl/sharedStrings.xml", None)
    if table is not None:
        strings = re.findall(rb"<si>(.*?)</si>", table, re.S)
        for name in [n for n in parts if n.startswith("xl/worksheets/sheet")]:
            parts[name] = re.sub(rb'(<c r="[A-Z]+\d+"(?: s="\d+")?) t="s"><v>(\d+)</v></c>',
                                 lambda m: m[1] + b' t="inlineStr"><is>' + strings[int(m[2])] + b"</is></c>",
                                 parts[name])
        rels, types = "xl/_rels/workbook.xml.rels", "[Content_Types].xml"
        parts[rels] = re.sub(rb'<Relationship [^>]*Target="sharedStrings.xml"/>', b"", parts[rels])
        parts[types] = re.sub(rb'<Override PartName="/xl/sharedStrings.xml"[^>]*/>', b"", parts[types])
    return parts


def write_parts(path: Path, parts: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


def sheet_part(parts: dict[str, bytes], marker: bytes) -> str:
    """The worksheet part whose XML holds `marker`."""
    return next(n for n, d in parts.items() if n.startswith("xl/worksheets/sheet") and marker in d)


def scorecard_part(parts: dict[str, bytes]) -> str:
    return sheet_part(parts, b"SUMPRODUCT")


def meta_part(parts: dict[str, bytes]) -> str:
    return sheet_part(parts, b"dealbook-workbook")


def replace_cell(xml: bytes, ref: str, cell: str) -> bytes:
    """The sheet XML with cell `ref` replaced by `cell` (XML text)."""
    pattern = re.compile(rb'<c r="' + ref.encode() + rb'"(?:[^>]*/>|[^>]*>.*?</c>)', re.S)
    assert pattern.search(xml), ref
    return pattern.sub(cell.encode().replace(b"\\", b"\\\\"), xml, count=1)


def damaged(made: Path, change: Callable[[dict[str, bytes]], None], name: str = "hz-metro.xlsx") -> Path:
    parts = parts_of(made)
    change(parts)
    return write_parts(_out(made, name), parts)


def _out(made: Path, name: str) -> Path:
    folder = made.parent.parent / "damaged"
    folder.mkdir(exist_ok=True)
    return folder / name


# --- Item 3: what import does with every cell ---------------------------------------------------

def test_changed_facts_that_are_not_imported_are_named_and_the_imported_change_applied(
        project: Project, deal: Path, made: Path) -> None:
    def change(wb: openpyxl.Workbook, cells: Callable) -> None:
        cells("Stage")[0].value = 5
        cells("Amount")[0].value = 1_500_000
        cells("ExpectedClose")[0].value = "2027-06-30"
        stages = cells("StageNames")
        stages[3].parent.cell(stages[3].row, 7).value = "Proposal accepted"  # stage 4's evidence
        cells("FactorScores")[1].value = 4  # funding: imported

    path = edit(made, change)
    result = run_import(project.root, str(path))
    assert result.returncode == 0, result.stdout
    bounded(result)
    stage_row = 3 + 3
    named = [line for line in result.lines if "is not imported" in line]
    assert named == [
        "hz-metro.xlsx: Summary!B8: 'Stage' is not imported; change it in deals/hz-metro.yml",
        "hz-metro.xlsx: Summary!B10: 'Amount' is not imported; change it in deals/hz-metro.yml",
        "hz-metro.xlsx: Summary!B12: 'Expected close' is not imported; change it in deals/hz-metro.yml",
        f"hz-metro.xlsx: Stages!G{stage_row}: 'Evidence' of 'Evaluation' is not imported; "
        "change it in deals/hz-metro.yml",
    ] or all(re.fullmatch(r"hz-metro\.xlsx: (Summary|Stages)!\w+: .* is not imported; change it in "
                          r"deals/hz-metro\.yml", line) for line in named), result.stdout
    assert {line.split(": ")[1] for line in named} == {"Summary!B8", "Summary!B10", "Summary!B12",
                                                       f"Stages!G{stage_row}"}, result.stdout
    assert deal.read_text(encoding="utf-8") == DEAL.replace("  funding: 2 ", "  funding: 4 ")
    assert result.lines[-1] == "wrote deals/hz-metro.yml"


def test_an_unchanged_workbook_names_nothing(project: Project, deal: Path, made: Path) -> None:
    result = run_import(project.root, str(edit(made, lambda wb, cells: None)))  # saved by openpyxl, unchanged
    assert (result.returncode, result.stdout) == (0, "hz-metro.xlsx: nothing to import\n")


@pytest.mark.parametrize("sheet", ["score", "note"])
def test_a_formula_without_a_stored_result_in_an_input_cell_is_refused_at_its_cell(
        project: Project, deal: Path, made: Path, sheet: str) -> None:
    def change(parts: dict[str, bytes]) -> None:
        if sheet == "score":
            name, ref = scorecard_part(parts), f"E{score_row(project, 'funding')}"
        else:
            name, ref = sheet_part(parts, b"Wants references."), "G3"
        parts[name] = replace_cell(parts[name], ref, f'<c r="{ref}"><f>1+1</f></c>')

    sheet_name, ref = ("Scorecard", f"E{score_row(project, 'funding')}") if sheet == "score" else ("Stakeholders",
                                                                                                  "G3")
    refused(project, deal, damaged(made, change),
            f"hz-metro.xlsx: {sheet_name}!{ref}: a formula without a stored result; type the value itself "
            "(a formula's result is read only when the spreadsheet saved it)")


def test_a_formula_with_its_stored_result_is_read_as_that_result(project: Project, deal: Path, made: Path) -> None:
    ref = f"E{score_row(project, 'funding')}"

    def change(parts: dict[str, bytes]) -> None:
        name = scorecard_part(parts)
        parts[name] = replace_cell(parts[name], ref, f'<c r="{ref}"><f>2+2</f><v>4</v></c>')

    result = run_import(project.root, str(damaged(made, change)))
    assert result.returncode == 0, result.stdout
    assert deal.read_text(encoding="utf-8") == DEAL.replace("  funding: 2 ", "  funding: 4 ")


def _with_deal_id(made: Path, deal_id: str, name: str) -> Path:
    def change(parts: dict[str, bytes]) -> None:
        part = meta_part(parts)
        text = parts[part].decode()
        text = text.replace(f"<t>{DEAL_ID}</t>", "<t>" + deal_id.replace("\n", "&#10;") + "</t>", 1)
        parts[part] = text.encode()
    return damaged(made, change, name)


def test_two_workbooks_of_one_deal_are_merged_in_order(project: Project, deal: Path, made: Path) -> None:
    first = edit(made, lambda wb, cells: setattr(cells("FactorScores")[1], "value", 4), made.parent / "one.xlsx")
    second = edit(made, lambda wb, cells: setattr(cells("FactorScores")[2], "value", 5), made.parent / "two.xlsx")
    result = run_import(project.root, str(first), str(second))
    assert result.returncode == 0, result.stdout
    assert result.stdout.count("--- a/deals/hz-metro.yml") == 1 and result.lines[-1] == "wrote deals/hz-metro.yml"
    assert deal.read_text(encoding="utf-8") == DEAL.replace("  funding: 2 ", "  funding: 4 ") \
        .replace("  technical_fit: 3\n", "  technical_fit: 5\n")


def test_a_deal_id_that_climbs_out_of_deals_is_refused(project: Project, deal: Path, made: Path) -> None:
    first = edit(made, lambda wb, cells: setattr(cells("FactorScores")[1], "value", 4), made.parent / "one.xlsx")
    second = _with_deal_id(edit(made, lambda wb, cells: setattr(cells("FactorScores")[2], "value", 5),
                                made.parent / "two.xlsx"), f"../deals/{DEAL_ID}", "two.xlsx")
    result = run_import(project.root, str(first), str(second))
    assert result.returncode == 1, result.stdout
    assert result.lines[-2:] == ["two.xlsx: its Dealbook data sheet names the deal '../deals/hz-metro', which is "
                                 "not a deal id (a-z, 0-9 and '-')", "nothing was written"]
    assert deal.read_bytes() == DEAL.encode()


def test_a_deal_id_with_a_line_break_cannot_forge_a_line(project: Project, deal: Path, made: Path) -> None:
    path = _with_deal_id(made, f"{DEAL_ID}\nwrote deals/y.yml", "hz-metro.xlsx")
    result = refused(project, deal, path, "hz-metro.xlsx: its Dealbook data sheet names the deal "
                                          "'hz-metro\\nwrote deals/y.yml', which is not a deal id (a-z, 0-9 and '-')")
    assert not any(line.startswith("wrote") for line in result.lines)


def test_a_kill_during_the_rename_leaves_no_stray_file_in_deals(project: Project, deal: Path, made: Path) -> None:
    path = edit(made, lambda wb, cells: setattr(cells("FactorScores")[1], "value", 4))
    # The importer's final rename, replaced by a kill -9 of the process at that very moment.
    script = ("import os, signal, sys\n"
              "from generator.workbooks import importer\n"
              "importer.os.replace = lambda a, b: os.kill(os.getpid(), signal.SIGKILL)\n"
              "from generator.cli import main\n"
              "main(['import', sys.argv[1]])\n")
    env = {**os.environ, "SOURCE_DATE_EPOCH": AS_OF_EPOCH}
    result = subprocess.run([sys.executable, "-c", script, str(path)], cwd=project.root, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == -signal.SIGKILL, result.stdout + result.stderr
    assert sorted(p.name for p in project.deals.iterdir() if p.name.startswith(".")) == []
    assert deal.read_bytes() == DEAL.encode()
    leftovers = list((project.root / ".cache" / "import").iterdir())
    assert [p.name.startswith(f".{DEAL_ID}.yml.") for p in leftovers] == [True]  # outside deals/, git-ignored


# --- Item 4: bounded, one line each -------------------------------------------------------------

def test_a_cell_at_the_last_row_is_refused_quickly(project: Project, deal: Path, made: Path) -> None:
    def change(parts: dict[str, bytes]) -> None:
        name = sheet_part(parts, b"Wants references.")
        parts[name] = parts[name].replace(b"</sheetData>", b'<row r="1048576"><c r="A1048576" t="inlineStr">'
                                                           b"<is><t>x</t></is></c></row></sheetData>")

    refused(project, deal, damaged(made, change),
            "hz-metro.xlsx: Stakeholders: row 1,048,576: beyond the 10,000 rows import reads "
            "(a Dealbook workbook has a few hundred)")


def test_a_used_range_of_the_whole_sheet_is_refused(project: Project, deal: Path, made: Path) -> None:
    def change(parts: dict[str, bytes]) -> None:
        name = sheet_part(parts, b"Wants references.")
        parts[name] = re.sub(rb"<dimension ref=\"[^\"]*\"/>|(?=<sheetViews)", b'<dimension ref="A1:XFD1048576"/>',
                             parts[name], count=1)

    refused(project, deal, damaged(made, change), re.compile(
        r"hz-metro\.xlsx: Stakeholders: its used range 'A1:XFD1048576' is larger than import reads .*"))


def test_a_name_over_the_whole_sheet_is_refused(project: Project, deal: Path, made: Path) -> None:
    def change(wb: openpyxl.Workbook, cells: Callable) -> None:
        wb.defined_names["StakeholderRows"].attr_text = "'Stakeholders'!$A$1:$XFD$1048576"

    refused(project, deal, edit(made, change), re.compile(
        r"hz-metro\.xlsx: the name StakeholderRows points to ''Stakeholders'!\$A\$1:\$XFD\$1048576', more than "
        r"import reads \(at most 10,000 rows, 256 columns and 20,000 cells\)"))


def test_a_megabyte_of_compressed_whitespace_is_refused_from_the_zip_directory(
        project: Project, deal: Path, made: Path) -> None:
    parts = parts_of(made)
    name = sheet_part(parts, b"Wants references.")
    path = _out(made, "hz-metro.xlsx")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for part, data in parts.items():
            if part != name:
                zf.writestr(part, data)
        with zf.open(name, "w", force_zip64=True) as out:
            head, tail = data_split(parts[name])
            out.write(head)
            block = b" " * 2**20
            for _ in range(1024):  # 1 GiB of whitespace between two elements: about 1 MiB compressed
                out.write(block)
            out.write(tail)
    assert path.stat().st_size < 3 * 2**20
    refused(project, deal, path, re.compile(r"hz-metro\.xlsx: xl/worksheets/sheet\d+\.xml: 1,07\d,\d{3},\d{3} "
                                            r"bytes uncompressed, more than the 20 MiB a part may have"))


def data_split(xml: bytes) -> tuple[bytes, bytes]:
    at = xml.index(b"<sheetData>") + len(b"<sheetData>")
    return xml[:at], xml[at:]


def test_a_part_larger_than_its_directory_says_is_refused_while_inflating(
        project: Project, deal: Path, made: Path) -> None:
    parts = parts_of(made)
    name = sheet_part(parts, b"Wants references.")
    head, tail = data_split(parts[name])
    parts[name] = head + b" " * (64 * 2**20) + tail
    path = write_parts(_out(made, "hz-metro.xlsx"), parts)
    # The directory (and the local header) now claim 1,000 bytes: the reader stops there and the CRC fails.
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    real = (64 * 2**20 + len(head) + len(tail)).to_bytes(4, "little")
    count = data.count(real)
    assert count == 2
    data[:] = data.replace(real, (1000).to_bytes(4, "little"))
    path.write_bytes(bytes(data))
    assert info.file_size > 1000
    refused(project, deal, path, re.compile(rf"hz-metro\.xlsx: {re.escape(name)}: cannot be read \(BadZipFile: "
                                            r"Bad CRC-32 for file .*\)"))


def with_shared_string(made: Path, text: bytes) -> dict[str, bytes]:
    """The workbook's parts with a shared-strings table of one string, which the first score cell uses."""
    parts = parts_of(made)
    parts["xl/sharedStrings.xml"] = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                                     b'count="1" uniqueCount="1"><si><t>' + text + b"</t></si></sst>")
    rels = "xl/_rels/workbook.xml.rels"
    parts[rels] = parts[rels].replace(b"</Relationships>", (
        b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'sharedStrings" Target="sharedStrings.xml"/></Relationships>'))
    name = scorecard_part(parts)
    parts[name] = replace_cell(parts[name], "E3", '<c r="E3" t="s"><v>0</v></c>')
    return parts


def test_a_huge_shared_string_is_refused_before_it_is_parsed(project: Project, deal: Path, made: Path) -> None:
    parts = with_shared_string(made, b"x" * (200 * 10**6))
    path = write_parts(_out(made, "hz-metro.xlsx"), parts)
    assert path.stat().st_size < 400 * 2**10
    refused(project, deal, path, "hz-metro.xlsx: xl/sharedStrings.xml: "
            f"{len(parts['xl/sharedStrings.xml']):,} bytes uncompressed, more than the 20 MiB a part may have")


def test_a_string_longer_than_a_cell_holds_is_refused(project: Project, deal: Path, made: Path) -> None:
    parts = with_shared_string(made, b"x" * (10 * 10**6))
    refused(project, deal, write_parts(_out(made, "hz-metro.xlsx"), parts), re.compile(
        r"hz-metro\.xlsx: xl/sharedStrings\.xml: string 0 has 10,000,000 characters, more than the 32,767 a "
        r"cell may hold"))


XML_ATTACKS = {
    "malformed": (b"<c r=\"A1\"><v>1</c>", r"not well-formed XML \(mismatched tag: line \d+, column \d+\)"),
    "undefined entity": (b"<c r=\"A1\" t=\"inlineStr\"><is><t>&undefined;</t></is></c>",
                         r"not well-formed XML \(undefined entity: line \d+, column \d+\)"),
}


@pytest.mark.parametrize("case", ["malformed", "undefined entity", "billion laughs", "external entity"])
def test_hostile_xml_is_one_line(project: Project, deal: Path, made: Path, case: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-CONTENT", encoding="utf-8")
    parts = parts_of(made)
    name = sheet_part(parts, b"Wants references.")
    xml = parts[name]
    if case in XML_ATTACKS:
        snippet, message = XML_ATTACKS[case]
        head, tail = data_split(xml)
        parts[name] = head + b"<row r=\"1\">" + snippet + b"</row>" + tail
        expected = re.compile(rf"hz-metro\.xlsx: {re.escape(name)}: {message}")
    else:
        if case == "billion laughs":
            dtd = ('<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
                   + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
                   + "]>")
            use = "&j;"
        else:
            dtd = f'<!DOCTYPE worksheet [<!ENTITY x SYSTEM "file://{secret}">]>'
            use = "&x;"
        body = xml.decode()
        body = body.replace("<worksheet", dtd + "<worksheet", 1).replace("Wants references.", use, 1)
        parts[name] = body.encode()
        expected = re.compile(rf"hz-metro\.xlsx: {re.escape(name)}: the XML declares a DTD or entities, which a "
                              r"workbook never needs \(DTDForbidden\)")
    result = refused(project, deal, write_parts(_out(made, "hz-metro.xlsx"), parts), expected)
    assert "SECRET" not in result.stdout


@pytest.mark.parametrize(("cell", "message"), [
    ('<c r="{ref}"><v>{digits}</v></c>', "'{short}…' is not a number a spreadsheet stores"),
    ('<c r="{ref}" t="inlineStr"><is><t>{digits}</t></is></c>', "score '{short}…' is not a number from 1 to 5"),
    ('<c r="{ref}"><v>abc</v></c>', "'abc' is not a number a spreadsheet stores"),
    ('<c r="{ref}"><v>1e999</v></c>', "'1e999' is not a finite number"),
    ('<c r="{ref}" t="b"><v>2</v></c>', "'2' is not a true/false value"),
    ('<c r="{ref}" t="d"><v>yesterday</v></c>', "'yesterday' is not a date"),
    ('<c r="{ref}" t="s"><v>99999</v></c>', "refers to shared string '99999', which the workbook does not have"),
    ('<c r="{ref}" t="x"><v>1</v></c>', "unknown cell type 'x'"),
    ('<c r="{ref}" t="e"><v>#N/A</v></c>', "holds the error '#N/A'; type a value instead"),
])
def test_an_unreadable_value_names_its_cell(project: Project, deal: Path, made: Path, cell: str,
                                            message: str) -> None:
    ref = f"E{score_row(project, 'funding')}"
    digits = "9" * 5000

    def change(parts: dict[str, bytes]) -> None:
        name = scorecard_part(parts)
        parts[name] = replace_cell(parts[name], ref, cell.format(ref=ref, digits=digits))

    refused(project, deal, damaged(made, change),
            f"hz-metro.xlsx: Scorecard!{ref}: " + message.format(short="9" * 60))


def test_a_bad_cell_reference_is_one_line(project: Project, deal: Path, made: Path) -> None:
    def change(parts: dict[str, bytes]) -> None:
        name = scorecard_part(parts)
        ref = f"E{score_row(project, 'funding')}"
        parts[name] = replace_cell(parts[name], ref, '<c r="E0"><v>1</v></c>')

    refused(project, deal, damaged(made, change), "hz-metro.xlsx: Scorecard: 'E0' is not a cell reference")


def test_deeply_nested_base_values_are_one_line(project: Project, deal: Path, made: Path) -> None:
    def change(parts: dict[str, bytes]) -> None:
        name = meta_part(parts)
        xml = parts[name].decode()
        cells = "".join(f'<c r="{col}6" t="inlineStr"><is><t>{"[" * 8000}</t></is></c>'
                        for col in "BCDEFGHIJKLMN")
        xml = re.sub(r'<row r="6"[^>]*>.*?</row>', f'<row r="6"><c r="A6" t="inlineStr"><is><t>base</t></is></c>'
                                                   f"{cells}</row>", xml, count=1, flags=re.S)
        parts[name] = xml.encode()

    refused(project, deal, damaged(made, change), "hz-metro.xlsx: not a Dealbook deal workbook or scorecard: its "
            "Dealbook data sheet was changed (the base values cannot be read)")


@pytest.mark.parametrize("case", ["encrypted flag", "bad CRC", "not a zip"])
def test_a_damaged_zip_is_one_line(project: Project, deal: Path, made: Path, case: str) -> None:
    path = _out(made, "hz-metro.xlsx")
    data = bytearray(made.read_bytes())
    if case == "encrypted flag":
        for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            at = data.find(signature)
            while at >= 0:
                data[at + offset] |= 0x1
                at = data.find(signature, at + 4)
        expected = re.compile(r"hz-metro\.xlsx: .*: the part is encrypted \(save the workbook without a password\)")
    elif case == "bad CRC":
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
            info = zf.getinfo(scorecard_part(parts_of(made)))
        crc = info.CRC.to_bytes(4, "little")
        data[:] = data.replace(crc, (info.CRC ^ 0xFFFF).to_bytes(4, "little"))
        expected = re.compile(r"hz-metro\.xlsx: xl/worksheets/sheet2\.xml: cannot be read \(BadZipFile: Bad CRC-32 "
                              r"for file .*\)")
    else:
        data[:] = zlib.compress(bytes(data))
        expected = "hz-metro.xlsx: cannot be read as an .xlsx workbook (it is not a zip file)"
    path.write_bytes(bytes(data))
    refused(project, deal, path, expected)


def test_a_file_too_large_is_refused_before_it_is_opened(project: Project, deal: Path, made: Path) -> None:
    path = _out(made, "hz-metro.xlsx")
    path.write_bytes(made.read_bytes() + os.urandom(reader.MAX_FILE_BYTES))
    refused(project, deal, path, f"hz-metro.xlsx: the file has {path.stat().st_size:,} bytes, more than the "
            "10 MiB import reads (a Dealbook workbook has under 1 MB)")


@pytest.mark.parametrize("case", ["tab before a comment", "CR line endings"])
def test_deal_files_that_pass_check_can_be_imported_into(
        project: Project, deal: Path, made: Path, case: str) -> None:
    text = DEAL.replace("  funding: 2            #", "  funding: 2\t#") if case == "tab before a comment" \
        else DEAL.replace("\n", "\r")
    deal.write_bytes(text.encode())
    check = subprocess.run([sys.executable, "-m", "generator", "check", str(deal)], cwd=project.root,
                           env={**os.environ, "SOURCE_DATE_EPOCH": AS_OF_EPOCH}, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    def change(wb: openpyxl.Workbook, cells: Callable) -> None:
        cells("FactorScores")[1].value = 4  # funding: changed in place
        cells("FactorScores")[8].value = 3  # service: a new line

    result = run_import(project.root, str(edit(made, change)))
    bounded(result)
    assert result.returncode == 0, result.stdout
    nl = "\n" if case == "tab before a comment" else "\r"
    assert deal.read_bytes() == text.replace("funding: 2", "funding: 4").replace(
        f"  technical_fit: 3{nl}", f"  technical_fit: 3{nl}  service: 3{nl}").encode()  # every other byte kept


def test_the_measure_can_fail(tmp_path: Path) -> None:
    """The measure itself: a process that holds 400 MB and computes for a while is seen as such (so the limits
    above can fail)."""
    result = measured(tmp_path, "-c", "b = bytearray(400 * 2**20); b[::4096] = b'x' * len(b[::4096])\n"
                                      "n = 0\nfor i in range(30_000_000): n += i")
    assert result.returncode == 0, result.stderr
    assert result.memory_mb > 350 and result.seconds > 0.5


# --- Large, within the limits: still bounded ----------------------------------------------------

def _rows_appended(made: Path, part_marker: bytes, rows: str) -> Path:
    def change(parts: dict[str, bytes]) -> None:
        name = sheet_part(parts, part_marker)
        parts[name] = re.sub(rb"<dimension ref=\"[^\"]*\"/>", b"", parts[name]).replace(
            b"</sheetData>", rows.encode() + b"</sheetData>")
    return damaged(made, change)


def test_a_thousand_new_stakeholders_import_in_one_edit(project: Project, deal: Path, made: Path) -> None:
    first = 3 + 10  # below the table as made (2 people and blank rows)
    rows = "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>Person {r}</t></is></c>'
                   f'<c r="C{r}" t="inlineStr"><is><t>user</t></is></c></row>' for r in range(first, 3 + 1000))
    result = run_import(project.root, str(_rows_appended(made, b"Wants references.", rows)))
    assert result.returncode == 0, result.stdout[-2000:]
    bounded(result)
    text = deal.read_text(encoding="utf-8")
    assert text.count("  - name: Person ") == 1000 - 10 and text.startswith(DEAL.split("\nexits:")[0])


def test_more_rows_than_a_table_may_have_are_refused(project: Project, deal: Path, made: Path) -> None:
    rows = '<row r="1003"><c r="A1003" t="inlineStr"><is><t>One too many</t></is></c></row>'
    refused(project, deal, _rows_appended(made, b"Wants references.", rows),
            "hz-metro.xlsx: Stakeholders!A1003: more than 1,000 rows in this table (a deal has tens)")


def test_a_sheet_full_of_changed_cells_is_named_briefly(project: Project, deal: Path, made: Path) -> None:
    # 2,400 rows × 20 columns typed into the Stages sheet, which import does not take: 48,000 cells.
    rows = "".join(f'<row r="{r}">' + "".join(f'<c r="{c}{r}"><v>{r}</v></c>' for c in "HIJKLMNOPQRSTUVWXYZ[")
                   .replace("[", "AA") + "</row>" for r in range(1000, 3400))
    result = run_import(project.root, str(_rows_appended(made, b"IF(OR(F", rows)))
    assert result.returncode == 0, result.stdout
    bounded(result)
    assert result.lines[0] == "hz-metro.xlsx: Stages!H1000: this cell is not imported; change it in deals/hz-metro.yml"
    assert len(result.lines) == 22 and result.lines[20].startswith("hz-metro.xlsx: and ")
    assert result.lines[-1] == "hz-metro.xlsx: nothing to import"
    assert deal.read_bytes() == DEAL.encode()


def test_more_cells_than_import_reads_are_refused(project: Project, deal: Path, made: Path) -> None:
    rows = "".join(f'<row r="{r}">' + "".join(f'<c r="{c}{r}"><v>1</v></c>' for c in "HIJKLMNOPQRSTUVWXYZ")
                   + "</row>" for r in range(100, 10001))
    refused(project, deal, _rows_appended(made, b"IF(OR(F", rows), re.compile(
        r"hz-metro\.xlsx: Stages!\w+: more than 50,000 cells in the workbook"))


def test_a_deal_id_typed_into_the_scorecard_must_be_an_id(project: Project, deal: Path) -> None:
    def change(wb: openpyxl.Workbook, cells: Callable) -> None:
        cells("DealId")[0].value = f"../deals/{DEAL_ID}"
        cells("FactorScores")[0].value = 5

    path = edit(workbook(project, None, "scorecard.xlsx"), change)
    result = run_import(project.root, str(path))
    assert result.returncode == 1 and result.stderr == ""
    assert result.lines == ["scorecard.xlsx: Summary!B4: it names the deal '../deals/hz-metro', which is not a deal "
                            "id (a-z, 0-9 and '-')", "nothing was written"]
    assert deal.read_bytes() == DEAL.encode()


def test_two_workbooks_changing_one_field_two_ways_are_refused(project: Project, deal: Path, made: Path) -> None:
    first = edit(made, lambda wb, cells: setattr(cells("FactorScores")[1], "value", 4), made.parent / "one.xlsx")
    second = edit(made, lambda wb, cells: setattr(cells("FactorScores")[1], "value", 5), made.parent / "two.xlsx")
    result = run_import(project.root, str(first), str(second))
    assert result.returncode == 1, result.stdout
    assert result.lines[-2:] == ["two.xlsx: qualification.funding: changed in the workbook (5) and in "
                                 "deals/hz-metro.yml (with the workbooks before it) since the workbook was made (4); change one of them to match "
                                 "and import again", "nothing was written"]
    assert deal.read_bytes() == DEAL.encode()
