"""Retry delays: exponential backoff with full jitter, never sooner than the provider asked."""

from __future__ import annotations

import random


def retry_delay(
    attempt: int, *, base_s: float, cap_s: float, retry_after_s: float | None = None
) -> float:
    """Seconds to wait before attempt `attempt + 1` (attempts count from 1)."""
    ceiling = min(cap_s, base_s * 2 ** max(attempt - 1, 0))
    delay = random.uniform(0, ceiling)
    return max(delay, retry_after_s or 0.0)
