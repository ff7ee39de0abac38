"""`dealbook build --audience customer`: the buyer's pages of the shared deals, and nothing else.

An audience that `keeps:` only some fields (`customer` in the shipped stage model) gets no playbook, no
pipeline and no deal pages: it gets, for each deal with `share: true`, one standalone page at an address
no one can guess (`site/share.py`), in each language of the site, with the plan as `.ics` and `.xlsx`. The
deals are read as every build reads them and go through the audience's `keeps:` (`audiences.leave_out`)
before anything is rendered, so what the buyer may not see (amounts, probabilities, grades, stakeholder
notes, the negotiation, every other deal) never reaches a template or a writer.

Without `DEALBOOK_SHARE_SECRET` the build refuses in one line (exit 1) and `site/` stays as it was; the
folder is written beside it and swapped in whole (`publish.Publish`), like every build. No theme, no
search index, no sitemap: each would list every buyer's page to every buyer. Empty `index.html` files
stand in the folders above the pages, so that a server that lists folders lists none, and `robots.txt`
asks crawlers to stay away.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from pathlib import Path

from .build import DEFAULT_CACHE, read_project
from .cache import Cache
from .diagnostics import format_problems
from .labels import Labels, languages
from .publish import Publish
from .site.ics import plan_calendar
from .site.share import CALENDAR, FOLDER, SECRET_ENV, WORKBOOK, share_folder, share_page
from .sources.audiences import AUDIENCE_ENV, for_audience, leave_out
from .sources.stage_model import StageModelError, load_stage_model
from .workbooks.plan_book import plan_workbook

_EMPTY_PAGE = ('<!doctype html>\n<html><head><meta charset="utf-8"><meta name="robots" content="noindex, nofollow">'
               "<title></title></head><body></body></html>\n")


def _config(args: list[str]) -> tuple[Path, dict]:
    """mkdocs.yml (the one `-f` names) read as plain YAML, mkdocs' own tags ignored; {} when unreadable."""
    import yaml

    class Lenient(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        pass

    Lenient.add_multi_constructor("", lambda loader, suffix, node: None)
    config = Path(next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-f", "--config-file")),
                       next((a.split("=", 1)[1] for a in args if a.startswith("--config-file=")), "mkdocs.yml")))
    try:
        data = yaml.load(config.read_text(encoding="utf-8"), Loader=Lenient)  # noqa: S506 - a safe loader
    except (OSError, UnicodeError, ValueError, yaml.YAMLError):  # ValueError: a date YAML cannot make (02-30)
        data = None  # the build's own checks then say what is wrong, in one line
    return config, data if isinstance(data, dict) else {}


def _plugin_options(data: dict) -> dict:
    plugins = data.get("plugins")
    entries = plugins.items() if isinstance(plugins, dict) else \
        [next(iter(p.items())) for p in plugins or [] if isinstance(p, dict) and len(p) == 1] \
        if isinstance(plugins, list) else []
    return next((o for n, o in entries if n == "dealbook" and isinstance(o, dict)), {})


def _site_dir(args: list[str], data: dict, base: Path) -> Path:
    given = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-d", "--site-dir")),
                 next((a.split("=", 1)[1] for a in args if a.startswith("--site-dir=")), None))
    if given is not None:
        return Path(given)
    return base / str(data.get("site_dir") or "site")


def customer_build(audience: str | None, args: list[str], root: Path, as_of: Callable[[], date],
                   language: str | None, echo: Callable[..., None]) -> int | None:
    """Build the buyer's pages for `audience` (None: `DEALBOOK_AUDIENCE`, else the plugin's `audience:` in
    mkdocs.yml) when it is one that `keeps:` only some fields (the exit code); None when it is not such an
    audience (the site is then built by the engine, or refused, as before)."""
    config, data = _config(args)
    base = config.parent
    options = _plugin_options(data)
    audience = audience or os.environ.get(AUDIENCE_ENV, "").strip() or str(options.get("audience") or "").strip()
    if not audience:  # the team's site: nothing more is read here
        return None
    model_path = base / str(options.get("stage_model") or "playbook/playbook.yml")
    try:
        model = load_stage_model(model_path, str(model_path))
    except (StageModelError, OSError):
        return None  # the engine's build reports it
    wanted = next((a for a in model.audiences if a.name == audience), None)
    if wanted is None or wanted.builds_site:
        return None
    codes = [str(c) for c in options.get("languages") or [] if str(c) in languages()] or \
        [language if language in languages() else "en"]
    first = Labels(language if language in codes else codes[0])
    secret = os.environ.get(SECRET_ENV, "")
    if not secret.strip():
        echo(first("share_no_secret", name=audience, env=SECRET_ENV), err=True)
        return 1
    deals_dir = base / str(options.get("deals_dir") or "deals")
    project = read_project(root, model_path, deals_dir, as_of(), first, Cache(root / DEFAULT_CACHE), history="none")
    if project.model is None or project.pipeline is None or project.problems.errors:
        echo(format_problems(project.problems.errors, labels=first), err=True)
        return 1
    model = for_audience(project.model, audience)
    assert model is not None
    # Only the shared deals, and of them only what the audience keeps: nothing else reaches a page.
    deals = leave_out([v.deal for v in project.pipeline.deals if v.deal.share], model)
    day = project.pipeline.as_of
    publish = Publish.begin(str(_site_dir(args, data, base)), keep_current=False, exclusive=False)
    if publish is None:
        echo(first("share_no_site", site=str(_site_dir(args, data, base))), err=True)
        return 1
    out = publish.staging
    try:
        _write(out, deals, model, codes, secret, day)
        publish.commit()
    except OSError as exc:  # a full disk, a folder that cannot be written: one line, the site as it was
        publish.abandon()
        echo(f"error: --audience: {exc}", err=True)
        return 1
    except BaseException:
        publish.abandon()
        raise
    echo(first("share_built", n=len(deals), site=str(publish.target)))
    for deal in deals:
        echo(f"  {deal.id}: {share_folder(secret, deal.id)}/")
    return 0


def _write(out: Path, deals: list, model, codes: list[str], secret: str, day: date) -> None:
    """Every file of the customer build into `out` (the staging folder)."""
    (out / "robots.txt").write_text("User-agent: *\nDisallow: /\n", encoding="utf-8")
    prefixes = {code: "" if i == 0 else f"{code}/" for i, code in enumerate(codes)}
    for prefix in prefixes.values():
        for folder in (f"{prefix}", f"{prefix}{FOLDER}/"):
            (out / folder).mkdir(parents=True, exist_ok=True)
            (out / folder / "index.html").write_text(_EMPTY_PAGE, encoding="utf-8")
    for deal in deals:
        for code, prefix in prefixes.items():
            labels = Labels(code)
            folder = out / share_folder(secret, deal.id, prefix)
            folder.mkdir(parents=True)
            up = "../" * (2 + prefix.count("/"))  # from this page's folder to the site's root
            switch = [(Labels(c).language_name, f"{up}{share_folder(secret, deal.id, p)}/index.html", c == code)
                      for c, p in prefixes.items()]
            if deal.plan:
                (folder / CALENDAR).write_bytes(plan_calendar(deal, labels, day, labels.share_sides))
                (folder / WORKBOOK).write_bytes(plan_workbook(deal, model, labels, day))
            page = share_page(deal, model, labels, day, switch, workbook=bool(deal.plan))
            (folder / "index.html").write_text(page, encoding="utf-8")
