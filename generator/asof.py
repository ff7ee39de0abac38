"""The one as-of date of a build."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime


def as_of_date(environ: dict[str, str] | None = None) -> date:
    """Today, or the date of SOURCE_DATE_EPOCH when set (reproducible builds)."""
    env = os.environ if environ is None else environ
    epoch = env.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), tz=UTC).date()
        except (ValueError, OverflowError, OSError):
            raise ValueError(f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds since 1970") from None
    return datetime.now(tz=UTC).date()
