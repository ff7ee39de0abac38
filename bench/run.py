"""`make bench`: Dealbook's build against plain mkdocs, in one run, alternating.

Creates a temporary copy of the project with N synthetic deals and two references:
the plain peer (a plain mkdocs-material site of N ordinary pages, `bench/peer.py`:
what a team would otherwise have) and the same-pages baseline (Dealbook's own pages
as hand-written Markdown, the plugin switched off). Then, for each round: both
references, a cold build (empty cache), a warm build (nothing changed), the same two
with the history pages switched off (their difference is what the history pages
cost), a rebuild after one deal changed, the same three builds of the site in one
language (`languages: [en]`: what the two languages cost), and `dealbook check`. Then
`dealbook export` of the English site with an empty cache, and that export built by each engine
there is, none running Dealbook's plugin: plain mkdocs, ProperDocs, Zensical. Also
measures the live preview: from saving a deal file to Chromium showing the change
(median of 5).
Prints medians, ratios and peak memory of the whole process tree (workers included);
writes them to bench/results/. At 10,000 deals only the steps the goals there need
(LARGE_STEPS: the peer, cold builds in one and two languages, `dealbook check`), one round
of them already takes the best part of half an hour.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.peer import write_plain_peer
from bench.synth import write_calls, write_deals, write_team
from generator.build import (
    CALLS_FILE,
    LazyMovement,
    calls_path,
    history_movement,
    quarter_snapshot,
    read_project,
    site_outputs,
)
from generator.cache import Cache
from generator.diagnostics import Problems
from generator.labels import Labels
from generator.model.movement import movement
from generator.site.finished import PLACEHOLDER
from generator.site.history_pages import history_pages
from generator.site.paths import SitePaths
from generator.site.renderer import Renderer
from generator.sources.deal_files import DealLoader, deal_files
from generator.sources.deal_versions import open_versions, read_versions
from generator.sources.history import read_history
from generator.sources.stage_model import load_stage_model

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 11, 27)
EPOCH = str(int(datetime(2026, 11, 27, tzinfo=UTC).timestamp()))
# Against the plain peer, at 1,000 deals: set for a site in one language, so they apply to the
# one-language builds; the shipped site in two languages may cost 1.7× those (issue 15).
TARGETS = {"cold_1": 2.0, "warm_1": 1.3, "one_deal_1": 1.3}
TARGETS_10K = {"cold_1": 2.5}
TWO_LANGUAGES_TARGET = 1.7
# The same site in English only: the A/B pair that prices the second language.
ONE_LANGUAGE = "mkdocs-one-language.yml"
HISTORY_EXTRA_TARGET = 3.0  # seconds a cold build may spend on the history pages (issue 14)
# The same site with the history pages switched off: the A/B pair that prices them.
HISTORY_OFF = "mkdocs-history-off.yml"
BUILDS = ("cold", "warm", "one_deal")  # each also measured as "<name>_1", the site in one language


def _tree(root: int) -> dict[int, tuple[int, float, int]]:
    """Each process of a tree (a process and all its descendants): resident bytes, own CPU seconds, parent."""
    children: dict[int, list[int]] = {}
    stats: dict[int, tuple[int, float, int]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            stats[int(entry.name)] = (int(fields[21]) * os.sysconf("SC_PAGE_SIZE"),
                                      (int(fields[11]) + int(fields[12])) / tick, int(fields[1]))
        except (OSError, IndexError, ValueError):
            continue
    out, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            out[pid] = stats[pid]
        todo.extend(children.get(pid, []))
    return out


def timed(args: list[str], cwd: Path) -> tuple[float, int, float]:
    """Wall seconds, peak resident memory (bytes) and CPU seconds of one command, worker processes included.

    Memory and CPU are sampled over the whole process tree every 50 ms: ru_maxrss covers one process
    (and starts from the benchmark's own size, which a forked child inherits: useless here),
    and wait4's CPU misses the workbook workers (children of multiprocessing's fork server, which the
    build does not wait for). CPU seconds say what a step costs even when other work shares the
    machine and stretches the wall time; a process that lives under 50 ms may be missed."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    started = time.perf_counter()
    process = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0]
    cpu: dict[int, float] = {}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            tree = _tree(process.pid)
            peak[0] = max(peak[0], sum(rss for rss, _, _ in tree.values()))
            for pid, (_, seconds, parent) in tree.items():
                if process.pid not in (pid, parent):  # the build and its own children (git) are in wait4's figure
                    cpu[pid] = max(cpu.get(pid, 0.0), seconds)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    done.set()
    sampler.join()
    seconds = time.perf_counter() - started
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1) or (process.returncode == 1 and "check" not in args):
        raise SystemExit(f"{' '.join(args)} failed in {cwd}:\n{stderr[-3000:]}")
    # The build's own CPU from wait4 (exact, with the children it waited for), the workers as sampled.
    total = usage.ru_utime + usage.ru_stime + sum(cpu.values())
    return seconds, peak[0], total


