"""A seeded, black-box mutation fuzzer for deal files and `dealbook check`.

    .venv/bin/python -m bench.fuzz --count 2000 --seed 1

It takes the sample deals in deals/*.yml as seeds, writes `--count` mutated
copies (`fz-000000.yml`, `fz-000001.yml`, ...) into a temporary project under
/tmp, and runs the real command line on them, `--batch` files at a time:

    .venv/bin/dealbook check deals/fz-….yml … --format json --model <repo>/playbook/playbook.yml

once in JSON and once in text format per batch. The checker is only ever used
through that command (subprocess, its own process group, a timeout of
10 s + 0.2 s per file in the batch); nothing from `generator` is imported, so
the fuzzer survives the package being restructured. The working folder of the
checker is the temporary project, so its `.cache/` lands there and not in the
repository.

Mutations. Mutant N starts from one seed deal and gets 1 to 4 mutations, all
drawn from `random.Random("dealbook-fuzz:<seed>:<N>")`, so any mutant can be
made again from the seed and its index alone. The strategies:

    byte_flip         flip 1-8 random bits
    delete_lines      delete 1-5 lines
    duplicate_line    repeat a line (often a duplicate key)
    swap_lines        swap two lines
    control_char      insert NUL, ESC, BEL, DEL, VT, FF, U+009B, U+202E, U+FEFF, U+0085 or U+2028 mid-file
    fullwidth_colon   `key：value` instead of `key: value`
    tab_indent        tabs instead of spaces for indentation
    no_space_colon    `key:value`
    huge_number       30 and 5000 digits, 1e400, 1.0e+400, 1.5e6, .inf, .nan, 0x_, ._, sexagesimal, ... in a
                      number field or as an exits key
    negative_number   negative amounts, stages, scores, probabilities and exits keys
    deep_nesting      lists / maps nested 5 to 100,000 deep (flow and block style)
    anchors_aliases   `&a`/`*a` between fields, alias bombs (10**2..10**9 values), recursive and undefined aliases,
                      merge keys `<<: *a`
    many_values       more than 100,000 values written out, without a single alias
    duplicate_keys    `1:` and `01:` (or `+1:`, `0x1:`, `1:` again) in exits, a top-level key twice, quoted twins
    complex_key       keys that are lists, maps, null, booleans or dates
    invalid_utf8      stray 0xff, cut sequences, surrogates, overlong forms, a line saved as GBK or Latin-1
    long_line         text values of 10 KB to 900 KB, a 2,000-character key, a 1.1 MB comment
    yaml_tag          `!!python/object`, `!!binary`, `!!set`, custom tags, `!!int abc`, `!!float ._`, `!!str 5`
    truncate          cut the file at a random byte
    change_type       text -> list / map / number / yes / date, lists -> text, dates -> garbage (2027-02-30, ...)
    unknown_key       unknown and misspelt keys at the top level and inside list items
    empty_file        nothing, blanks, `---`, `~`, `[]`, `{}`, a bare BOM, a root list or scalar
    only_comments     every line commented out
    splice            the head of one deal and the tail of another
    line_endings      CRLF, lone CR, mixed
    yaml_syntax       stray indicators (`{ [ " ' & * ! | > % @ \u0060`), `---` / `...` mid-file, directives

Findings, one per (mutant, kind):

    traceback          "Traceback" on stderr, in either format
    hang               no answer within 10 s for the file alone
    no-position        a message without file:line:col: a text line not matching
                       `^[^:]+:\\d+:\\d+: (error|warning): `, a JSON problem whose path, line or col is missing
                       or < 1 or not the file's, or whose text contains a line break
    bad-exit           exit code other than 0/1, or 1 without an error / 0 with one
    bad-json           --format json output that does not parse as a list of problems
    line-out-of-range  a problem on a line past the file's line count + 1 (lines end at LF, CRLF or CR)
    alias-message      (extra) a message about anchors and aliases for a file that has no alias
    missed-error       (extra) no error for a file whose last mutation made it certainly invalid
                       (duplicate key, refused tag, NUL, invalid UTF-8, unknown key, negative stage, ...)
    wrong-position     (extra) the problem about an invalid byte or control character is not on the line of
                       the first one (e.g. 1:1 with "position 1307" in the message)

A hang's finding says how much CPU the checker had used by then, as a loaded
machine can stretch a slow check past 10 s.

A batch that hangs, crashes, exits with another code, prints bad JSON or a
line without a position is re-run one file at a time (10 s each) to find
the culprits. Offending files and `findings.json` (seed, index, strategies,
kind, what the checker printed) go to bench/results/fuzz-findings/, only when
there are findings. Exit code: 1 with findings, 0 without, 2 when the checker
does not even work on the unmutated deals.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEALBOOK = ROOT / ".venv" / "bin" / "dealbook"
MODEL = ROOT / "playbook" / "playbook.yml"
FINDINGS_DIR = ROOT / "bench" / "results" / "fuzz-findings"
FILE_TIMEOUT = 10.0
PER_FILE_IN_BATCH = 0.2
EPOCH = "1795737600"  # 2026-11-27, as in bench.run: warnings that depend on today stay put
TEXT_LINE = re.compile(r"^[^:]+:\d+:\d+: (error|warning): ")
ALIAS_TOKEN = re.compile(rb"(?:^|[\s\[{,:])\*[^\s\[\]{},*]")

KINDS = {
    "traceback": "traceback on stderr",
    "hang": "hang > 10 s",
    "no-position": "message without file:line:col",
    "bad-exit": "exit code not 0/1 (or not matching the errors)",
    "bad-json": "JSON not parseable",
    "line-out-of-range": "problem line beyond the file's line count + 1",
    "alias-message": "'anchors and aliases' message for a file without aliases",
    "missed-error": "no error for a certainly invalid file",
    "wrong-position": "a bad character or byte reported away from its line",
}

NUMBER_KEYS = {"amount", "stage", "probability", "project_level", "funding", "technical_fit", "relationship",
               "credibility", "product", "price", "solution"}
TEXT_KEYS = {"title", "account", "owner", "summary", "lost_reason", "name", "notes", "action", "evidence",
             "strengths", "weaknesses", "opening", "target", "walk_away", "customer_position", "concessions"}
DATE_KEYS = {"expected_close", "last_contact", "date", "due"}
LIST_KEYS = {"stakeholders", "next_steps", "competitors", "terms"}
MAP_KEYS = {"qualification", "exits", "negotiation"}

KV_RE = re.compile(rb"^(?P<head>(?P<indent>[ ]*)(?P<dash>- )?(?P<key>[A-Za-z_][A-Za-z0-9_]*|\d+):)"
                   rb"(?P<sep>[ ]+)(?P<value>[^\s#|>].*)$")
KEY_ONLY_RE = re.compile(rb"^(?P<indent>[ ]*)(?P<dash>- )?(?P<key>[A-Za-z_][A-Za-z0-9_]*|\d+):[ ]*$")


# --------------------------------------------------------------------------- helpers for mutations


@dataclass
class Change:
    """What one mutation did: new bytes, a note for people, and whether the file is now certainly invalid."""

    data: bytes
    note: str
    must_fail: bool = False


Strategy = Callable[[random.Random, bytes, list[bytes]], Change]


def split(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def join(lines: list[bytes]) -> bytes:
    return b"\n".join(lines)


def line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def kv_lines(lines: list[bytes], keys: set[str] | None = None) -> list[int]:
    """Indexes of `key: value` lines, optionally only for some keys."""
    out = []
    for i, line in enumerate(lines):
        m = KV_RE.match(line)
        if m and (keys is None or m["key"].decode() in keys):
            out.append(i)
    return out


def key_of(line: bytes) -> str:
    m = KV_RE.match(line) or KEY_ONLY_RE.match(line)
    return m["key"].decode() if m else ""


def set_value(lines: list[bytes], i: int, value: bytes) -> None:
    m = KV_RE.match(lines[i])
    assert m is not None
    lines[i] = m["head"] + b" " + value


def value_indent(line: bytes) -> int:
    """Indentation for a block value under this line's key."""
    m = KV_RE.match(line) or KEY_ONLY_RE.match(line)
    if not m:
        return 2
    return len(m["indent"]) + (2 if m["dash"] else 0) + 2


