"""Dealbook: a key-account sales playbook and the team's deals, as a static site."""

from __future__ import annotations

__version__ = "0.1.0"
