"""The commented skeleton of a new deal file, written by `dealbook new` (the only file it writes)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .stage_model import StageModel

SCHEMA_LINE = "# yaml-language-server: $schema=./deal.schema.json"
# What `dealbook new` writes where only the rep knows the answer; a deal still holding one of
# these was not filled in (the deal rules warn about it).
PLACEHOLDERS = {"title": "New opportunity", "account": "Customer name", "owner": "Your name"}


def skeleton(model: StageModel, as_of: date) -> str:
    close = as_of + timedelta(days=90)
    factors = "\n".join(f"  # {f.key}: 3      # {f.name}: {f.question}" for f in model.evaluation.factors)
    roles = ", ".join(model.keys("roles"))
    return f"""{SCHEMA_LINE}
# A new deal. Lines starting with # are comments. Run `dealbook check` after editing.
title: {PLACEHOLDERS["title"]:<24} # what the customer is buying
account: {PLACEHOLDERS["account"]}
owner: {PLACEHOLDERS["owner"]}
stage: 1                        # 1–{len(model.stages)}; see the playbook for each stage's exit criterion
status: open                    # {", ".join(model.keys("status"))}
amount: 0                       # expected contract value
currency: {model.currency}
expected_close: {close.isoformat()}      # YYYY-MM-DD

# Opportunity evaluation: score what you know, {model.evaluation.scale_min}–{model.evaluation.scale_max}.
qualification:                  # remove the # in front of a factor to score it
{factors}

stakeholders:                   # remove the #s to add a person; copy the block for more
  # - name: Full name
  #   title: Job title
  #   role: decision-maker      # {roles}
  #   influence: high           # {", ".join(model.keys("influence"))}
  #   stance: neutral           # {", ".join(model.keys("stance"))}
  #   last_contact: {as_of.isoformat()}
  #   notes: What matters to this person

next_steps:
  - action: First phone call to learn about the customer's needs
    due: {(as_of + timedelta(days=7)).isoformat()}
    done: false

# exits:                        # proof that a stage's exit criterion was met
#   1: {{date: YYYY-MM-DD, evidence: "Meeting booked for …"}}
"""