def char_boundary(rng: random.Random, data: bytes) -> int:
    """A random offset that does not cut a UTF-8 sequence (so an insertion stays valid UTF-8)."""
    for _ in range(20):
        i = rng.randrange(len(data) + 1)
        if i == len(data) or not 0x80 <= data[i] <= 0xBF:
            return i
    return 0


def insert_line(lines: list[bytes], at: int, text: bytes) -> None:
    lines.insert(min(max(at, 0), len(lines)), text)


def top_insert_at(lines: list[bytes]) -> int:
    """After a leading comment line, before the first key."""
    return 1 if lines and lines[0].startswith(b"#") else 0


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# --------------------------------------------------------------------------- the strategies


def byte_flip(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    if not data:
        return Change(b"\xff", "empty file -> single 0xff", True)
    buf = bytearray(data)
    spots = []
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(buf))
        buf[i] ^= 1 << rng.randrange(8)
        spots.append(line_of(data, i))
    return Change(bytes(buf), f"bit flips on lines {sorted(set(spots))}")


def delete_lines(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    lines = split(data)
    gone = sorted(rng.sample(range(len(lines)), min(len(lines), rng.randint(1, 5))))
    for i in reversed(gone):
        del lines[i]
    return Change(join(lines), f"deleted lines {[i + 1 for i in gone]}")


def duplicate_line(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    lines = split(data)
    i = rng.randrange(len(lines))
    j = i + 1 if rng.random() < 0.6 else rng.randrange(len(lines) + 1)
    insert_line(lines, j, lines[i])
    return Change(join(lines), f"line {i + 1} repeated as line {j + 1}: {lines[i][:60]!r}")


def swap_lines(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    lines = split(data)
    if len(lines) < 2:
        return Change(data + b"\n" + data, "too short to swap: doubled")
    i, j = rng.sample(range(len(lines)), 2)
    lines[i], lines[j] = lines[j], lines[i]
    return Change(join(lines), f"swapped lines {i + 1} and {j + 1}")


CONTROLS = [("NUL", "\x00", True), ("ESC", "\x1b", True), ("BEL", "\x07", True), ("DEL", "\x7f", True),
            ("VT", "\x0b", True), ("FF", "\x0c", True), ("U+009B", "\x9b", True), ("U+202E", "\u202e", False),
            ("U+FEFF", "\ufeff", False), ("U+0085", "\x85", False), ("U+2028", "\u2028", False)]


def control_char(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    name, char, invalid = rng.choice(CONTROLS)
    where = rng.choice(["anywhere", "line start", "in a value"])
    lines = split(data)
    values = kv_lines(lines)
    if where == "in a value" and values:
        i = rng.choice(values)
        cut = rng.randrange(KV_RE.match(lines[i]).end("sep"), len(lines[i]) + 1)  # type: ignore[union-attr]
        while cut < len(lines[i]) and 0x80 <= lines[i][cut] <= 0xBF:
            cut += 1
        lines[i] = lines[i][:cut] + char.encode() + lines[i][cut:]
        return Change(join(lines), f"{name} in the value on line {i + 1}", invalid)
    if where == "line start":
        i = rng.randrange(len(lines))
        lines[i] = char.encode() + lines[i]
        return Change(join(lines), f"{name} at the start of line {i + 1}", invalid)
    at = char_boundary(rng, data)
    return Change(data[:at] + char.encode() + data[at:], f"{name} at byte {at} (line {line_of(data, at)})", invalid)


def fullwidth_colon(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    lines = split(data)
    cands = kv_lines(lines) or [i for i, line in enumerate(lines) if b":" in line]
    if not cands:
        return Change(data + "\ntitle：x\n".encode(), "appended a line with a full-width colon")
    picked = rng.sample(cands, min(len(cands), rng.choice([1, 1, 2, 5])))
    for i in picked:
        lines[i] = lines[i].replace(b": ", rng.choice(["：", "： "]).encode(), 1).replace(b":", "：".encode(), 1)
    return Change(join(lines), f"full-width colon on lines {sorted(i + 1 for i in picked)}")


def tab_indent(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    lines = split(data)
    indented = [i for i, line in enumerate(lines) if line.startswith(b"  ")]
    if not indented:
        return Change(b"\t" + data, "tab before the first line")
    picked = indented if rng.random() < 0.2 else rng.sample(indented, min(len(indented), rng.randint(1, 3)))
    for i in picked:
        stripped = lines[i].lstrip(b" ")
        width = len(lines[i]) - len(stripped)
        lines[i] = rng.choice([b"\t" * (width // 2), b"\t", b"\t" + b" " * (width - 1)]) + stripped
    where = "every indented line" if len(picked) == len(indented) else f"lines {sorted(i + 1 for i in picked)}"
    return Change(join(lines), f"tabs for indentation on {where}")


def no_space_colon(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    lines = split(data)
    cands = kv_lines(lines)
    if not cands:
        return Change(data + b"\namount:5\n", "appended amount:5")
    i = rng.choice(cands)
    m = KV_RE.match(lines[i])
    assert m is not None
    lines[i] = m["head"] + m["value"]
    return Change(join(lines), f"no space after the colon on line {i + 1}: {lines[i][:50]!r}")


# (text, a valid amount?, a valid probability?)
HUGE = [("9" * 30, True, False), ("1" + "0" * 29, True, False), ("9" * 5000, True, False),
        ("1" + "0" * 4300, True, False), ("4" * 4301, True, False), ("1e400", False, False),
        ("1.0e+400", False, False), ("-1.0e+400", False, False), ("1.5e6", False, False), ("1.5e+6", True, False),
        (".inf", False, False), (".NaN", False, False), ("0x" + "f" * 5000, True, False),
        ("5" * 5000 + ":30", True, False), ("1" * 5000 + ".5", False, False), ("0x_", False, False),
        ("0b_", False, False), ("._", False, False), ("-._", False, False), ("1_000_000", True, False),
        ("190:20:30", True, False), ("0o777", False, False), ("0777", True, False), ("08", False, False),
        ("1.0e-400", True, True), ("+12", True, False), ("1e3", False, False), ("9" * 400 + ".0", False, False)]


def _number_targets(lines: list[bytes]) -> tuple[list[int], list[int]]:
    exit_keys = [i for i, line in enumerate(lines) if (m := KEY_ONLY_RE.match(line)) and m["key"].isdigit()]
    return kv_lines(lines, NUMBER_KEYS), exit_keys


def _put_number(rng: random.Random, data: bytes, text: str, ok_amount: bool, ok_prob: bool, what: str) -> Change:
    lines = split(data)
    values, exit_keys = _number_targets(lines)
    if exit_keys and (not values or rng.random() < 0.25):
        i = rng.choice(exit_keys)
        m = KEY_ONLY_RE.match(lines[i])
        assert m is not None
        lines[i] = m["indent"] + text.encode() + b":"
        return Change(join(lines), f"{what} exits key {_short(text)} on line {i + 1}", True)
    if not values:
        insert_line(lines, top_insert_at(lines), b"amount: " + text.encode())
        return Change(join(lines), f"{what} amount {_short(text)} inserted at the top", not ok_amount)
    i = rng.choice(values)
    key = key_of(lines[i])
    set_value(lines, i, text.encode())
    ok = ok_amount if key == "amount" else ok_prob if key == "probability" else False
    return Change(join(lines), f"{what} {key}: {_short(text)} on line {i + 1}", not ok)


def _short(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:10]}…({len(text)} chars)…{text[-6:]}"


def huge_number(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    text, ok_amount, ok_prob = rng.choice(HUGE)
    return _put_number(rng, data, text, ok_amount, ok_prob, "odd number")


def negative_number(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    text = rng.choice(["-1", "-420000", "-0.5", "-1_000", "-0x10", "-3", "-" + "9" * 30, "-0"])
    if text == "-0":
        change = _put_number(rng, data, text, True, True, "negative")
        change.must_fail = False  # 0 may be in range
        return change
    return _put_number(rng, data, text, False, False, "negative")


def _nested(rng: random.Random, depth: int, indent: int) -> tuple[bytes, str]:
    style = rng.choice(["flow list", "flow map", "block list", "block map"])
    if style == "flow list":
        return b"[" * depth + b"x" + b"]" * depth, style
    if style == "flow map":
        return b"{a: " * depth + b"x" + b"}" * depth, style
    if style == "block list":
        return b"\n" + b" " * indent + b"- " * depth + b"x", style
    depth = min(depth, 400)  # indentation grows with depth
    rows = [b" " * (indent + 2 * k) + b"a:" for k in range(depth)]
    rows[-1] += b" x"
    return b"\n" + b"\n".join(rows), style


def deep_nesting(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    depth = rng.choice([5, 50, 200, 499, 1000, 3000, 20000, 100000])
    lines = split(data)
    cands = kv_lines(lines)
    if not cands or rng.random() < 0.2:
        value, style = _nested(rng, depth, 2)
        lines.append(b"nested: " + value)
        return Change(join(lines), f"unknown key 'nested' holding a {style} {depth} deep", True)
    i = rng.choice(cands)
    value, style = _nested(rng, depth, value_indent(lines[i]))
    key = key_of(lines[i])
    set_value(lines, i, value)
    return Change(join(lines), f"{key} on line {i + 1} holds a {style} {depth} deep", True)


def anchors_aliases(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    lines = split(data)
    cands = kv_lines(lines)
    variant = rng.choice(["anchor+alias", "bomb", "bomb", "recursive", "merge", "undefined"])
    if variant == "anchor+alias" and len(cands) >= 2:
        i, j = sorted(rng.sample(cands, 2))
        ki, kj = key_of(lines[i]), key_of(lines[j])
        m = KV_RE.match(lines[i])
        assert m is not None
        lines[i] = m["head"] + b" &a1 " + m["value"]
        set_value(lines, j, b"*a1")
        return Change(join(lines), f"&a1 on {ki} (line {i + 1}), *a1 as {kj} (line {j + 1})")
    if variant in ("bomb", "anchor+alias"):
        levels, width = rng.randint(2, 9), rng.choice([5, 10])
        rows = [b"lol0: &l0 [" + b", ".join([b"x"] * width) + b"]"]
        for k in range(1, levels):
            rows.append(f"lol{k}: &l{k} [".encode() + b", ".join([f"*l{k - 1}".encode()] * width) + b"]")
        target = rng.choice(["stakeholders", "next_steps", "qualification", "summary", "lol"])
        if target != "lol":
            rows.append(f"{target}: *l{levels - 1}".encode())
        at = top_insert_at(lines) if rng.random() < 0.5 else len(lines)
        lines[at:at] = rows
        return Change(join(lines), f"alias bomb {width}**{levels} = {width ** levels:,} values"
                                   f"{'' if target == 'lol' else ' used as ' + target}", True)
    if variant == "recursive":
        text = rng.choice([b"selfref: &r [*r]", b"selfref: &r {a: *r}", b"stakeholders: &r [{name: x, notes: *r}]",
                           b"negotiation: &r {terms: [*r]}", b"exits: &r {1: *r}", b"selfref: &r [[[*r]]]"])
        lines.append(text)
        return Change(join(lines), f"recursive alias: {text.decode()}", True)
    if variant == "merge":
        rows = [b"defaults: &d {owner: Someone, due: 2027-01-01}", b"<<: *d"]
        lines[top_insert_at(lines):top_insert_at(lines)] = rows
        return Change(join(lines), "merge key '<<: *d' at the top level", True)
    if cands:
        i = rng.choice(cands)
        set_value(lines, i, b"*nowhere")
        return Change(join(lines), f"undefined alias *nowhere on line {i + 1}", True)
    return Change(data + b"\nx: *nowhere\n", "undefined alias appended", True)


def many_values(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    n = rng.choice([60_000, 100_001, 150_000])
    lines = split(data)
    style = rng.choice(["flow list", "block keys", "block list"])
    if style == "flow list":
        lines.append(b"extra: [" + b",".join([b"1"] * n) + b"]")
    elif style == "block keys":
        lines += [f"k{k:06d}: 1".encode() for k in range(n // 2)]
    else:
        lines.append(b"extra:")
        lines += [b"  - 1"] * n
    return Change(join(lines), f"{n:,} values written out as a {style}, no aliases", True)


def duplicate_keys(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    lines = split(data)
    exit_keys = [i for i, line in enumerate(lines) if (m := KEY_ONLY_RE.match(line)) and m["key"].isdigit()
                 and len(m["indent"]) == 2]
    variant = rng.choice(["exits", "exits", "top", "quoted"])
    if variant == "exits" and exit_keys:
        i = rng.choice(exit_keys)
        key = key_of(lines[i])
        twin = rng.choice([f"0{key}", f"+{key}", f"0{key}", key, f"00{key}"])
        block = [lines[i]]
        k = i + 1
        while k < len(lines) and lines[k].startswith(b"    "):
            block.append(lines[k])
            k += 1
        lines[k:k] = [b"  " + twin.encode() + b":"] + block[1:]
        return Change(join(lines), f"exits key {key} (line {i + 1}) given again as {twin} (line {k + 1})", True)
    if variant == "exits":
        rows = [b"exits:", b"  1:", b"    date: 2026-01-05", b"    evidence: first", b"  01:",
                b"    date: 2026-02-05", b"    evidence: second"]
        lines += rows
        return Change(join(lines), "appended exits with keys 1 and 01", True)
    tops = [i for i in kv_lines(lines) if not lines[i].startswith(b" ")]
    if not tops:
        lines += [b"stage: 1", b"stage: 2"]
        return Change(join(lines), "appended stage twice", True)
    i = rng.choice(tops)
    m = KV_RE.match(lines[i])
    assert m is not None
    key = m["key"]
    twin = (b'"' + key + b'"' if variant == "quoted" else key) + b": " + m["value"]
    at = rng.randrange(len(lines) + 1)
    insert_line(lines, at, twin)
    return Change(join(lines), f"top-level {key.decode()} (line {i + 1}) again as {twin[:40]!r} at line {at + 1}", True)


def complex_key(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    text = rng.choice([b"? [a, b]\n: value", b"[1, 2]: x", b"{a: 1}: x", b"null: x", b"~: x", b"true: x",
                       b"2027-01-01: x", b"3.5: x", b"? - a\n  - b\n: c", b"? |\n  block key\n: v", b'"": empty'])
    lines = split(data)
    if rng.random() < 0.3:
        exits = [i for i, line in enumerate(lines) if line.rstrip() == b"exits:"]
        if exits:
            i = exits[0]
            inner = rng.choice([b"  [1]: {date: 2026-01-01}", b"  {a: 1}: {date: 2026-01-01}", b"  null: {}",
                                b"  2026-01-01: {}", b"  true: {}", b"  ? [1, 2]\n  : {}"])
            insert_line(lines, i + 1, inner)
            return Change(join(lines), f"exits key {inner.strip()[:30]!r} (line {i + 2})", True)
    at = top_insert_at(lines)
    insert_line(lines, at, text)
    return Change(join(lines), f"top-level key {text[:30]!r} at line {at + 1}", True)


def invalid_utf8(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    lines = split(data)
    wide = [i for i, line in enumerate(lines) if any(b >= 0x80 for b in line)]
    if wide and rng.random() < 0.4:
        i = rng.choice(wide)
        enc = rng.choice(["gbk", "latin-1", "utf-16-le", "cp1252"])
        lines[i] = lines[i].decode("utf-8", "replace").encode(enc, "replace")
        out = join(lines)
        return Change(out, f"line {i + 1} saved as {enc}", not is_utf8(out))
    junk = rng.choice([b"\xff", b"\xfe\xff", b"\xc3", b"\xe4\xb8", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80",
                       b"\x80", b"\xf8\x88\x80\x80\x80"])
    at = rng.randrange(len(data) + 1)
    out = data[:at] + junk + data[at:]
    return Change(out, f"bytes {junk.hex()} at byte {at} (line {line_of(data, at)})", not is_utf8(out))


def long_line(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    lines = split(data)
    variant = rng.choice(["value", "value", "key", "comment", "flow"])
    size = rng.choice([10_000, 100_000, 900_000])
    if variant == "value":
        cands = kv_lines(lines, TEXT_KEYS) or kv_lines(lines)
        if cands:
            i = rng.choice(cands)
            set_value(lines, i, rng.choice([b"x", "长".encode(), b"ab "]) * (size // 3))
            return Change(join(lines), f"{key_of(lines[i])} on line {i + 1} is {size // 3:,} characters")
    if variant == "key":
        at = top_insert_at(lines)
        insert_line(lines, at, b"k" * 2000 + b": v")
        return Change(join(lines), f"2,000-character key on line {at + 1}", True)
    if variant == "comment":
        at = rng.randrange(len(lines) + 1)
        insert_line(lines, at, b"# " + b"c" * 1_100_000)
        return Change(join(lines), f"1.1 MB comment on line {at + 1}", True)
    lines.append(b"flow: [" + b", ".join([b"abc"] * (size // 5)) + b"]")
    return Change(join(lines), f"unknown key with a {size // 5:,}-item flow list on one line", True)


# (tag and value, a certainly invalid value wherever it goes?)
TAGS = [("!!python/object:os.system", True), ('!!python/object/apply:os.system ["true"]', True),
        ("!!python/name:os.system", True), ("!!python/tuple [1, 2]", True), ("!custom x", True),
        ("!<tag:example.com,2000:x> y", True), ("!!binary aGVsbG8=", True), ("!!set {a, b}", True),
        ("!!omap [a: 1]", True), ("!!pairs [a: 1]", True), ("!!int abc", True), ('!!int ""', True),
        ("!!int 0x_", True), ("!!float xyz", True), ("!!float ._", True), ('!!float ""', True),
        ("!!bool maybe", True), ("!!timestamp someday", True), ("!!null x", False), ("!!int 1.5", True),
        ("!!seq x", True), ("!!map x", True), ("!!str [a, b]", True), ("!!int [1]", True), ("!!str", False),
        ("!!float 1", False), ("!!timestamp 2027-13-45", False), ("!", False), ("!!int " + "7" * 5000, False)]


def yaml_tag(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    tag, invalid = rng.choice(TAGS)
    lines = split(data)
    cands = kv_lines(lines)
    if not cands:
        lines.append(f"amount: {tag}".encode())
        return Change(join(lines), f"amount: {tag} appended", invalid)
    i = rng.choice(cands)
    m = KV_RE.match(lines[i])
    assert m is not None
    key = m["key"].decode()
    new = tag.encode() if " " in tag else tag.encode() + b" " + m["value"]  # a bare tag keeps the value
    lines[i] = m["head"] + b" " + new
    if tag in ("!!str", "!"):
        invalid = key in NUMBER_KEYS  # a number made text
    elif tag == "!!float 1":
        invalid = key != "amount"
    return Change(join(lines), f"{key}: {_short(new.decode(errors='replace'))} on line {i + 1}", invalid)


def truncate(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    at = rng.randrange(len(data) + 1)
    return Change(data[:at], f"cut at byte {at} of {len(data)} (line {line_of(data, at)})")


GARBAGE_DATES = ["2027-02-30", "2027-13-01", "27-6-30", "2027-6-30", "2027/06/30", "30.06.2027", "0000-00-00",
                 "2027-06-30T25:61:00Z", "9999-99-99", "-2027-01-01", "２０２７-０６-３０", "٢٠٢٧-٠٦-٣٠", "tomorrow",
                 "20270630", "2027-06-31", "2027-00-10", "1e400", "[2027, 6, 30]", "{y: 2027}", "2027-06-30 # x"]


def change_type(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    lines = split(data)
    dates = kv_lines(lines, DATE_KEYS)
    heads = [i for i, line in enumerate(lines) if (m := KEY_ONLY_RE.match(line)) and m["key"].decode() in LIST_KEYS
             | MAP_KEYS]
    variant = rng.choice(["date", "scalar", "scalar", "container"])
    if variant == "date" and dates:
        i = rng.choice(dates)
        garbage = rng.choice(GARBAGE_DATES)
        set_value(lines, i, garbage.encode())
        return Change(join(lines), f"{key_of(lines[i])}: {garbage} on line {i + 1}", garbage != "2027-06-30 # x")
    if variant == "container" and heads:
        i = rng.choice(heads)
        new = rng.choice([b" none", b" 3", b" [a, b]", b" {a: 1}", b" yes", b" ''"])
        key = key_of(lines[i])
        lines[i] = lines[i].rstrip() + new
        return Change(join(lines), f"{key}:{new.decode()} on line {i + 1} (block below kept)", True)
    cands = kv_lines(lines)
    if not cands:
        return Change(data + b"\ntitle: [a, b]\n", "appended title: [a, b]", True)
    i = rng.choice(cands)
    key = key_of(lines[i])
    new = rng.choice([b"[a, b]", b"{x: 1}", b"\n" + b" " * value_indent(lines[i]) + b"- a", b"42", b"yes", b"no",
                      b"2027-01-01", b"~", b"''", b"3.5", b"null"])
    invalid = (new.startswith((b"[", b"{", b"\n")) or
               (key in TEXT_KEYS and new in (b"42", b"yes", b"no", b"2027-01-01", b"3.5")) or
               (key in NUMBER_KEYS and new in (b"yes", b"no", b"2027-01-01", b"''")) or
               (key in ("title", "account", "owner", "stage", "status", "amount", "expected_close", "action", "topic")
                and new in (b"~", b"null")))
    set_value(lines, i, new)
    return Change(join(lines), f"{key}: {new.strip()[:20]!r} on line {i + 1}", invalid)


def unknown_key(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    lines = split(data)
    items = [i for i, line in enumerate(lines) if re.match(rb"^  - [a-z_]+: ", line)]
    variant = rng.choice(["top", "typo", "item", "unicode"])
    if variant == "item" and items:
        i = rng.choice(items)
        insert_line(lines, i + 1, b"    email: someone@example.com")
        return Change(join(lines), f"unknown key 'email' in the list item on line {i + 1}", True)
    at = top_insert_at(lines)
    text = {"top": b"priority: high", "typo": rng.choice([b"titel: x", b"Stage: 3", b"expected-close: 2027-01-01",
                                                         b"stakeholder: []", b"ammount: 5"]),
            "item": b"region: east", "unicode": "标题: 项目".encode()}[variant]
    insert_line(lines, at, text)
    return Change(join(lines), f"unknown key {text.decode()!r} at line {at + 1}", True)


def empty_file(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    text = rng.choice([b"", b"\n", b"   \n\n", b"---\n", b"...\n", b"---\n...\n", b"~\n", b"null\n", b"[]\n", b"{}\n",
                       b"\xef\xbb\xbf", b"- a\n- b\n", b"just some text\n", b"---\n---\n", b"''\n", b"\t\n"])
    return Change(text, f"whole file replaced by {text!r}", True)


def only_comments(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    lines = [b"# " + line if line.strip() else line for line in split(data)]
    return Change(join(lines), "every line commented out", True)


def splice(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    other = rng.choice(seeds)
    a, b = split(data), split(other)
    i, j = rng.randrange(len(a) + 1), rng.randrange(len(b) + 1)
    return Change(join(a[:i] + b[j:]), f"lines 1-{i} of this deal + lines {j + 1}- of another")


def line_endings(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    variant = rng.choice(["CRLF", "CR", "mixed"])
    if variant == "CRLF":
        return Change(data.replace(b"\n", b"\r\n"), "CRLF line endings")
    if variant == "CR":
        return Change(data.replace(b"\n", b"\r"), "lone CR line endings")
    lines = split(data)
    return Change(b"".join(line + rng.choice([b"\n", b"\r\n", b"\r"]) for line in lines), "mixed line endings")


def yaml_syntax(rng: random.Random, data: bytes, seeds: list[bytes]) -> Change:
    lines = split(data)
    i = rng.randrange(len(lines))
    variant = rng.choice(["indicator", "indicator", "document", "directive"])
    if variant == "indicator":
        mark = rng.choice([b"{", b"[", b'"', b"'", b"&", b"*", b"!", b"|", b">", b"%", b"@", b"`", b"#", b"- ", b"? "])
        m = KV_RE.match(lines[i])
        if m:
            lines[i] = m["head"] + b" " + mark + m["value"]
        else:
            lines[i] = mark + lines[i]
        return Change(join(lines), f"{mark.decode()!r} put in front of line {i + 1}'s value")
    if variant == "document":
        mark = rng.choice([b"---", b"...", b"--- |", b"--- !x"])
        insert_line(lines, i, mark)
        return Change(join(lines), f"{mark.decode()!r} inserted as line {i + 1}")
    mark = rng.choice([b"%YAML 1.1\n---", b"%YAML 2.0\n---", b"%TAG !e! tag:example.com,2000:\n---", b"%FOO bar\n---",
                       b"%YAML 1.1\n%YAML 1.1\n---"])
    return Change(mark + b"\n" + data, f"directive {mark.splitlines()[0].decode()!r} at the top")


STRATEGIES: dict[str, tuple[Strategy, float]] = {
    "byte_flip": (byte_flip, 1.0), "delete_lines": (delete_lines, 1.0), "duplicate_line": (duplicate_line, 1.0),
    "swap_lines": (swap_lines, 0.7), "control_char": (control_char, 1.0), "fullwidth_colon": (fullwidth_colon, 0.7),
    "tab_indent": (tab_indent, 0.7), "no_space_colon": (no_space_colon, 0.7), "huge_number": (huge_number, 1.2),
    "negative_number": (negative_number, 0.7), "deep_nesting": (deep_nesting, 0.8),
    "anchors_aliases": (anchors_aliases, 1.0), "many_values": (many_values, 0.3),
    "duplicate_keys": (duplicate_keys, 1.0), "complex_key": (complex_key, 0.6), "invalid_utf8": (invalid_utf8, 0.8),
    "long_line": (long_line, 0.4), "yaml_tag": (yaml_tag, 1.0), "truncate": (truncate, 0.7),
    "change_type": (change_type, 1.2), "unknown_key": (unknown_key, 0.7), "empty_file": (empty_file, 0.2),
    "only_comments": (only_comments, 0.15), "splice": (splice, 0.6), "line_endings": (line_endings, 0.4),
    "yaml_syntax": (yaml_syntax, 0.8),
}


@dataclass
class Mutant:
    index: int
    seed_name: str
    data: bytes
    strategies: list[str]
    notes: list[str]
    must_fail: bool

    @property
    def name(self) -> str:
        return f"fz-{self.index:06d}.yml"

    @property
    def rel(self) -> str:
        return f"deals/{self.name}"


def make_mutant(seed: int, index: int, seeds: list[tuple[str, bytes]]) -> Mutant:
    """Mutant `index` of run `seed`: the same every time, whatever the other indexes."""
    rng = random.Random(f"dealbook-fuzz:{seed}:{index}")
    seed_name, data = rng.choice(seeds)
    names = list(STRATEGIES)
    weights = [STRATEGIES[n][1] for n in names]
    used, notes = [], []
    must_fail = False
    for _ in range(rng.choice([1, 1, 2, 2, 3, 4])):
        name = rng.choices(names, weights)[0]
        change = STRATEGIES[name][0](rng, data, [d for _, d in seeds])
        data, must_fail = change.data, change.must_fail  # only the last mutation's certainty counts
        used.append(name)
        notes.append(f"{name}: {change.note}")
    return Mutant(index, seed_name, data, used, notes, must_fail)


# --------------------------------------------------------------------------- running the checker


@dataclass
class Run:
    rc: int | None  # None: timed out
    stdout: str
    stderr: str
    seconds: float
    cpu: float | None = None  # CPU seconds the checker had used when it was stopped for taking too long

    @property
    def traceback(self) -> bool:
        return "Traceback" in self.stderr


@dataclass
class Finding:
    index: int
    kind: str
    signature: str
    detail: str


@dataclass
class Checker:
    dealbook: Path
    model: Path
    workdir: Path
    runs: int = 0

    def run(self, rels: list[str], style: str, timeout: float) -> Run:
        self.runs += 1
        cmd = [str(self.dealbook), "check", *rels, "--format", style, "--model", str(self.model)]
        env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH, "PYTHONDONTWRITEBYTECODE": "1"}
        started = time.perf_counter()
        process = subprocess.Popen(cmd, cwd=self.workdir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = process.communicate(timeout=timeout)
            rc: int | None = process.returncode
        except subprocess.TimeoutExpired:
            cpu = cpu_seconds(process.pid)
            os.killpg(process.pid, signal.SIGKILL)  # our own process group: the checker and any git it started
            out, err = process.communicate()
            return Run(None, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
                       time.perf_counter() - started, cpu)
        return Run(rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), time.perf_counter() - started)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a running process (Linux), to tell a hang from a busy machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def hang_finding(run: Run, m: Mutant) -> Finding:
    cpu = f", {run.cpu:.1f} s of CPU" if run.cpu is not None else ""
    busy = run.cpu is not None and run.cpu < FILE_TIMEOUT / 2
    signature = "no answer in 10 s" + (" (under half of it on CPU: waiting, or a busy machine)" if busy else "")
    return Finding(m.index, "hang", signature, f"no answer in {run.seconds:.1f} s{cpu}, load average "
                   f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def line_count(data: bytes) -> int:
    norm = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return norm.count(b"\n") + (1 if norm and not norm.endswith(b"\n") else 0)


CHAR_MESSAGE = re.compile(r"UTF-8|unacceptable character|control character|special character", re.IGNORECASE)
BAD_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")


def first_bad_char(data: bytes) -> tuple[int, str] | None:
    """Line (LF, CRLF or CR ends one) and name of the first invalid byte or control character, if any."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return line_count(data[: exc.start] + b"x"), f"invalid UTF-8 byte 0x{data[exc.start]:02x}"
    m = BAD_CHAR.search(text)
    if not m:
        return None
    return line_count(text[: m.start()].encode() + b"x"), f"U+{ord(m[0]):04X}"


def traceback_signature(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    frames = [line.strip() for line in lines if line.strip().startswith("File ") and "/generator/" in line]
    last = lines[-1].strip() if lines else "?"
    last = re.sub(r"\d{6,}", "<digits>", last)[:140]
    where = ""
    if frames:
        m = re.search(r'/(generator/[^"]+)", line (\d+), in (\S+)', frames[-1])
        where = f" @ {m[1]}:{m[2]} {m[3]}" if m else ""
    return last + where


def check_problems(problems: object, by_rel: dict[str, Mutant], rc: int | None,
                   batch: bool) -> tuple[list[Finding], bool]:
    """Per-file oracles on parsed JSON; the bool says the output cannot be attributed (re-run one by one)."""
    if not isinstance(problems, list):
        return [], True
    found: list[Finding] = []
    errors: dict[str, int] = {rel: 0 for rel in by_rel}
    about_chars: dict[str, list[dict]] = {}
    unattributed = False
    for p in problems:
        if not isinstance(p, dict) or not isinstance(p.get("path"), str) or p["path"] not in by_rel:
            if batch:
                unattributed = True
                continue
            only = next(iter(by_rel.values()))
            found.append(Finding(only.index, "no-position", f"problem for another path: {str(p)[:60]}",
                                 json.dumps(p, ensure_ascii=False)[:600]))
            continue
        m = by_rel[p["path"]]
        shown = json.dumps(p, ensure_ascii=False)[:600]
        line, col = p.get("line"), p.get("col")
        if p.get("severity") == "error":
            errors[p["path"]] += 1
        if not (isinstance(line, int) and isinstance(col, int) and line >= 1 and col >= 1):
            found.append(Finding(m.index, "no-position", f"line/col {line!r}/{col!r}", shown))
        elif line > line_count(m.data) + 1:
            found.append(Finding(m.index, "line-out-of-range", f"line {line} > {line_count(m.data)} lines + 1: "
                                 f"{str(p.get('message'))[:60]}", shown))
        texts = [str(p.get(k, "")) for k in ("path", "field", "message", "hint")]
        if p.get("severity") not in ("error", "warning") or not p.get("message"):
            found.append(Finding(m.index, "no-position", f"severity {p.get('severity')!r} / empty message", shown))
        elif any("\n" in t or "\r" in t for t in texts):
            found.append(Finding(m.index, "no-position", "line break inside the " +
                                 ("message" if "\n" in texts[2] or "\r" in texts[2] else "field or hint") + ": " +
                                 re.sub(r"\d+", "N", texts[2].splitlines()[0] if texts[2] else "")[:70], shown))
        if "anchors and aliases" in str(p.get("message")) and not ALIAS_TOKEN.search(m.data):
            found.append(Finding(m.index, "alias-message", str(p.get("message"))[:80], shown))
        if CHAR_MESSAGE.search(str(p.get("message"))):
            about_chars.setdefault(p["path"], []).append(p)
    for rel, reported in about_chars.items():
        m = by_rel[rel]
        first = first_bad_char(m.data)
        if first and all(p.get("line") != first[0] for p in reported):
            p = reported[0]
            at = "1:1" if (p.get("line"), p.get("col")) == (1, 1) else "another line"
            found.append(Finding(m.index, "wrong-position", f"{first[1].split(' 0x')[0]} reported at {at}",
                                 f"{first[1]} on line {first[0]}: " + json.dumps(p, ensure_ascii=False)[:600]))
    for rel, count in errors.items():
        m = by_rel[rel]
        if m.must_fail and count == 0:
            found.append(Finding(m.index, "missed-error", m.strategies[-1], "; ".join(m.notes)[:600]))
    total = sum(errors.values())
    if rc is not None and (rc == 1) != (total > 0):
        if batch:
            unattributed = True
        else:
            only = next(iter(by_rel.values()))
            found.append(Finding(only.index, "bad-exit", f"exit {rc} with {total} error(s)", ""))
    return found, unattributed


def json_findings(run: Run, by_rel: dict[str, Mutant], batch: bool) -> tuple[list[Finding], bool]:
    """Findings from one JSON run; True when the run is broken and its files must be run one by one."""
    if run.rc is None or run.traceback or run.rc not in (0, 1):
        if batch:
            return [], True
        (m,) = by_rel.values()
        if run.rc is None:
            return [hang_finding(run, m)], False
        if run.traceback:
            return [Finding(m.index, "traceback", traceback_signature(run.stderr), run.stderr[-1500:])], False
        return [Finding(m.index, "bad-exit", f"exit code {run.rc}", (run.stderr or run.stdout)[-800:])], False
    try:
        problems = json.loads(run.stdout) if run.stdout.strip() else []
    except json.JSONDecodeError as exc:
        if batch:
            return [], True
        (m,) = by_rel.values()
        return [Finding(m.index, "bad-json", f"{exc.msg}", run.stdout[:800])], False
    if not isinstance(problems, list):
        if batch:
            return [], True
        (m,) = by_rel.values()
        return [Finding(m.index, "bad-json", f"top level is {type(problems).__name__}", run.stdout[:800])], False
    return check_problems(problems, by_rel, run.rc, batch)


def _why(run: Run) -> str:
    if run.rc is None:
        return f"timed out after {run.seconds:.0f} s"
    if run.traceback:
        return "traceback"
    return f"exit {run.rc}" if run.rc not in (0, 1) else "output not attributable to the files"


def text_broken(run: Run) -> list[str]:
    """What is wrong with one text-format run (empty: nothing)."""
    if run.rc is None:
        return [f"hang: no answer in {run.seconds:.1f} s"]
    wrong = []
    if run.traceback:
        wrong.append("traceback: " + traceback_signature(run.stderr))
    if run.rc not in (0, 1):
        wrong.append(f"bad-exit: exit code {run.rc}")
    wrong += [f"no-position: {line[:200]!r}" for line in run.stdout.split("\n") if line and not TEXT_LINE.match(line)]
    return wrong


def text_findings(run: Run, m: Mutant) -> list[Finding]:
    found = []
    if run.rc is None:
        return [hang_finding(run, m)]
    for what in text_broken(run):
        kind, _, detail = what.partition(": ")
        signature = detail if kind != "no-position" else "text line: " + re.sub(r"\d+", "N", detail)[:70]
        found.append(Finding(m.index, kind, signature, detail if kind != "traceback" else run.stderr[-1500:]))
    return found


class Fuzzer:
    def __init__(self, checker: Checker, workers: int):
        self.checker = checker
        self.workers = workers
        self.findings: dict[tuple[int, str], Finding] = {}
        self.mutants: dict[int, Mutant] = {}
        self.reruns: list[str] = []  # why batches were re-run one file at a time

    def add(self, found: list[Finding]) -> None:
        for f in found:
            self.findings.setdefault((f.index, f.kind), f)

    def one_by_one(self, mutants: list[Mutant], style: str) -> None:
        def single(m: Mutant) -> tuple[Mutant, Run]:
            return m, self.checker.run([m.rel], style, FILE_TIMEOUT)

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            results = list(pool.map(single, mutants))
        for m, run in results:
            if run.rc is None and self.workers > 1:  # confirm a hang without other load on the machine
                run = self.checker.run([m.rel], style, FILE_TIMEOUT)
            if style == "json":
                self.add(json_findings(run, {m.rel: m}, batch=False)[0])
            else:
                self.add(text_findings(run, m))

    def batch(self, mutants: list[Mutant]) -> None:
        for m in mutants:
            self.mutants[m.index] = m
        by_rel = {m.rel: m for m in mutants}
        timeout = FILE_TIMEOUT + PER_FILE_IN_BATCH * len(mutants)
        run = self.checker.run(list(by_rel), "json", timeout)
        found, broken = json_findings(run, by_rel, batch=True)
        self.add(found)
        if broken:
            self.reruns.append(f"json ({_why(run)})")
            self.one_by_one(mutants, "json")
        # Text format, once per batch; files already known to break any output are left out of the re-run.
        run = self.checker.run(list(by_rel), "text", timeout)
        if text_broken(run):
            known = {i for (i, kind) in self.findings if kind in ("traceback", "hang", "bad-exit", "no-position")}
            rest = [m for m in mutants if m.index not in known]
            again = self.checker.run([m.rel for m in rest], "text", timeout) if rest else None
            if again is not None and text_broken(again):
                self.reruns.append(f"text ({text_broken(again)[0][:60]})")
                self.one_by_one(rest, "text")


# --------------------------------------------------------------------------- the command


def read_seeds() -> list[tuple[str, bytes]]:
    seeds = [(p.name, p.read_bytes()) for p in sorted((ROOT / "deals").glob("*.yml"))]
    if not seeds:
        raise SystemExit(f"no seed deals in {ROOT / 'deals'}")
    return seeds


def preflight(checker: Checker, seeds: list[tuple[str, bytes]]) -> str:
    """Why the checker cannot be fuzzed (it fails on the unmutated deals), or ''."""
    rels = []
    for name, data in seeds:
        (checker.workdir / "deals" / f"seed-{name}").write_bytes(data)
        rels.append(f"deals/seed-{name}")
    for style in ("json", "text"):
        run = checker.run(rels, style, FILE_TIMEOUT + PER_FILE_IN_BATCH * len(rels))
        if run.rc is None or run.traceback or run.rc not in (0, 1):
            return f"--format {style} on the {len(rels)} sample deals: exit {run.rc}\n{run.stderr[-1500:]}"
        if style == "json":
            try:
                problems = json.loads(run.stdout or "[]")
            except json.JSONDecodeError:
                return f"--format json on the sample deals does not print JSON:\n{run.stdout[:500]}"
            paths = {p.get("path") for p in problems if isinstance(p, dict)} - set(rels)
            if paths:
                return f"problems are reported for paths that were not given: {sorted(map(str, paths))[:3]}"
    for rel in rels:
        (checker.workdir / rel).unlink()
    return ""


def fingerprint(model: Path) -> str:
    """A digest of the checker's sources and the stage model, to tell whether they changed during a run.

    Only read to label the results; the checker itself is only ever run through its command line.
    """
    h = hashlib.sha256()
    for path in sorted([*(ROOT / "generator").rglob("*"), model]):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(path.as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:12]


def save(fuzzer: Fuzzer, args: argparse.Namespace, seconds: float, version: str) -> None:
    FINDINGS_DIR.mkdir(parents=True, exist_ok=True)
    for old in [*FINDINGS_DIR.glob("fz-*.yml"), FINDINGS_DIR / "findings.json"]:
        old.unlink(missing_ok=True)
    records = []
    for (index, kind), f in sorted(fuzzer.findings.items()):
        m = fuzzer.mutants[index]
        (FINDINGS_DIR / m.name).write_bytes(m.data)
        records.append({"seed": args.seed, "index": index, "file": m.name, "from": m.seed_name,
                        "strategies": m.strategies, "notes": m.notes, "kind": kind, "signature": f.signature,
                        "detail": f.detail})
    summary = {"command": " ".join(["python -m bench.fuzz", *sys.argv[1:]]), "seed": args.seed, "count": args.count,
               "seconds": round(seconds, 1), "checker_sources": version, "findings": records}
    (FINDINGS_DIR / "findings.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="number of mutated deal files (default 2000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--batch", type=int, default=100, help="files per checker run (default 100)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary project folder")
    parser.add_argument("--dealbook", type=Path, default=DEALBOOK, help=f"the checker (default {DEALBOOK})")
    parser.add_argument("--model", type=Path, default=MODEL, help=f"the stage model (default {MODEL})")
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                        help="parallel one-file re-runs (default: CPUs, at most 4)")
    args = parser.parse_args(argv)
    if not args.model.is_file():
        parser.error(f"{args.model}: no such stage model")
    if not args.dealbook.exists():
        parser.error(f"{args.dealbook} not found: run `make site` first")
    seeds = read_seeds()
    version = fingerprint(args.model) if args.dealbook == DEALBOOK else f"custom checker {args.dealbook}"
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="dealbook-fuzz-", dir="/tmp"))
    (workdir / "deals").mkdir()
    checker = Checker(args.dealbook, args.model.resolve(), workdir)
    fuzzer = Fuzzer(checker, max(1, args.workers))
    try:
        problem = preflight(checker, seeds)
        if problem:
            print(f"fuzz: the checker fails on the unmutated deals; nothing fuzzed\n{problem}", file=sys.stderr)
            return 2
        for first in range(0, args.count, args.batch):
            mutants = [make_mutant(args.seed, i, seeds) for i in range(first, min(first + args.batch, args.count))]
            for m in mutants:
                (workdir / m.rel).write_bytes(m.data)
            fuzzer.batch(mutants)
            for m in mutants:  # the mutants' bytes stay in memory only for files with findings
                if not any(i == m.index for i, _ in fuzzer.findings):
                    fuzzer.mutants.pop(m.index, None)
            reruns = f"; one by one: {', '.join(fuzzer.reruns)}" if fuzzer.reruns else ""
            fuzzer.reruns.clear()
            print(f"  batch {first // args.batch + 1}: files {first}-{first + len(mutants) - 1}, "
                  f"{len(fuzzer.findings)} finding(s) so far, {time.perf_counter() - started:.0f} s{reruns}",
                  file=sys.stderr, flush=True)
    finally:
        if args.keep:
            print(f"fuzz: kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    seconds = time.perf_counter() - started
    if args.dealbook == DEALBOOK and fingerprint(args.model) != version:
        print("fuzz: warning: generator/ or the stage model changed during the run; the results mix checker versions",
              file=sys.stderr)
        version += "+changed"
    if fuzzer.findings:
        save(fuzzer, args, seconds, version)
    elif FINDINGS_DIR.is_dir():  # no findings: what an earlier run left there is not true any more
        for old in [*FINDINGS_DIR.glob("fz-*.yml"), FINDINGS_DIR / "findings.json"]:
            old.unlink(missing_ok=True)
        if not any(FINDINGS_DIR.iterdir()):
            FINDINGS_DIR.rmdir()
    kinds = Counter(kind for _, kind in fuzzer.findings)
    files = len({index for index, _ in fuzzer.findings})
    signatures = Counter((f.kind, f.signature) for f in fuzzer.findings.values())
    print(f"seed {args.seed}: {args.count} files run in {seconds:.1f} s ({checker.runs} checker runs, "
          f"checker sources {version}); "
          f"{files} file(s) with findings" + (f", saved in {FINDINGS_DIR.relative_to(ROOT)}/" if files else ""))
    for kind in KINDS:
        top = [(sig, n) for (k, sig), n in signatures.most_common() if k == kind][:3]
        print(f"  {kind}: {kinds[kind]}" + "".join(f"\n      {n}x {sig}" for sig, n in top))
    print(f"fuzz: {args.count} files, {len(fuzzer.findings)} findings")
    return 1 if fuzzer.findings else 0


if __name__ == "__main__":
    sys.exit(main())
