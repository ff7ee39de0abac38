"""Score, grade, win probability and weighted amount — computed once.

The Python functions and the Excel formulas both come from here, from the
same weights and thresholds of the stage model, so the site, `/deals.json`
and the workbooks cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..sources.stage_model import StageModel

CLOSED_PROBABILITY = {"won": 1.0, "lost": 0.0, "abandoned": 0.0}


def round_half_up(value: float, places: int) -> float:
    """Round like a spreadsheet's ROUND: to 15 significant digits first, then halves away from zero.

    Spreadsheets see 28.749999999999996 as 28.75 (they work to 15 digits) and round it up;
    rounding the float's exact value would give 28.7 and disagree with the workbook.
    """
    return float(Decimal(f"{value:.15g}").quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def evaluation_score(scores: dict[str, int], model: StageModel) -> float | None:
    """Weighted mean of the scored factors on 0–100 (all top marks = 100); None if nothing is scored."""
    factors = [f for f in model.evaluation.factors if f.key in scores]
    if not factors:
        return None
    weight = sum(f.weight for f in factors)
    points = sum(f.weight * scores[f.key] for f in factors)
    return round_half_up(points / weight / model.evaluation.scale_max * 100, 1)


def scored_weight(scores: dict[str, int], model: StageModel) -> float:
    """The share of the evaluation's total weight that is scored, 0–1: how far to trust the score."""
    total = sum(f.weight for f in model.evaluation.factors)
    scored = sum(f.weight for f in model.evaluation.factors if f.key in scores)
    return round_half_up(scored / total, 4) if total else 0.0


def win_probability(status: str, stage: int, override: float | None, model: StageModel) -> float:
    if status in CLOSED_PROBABILITY:
        return CLOSED_PROBABILITY[status]
    return override if override is not None else model.stage(stage).probability


def likelihood(score: float | None, probability: float, status: str = "open") -> float:
    """How likely the deal is to close, 0–100: settled for a closed deal (won 100, lost 0),
    else the evaluation score, or the probability when nothing is scored."""
    if status in CLOSED_PROBABILITY or score is None:
        return probability * 100
    return score


def computed_grade(days_to_close: int, likely: float, model: StageModel) -> str:
    for rule in model.grading:
        if rule.max_days_to_close is not None and days_to_close > rule.max_days_to_close:
            continue
        if rule.min_likelihood is not None and likely < rule.min_likelihood:
            continue
        return rule.grade
    return model.grading[-1].grade


@dataclass(frozen=True)
class Result:
    score: float | None
    passed: bool | None
    probability: float
    weighted_amount: float
    likelihood: float
    days_to_close: int
    grade: str
    grade_is_override: bool
    scored_weight: float = 0.0  # share of the total factor weight that is scored, 0–1
    factors_scored: int = 0
    factors_total: int = 0

    @property
    def unscored_factors(self) -> int:
        return self.factors_total - self.factors_scored


def evaluate(*, status: str, stage: int, amount: float, expected_close: date, scores: dict[str, int],
             probability: float | None, grade: str | None, model: StageModel, as_of: date) -> Result:
    score = evaluation_score(scores, model)
    chance = win_probability(status, stage, probability, model)
    likely = likelihood(score, chance, status)
    days = (expected_close - as_of).days
    return Result(
        score=score,
        passed=None if score is None else score >= model.evaluation.pass_mark,
        probability=chance,
        weighted_amount=round_half_up(amount * chance, 2),
        likelihood=likely,
        days_to_close=days,
        grade=grade or computed_grade(days, likely, model),
        grade_is_override=grade is not None,
        scored_weight=scored_weight(scores, model),
        factors_scored=sum(f.key in scores for f in model.evaluation.factors),
        factors_total=len(model.evaluation.factors),
    )


# --- The same rules as spreadsheet formulas ------------------------------------------------

def score_formula(weights: str, scores: str, model: StageModel) -> str:
    top = model.evaluation.scale_max
    return (f'IF(COUNT({scores})=0,"",ROUND(SUMPRODUCT({weights},{scores})'
            f'/SUMPRODUCT({weights},--({scores}<>""))/{top}*100,1))')


def passed_formula(score: str, model: StageModel, yes: str, no: str) -> str:
    return f'IF({score}="","",IF({score}>={model.evaluation.pass_mark:g},"{yes}","{no}"))'


def _word(key: str, words: dict[str, str] | None) -> str:
    """How a status is written in the workbook's cells (a Chinese workbook says 赢单 for won)."""
    return (words or {}).get(key, key).replace('"', '""')


def probability_formula(status: str, stage: str, override: str, stage_probabilities: str,
                        words: dict[str, str] | None = None) -> str:
    closed = "".join(f'IF({status}="{_word(k, words)}",{v:g},' for k, v in CLOSED_PROBABILITY.items())
    default = f'IF({override}<>"",{override},INDEX({stage_probabilities},{stage}))'
    return closed + default + ")" * len(CLOSED_PROBABILITY)


def likelihood_formula(score: str, probability: str, status: str, words: dict[str, str] | None = None) -> str:
    closed = ",".join(f'{status}="{_word(k, words)}"' for k in CLOSED_PROBABILITY)
    return f'IF(OR({closed},{score}=""),{probability}*100,{score})'


def grade_formula(days_to_close: str, likely: str, override: str, model: StageModel) -> str:
    formula = f'"{model.grading[-1].grade}"'
    for rule in reversed(model.grading[:-1]):
        conditions = []
        if rule.max_days_to_close is not None:
            conditions.append(f"{days_to_close}<={rule.max_days_to_close}")
        if rule.min_likelihood is not None:
            conditions.append(f"{likely}>={rule.min_likelihood:g}")
        test = f"AND({','.join(conditions)})" if conditions else "TRUE()"
        formula = f'IF({test},"{rule.grade}",{formula})'
    return f'IF({override}<>"",{override},{formula})'


def weighted_amount_formula(amount: str, probability: str) -> str:
    return f"ROUND({amount}*{probability},2)"


def days_to_close_formula(expected_close: str, as_of: str) -> str:
    """`(expected_close - as_of).days`; blank while no close date is entered (a blank scorecard)."""
    return f'IF({expected_close}="","",{expected_close}-{as_of})'
