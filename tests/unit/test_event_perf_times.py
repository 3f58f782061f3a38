"""`start_times` formats a transaction's start once for both `@timestamp` and `event.start`:
it must give exactly what the two formatters give separately."""

import random

import pytest

from shardbeat.transactions.event import start_times, timestamp_ms, timestamp_ns

EDGES = [0, 1, 999_999, 1_000_000, 1_000_000_000, 1_700_000_000_000_000_000,
         1_700_000_000_000_000_001, 1_700_000_000_100_000_000, 1_700_000_000_123_456_000,
         1_700_000_000_999_999_999, 1_700_000_000_000_999_999, 4_102_444_800_500_000_000]


@pytest.mark.parametrize("ts_ns", EDGES)
def test_start_times_equal_the_two_formatters(ts_ns):
    assert start_times(ts_ns) == (timestamp_ms(ts_ns), timestamp_ns(ts_ns))


def test_start_times_on_random_instants():
    rng = random.Random(7)
    for _ in range(20_000):
        ts_ns = rng.randrange(1_600_000_000, 1_800_000_000) * 1_000_000_000 + \
            rng.choice([rng.randrange(1_000_000_000), rng.randrange(1_000_000) * 1000, 0])
        assert start_times(ts_ns) == (timestamp_ms(ts_ns), timestamp_ns(ts_ns))


def _reference_ns(ts_ns: int) -> str:
    """Go's RFC 3339 with nanoseconds, from datetime and a `09d` fraction."""
    from datetime import datetime, timezone

    secs, ns = divmod(ts_ns, 1_000_000_000)
    base = datetime.fromtimestamp(secs, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return base + ("." + f"{ns:09d}".rstrip("0") if ns else "") + "Z"


@pytest.mark.parametrize("ts_ns", EDGES)
def test_nanosecond_times_equal_the_plain_formatting(ts_ns):
    assert timestamp_ns(ts_ns) == _reference_ns(ts_ns)
    assert start_times(ts_ns)[1] == _reference_ns(ts_ns)


def test_span_times_equal_the_formatters_of_each_end():
    from shardbeat.transactions.event import span_times

    rng = random.Random(9)
    starts = EDGES + [rng.randrange(1_600_000_000, 1_800_000_000) * 1_000_000_000 +
                      rng.choice([rng.randrange(1_000_000_000), 0]) for _ in range(5000)]
    for start in starts:
        for end in (start, start + 1, start - 1, start + rng.randrange(2_000_000_000),
                    start - rng.randrange(2_000_000_000), start + 1_000_000_000 - start % 10**9,
                    start - start % 10**9, start - start % 10**9 - 1):
            if end >= 0:
                assert span_times(start, end) == start_times(start) + (timestamp_ns(end),)
