"""Taking turns at one output: a free turn is taken at once; a turn held by a process that
died is reported, not waited on for ever; while the others are fine, the wait goes on."""

from __future__ import annotations

import threading
import time

import pytest

from shardbeat.output import turns
from shardbeat.output.turns import OutputTurn, WriterLost


@pytest.fixture(autouse=True)
def short_steps(monkeypatch):
    monkeypatch.setattr(turns, "WAIT_STEP_S", 0.02)


def test_a_free_turn_is_taken_and_given_back():
    lock = threading.Lock()
    with OutputTurn(lock, lambda: True):
        assert lock.locked()
    assert not lock.locked()


def test_a_turn_held_by_a_writer_that_died_is_reported():
    lock = threading.Lock()
    lock.acquire()  # held by "a process" that will never give it back
    with pytest.raises(WriterLost):
        with OutputTurn(lock, lambda: False):
            pass


def test_while_the_others_are_fine_the_turn_is_waited_for():
    lock = threading.Lock()
    lock.acquire()
    asked = []

    def fine() -> bool:
        asked.append(1)
        return True

    threading.Timer(0.1, lock.release).start()
    started = time.monotonic()
    with OutputTurn(lock, fine):
        pass
    assert time.monotonic() - started >= 0.09 and asked  # waited in steps, asking each time
