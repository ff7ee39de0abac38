"""The one content cache: verified entries, keys that follow the code, and a build that survives a bad cache."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import AS_OF_EPOCH, ROOT, Project

from generator.cache import MAGIC, Cache, fingerprint

KINDS = ("deals", "pages", "workbooks", "history")


# --- the cache on its own ----------------------------------------------------------------------

def test_an_entry_reads_back_only_under_its_own_key(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c")
    cache.put("pages", "k1", b"one")
    cache.put("pages", "k2", b"two")
    assert cache.get("pages", "k1") == b"one" and cache.get("pages", "k2") == b"two"
    assert cache.get("pages", "k3") is None and cache.get("deals", "k1") is None
    # Another entry's bytes copied over this one do not verify.
    shutil.copy(cache.path("pages", "k2"), cache.path("pages", "k1"))
    assert cache.get("pages", "k1") is None and cache.damaged == 1


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "foreign"])
def test_a_damaged_entry_is_ignored(tmp_path: Path, damage: str) -> None:
    cache = Cache(tmp_path)
    cache.put("deals", "key", b"payload " * 100)
    path = cache.path("deals", "key")
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data[-10] ^= 0x01
    elif damage == "empty":
        data = bytearray()
    else:  # a pickle that is not ours
        data = bytearray(b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01.")
    path.write_bytes(bytes(data))
    assert cache.get("deals", "key") is None
    cache.put("deals", "key", b"rebuilt")
    assert cache.get("deals", "key") == b"rebuilt"


def test_keys_depend_on_the_code_and_the_inputs(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    assert cache.key("a", "b") != cache.key("ab") != cache.key("a", "c")
    assert len(fingerprint()) == 64


def test_prune_keeps_only_what_was_used(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    for key in ("a", "b", "c"):
        cache.put("pages", key, key.encode())
    cache.prune("pages", {"b"})
    assert sorted(p.name for p in (tmp_path / "pages").iterdir()) == ["b"]


def test_no_directory_means_no_cache() -> None:
    cache = Cache(None)
    cache.put("pages", "k", b"x")
    assert cache.get("pages", "k") is None and not cache.writable


# --- builds with a bad cache ---------------------------------------------------------------------

def _git(root: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Rep", "GIT_AUTHOR_EMAIL": "rep@example.com",
           "GIT_COMMITTER_NAME": "Rep", "GIT_COMMITTER_EMAIL": "rep@example.com",
           "GIT_AUTHOR_DATE": "2026-11-01T09:00:00+00:00", "GIT_COMMITTER_DATE": "2026-11-01T09:00:00+00:00"}
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env)


def _site(project: Project) -> dict[str, bytes]:
    return {p.relative_to(project.site).as_posix(): p.read_bytes()
            for p in sorted(project.site.rglob("*")) if p.is_file()}


@pytest.fixture
def committed(sample_project: Project) -> Project:
    _git(sample_project.root, "init", "-q", "-b", "main")
    _git(sample_project.root, "add", "-A")
    _git(sample_project.root, "commit", "-qm", "Deals")
    return sample_project


@pytest.fixture(scope="module")
def clean_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    """The committed sample project built once with an empty cache: its folder and its site."""
    root = tmp_path_factory.mktemp("clean") / "project"
    shutil.copytree(ROOT / "playbook", root / "playbook")
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(ROOT / "deals", root / "deals")
    for args in (("init", "-q", "-b", "main"), ("add", "-A"), ("commit", "-qm", "Deals")):
        _git(root, *args)
    project = Project(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", AS_OF_EPOCH)
        mp.chdir(root)
        project.build()
    return root, _site(project)


@pytest.mark.parametrize("damage", ["truncate", "flip", "swap"])
def test_every_kind_of_damaged_entry_gives_the_clean_site(clean_build: tuple[Path, dict[str, bytes]],
                                                          tmp_path: Path, damage: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    source, clean = clean_build
    committed = Project(tmp_path / "project")
    shutil.copytree(source, committed.root, symlinks=True)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", AS_OF_EPOCH)
    monkeypatch.chdir(committed.root)
    cache_dir = committed.root / ".cache"
    entries = {kind: sorted((cache_dir / kind).iterdir()) for kind in KINDS}
    assert all(entries.values()), {k: len(v) for k, v in entries.items()}
    everything = [p for paths in entries.values() for p in paths]
    for path in everything:
        data = bytearray(path.read_bytes())
        assert data.startswith(MAGIC)
        if damage == "truncate":
            data = data[: len(data) * 2 // 3]
        elif damage == "flip":
            data[len(data) // 2 + len(MAGIC)] ^= 0x10
        else:  # another entry's bytes, verified under its own key, not this one
            other = everything[(everything.index(path) + 1) % len(everything)]
            data = bytearray(other.read_bytes())
        path.write_bytes(bytes(data))
    committed.build()
    assert _site(committed) == clean
    # The damaged entries were rebuilt and overwritten: a third build reads them back.
    cache = Cache(cache_dir)
    for kind, paths in entries.items():
        for path in paths:
            assert cache.get(kind, path.name) is not None, (kind, path.name)


def _without_write_override(args: list[str]) -> list[str]:
    """Run as root without CAP_DAC_OVERRIDE, so file permissions bind as for any other user."""
    if os.geteuid() != 0:
        return args
    drop = "-dac_override,-dac_read_search"
    return ["setpriv", f"--bounding-set={drop}", f"--inh-caps={drop}", *args]


def test_a_read_only_cache_builds_and_checks_after_a_deal_changes(committed: Project) -> None:
    committed.build()
    cache_dir = committed.root / ".cache"
    path = committed.deals / "northwind-mes-upgrade.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("title: ", "title: Renamed ", 1), encoding="utf-8")
    for folder in [cache_dir, *(p for p in cache_dir.rglob("*") if p.is_dir())]:
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    try:
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        build = subprocess.run(_without_write_override([sys.executable, "-m", "generator", "build"]),
                               cwd=committed.root, capture_output=True, text=True, env=env, timeout=300)
        assert build.returncode == 0, build.stderr[-3000:]
        assert "Traceback" not in build.stderr
        assert build.stderr.count("cannot write the cache folder") == 1, build.stderr
        assert "Renamed" in committed.page("deals/northwind-mes-upgrade")
        check = subprocess.run(_without_write_override([sys.executable, "-m", "generator", "check"]),
                               cwd=committed.root, capture_output=True, text=True, env=env, timeout=300)
        assert check.returncode == 0 and "Traceback" not in check.stderr, check.stderr
        assert "0 error(s)" in check.stderr
    finally:
        for folder in [cache_dir, *(p for p in cache_dir.rglob("*") if p.is_dir())]:
            folder.chmod(0o755)


def test_editing_a_template_helper_changes_the_rebuilt_pages(sample_project: Project, tmp_path: Path) -> None:
    """No list of source files to keep: any change to the package's code invalidates what it made."""
    code = tmp_path / "code"
    shutil.copytree(ROOT / "generator", code / "generator", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(code), "PYTHONDONTWRITEBYTECODE": "1"}

    def build(cache: str) -> str:
        result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q"], cwd=sample_project.root, env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        return sample_project.page("deals/northwind-mes-upgrade")

    probe = subprocess.run([sys.executable, "-c", "import generator; print(generator.__file__)"], env=env,
                           capture_output=True, text=True, cwd=sample_project.root)
    assert probe.stdout.strip().startswith(str(code)), probe.stdout  # the copy is what runs
    before = build("warm")
    labels = code / "generator" / "labels.py"
    text = labels.read_text(encoding="utf-8")
    marker = "def stage_name(self, stage) -> str:\n        return self.pick(stage, \"name\")"
    assert marker in text
    labels.write_text(text.replace(marker, marker.replace('self.pick(stage, "name")',
                                                          '"~" + self.pick(stage, "name") + "~"')), encoding="utf-8")
    after = build("warm")
    assert "~" not in before and "~" in after
    shutil.rmtree(sample_project.root / ".cache")
    assert build("cold") == after


def test_a_bundle_keeps_many_entries_in_one_file_and_drops_what_was_not_used(tmp_path: Path) -> None:
    from generator.cache import Bundle

    bundle = Bundle(Cache(tmp_path), "deals")
    for key in ("a", "b", "c"):
        bundle.put(key, key.encode() * 100)
    bundle.save(keep={"a", "b"})
    assert [p.name for p in (tmp_path / "deals").iterdir()] == [Bundle.NAME]  # one file, not one per entry
    again = Bundle(Cache(tmp_path), "deals")
    assert again.get("a") == b"a" * 100 and again.get("b") == b"b" * 100 and again.get("c") is None
    # Damaged, it is an empty bundle, not an error; the next save writes a good one.
    path = tmp_path / "deals" / Bundle.NAME
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01
    path.write_bytes(bytes(data))
    damaged = Bundle(Cache(tmp_path), "deals")
    assert damaged.get("a") is None
    damaged.put("a", b"rebuilt")
    damaged.save()
    assert Bundle(Cache(tmp_path), "deals").get("a") == b"rebuilt"
