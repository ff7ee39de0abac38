"""The commented skeleton of a new deal file, written by `dealbook new` (the only file it writes).

The comments and the placeholder values are in the language asked for (`--lang`); the keys and
the vocabulary values are the deal format's own, in every language.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from .forecast_terms import DEAL_FORECASTS

if TYPE_CHECKING:
    from ..labels import Labels
    from .stage_model import StageModel

SCHEMA_LINE = "# yaml-language-server: $schema=./deal.schema.json"
# What `dealbook new` writes where only the rep knows the answer, in every language; a deal still
# holding one of these was not filled in (the deal rules warn about it).


def _quoted(text: str) -> str:
    """A placeholder as a YAML string that stays text whatever it says."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def skeleton(model: StageModel, as_of: date, labels: Labels) -> str:
    close = as_of + timedelta(days=90)
    ev = model.evaluation
    factors = "\n".join(f"  # {f.key}: 3      # {labels.pick(f, 'name')}: {labels.pick(f, 'question')}"
                        for f in ev.factors)
    roles = ", ".join(model.keys("roles"))
    return f"""{SCHEMA_LINE}
# {labels.sk_header}
title: {_quoted(labels.sk_title)}          # {labels.sk_title_note}
account: {_quoted(labels.sk_account)}
owner: {_quoted(labels.sk_owner)}
stage: 1                        # {labels("sk_stage_note", n=len(model.stages))}
status: open                    # {", ".join(model.keys("status"))}
amount: 0                       # {labels.sk_amount_note}
currency: {model.currency}
expected_close: {close.isoformat()}      # YYYY-MM-DD
# forecast: commit              # {labels("sk_forecast_note", values=", ".join(DEAL_FORECASTS))}

# {labels("sk_qualification", min=ev.scale_min, max=ev.scale_max)}
qualification:                  # {labels.sk_qualification_note}
{factors}

stakeholders:                   # {labels.sk_stakeholders_note}
  # - name: {labels.sk_person_name}
  #   title: {labels.sk_person_title}
  #   role: decision-maker      # {roles}
  #   influence: high           # {", ".join(model.keys("influence"))}
  #   stance: neutral           # {", ".join(model.keys("stance"))}
  #   last_contact: {as_of.isoformat()}
  #   notes: {labels.sk_person_notes}

next_steps:
  - action: {_quoted(labels.sk_first_step)}
    due: {(as_of + timedelta(days=7)).isoformat()}
    done: false

# exits:                        # {labels.sk_exits_note}
#   1: {{date: YYYY-MM-DD, evidence: {_quoted(labels.sk_exit_evidence)}}}
"""
