"""The waterfall adds up exactly, from the open pipeline at a window's start to the one at its end.

A property test over a generated history: 200 deals, 20 commits each on random days of a year, every
change a rep can make (stage, status, amount with cents, currency, close date, reopening, deleting).
For every 7- and 30-day window ending on each day of the year, start + new + increases − decreases
− won − lost − removed equals end to the cent, in every currency, and start and end are the open
pipeline counted independently from the versions.
"""

from __future__ import annotations

import dataclasses
import random
from collections import defaultdict
from datetime import date, timedelta

from conftest import ROOT

from generator.model import movement as mv
from generator.sources.deal_versions import DealVersions, Facts, Version
from generator.sources.stage_model import load_stage_model

FIRST_DAY = date(2026, 1, 1)
CURRENCIES = ("CNY", "USD", "EUR", "JPY")  # JPY has no rate: a pipeline of its own


def generated_history(seed: int = 20261205, deals: int = 200, commits: int = 20) -> DealVersions:
    rnd = random.Random(seed)
    history = {}
    for n in range(deals):
        days = sorted(rnd.sample(range(365), commits))
        facts = Facts(rnd.randint(1, 8), "open", round(rnd.uniform(1, 5_000_000), 2), rnd.choice(CURRENCIES),
                      FIRST_DAY + timedelta(days=rnd.randint(30, 500)), None, "Ann")
        versions = []
        for day in days:
            roll = rnd.random()
            if roll < 0.25:
                facts = facts._replace(stage=rnd.randint(1, 8))
            elif roll < 0.45:
                facts = facts._replace(amount=round(facts.amount * rnd.uniform(0.5, 1.6), 2))
            elif roll < 0.55:
                facts = facts._replace(currency=rnd.choice(CURRENCIES))
            elif roll < 0.7:
                facts = facts._replace(expected_close=facts.expected_close + timedelta(days=rnd.randint(-40, 60)))
            elif roll < 0.85:
                facts = facts._replace(status=rnd.choice(("won", "lost", "abandoned", "open")))
            if rnd.random() < 0.03:
                versions.append(Version(FIRST_DAY + timedelta(days=day), None))  # deleted (perhaps restored later)
            else:
                versions.append(Version(FIRST_DAY + timedelta(days=day), facts))
        history[f"deal-{n:03}"] = versions
    return DealVersions(history)


def open_pipeline(history: DealVersions, day: date, model) -> dict[str, int]:
    """The open pipeline at the end of `day`, in cents per bucket, counted from the versions directly."""
    bucket = mv._bucketer(model, mv.model_reporting(model))
    out: dict[str, int] = defaultdict(int)
    for versions in history.deals.values():
        last = None
        for version in versions:
            if version.date <= day:
                last = version.facts
        if last is not None and last.status == "open":
            key, amount = bucket(last.amount, last.currency)
            out[key] += mv._cents(amount)
    return dict(out)


def test_every_7_and_30_day_window_adds_up_to_the_cent() -> None:
    shipped = load_stage_model(ROOT / "playbook" / "playbook.yml")
    model = dataclasses.replace(shipped, reporting_currency="EUR", exchange_rates={"CNY": 0.125, "USD": 0.9})
    history = generated_history()
    checked = 0
    for length in (7, 30):
        for offset in range(0, 365 - length, 1):
            start = FIRST_DAY + timedelta(days=offset)
            end = start + timedelta(days=length)
            flows = mv.waterfall_between(history, model, start, end)
            starts, ends = open_pipeline(history, start, model), open_pipeline(history, end, model)
            assert set(flows.cents) >= {k for k, v in {**starts, **ends}.items() if v}
            for key, steps in flows.cents.items():
                assert steps["start"] == starts.get(key, 0) and steps["end"] == ends.get(key, 0), (start, end, key)
                assert (steps["start"] + steps["new"] + steps["increases"] - steps["decreases"] - steps["won"]
                        - steps["lost"] - steps["removed"]) == steps["end"], (start, end, key, steps)
                checked += 1
    assert checked > 1000  # windows × currencies actually compared