def make_projects(workdir: Path, count: int, with_baseline: bool = True) -> tuple[Path, Path]:
    """The Dealbook project with N deals, and the baseline with the same pages written by hand."""
    project = workdir / "dealbook"
    project.mkdir()
    # Without the shipped `history_since` (it dates this repository's history): the benchmark's starts earlier.
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    (project / "mkdocs.yml").write_text(re.sub(r"\n *history_since:.*", "", config), encoding="utf-8")
    shutil.copytree(ROOT / "playbook", project / "playbook")
    model = load_stage_model(project / "playbook" / "playbook.yml")
    write_deals(project / "deals", count, model, AS_OF)
    write_team(project / "playbook" / "team.yml", model, AS_OF)  # the synthetic reps, not the sample team
    write_calls(project / "playbook" / CALLS_FILE, model, AS_OF)  # and their forecast calls
    shutil.copy(ROOT / "deals" / "deal.schema.json", project / "deals" / "deal.schema.json")

    baseline = workdir / "baseline"
    shutil.copytree(project / "playbook", baseline / "playbook")
    config = (project / "mkdocs.yml").read_text(encoding="utf-8")
    off = re.sub(r"\n  - dealbook:?\n", "\n  - dealbook:\n      history_pages: false\n", config, count=1)
    assert off != config, "mkdocs.yml no longer lists the dealbook plugin"
    (project / HISTORY_OFF).write_text(off, encoding="utf-8")
    assert "languages: [en, zh]" in config, "mkdocs.yml no longer ships the site in two languages"
    (project / ONE_LANGUAGE).write_text(config.replace("languages: [en, zh]", "languages: [en]"), encoding="utf-8")
    (baseline / "mkdocs.yml").write_text(re.sub(r"\n  - dealbook:?\n(?:      .*\n)*", "\n", config), encoding="utf-8")
    if not with_baseline:  # its pages are rendered here, in the benchmark's process: minutes at 10,000 deals
        return project, baseline
    pipeline = read_project(project, project / "playbook" / "playbook.yml", project / "deals", AS_OF, Labels("en"),
                            Cache(None), history="none").pipeline
    assert pipeline is not None
    outputs, _ = site_outputs(pipeline, Labels("en"), SitePaths(), Cache(None), workbooks=False)
    # The same pages as hand-written Markdown: finished pages with their HTML in the Markdown.
    texts = {src: outputs.pages.finished[src].markdown.replace(PLACEHOLDER, outputs.pages.finished[src].html)
             if src in outputs.pages.finished else text for src, text in outputs.pages.files.items()}
    for src, text in texts.items():
        path = baseline / "playbook" / src
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return project, baseline


