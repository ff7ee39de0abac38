"""The team file stays private: no e-mail address of `playbook/team.yml` in any file of the built site
(workbooks unzipped, the gzipped sitemap opened), and `team.yml` is read under the deal files' rules."""

from __future__ import annotations

import gzip
import html
import io
import os
import re
import subprocess
import sys
import urllib.parse
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import AS_OF_EPOCH, Project, run_check

from generator.site.paths import SitePaths

BUILD_LIMIT = 300  # seconds: only a hang (a FIFO opened for reading) comes anywhere near it


def team_emails(team_file: Path) -> list[str]:
    members = yaml.safe_load(team_file.read_text(encoding="utf-8"))["members"]
    return [m["email"] for m in members if m.get("email")]


def site_files(site: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every file of the site; a workbook's every part, a .gz file's content."""
    for path in sorted(site.rglob("*")):
        if not path.is_file():
            continue
        name, data = path.relative_to(site).as_posix(), path.read_bytes()
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(io.BytesIO(data)) as book:
                for part in book.infolist():
                    yield f"{name}!{part.filename}", book.read(part)
        elif path.suffix == ".gz":
            yield name, gzip.decompress(data)
        else:
            yield name, data


def readable(data: bytes) -> str:
    """The text a reader or a tool gets back: an address escaped for HTML, XML, a URL or JSON is still there."""
    text = data.decode("utf-8", errors="replace")
    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), text)
    return html.unescape(urllib.parse.unquote(text)).casefold()


def leaks(site: Path, emails: list[str]) -> tuple[list[str], int]:
    """Where any of `emails` appears, and how many files (workbook parts counted one by one) were read."""
    found, read = [], 0
    for name, data in site_files(site):
        read += 1
        text = readable(data)
        found += [f"{name}: {email}" for email in emails if email.casefold() in text]
    return found, read


def assert_no_email_in(site: Path, emails: list[str]) -> None:
    found, read = leaks(site, emails)
    assert found == []
    names = [name for name, _ in site_files(site)]
    # The scan really covered what could carry an address: both languages' pages, data, search, sitemap and
    # workbook parts.
    for must in ("deals.json", "pipeline.json", "sitemap.xml", "search/search_index.js", "zh/index.html",
                 "zh/search/search_index.js", "sitemap.xml.gz"):
        assert must in names, must
    for prefix in ("workbooks/pipeline", "zh/workbooks/pipeline"):  # (under /zh/: pipeline.xlsx or pipeline-zh.xlsx)
        assert any(re.match(re.escape(prefix) + r"(-zh)?\.xlsx!xl/", n) for n in names), prefix
    assert read > 200


def owner_page_of(site: Path, name: str) -> str:
    """The owner page that says it is `name`'s, found on the site (not from the slug rule under test)."""
    marker = f'data-owner="{html.escape(name)}"'
    pages = [p for p in (site / "deals" / "owners").glob("*.html") if marker in p.read_text(encoding="utf-8")]
    assert len(pages) == 1, (name, pages)
    return pages[0].name


def test_the_scan_finds_an_address_however_it_is_written(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "workbooks").mkdir(parents=True)
    with zipfile.ZipFile(site / "workbooks" / "x.xlsx", "w") as book:
        book.writestr("xl/sharedStrings.xml", "<si><t>Li.Wei&#64;example.com</t></si>")
    (site / "sitemap.xml.gz").write_bytes(gzip.compress(b"mailto:chen.jing%40example.com"))
    (site / "deals.json").write_text('{"m": "wang.lei\\u0040example.com"}', encoding="utf-8")
    (site / "page.html").write_text("zhao.min&#x40;example.com", encoding="utf-8")
    emails = ["li.wei@example.com", "chen.jing@example.com", "wang.lei@example.com", "zhao.min@example.com",
              "nobody@example.com"]
    found, read = leaks(site, emails)
    assert sorted(found) == ["deals.json: wang.lei@example.com", "page.html: zhao.min@example.com",
                             "sitemap.xml.gz: chen.jing@example.com",
                             "workbooks/x.xlsx!xl/sharedStrings.xml: li.wei@example.com"]
    assert read == 4


def test_no_email_of_the_sample_team_is_published(sample_project: Project) -> None:
    team_file = sample_project.root / "playbook" / "team.yml"
    emails = team_emails(team_file)
    assert len(emails) == 9
    sample_project.build()
    names = [m["name"] for m in yaml.safe_load(team_file.read_text(encoding="utf-8"))["members"]]
    for src in SitePaths.owner_pages(names).values():  # every member's page, in both languages, was made
        page = src.removesuffix(".md") + ".html"
        assert (sample_project.site / page).is_file() and (sample_project.site / "zh" / page).is_file(), page
    assert_no_email_in(sample_project.site, emails)


GENERATED_TEAM = """\
members:
  - name: Ann Lee
    email: ann.lee@example.com
    quotas: {2026-Q4: 500000, 2027-Q1: 600000}
  - name: 李娜
    email: Li.Na+Sales@Example.ORG
    quotas: {2027-Q1: 400000}
  - name: Bo Chen
    email: bo.chen@example.net
    quotas: {2027-Q1: 300000}
  - name: José Núñez
    email: jose@example.es
"""


def _deal(owner: str, amount: int) -> str:
    return (f"title: Deal of {owner}\naccount: Example Co\nowner: {owner}\nstage: 2\nstatus: open\n"
            f"amount: {amount}\nexpected_close: 2027-01-31\n")


def test_no_email_is_published_for_members_with_and_without_deals(project: Project) -> None:
    team_file = project.root / "playbook" / "team.yml"
    team_file.write_text(GENERATED_TEAM, encoding="utf-8")
    project.write_deal("ann.yml", _deal("Ann Lee", 200000))
    project.write_deal("lina.yml", _deal("李娜", 300000))  # Bo Chen and José Núñez own no deal
    project.build()
    for name in ("Ann Lee", "李娜", "Bo Chen", "José Núñez"):
        page = owner_page_of(project.site, name)
        assert (project.site / "zh" / "deals" / "owners" / page).is_file()
    assert_no_email_in(project.site, team_emails(team_file))


# --- team.yml read like a deal file ---------------------------------------------------------------

def run_build(cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SOURCE_DATE_EPOCH": AS_OF_EPOCH, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=BUILD_LIMIT)


def _link_out_of_the_project(project: Project, team_file: Path) -> None:
    outside = project.root.parent / "elsewhere-team.yml"
    outside.write_text(GENERATED_TEAM, encoding="utf-8")  # a valid team file: only where it is is wrong
    team_file.symlink_to(outside)


def _folder(project: Project, team_file: Path) -> None:
    team_file.mkdir()
    (team_file / "members.yml").write_text(GENERATED_TEAM, encoding="utf-8")


def _fifo(project: Project, team_file: Path) -> None:
    os.mkfifo(team_file)


def _broken_link(project: Project, team_file: Path) -> None:
    team_file.symlink_to("gone.yml")


CASES = [
    ("link out of the project", _link_out_of_the_project, "points outside the project (to ", "项目之外"),
    ("folder", _folder, "is a folder (the team is one file", "文件夹"),
    ("fifo", _fifo, "is a named pipe (FIFO), not a file (remove it and save the team", "命名管道"),
    ("broken link", _broken_link, "is a broken link", "链接"),
]


@pytest.mark.parametrize("case,make,words,zh_words", CASES, ids=[c[0] for c in CASES])
def test_a_team_file_that_is_not_a_file_in_the_project_is_one_error_line(project: Project, case, make, words,
                                                                        zh_words) -> None:
    project.write_deal("ann.yml", _deal("Ann Lee", 200000))
    make(project, project.root / "playbook" / "team.yml")
    for lang, expected in (("en", words), ("zh", zh_words)):
        result = run_check(project.root, "--lang", lang)  # a FIFO opened for reading would hang here
        assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr, result.stderr
        errors = [line for line in result.stdout.splitlines() if ": error: " in line]
        assert len(errors) == 1, result.stdout
        assert errors[0].startswith("playbook/team.yml:1:1: error: ") and expected in errors[0], errors[0]
        assert errors[0].endswith(")"), "a hint in parentheses: " + errors[0]
        assert "deal" not in errors[0].split("error: ", 1)[1]  # the team file's own hints, not a deal's
    [line] = [line for line in run_check(project.root).stdout.splitlines() if ": error: " in line]
    build = run_build(project.root)
    assert build.returncode != 0 and "Traceback" not in build.stdout + build.stderr
    assert line in build.stdout + build.stderr
    if case == "link out of the project":
        assert str((project.root.parent / "elsewhere-team.yml").resolve()) in line


def test_a_team_file_linked_from_inside_the_project_is_read(project: Project) -> None:
    project.write_deal("ann.yml", _deal("Ann Lee", 200000))
    (project.root / "private").mkdir()
    (project.root / "private" / "team.yml").write_text(GENERATED_TEAM, encoding="utf-8")
    (project.root / "playbook" / "team.yml").symlink_to(Path("..") / "private" / "team.yml")
    # Without mkdocs.yml's `exclude_docs: team.yml` too, the plugin alone keeps the file out of the site.
    config = project.root / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    assert "\n  team.yml\n" in text
    config.write_text(text.replace("\n  team.yml\n", "\n"), encoding="utf-8")
    result = run_check(project.root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not a member of the team" not in result.stdout  # Ann Lee was found in it
    project.build()
    owner_page_of(project.site, "Bo Chen")  # a member without deals: read from the linked file
    assert_no_email_in(project.site, team_emails(project.root / "private" / "team.yml"))
    assert not list(project.site.rglob("team.yml"))



def test_a_stage_model_named_outside_the_project_brings_its_own_team_file(project: Project) -> None:
    """`dealbook check --model elsewhere/playbook.yml` (as the fuzzer and a shared playbook do) reads the team
    file beside that model; a link there that leads out of the model's folder is still refused."""
    project.write_deal("ann.yml", _deal("Ann Lee", 200000))
    shared = project.root.parent / "shared-playbook"
    shared.mkdir()
    (project.root / "playbook" / "playbook.yml").rename(shared / "playbook.yml")
    (shared / "team.yml").write_text(GENERATED_TEAM, encoding="utf-8")
    result = run_check(project.root, "--model", str(shared / "playbook.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not a member of the team" not in result.stdout  # Ann Lee was found in the team beside the model
    (shared / "team.yml").rename(project.root.parent / "elsewhere-team.yml")
    (shared / "team.yml").symlink_to(project.root.parent / "elsewhere-team.yml")
    result = run_check(project.root, "--model", str(shared / "playbook.yml"))
    assert result.returncode == 1 and "points outside the project" in result.stdout, result.stdout
