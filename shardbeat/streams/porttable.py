"""What the TCP tracker and the UDP dispatcher share: parsers by port, and a table of the
connections (or datagram flows) they own, keyed by both endpoints in canonical order.

The key itself is computed inline in each `on_packet`: it is the hottest line of both, and
a shared helper would cost a call per packet."""

from __future__ import annotations

from typing import Any

from shardbeat.metrics.counters import Counters
from shardbeat.protocols.base import Parser

NS = 1_000_000_000


class PortTable:
    def __init__(self, parsers_by_port: dict[int, Parser], config: Any, counters: Counters
                 ) -> None:
        self._by_port = parsers_by_port
        self._config = config
        self._counters = counters
        self._table: dict[tuple, Any] = {}
        self._idle_ns = int(config.idle_timeout * NS)

    @property
    def ports(self) -> tuple[int, ...]:
        return tuple(self._by_port)

    def __len__(self) -> int:
        return len(self._table)
