"""A connection's HTTP state is freed by reference counting as soon as nothing holds it.

It once held its pairing, whose callback held the state: a cycle that only the garbage
collector frees, and on a long-running worker the states of ended connections had mostly
moved to the oldest generation by then, which is collected rarely. 10,083 such cycles (11
objects each) were left by the benchmark's capture alone. (A parser's own objects may refer
to each other: there is one parser per worker, not one per connection.)
"""

from __future__ import annotations

import gc

from shardbeat.protocols.http.state import DirState, HttpState
from shardbeat.protocols.http.transactions import Pairing
from tests.protocols.test_http_driver import C2S, S2C, play, request, response

PER_CONNECTION = (HttpState, DirState, Pairing)


def _left_for_the_collector(steps) -> list:
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds is kept in gc.garbage
    try:
        harness = play(steps)
        assert harness.events
        del harness
        gc.collect()
        return [o for o in gc.garbage if isinstance(o, PER_CONNECTION)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def test_a_finished_connection_leaves_nothing_for_the_collector():
    assert _left_for_the_collector([(C2S, request("/a")), (S2C, response(body=b"x"))]) == []


def test_a_connection_seen_from_the_server_side_first_leaves_nothing_either():
    # The response comes first on the side the stream layer took for the client: the
    # state flips who is who, and the pairing takes the flipped connection.
    assert _left_for_the_collector([(C2S, response(body=b"x")), (S2C, request("/b"))]) == []