def preview_latency(project: Path, rounds: int = 5) -> list[float]:
    """Seconds from saving a deal file to Chromium showing the change, in `dealbook serve`."""
    import socket

    from playwright.sync_api import sync_playwright

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dealbook = str(Path(sys.executable).parent / "dealbook")
    deal = project / "deals" / "deal-00001.yml"
    original = deal.read_text(encoding="utf-8")
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    server = subprocess.Popen([dealbook, "serve", "--livereload", "--dev-addr", f"127.0.0.1:{port}"], cwd=project,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--no-first-run"])
            page = browser.new_page()
            # The page's address as the project's mkdocs.yml makes it (the shipped site: deals/<id>.html).
            directory_urls = not re.search(r"^use_directory_urls:\s*false", (project / "mkdocs.yml").read_text(), re.M)
            url = f"http://127.0.0.1:{port}/deals/deal-00001" + ("/" if directory_urls else ".html")
            deadline = time.monotonic() + 600
            while True:  # the first build of a large site takes a while
                try:
                    page.goto(url, timeout=5000)
                    if page.locator("h1.db-title").count():
                        break
                except Exception:  # noqa: BLE001 - not up yet
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("dealbook serve did not come up")
                time.sleep(1)
            for number in range(rounds):
                # A rep saves into a preview that is ready: not while the first build's workbooks are
                # still rendering in the background, nor while Chromium is still indexing the last
                # page's search (a second of CPU after each reload). So each save waits until this
                # process's tree (the server, its workers, Chromium) is idle.
                _wait_until_idle(os.getpid())
                marker = f"Preview {number} "
                started = time.perf_counter()
                deal.write_text(original.replace("title: ", f"title: {marker}", 1), encoding="utf-8")
                # Polled every 50 ms: Playwright's default, every animation frame, keeps Chromium drawing
                # frames the whole time (about 13 % of a core here), which a rep's browser does not do.
                page.wait_for_function("m => document.querySelector('h1.db-title')?.textContent.includes(m)",
                                       arg=marker.strip(), timeout=120_000, polling=50)
                seconds.append(time.perf_counter() - started)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        deal.write_text(original, encoding="utf-8")
    return seconds


def _cpu_seconds(pid: int) -> float:
    """CPU time so far of a process and every process under it (its workers)."""
    return sum(cpu for _, cpu, _ in _tree(pid).values())


def _wait_until_idle(pid: int, limit: float = 600) -> None:
    """Until a process and every process under it use less than 10 % of a core for two seconds
    (an idle `dealbook serve` polls the deals folder: about 4 %)."""
    deadline = time.monotonic() + limit
    before = _cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(2)
        now = _cpu_seconds(pid)
        if now - before < 0.2:
            return
        before = now


def make_history(project: Path, commits: int) -> None:
    """A git repository in which every deal was changed in each of `commits` commits, some of them stage changes."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}

    def git(*args: str, when: str = "") -> None:
        extra = {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when} if when else {}
        subprocess.run(["git", *args], cwd=project, env={**env, **extra}, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    deals = sorted((project / "deals").glob("*.yml"))
    originals = {p: p.read_text(encoding="utf-8") for p in deals}
    earlier_stage = re.compile(r"^stage: (\d+)", re.M)
    for number in range(commits):
        if number:
            for index, path in enumerate(deals):
                text = originals[path] + f"# revision {number}\n"
                if (index + number) % 5 == 0 and number < commits - 1:
                    # Some revisions move the deal back a stage and the next one forward again:
                    # a history with stage changes to replay, ending where the deal is now.
                    text = earlier_stage.sub(lambda m: f"stage: {max(1, int(m.group(1)) - 1)}", text, count=1)
                path.write_text(text, encoding="utf-8")
        git("add", "-A")
        # Ten days apart, the last the day before the as-of date: the history pages have a full last 30 days.
        day = AS_OF - timedelta(days=1 + (commits - 1 - number) * 10)
        git("commit", "-qm", f"revision {number}", when=f"{day.isoformat()}T12:00:00+00:00")


def history_parts(project: Path) -> dict[str, float]:
    """Seconds of each part of the history pages, in this process: reading the versions from git with an
    empty cache, computing, rendering, and all a rebuild at the same HEAD does (find HEAD, make the key,
    take the pages from the cache)."""
    model = load_stage_model(project / "playbook" / "playbook.yml")
    files = deal_files(project / "deals")
    deals = DealLoader(model, project, Cache(None)).load_all(files, Problems())
    present = {d.id for d in deals}
    pipeline = read_project(project, project / "playbook" / "playbook.yml", project / "deals", AS_OF, Labels("en"),
                            Cache(None), history="none").pipeline
    assert pipeline is not None
    renderer = Renderer(model, Labels("en"), SitePaths())
    out: dict[str, float] = {}
    started = time.perf_counter()
    versions = read_versions(project / "deals", Cache(None))
    out["read_cold"] = time.perf_counter() - started
    assert versions.available, versions.reason
    started = time.perf_counter()
    moved = movement(versions, deals, present, model, AS_OF)
    out["compute"] = time.perf_counter() - started
    pipeline.movement = LazyMovement("bench", lambda: moved)
    started = time.perf_counter()
    history_pages(pipeline, renderer, Cache(None))
    out["render"] = time.perf_counter() - started
    out["events"] = len(moved.events)
    with tempfile.TemporaryDirectory(prefix="dealbook-bench-cache-") as folder:
        cache = Cache(Path(folder))

        def same_head() -> None:  # what read_project and generated_pages do for the history pages
            source = open_versions(project / "deals", cache)
            pipeline.movement = history_movement(source, project / "deals", cache, deals, files, model, AS_OF)
            history_pages(pipeline, renderer, cache)

        same_head()
        started = time.perf_counter()
        same_head()
        out["same_head"] = time.perf_counter() - started
    return out


def forecast_parts(project: Path) -> dict[str, float]:
    """Seconds, in this process, of what the forecast calls, the pace and the quarter-start snapshot add to a
    cold build in both languages: reading and checking calls.yml, judging every closed quarter's calls and
    pacing this one, the forecast page and /forecast.json (`calls`); reading the deal files of the quarter's
    first day from git, computing that day's pipeline and rendering its dashboard, board and /pipeline.json
    (`snapshot`). Nothing is cached: each part starts from the files."""
    from generator.site.pages import _snapshot_pages, forecast_json
    from generator.sources.calls import load_calls

    model_path = project / "playbook" / "playbook.yml"
    model = load_stage_model(model_path)
    read = read_project(project, model_path, project / "deals", AS_OF, Labels("en"), Cache(None), history="full")
    pipeline = read.pipeline
    assert pipeline is not None
    renderers = [Renderer(model, Labels(code), SitePaths()) for code in ("en", "zh")]
    owners = renderers[0].paths.owner_pages(o.owner for o in pipeline.forecast.owners)
    out: dict[str, float] = {}
    started = time.perf_counter()
    pipeline.calls = load_calls(calls_path(model_path), project, model, pipeline.team, AS_OF, Problems())
    assert pipeline.calls is not None and pipeline.accuracy.owners and pipeline.pacing is not None
    for renderer in renderers:
        renderer.forecast_page(pipeline, owners)
    forecast_json(pipeline)
    out["calls"] = time.perf_counter() - started
    out["call_lines"] = len(pipeline.calls.calls)
    history = read_history(project / "deals", Cache(None))
    started = time.perf_counter()
    loader = DealLoader(model, project, Cache(None))
    then = quarter_snapshot(project / "deals", project, loader, model, AS_OF, history, pipeline.team)
    if then is None:  # a history that starts after the quarter's first day (a short benchmark's): no snapshot
        return out
    for number, renderer in enumerate(renderers):
        _snapshot_pages(then, renderer, Cache(None), renderer.labels.language, with_json=number == 0)
    out["snapshot"] = time.perf_counter() - started
    out["snapshot_deals"] = len(then.deals)
    return out


STEPS = ("peer", "baseline", "cold", "warm", "cold_off", "warm_off", "one_deal", "cold_1", "warm_1", "one_deal_1",
         "check", "check_cold", "export", "export_mkdocs", "export_properdocs", "export_zensical")
# `dealbook export` and its project built by each engine (issue 30): `--export-only` runs these beside the peer
# and the plugin's cold build in one language, and writes bench/results/export-N.*.
EXPORT_STEPS = ("peer", "cold_1", "export", "export_mkdocs", "export_properdocs", "export_zensical")
# The forecast calls, the pace and the quarter-start snapshot (issue 29): `--forecast-only` runs the peer and the
# shipped site's cold build beside their in-process parts, and writes bench/results/forecast-N.*.
FORECAST_STEPS = ("peer", "cold")
CALLS_TARGET = 1.0  # seconds the calls and the pace may add to a cold build
SNAPSHOT_TARGET = 0.30  # the quarter-start snapshot's share of a cold build at most
ENGINE_LABELS = {"export_mkdocs": "mkdocs", "export_properdocs": "ProperDocs", "export_zensical": "Zensical"}


def engine_commands() -> dict[str, list[str]]:
    """How each engine installed here builds a project (`-f` names its mkdocs.yml); Zensical lives in a
    virtualenv of its own (`make bench` makes .venv/zensical), or DEALBOOK_ZENSICAL names its command."""
    bin_dir = Path(sys.executable).parent
    found = {"export_mkdocs": [str(bin_dir / "mkdocs"), "build", "-q"]}
    if (bin_dir / "properdocs").is_file():
        found["export_properdocs"] = [str(bin_dir / "properdocs"), "build", "-q"]
    for zensical in (os.environ.get("DEALBOOK_ZENSICAL"), str(ROOT / ".venv" / "zensical" / "bin" / "zensical")):
        if zensical and Path(zensical).is_file():
            found["export_zensical"] = [zensical, "build"]
            break
    return found


def engine_versions(commands: dict[str, list[str]]) -> dict[str, str]:
    out = {}
    for step, command in commands.items():
        done = subprocess.run([command[0], "--version"], capture_output=True, text=True, timeout=60)
        found = re.search(r"\d+\.\d+\.\d+", done.stdout + done.stderr)
        out[step] = found.group(0) if found else "?"
    return out


def site_weight(site: Path) -> dict[str, int]:
    """Bytes of a built site: all of it, its HTML, its search index, and the median deal page with the
    stylesheets and scripts it loads from the site."""
    files = [p for p in site.rglob("*") if p.is_file()]
    index = ("search.json", "search/search_index.json")  # Zensical's, Material's (the .js copies are not counted)
    deal_pages = sorted(p.stat().st_size for p in (site / "deals").glob("deal-*.html"))
    page = site / "deals" / "deal-00001.html"
    assets = 0
    if page.is_file():
        text = page.read_text(encoding="utf-8")
        for ref in set(re.findall(r'(?:href|src)="([^"#?]+\.(?:css|js))', text)):
            target = (page.parent / ref).resolve()
            if target.is_file() and target.is_relative_to(site.resolve()):
                assets += target.stat().st_size
    return {"total": sum(p.stat().st_size for p in files),
            "html": sum(p.stat().st_size for p in files if p.suffix == ".html"), "files": len(files),
            "search_index": sum((site / name).stat().st_size for name in index if (site / name).is_file()),
            "deal_page_median": deal_pages[len(deal_pages) // 2] if deal_pages else 0, "deal_page_assets": assets}
# At 10,000 deals one round of every step takes the best part of an hour; the goals there are the cold
# build against the peer and peak memory (issue 16), and what the second language costs (issue 15).
LARGE_STEPS = ("peer", "cold_1", "cold", "check_cold")


def run(count: int, rounds: int, out_dir: Path, history_commits: int = 20, preview: bool = True,
        steps: tuple[str, ...] = STEPS, results_name: str = "latest") -> dict:
    mkdocs = str(Path(sys.executable).parent / "mkdocs")
    dealbook = str(Path(sys.executable).parent / "dealbook")
    engines = engine_commands()
    samples: dict[str, list[float]] = {k: [] for k in STEPS
                                       if k in steps and (not k.startswith("export_") or k in engines)}
    weights: dict[str, dict[str, int]] = {}
    memory: dict[str, int] = {k: 0 for k in samples}
    cpu_samples: dict[str, list[float]] = {k: [] for k in samples}
    history_seconds: list[float] = []
    parts: list[dict[str, float]] = []
    forecast: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="dealbook-bench-") as tmp:
        project, baseline = make_projects(Path(tmp), count, with_baseline="baseline" in steps)
        peer = Path(tmp) / "peer"
        write_plain_peer(peer, count)
        if history_commits:
            make_history(project, history_commits)
        changed = project / "deals" / "deal-00000.yml"
        original = changed.read_text(encoding="utf-8")
        exported = Path(tmp) / "export"
        # One untimed build each, so that the first measured round does not pay for cold OS caches.
        if count < 10000 or "baseline" in steps:  # at 10,000 an untimed build costs minutes
            timed([mkdocs, "build", "-q"], peer)
            timed([mkdocs, "build", "-q"], baseline)
            timed([dealbook, "build", "-q"], project)

        def step(name: str, number: int) -> tuple[float, int, float]:
            if name == "peer":
                return timed([mkdocs, "build", "-q"], peer)
            if name == "baseline":
                return timed([mkdocs, "build", "-q"], baseline)
            if name in ("cold", "cold_off", "cold_1"):
                shutil.rmtree(project / ".cache", ignore_errors=True)
                shutil.rmtree(project / "site", ignore_errors=True)
            if name in ("cold_off", "warm_off"):
                return timed([dealbook, "build", "-q", "-f", HISTORY_OFF], project)
            if name in ("one_deal", "one_deal_1"):
                changed.write_text(original.replace("title: ", f"title: R{number}{name[-1]} ", 1), encoding="utf-8")
            if name.endswith("_1"):
                return timed([dealbook, "build", "-q", "-f", ONE_LANGUAGE], project)
            elif name == "check":
                return timed([dealbook, "check"], project)
            elif name == "check_cold":  # nothing parsed or read from git before
                shutil.rmtree(project / ".cache", ignore_errors=True)
                return timed([dealbook, "check"], project)
            elif name == "export":  # with an empty cache, as the cold build: every page and workbook made
                shutil.rmtree(project / ".cache", ignore_errors=True)
                return timed([dealbook, "export", str(exported), "-f", ONE_LANGUAGE], project)
            elif name in engines:  # a cold build: no site, and no Zensical cache (.cache beside its mkdocs.yml)
                site = Path(tmp) / f"site-{name}"
                for folder in (site, exported / "site", exported / ".cache"):
                    shutil.rmtree(folder, ignore_errors=True)
                # Zensical builds into the project's site_dir (it has no -d); the others into a folder of their own.
                extra = [] if name == "export_zensical" else ["-d", str(site)]
                measured = timed([*engines[name], "-f", str(exported / "mkdocs.yml"), *extra], exported)
                if name == "export_zensical":
                    shutil.move(exported / "site", site)
                weights[name] = site_weight(site)
                return measured
            return timed([dealbook, "build", "-q"], project)

        for number in range(rounds):
            if history_commits and "cold_off" in steps:
                started = time.perf_counter()
                history = read_history(project / "deals", Cache(None))
                history_seconds.append(time.perf_counter() - started)
                assert history.available and len(history.deals) == count, history.reason
                parts.append(history_parts(project))
            if history_commits and "cold" in steps:
                forecast.append(forecast_parts(project))
            for name in samples:
                seconds, peak, cpu = step(name, number)
                samples[name].append(seconds)
                cpu_samples[name].append(cpu)
                memory[name] = max(memory[name], peak)
                print(f"  round {number + 1}: {name:9s} {seconds:7.2f} s  {peak / 2**20:7.0f} MiB", flush=True)
        try:
            latency = preview_latency(project) if preview else []
        except (SystemExit, Exception) as exc:  # noqa: BLE001 - the build figures above still count
            print(f"  live preview not measured: {exc}", flush=True)
            latency = []
        if latency:
            print("  live preview: " + ", ".join(f"{s:.2f} s" for s in latency), flush=True)
    medians = {k: statistics.median(v) for k, v in samples.items()}
    result = {
        "deals": count, "rounds": rounds, "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                   f"load average {os.getloadavg()[1]:.1f} at the end",  # other work stretches wall times
        "median_seconds": medians, "peak_memory_mib": {k: round(v / 2**20) for k, v in memory.items()},
        "ratio_to_peer": {k: medians[k] / medians["peer"] for k in ("baseline", *BUILDS, *(f"{b}_1" for b in BUILDS))
                          if k in medians},
        "ratio_to_baseline": {k: medians[k] / medians["baseline"] for k in (*BUILDS, *(f"{b}_1" for b in BUILDS))
                              if k in medians and "baseline" in medians},
        # The shipped site (English and Chinese) against the same site in English only.
        "ratio_to_one_language": {b: medians[b] / medians[f"{b}_1"] for b in BUILDS
                                  if b in medians and f"{b}_1" in medians},
        "preview_seconds": statistics.median(latency) if latency else None,
        "preview_samples": latency,
        "history_commits": history_commits,
        "history_seconds": statistics.median(history_seconds) if history_seconds else None,
        # What the history pages add to a build: the A/B difference of whole builds, and its parts in-process.
        "median_cpu_seconds": {k: statistics.median(v) for k, v in cpu_samples.items()},
        "history_pages_extra": {"cold": medians["cold"] - medians["cold_off"],
                                "warm": medians["warm"] - medians["warm_off"]} if "cold_off" in medians else None,
        "history_pages_parts": {k: statistics.median(p[k] for p in parts) for k in parts[0]} if parts else None,
        "forecast_parts": {k: statistics.median(p[k] for p in forecast) for k in forecast[0]} if forecast else None,
        # The exported project's site as each engine built it: bytes (total, HTML, search index, a deal page).
        "engine_versions": engine_versions({k: v for k, v in engines.items() if k in medians}),
        "export_site_bytes": weights,
    }
    for key in ("export", *ENGINE_LABELS):
        if key in medians:
            result["ratio_to_peer"][key] = medians[key] / medians["peer"]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{results_name}-{count}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (out_dir / f"{results_name}-{count}.md").write_text(table(result) + "\n", encoding="utf-8")
    return result


def table(result: dict) -> str:
    m, p, b, mem = result["median_seconds"], result["ratio_to_peer"], result["ratio_to_baseline"], \
        result["peak_memory_mib"]
    targets = TARGETS_10K if result["deals"] >= 10000 else TARGETS

    one = result["ratio_to_one_language"]

    def row(label: str, key: str) -> str:
        if key in BUILDS:  # two languages: priced against the same build in one language
            target = f"{one[key]:.2f}× one language (≤ {TWO_LANGUAGES_TARGET:g}×)" if key in one else ""
        else:
            target = f"≤ {targets[key]}×" if key in targets else ""
        same = f"{b[key]:.2f}×" if key in b else ""
        return f"| {label} | {m[key]:.2f} s | {p[key]:.2f}× | {same} | {target} | {mem[key]} MiB |"

    rows = [
        f"N = {result['deals']:,} deals, median of {result['rounds']} rounds, {result['machine']}, {result['when']}",
        "",
        "| step | median | ratio to plain peer | ratio to same pages | target | peak memory, workers incl. |",
        "|---|---:|---:|---:|---|---:|",
        f"| plain peer: mkdocs-material, {result['deals']:,} ordinary pages | {m['peer']:.2f} s | 1.00× | | "
        f"| {mem['peer']} MiB |",
    ]
    if "baseline" in m:
        rows.append(f"| same pages as plain Markdown (plugin off) | {m['baseline']:.2f} s | {p['baseline']:.2f}× "
                    f"| 1.00× | | {mem['baseline']} MiB |")
    for label, key in (("cold `dealbook build`, English only", "cold_1"),
                       ("warm `dealbook build`, English only", "warm_1"),
                       ("rebuild after one deal changed, English only", "one_deal_1"),
                       ("cold `dealbook build`, English and Chinese (as shipped)", "cold"),
                       ("warm `dealbook build`, English and Chinese", "warm"),
                       ("rebuild after one deal changed, English and Chinese", "one_deal")):
        if key in m:
            rows.append(row(label, key))
    for label, key in (("`dealbook check`", "check"), ("`dealbook check`, empty cache", "check_cold")):
        if key in m:
            rows.append(f"| {label} | {m[key]:.2f} s | | | < 2 s | {mem[key]} MiB |")
    versions = result.get("engine_versions", {})
    if "export" in m:
        rows.append(f"| `dealbook export`, English, empty cache (every page and workbook made, no engine) "
                    f"| {m['export']:.2f} s | {p['export']:.2f}× | | | {mem['export']} MiB |")
    for key, engine in ENGINE_LABELS.items():
        if key in m:
            rows.append(f"| the export built by {engine} {versions.get(key, '')} (no Dealbook plugin) "
                        f"| {m[key]:.2f} s | {p[key]:.2f}× | | | {mem[key]} MiB |")
    if result.get("preview_seconds") is not None:
        rows.append(f"| live preview: save a deal → Chromium shows it (median of {len(result['preview_samples'])}) "
                    f"| {result['preview_seconds']:.2f} s | | | ≤ 2 s | |")
    if result.get("history_seconds") is not None:
        rows.append(f"| reading git history ({result['history_commits']} commits per deal, part of each build) "
                    f"| {result['history_seconds']:.2f} s | | | < 2 s | |")
    extra, parts = result.get("history_pages_extra"), result.get("history_pages_parts")
    if extra is not None:
        cpu = result["median_cpu_seconds"]
        for step, what, target in (("cold", "cold build", f"≤ {HISTORY_EXTRA_TARGET:g} s"),
                                   ("warm", "rebuild at the same HEAD", "nothing measurable")):
            rows.append(f"| history pages: {what} − the same without them ({m[step + '_off']:.2f} s; CPU "
                        f"{cpu[step]:.2f} − {cpu[step + '_off']:.2f} = {cpu[step] - cpu[step + '_off']:+.2f} s) "
                        f"| {extra[step]:+.2f} s | | | {target} | {mem[step + '_off']} MiB without |")
    if parts:
        rows.append(f"| history pages, in-process, cold: read git {parts['read_cold']:.2f} s + compute "
                    f"{parts['compute']:.2f} s + render {parts['render']:.2f} s ({parts['events']:,.0f} events) "
                    f"| {parts['read_cold'] + parts['compute'] + parts['render']:.2f} s | | "
                    f"| ≤ {HISTORY_EXTRA_TARGET:g} s | |")
        rows.append(f"| history pages, in-process, same HEAD (find HEAD, key, cached pages) "
                    f"| {parts['same_head'] * 1000:.0f} ms | | | | |")
    calls = result.get("forecast_parts")
    if calls and "cold" in m:
        rows.append(f"| forecast calls and pace, in-process, both languages: read {calls['call_lines']:,.0f} calls, "
                    f"judge, pace, forecast page and /forecast.json (part of the cold build) | {calls['calls']:.2f} s "
                    f"| | | ≤ {CALLS_TARGET:g} s | |")
    if calls and "cold" in m and "snapshot" in calls:
        rows.append(f"| quarter-start snapshot, in-process: that day's {calls['snapshot_deals']:,.0f} deal files from "
                    f"git, its pipeline, dashboard, board and /pipeline.json in both languages (part of the cold "
                    f"build) | {calls['snapshot']:.2f} s | | {calls['snapshot'] / m['cold']:.0%} of the cold build "
                    f"| ≤ {SNAPSHOT_TARGET:.0%} | |")
    weights = result.get("export_site_bytes") or {}
    if weights:
        rows += ["", "| the export's site, as built by | total | HTML | search index | a deal page | "
                     "its stylesheets and scripts | files |", "|---|---:|---:|---:|---:|---:|---:|"]
        for key, w in weights.items():
            rows.append(f"| {ENGINE_LABELS[key]} {versions.get(key, '')} | {w['total'] / 2**20:.1f} MiB "
                        f"| {w['html'] / 2**20:.1f} MiB | {w['search_index'] / 2**20:.1f} MiB "
                        f"| {w['deal_page_median'] / 1024:.0f} KiB | {w['deal_page_assets'] / 1024:.0f} KiB "
                        f"| {w['files']:,} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=None, help="default: 3, and 1 at 10,000 deals or more")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--history-commits", type=int, default=20, help="commits per deal in the git history")
    parser.add_argument("--update-readme", action="store_true",
                        help="refresh the README's table of this N (1,000, or 10,000)")
    parser.add_argument("--no-preview", action="store_true", help="skip the live-preview latency")
    parser.add_argument("--export-only", action="store_true",
                        help="only the peer, the cold build in one language, `dealbook export` and its build by "
                             "each engine; written to bench/results/export-N.*")
    parser.add_argument("--forecast-only", action="store_true",
                        help="only the peer, the cold build and what the forecast calls, the pace and the "
                             "quarter-start snapshot take of it; written to bench/results/forecast-N.*")
    parser.add_argument("--all-steps", action="store_true",
                        help=f"at 10,000 deals or more, run every step, not only {', '.join(LARGE_STEPS)}")
    args = parser.parse_args(argv)
    if args.rounds is None:
        args.rounds = 1 if args.deals >= 10000 else 3
    print(f"Benchmarking {args.deals:,} deals, {args.rounds} rounds…", flush=True)
    if args.export_only:
        result = run(args.deals, args.rounds, args.out, args.history_commits, preview=False, steps=EXPORT_STEPS,
                     results_name="export")
    elif args.forecast_only:
        result = run(args.deals, args.rounds, args.out, args.history_commits, preview=False, steps=FORECAST_STEPS,
                     results_name="forecast")
    elif args.deals >= 10000 and not args.all_steps:
        result = run(args.deals, args.rounds, args.out, 0, preview=False, steps=LARGE_STEPS)
    else:
        result = run(args.deals, args.rounds, args.out, args.history_commits, preview=not args.no_preview)
    text = table(result)
    print("\n" + text)
    marker = {1000: "bench", 10000: "bench-10000"}.get(args.deals)  # the two sizes the targets are set for
    if args.export_only:
        marker = "bench-export" if args.deals == 1000 else None
    if args.update_readme and marker:
        readme = ROOT / "README.md"
        content = readme.read_text(encoding="utf-8")
        content = re.sub(rf"(<!-- {marker}:start -->\n).*?(\n<!-- {marker}:end -->)",
                         lambda m: m.group(1) + text + m.group(2), content, flags=re.S)
        readme.write_text(content, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
