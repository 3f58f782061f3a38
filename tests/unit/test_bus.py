"""The event bus between workers and the gathering process: batches of encoded events
arrive whole and in order per worker, each worker's last word carries its counters, and a
worker that vanished without its last word ends the stream instead of hanging it."""

import threading
import time

import orjson

from shardbeat.bus.zmq_bus import BATCH_EVENTS, BusReceiver, BusSender


def send_all(endpoint, shard, events, counters):
    sender = BusSender(endpoint, shard)
    for event in events:
        sender.send(event)
    sender.close(counters)


def test_batches_and_last_words_arrive_from_every_worker(tmp_path):
    endpoint = f"ipc://{tmp_path}/bus"
    receiver = BusReceiver(endpoint)
    events = {s: [orjson.dumps({"shard": s, "n": i, "text": "a\\nb"})
                  for i in range(BATCH_EVENTS * 2 + 7)] for s in (0, 1)}
    threads = [threading.Thread(target=send_all, args=(endpoint, s, events[s], {"x": s + 1}))
               for s in (0, 1)]
    for t in threads:
        t.start()
    got = {0: b"", 1: b""}
    counts = {0: 0, 1: 0}
    finals = {}
    for shard, block, final in receiver.messages(2):
        if block is None:
            finals[shard] = final
        else:
            got[shard] += block[0]
            counts[shard] += block[1]
    for t in threads:
        t.join()
    receiver.close()
    for s in (0, 1):
        assert got[s] == b"".join(e + b"\n" for e in events[s])
        assert counts[s] == len(events[s])
        assert finals[s] == {"x": s + 1}


def test_a_vanished_worker_ends_the_stream(tmp_path):
    receiver = BusReceiver(f"ipc://{tmp_path}/bus")
    assert list(receiver.messages(1, alive=lambda: False, poll_ms=10)) == []
    receiver.close()


def test_waiting_takes_what_arrived_without_waiting_for_more(tmp_path):
    """What the replaying process, itself a shard, takes between its own batches."""
    endpoint = f"ipc://{tmp_path}/bus"
    receiver = BusReceiver(endpoint)
    assert list(receiver.waiting()) == []
    events = [orjson.dumps({"n": i}) for i in range(BATCH_EVENTS + 3)]
    send_all(endpoint, 1, events, {"x": 1})
    taken = []
    for _ in range(100):  # ipc delivery is asynchronous: until the last word is in
        taken += list(receiver.waiting())
        if taken and taken[-1][1] is None:
            break
        time.sleep(0.01)
    receiver.close()
    assert b"".join(bytes(block[0]) for _, block, _ in taken[:-1]) == \
        b"".join(e + b"\n" for e in events)
    assert taken[-1] == (1, None, {"x": 1})
