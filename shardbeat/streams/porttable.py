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

    def _close(self, key: tuple, entry: Any, ts: int) -> None:
        raise NotImplementedError

    def _sweep(self, now: int, idle_counter: str | None = None) -> None:
        """Per tick: close entries idle past the timeout, let parsers time out the rest."""
        idle_before = now - self._idle_ns
        for key, entry in list(self._table.items()):
            if entry.last_ts < idle_before:
                if idle_counter:
                    self._counters.inc(idle_counter)
                self._close(key, entry, now)
                continue
            try:
                entry.parser.expire(entry.state, now)
            except Exception:  # a parser bug costs its state, never the worker
                self._counters.inc(f"{entry.parser.name}_parser_crashes")

    def flush(self, now: int) -> None:
        """End of input: close everything so pending transactions are published."""
        for key, entry in list(self._table.items()):
            self._close(key, entry, now)
