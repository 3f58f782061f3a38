"""Whose turn it is to write: the processes of a sharded replay write their batches to one
output themselves, one whole batch at a time, so that no line is cut by another process's.

A process that dies holding the turn would leave the others waiting for ever, so the turn
is waited for in short steps, asking between them whether the processes it could be waiting
on are still there.
"""

from __future__ import annotations

from typing import Any, Callable

WAIT_STEP_S = 0.5


class WriterLost(RuntimeError):
    """A process that shares the output died: it may have died holding the turn."""


class OutputTurn:
    def __init__(self, lock: Any, others_fine: Callable[[], bool]) -> None:
        self._lock = lock
        self._others_fine = others_fine

    def __enter__(self) -> None:
        while not self._lock.acquire(timeout=WAIT_STEP_S):
            if not self._others_fine():
                raise WriterLost("a process writing to the same output died")

    def __exit__(self, *exc: object) -> None:
        self._lock.release()
