"""Per-worker counters: every drop, give-up and anomaly has one.

A leaf module: imported by every stage, imports nothing of shardbeat. Names follow
`shardbeat_<area>_<what>_total` once exported; here they are stored without the prefix and
suffix (`tcp_gap_bytes`, `http_parse_errors`) so that the hot path formats no strings.
"""

from __future__ import annotations

from collections import defaultdict


class Counters:
    """A bag of named monotonically increasing integers, one per worker."""

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: defaultdict[str, int] = defaultdict(int)

    def inc(self, name: str, n: int = 1) -> None:
        self._values[name] += n

    def get(self, name: str) -> int:
        return self._values.get(name, 0)

    def snapshot(self) -> dict[str, int]:
        return dict(self._values)

    def merge(self, other: dict[str, int]) -> None:
        for name, value in other.items():
            self._values[name] += value

    @staticmethod
    def metric_name(name: str) -> str:
        return f"shardbeat_{name}_total"
