"""The one computation of score, grade, probability and weighted amount."""

from __future__ import annotations

from datetime import date

from conftest import ROOT

from generator.model.scoring import computed_grade, evaluate, round_half_up
from generator.sources.stage_model import load_stage_model

MODEL = load_stage_model(ROOT / "playbook" / "playbook.yml")


def test_rounding_matches_spreadsheets() -> None:
    assert round_half_up(28.749999999999996, 1) == 28.8  # a spreadsheet sees 28.75
    assert round_half_up(0.125, 2) == 0.13 and round_half_up(2.5, 0) == 3.0  # halves away from zero
    assert round_half_up(-2.5, 0) == -3.0


def test_all_top_marks_is_100_and_unscored_is_none() -> None:
    top = {f.key: MODEL.evaluation.scale_max for f in MODEL.evaluation.factors}
    common = dict(status="open", stage=3, amount=1000, expected_close=date(2027, 1, 1), probability=None,
                  grade=None, model=MODEL, as_of=date(2026, 11, 27))
    assert evaluate(scores=top, **common).score == 100
    result = evaluate(scores={}, **common)
    assert result.score is None and result.passed is None
    assert result.likelihood == MODEL.stage(3).probability * 100


def test_closed_deals_have_fixed_probabilities() -> None:
    common = dict(stage=8, amount=1000, expected_close=date(2027, 1, 1), scores={}, probability=0.3, grade=None,
                  model=MODEL, as_of=date(2026, 11, 27))
    assert evaluate(status="won", **common).probability == 1
    assert evaluate(status="lost", **common).weighted_amount == 0
    assert evaluate(status="open", **common).probability == 0.3


def test_grade_rules_are_tried_in_order() -> None:
    a, b = MODEL.grading[0], MODEL.grading[1]
    assert computed_grade(a.max_days_to_close, a.min_likelihood, MODEL) == a.grade
    assert computed_grade(a.max_days_to_close + 1, a.min_likelihood, MODEL) == b.grade
    assert computed_grade(100000, 100, MODEL) == MODEL.grading[-1].grade


def test_a_lost_deal_is_never_graded_all_out() -> None:
    top = {f.key: MODEL.evaluation.scale_max for f in MODEL.evaluation.factors}
    common = dict(stage=6, amount=1000, expected_close=date(2026, 12, 1), scores=top, probability=None, grade=None,
                  model=MODEL, as_of=date(2026, 11, 27))
    assert evaluate(status="open", **common).grade == MODEL.grading[0].grade
    lost = evaluate(status="lost", **common)
    assert lost.likelihood == 0 and lost.grade == MODEL.grading[-1].grade
    assert evaluate(status="won", **common).likelihood == 100
