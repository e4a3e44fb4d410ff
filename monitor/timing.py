"""When to poll a feed next: pure decisions that take `now` and the feed's prior state.

    success ─▶ interval = adapt(previous interval, what this poll brought)   within [base/4, 4×base]
            ─▶ never sooner than the feed asks (RSS <ttl>, sy:updatePeriod, Cache-Control max-age,
               Expires), each hint capped at a day
    failure ─▶ base × 2^(failures−1), at most a day (a feed back after weeks is noticed within a
               day); Retry-After (429/503) when longer, capped at a day
    410     ─▶ never again (the caller marks the feed gone)
    + jitter: up to 10% of the delay, so feeds with one interval do not fire together

Adaptation: a poll whose every item is new (none seen before) may have missed items between
polls: halve the interval (and say so); three polls in a row with nothing new: ×1.5; otherwise
drift back toward the configured interval. No I/O; `random` is injected for tests.
"""

from __future__ import annotations

import random as _random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

DAY = 86400.0
MIN_FACTOR = 0.25        # adaptive interval floor, as a share of the configured interval
MAX_FACTOR = 4.0         # adaptive interval ceiling
QUIET_POLLS = 3          # polls in a row with nothing new before slowing down
JITTER = 0.10
SY_PERIODS = {"hourly": 3600.0, "daily": DAY, "weekly": 7 * DAY, "monthly": 30 * DAY,
              "yearly": 365 * DAY}


@dataclass(frozen=True)
class Hints:
    """How often the feed itself says it may be polled, in seconds (None: no hint)."""

    ttl: float | None = None
    update_period: float | None = None
    max_age: float | None = None
    expires: float | None = None

    def floor(self) -> float:
        values = [min(v, DAY) for v in (self.ttl, self.update_period, self.max_age, self.expires)
                  if v and v > 0]
        return max(values, default=0.0)


@dataclass(frozen=True)
class Decision:
    next_due: datetime
    interval: float          # the adaptive interval to remember for next time
    reason: str
    maybe_missed: bool = False


def hints_from(headers: dict[str, str], ttl_minutes: int | None, sy_period: str | None,
               sy_frequency: str | None, now: datetime) -> Hints:
    """Read the feed's own polling hints from its response headers and channel elements."""
    max_age = None
    m = re.search(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*\"?(\d+)", headers.get("cache-control", ""))
    if m:
        max_age = float(m.group(1))
    expires = None
    if headers.get("expires") and max_age is None:   # max-age takes precedence (RFC 9111 §5.3)
        try:
            when = parsedate_to_datetime(headers["expires"])
            if when.tzinfo is not None:
                expires = (when - now).total_seconds()
        except (TypeError, ValueError):
            pass
    period = None
    if sy_period and sy_period.strip().lower() in SY_PERIODS:
        try:
            frequency = max(1, int((sy_frequency or "1").strip()))
        except ValueError:
            frequency = 1
        period = SY_PERIODS[sy_period.strip().lower()] / frequency
    return Hints(ttl=ttl_minutes * 60.0 if ttl_minutes else None, update_period=period,
                 max_age=max_age, expires=expires if expires and expires > 0 else None)


def after_success(now: datetime, base: float, previous: float | None, *, new_items: int,
                  items: int, quiet_polls: int, hints: Hints,
                  rng: _random.Random | None = None) -> Decision:
    interval = previous or base
    missed = items > 0 and new_items == items and previous is not None
    if missed:
        interval, reason = interval / 2, "every item was new: polling more often"
    elif quiet_polls >= QUIET_POLLS:
        interval, reason = interval * 1.5, f"nothing new in {quiet_polls} polls: polling less often"
    else:
        interval, reason = (interval + base) / 2, "normal"
    interval = min(max(interval, base * MIN_FACTOR), base * MAX_FACTOR)
    delay = interval
    floor = hints.floor()
    if floor > delay:
        delay, reason = floor, f"the feed asks for at most one poll every {floor:.0f}s"
    return Decision(next_due=now + timedelta(seconds=_jitter(delay, rng)), interval=interval,
                    reason=reason, maybe_missed=missed)


def after_failure(now: datetime, base: float, previous: float | None, *, failures: int,
                  retry_after: float | None = None, rng: _random.Random | None = None) -> Decision:
    delay = min(base * 2 ** min(max(failures - 1, 0), 20), DAY)
    reason = f"{failures} failure(s) in a row: backing off"
    if retry_after and min(retry_after, DAY) > delay:   # honoured as asked, without jitter
        return Decision(next_due=now + timedelta(seconds=min(retry_after, DAY)),
                        interval=previous or base, reason="the server asked to retry later")
    return Decision(next_due=now + timedelta(seconds=_jitter(delay, rng)),
                    interval=previous or base, reason=reason)


def _jitter(delay: float, rng: _random.Random | None) -> float:
    return delay + (rng or _random).uniform(0, JITTER * delay)
