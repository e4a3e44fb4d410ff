"""Interval decisions as pure functions with an injected clock and random source."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from monitor import timing
from monitor.timing import Hints, after_failure, after_success, hints_from

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
BASE = 900.0


class NoJitter(random.Random):
    def uniform(self, a, b):
        return a


def secs(d: timing.Decision) -> float:
    return (d.next_due - NOW).total_seconds()


def ok(previous=None, new=2, items=10, quiet=0, hints=Hints()):
    return after_success(NOW, BASE, previous, new_items=new, items=items, quiet_polls=quiet,
                         hints=hints, rng=NoJitter())


def test_a_normal_poll_keeps_the_configured_interval():
    d = ok(previous=BASE)
    assert secs(d) == BASE and d.interval == BASE and not d.maybe_missed


def test_every_item_new_means_items_may_be_missed_so_poll_more_often():
    d = ok(previous=BASE, new=20, items=20)
    assert d.maybe_missed and d.interval == BASE / 2
    # bounded: never below a quarter of the configured interval
    d = ok(previous=BASE * timing.MIN_FACTOR, new=20, items=20)
    assert d.interval == BASE * timing.MIN_FACTOR


def test_the_first_poll_is_not_taken_as_missed_items():
    assert not ok(previous=None, new=20, items=20).maybe_missed


def test_a_quiet_feed_is_polled_less_often_within_bounds():
    assert ok(previous=BASE, new=0, quiet=timing.QUIET_POLLS).interval == BASE * 1.5
    assert ok(previous=BASE * 4, new=0, quiet=10).interval == BASE * timing.MAX_FACTOR
    assert ok(previous=BASE, new=0, quiet=1).interval == BASE   # not yet


def test_the_feeds_own_hints_are_a_floor_capped_at_a_day():
    assert secs(ok(previous=BASE, hints=Hints(ttl=3600))) == 3600
    assert secs(ok(previous=BASE, hints=Hints(max_age=7200))) == 7200
    assert secs(ok(previous=BASE, hints=Hints(update_period=7 * 86400))) == 86400
    assert secs(ok(previous=BASE, hints=Hints(ttl=60))) == BASE   # a shorter hint changes nothing


def test_hints_are_read_from_headers_and_channel():
    h = hints_from({"cache-control": "public, max-age=1800"}, 60, "hourly", "2", NOW)
    assert (h.max_age, h.ttl, h.update_period) == (1800, 3600, 1800)
    expires = (NOW + timedelta(hours=2)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert hints_from({"expires": expires}, None, None, None, NOW).expires == 7200
    assert hints_from({"expires": "garbage"}, None, "sometimes", "x", NOW) == Hints()
    assert hints_from({"cache-control": "no-cache"}, None, None, None, NOW).max_age is None


def test_failures_back_off_exponentially_up_to_a_day():
    assert [secs(after_failure(NOW, BASE, None, failures=n, rng=NoJitter()))
            for n in (1, 2, 3)] == [BASE, 2 * BASE, 4 * BASE]
    assert secs(after_failure(NOW, BASE, None, failures=50, rng=NoJitter())) == 86400


def test_retry_after_is_honoured_exactly_and_capped_at_a_day():
    assert secs(after_failure(NOW, BASE, None, failures=1, retry_after=7200)) == 7200
    assert secs(after_failure(NOW, BASE, None, failures=1, retry_after=10 * 86400)) == 86400
    # a shorter Retry-After than the back-off does not shorten it
    assert secs(after_failure(NOW, BASE, None, failures=3, retry_after=10, rng=NoJitter())) == 4 * BASE


def test_jitter_spreads_feeds_by_at_most_ten_percent():
    rng = random.Random(7)
    delays = [secs(after_success(NOW, BASE, BASE, new_items=1, items=5, quiet_polls=0,
                                 hints=Hints(), rng=rng)) for _ in range(200)]
    assert min(delays) >= BASE and max(delays) <= BASE * 1.1
    assert len({round(d) for d in delays}) > 50
