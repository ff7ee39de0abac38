"""The forecast categories, by the names the stage model, deal files and `/pipeline.json` use.

A leaf module (it imports nothing), so that the stage model, the deal format and the forecast
computation share one spelling without importing each other.
"""

from __future__ import annotations

# Categories a stage can put its open deals in, from least to most certain (the keys of Salesforce's and
# GitLab's forecasts).
STAGE_FORECASTS = ("pipeline", "best-case", "commit")
# What a rep may set on an open deal: a stage's category, or `omitted` (left out of the forecast).
DEAL_FORECASTS = ("commit", "best-case", "pipeline", "omitted")
