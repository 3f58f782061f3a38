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
