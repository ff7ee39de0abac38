"""The buyer's page of a shared deal (the customer build): its token, its HTML, its calendar and workbook.

A static site has no login, so the page's address is its only lock: `plan/<token>/`, where the token is
the first 26 characters of the base32 HMAC-SHA256 of the deal id under a secret given at build time
(`DEALBOOK_SHARE_SECRET`), 130 bits that one buyer cannot guess from another's address or from a deal's
name. A new secret moves every page.

The page is a standalone HTML file (its own small stylesheet, no theme, no script, no navigation, no
search, no sitemap): the theme's navigation and search index would list every other page of the build,
and so every other buyer's address. It shows only the deal's title and account, the plan in the buyer's
purchasing steps (the stage model's `customer_step` texts, not our stage names), the milestones on both
sides and the agreed next steps, with the plan as `.ics` and `.xlsx` to download.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import date
from typing import TYPE_CHECKING

import jinja2
from markupsafe import Markup, escape

if TYPE_CHECKING:
    from ..labels import Labels
    from ..sources.deal_files import Deal
    from ..sources.stage_model import StageModel

SECRET_ENV = "DEALBOOK_SHARE_SECRET"
TOKEN_CHARS = 26  # of base32: 130 bits
FOLDER = "plan"  # plan/<token>/index.html, plan.ics, plan.xlsx
CALENDAR = "plan.ics"
WORKBOOK = "plan.xlsx"


def share_token(secret: str, deal_id: str) -> str:
    """The unguessable part of a shared deal's address: lower-case base32 of HMAC-SHA256(secret, deal id)."""
    digest = hmac.new(secret.encode("utf-8"), deal_id.encode("utf-8"), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:TOKEN_CHARS]


def share_folder(secret: str, deal_id: str, language_prefix: str = "") -> str:
    """The site folder of a deal's page in a language (`""` for the first, `zh/` for another)."""
    return f"{language_prefix}{FOLDER}/{share_token(secret, deal_id)}"


def _text(value: object) -> Markup:
    return Markup("<br>").join(escape(str(value)).split("\n"))


_ENV = jinja2.Environment(loader=jinja2.PackageLoader("generator.site", "templates"), autoescape=True,
                          trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
_ENV.filters["text"] = _text


def share_page(deal: Deal, model: StageModel, labels: Labels, as_of: date,
               languages: list[tuple[str, str, bool]], workbook: bool) -> str:
    """The buyer's page in `labels`' language. `languages`: (name, link, is this page) for the language switch;
    `workbook`: whether the plan's `.ics` and `.xlsx` are beside it (a deal with a plan)."""
    by_step: dict[int, list] = {s.number: [] for s in model.stages}
    other = []
    for m in sorted(deal.plan, key=lambda m: m.due):
        (by_step[m.stage] if m.stage in by_step else other).append(m)
    steps = [(s, labels.pick(s, "customer_step"), by_step[s.number]) for s in model.stages]
    return _ENV.get_template("share.html.j2").render(
        d=deal, labels=labels, as_of=as_of, date=labels.formats.date, steps=steps, other=other,
        next_steps=sorted(deal.next_steps, key=lambda s: (s.done, s.due or date.max)), languages=languages,
        calendar=CALENDAR if workbook else "", workbook=WORKBOOK if workbook else "", lang=labels.language_tag)
