"""Synthetic deals with every field used, for benchmarks and scale tests."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from generator.model.forecast import period_of, shift_period
from generator.sources.skeleton import SCHEMA_LINE
from generator.sources.stage_model import StageModel

REPS = 25  # owners of the synthetic deals: "Rep 0" … "Rep 24"

WORDS = ("integration rollout upgrade platform analytics service network plant warehouse migration "
         "compliance logistics hospital metro energy retail finance quality traceability").split()


def _sentence(rng: random.Random, n: int = 8) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def deal_text(index: int, model: StageModel, as_of: date, rng: random.Random) -> str:
    stages = len(model.stages)
    stage = rng.randint(1, stages)
    status = rng.choices(["open", "won", "lost", "abandoned"], [80, 8, 8, 4])[0]
    if status == "won":
        stage = stages
    close = as_of + timedelta(days=rng.randint(-30, 400))
    lines = [SCHEMA_LINE,
             f"title: {_sentence(rng, 4)[:-1]} {index}",
             f"account: Account {index % 300} Co., Ltd.",
             f"owner: Rep {index % REPS}",
             f"stage: {stage}", f"status: {status}",
             f"amount: {rng.randint(10, 2000) * 10000}",
             f"currency: {rng.choice(['CNY', 'CNY', 'CNY', 'USD', 'EUR'])}",
             f"expected_close: {close.isoformat()}"]
    if status in ("lost", "abandoned"):
        lines.append(f"lost_reason: {_sentence(rng)}")
    lines.append("summary: |\n  " + _sentence(rng, 20) + "\n\n  - **" + _sentence(rng, 5) + "**\n  - "
                 + _sentence(rng, 6))
    lines.append("qualification:")
    lines += [f"  {f.key}: {rng.randint(1, 5)}" for f in model.evaluation.factors if rng.random() < 0.8]
    if lines[-1] == "qualification:":
        lines.pop()
    lines.append("stakeholders:")
    roles, influence, stance = model.keys("roles"), model.keys("influence"), model.keys("stance")
    for n in range(rng.randint(2, 5)):
        role = "decision-maker" if n == 0 else rng.choice(roles)
        lines += [f"  - name: Person {index}-{n}", f"    title: {rng.choice(['CIO', 'CFO', 'Plant manager'])}",
                  f"    role: {role}", f"    influence: {rng.choice(influence)}",
                  f"    stance: {rng.choice(stance)}",
                  f"    last_contact: {(as_of - timedelta(days=rng.randint(1, 90))).isoformat()}",
                  f"    notes: {_sentence(rng, 10)}"]
    if stage > 1:
        lines.append("exits:")
        day = as_of - timedelta(days=30 * stage)
        for n in range(1, stage):
            day += timedelta(days=rng.randint(5, 25))
            lines.append(f"  {n}: {{date: {day.isoformat()}, evidence: {_sentence(rng, 6)[:-1]}}}")
    lines.append("next_steps:")
    for _ in range(rng.randint(1, 3)):
        lines += [f"  - action: {_sentence(rng, 6)}", f"    owner: Rep {index % REPS}",
                  f"    due: {(as_of + timedelta(days=rng.randint(-10, 60))).isoformat()}",
                  f"    done: {'true' if rng.random() < 0.3 else 'false'}"]
    lines.append("competitors:")
    for _ in range(rng.randint(1, 2)):
        lines += [f"  - name: Competitor {rng.randint(1, 40)}", f"    strengths: {_sentence(rng, 6)}",
                  f"    weaknesses: {_sentence(rng, 6)}"]
    lines.append("negotiation:\n  terms:")
    for topic in rng.sample(model.keys("topics"), 3):
        lines += [f"    - topic: {topic}", f"      opening: {_sentence(rng, 4)}", f"      target: {_sentence(rng, 4)}",
                  f"      walk_away: {_sentence(rng, 4)}", f"      customer_position: {_sentence(rng, 4)}",
                  f"      concessions: {_sentence(rng, 4)}"]
    return "\n".join(lines) + "\n"


def write_deals(deals_dir: Path, count: int, model: StageModel, as_of: date, seed: int = 7) -> list[Path]:
    rng = random.Random(seed)
    deals_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = deals_dir / f"deal-{index:05d}.yml"
        path.write_text(deal_text(index, model, as_of, rng), encoding="utf-8")
        paths.append(path)
    return paths


def write_team(path: Path, model: StageModel, as_of: date) -> None:
    """A team file for the synthetic reps, with a quota for each quarter the deals close in (and the one before)."""
    first = period_of(as_of - timedelta(days=30), model.fiscal_year_start)
    periods = [shift_period(first, n) for n in range(-1, 7)]
    lines = ["members:"]
    for rep in range(REPS):
        quotas = ", ".join(f"{p}: {(rep % 5 + 2) * 1_000_000}" for p in periods)
        lines += [f"  - name: Rep {rep}", f"    email: rep{rep}@example.com", f"    quotas: {{{quotas}}}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_calls(path: Path, model: StageModel, as_of: date) -> None:
    """A forecast calls file: each rep and the manager (`team`) called each of the four quarters before the
    as-of day's, and that quarter itself, twice: in its second and its eighth week."""
    from generator.model.accuracy import period_start

    current = period_of(as_of, model.fiscal_year_start)
    lines = ["calls:"]
    for period in (shift_period(current, n) for n in range(-4, 1)):
        start = period_start(period, model.fiscal_year_start)
        for week in (1, 7):
            day = start + timedelta(weeks=week)
            if day > as_of:
                continue
            for owner in [*(f"Rep {rep}" for rep in range(REPS)), "team"]:
                base = (REPS * 3_000_000) if owner == "team" else (int(owner.split()[1]) % 5 + 2) * 1_000_000
                commit = base * (60 + week * 3) // 100
                lines += [f"  - {{date: {day.isoformat()}, owner: {owner}, period: {period}, "
                          f"commit: {commit}, best_case: {commit * 3 // 2}}}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
