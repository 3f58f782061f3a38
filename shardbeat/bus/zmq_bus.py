"""The event bus between workers and the process that writes events out.

Workers PUSH batches of already-encoded events; one PULL socket gathers them. A batch is
two frames, msgpack `[shard, count]` and the events joined by newlines (orjson never writes a raw
newline inside an event, so the framing is unambiguous), which the gathering process can
write out as it is, and which a publisher can split; joining happens in the workers, which
run in parallel, not in the one process that gathers them. A worker's last message is one frame,
msgpack `[shard, None, counters]`, so the receiver knows every worker finished and can report what
each counted. Live workers must never block on the bus (a full bus is a counted
drop); replay blocks instead, since there nothing is lost by waiting.
"""

from __future__ import annotations

from typing import Iterator

import msgpack
import zmq

BATCH_EVENTS = 512
BATCH_BYTES = 256 * 1024
LOST_AFTER_POLLS = 10

# (shard, (ndjson, count) or None, the worker's last word: counters) as received.
Message = tuple[int, "tuple[memoryview, int] | None", "dict | None"]


class BusSender:
    def __init__(self, endpoint: str, shard: int, block: bool = True) -> None:
        self._ctx = zmq.Context()
        self._sock = self._ctx.socket(zmq.PUSH)
        self._sock.setsockopt(zmq.SNDHWM, 64)
        self._sock.connect(endpoint)
        self._shard = shard
        self._flags = 0 if block else zmq.NOBLOCK
        self._batch: list[bytes] = []
        self._size = 0
        self.dropped = 0

    def send(self, encoded: bytes) -> None:
        self._batch.append(encoded)
        self._size += len(encoded)
        if len(self._batch) >= BATCH_EVENTS or self._size >= BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self._batch:
            return
        count = len(self._batch)
        self._batch.append(b"")  # the last event's newline
        blob = b"\n".join(self._batch)
        try:
            # The events travel as their own frame, not inside msgpack, and are received
            # without a copy (they are a replay's whole output, hundreds of MB). Sent with
            # one: a zero-copy send makes pyzmq release each buffer from a thread of its
            # own, which cost more than copying.
            self._sock.send_multipart([msgpack.packb([self._shard, count]), blob],
                                      self._flags)
        except zmq.Again:
            self.dropped += count
        self._batch, self._size = [], 0

    def close(self, counters: dict[str, int]) -> None:
        self.flush()
        if self.dropped:
            counters = dict(counters, bus_dropped_events=self.dropped)
        self._sock.send(msgpack.packb([self._shard, None, counters]))
        self._sock.close(linger=-1)
        self._ctx.term()


class BusReceiver:
    def __init__(self, endpoint: str) -> None:
        self._ctx = zmq.Context()
        self._sock = self._ctx.socket(zmq.PULL)
        self._sock.bind(endpoint)

    def messages(self, shards: int, alive=lambda: True, poll_ms: int = 200
                 ) -> Iterator[Message]:
        """Yield (shard, (ndjson, count), None) batches (ndjson: a buffer over the received
        frame, not a copy), then (shard, None, counters) once per worker, until `shards`
        workers said they are done or `alive()` turns false."""
        done = 0
        grace = 0
        while done < shards:
            if not self._sock.poll(poll_ms):
                # A worker's last messages may still be in flight when it has exited: give
                # them a few more polls before calling them lost.
                if not alive():
                    grace += 1
                    if grace > LOST_AFTER_POLLS:
                        return
                continue
            message = self._receive()
            done += message[1] is None
            yield message

    def waiting(self) -> Iterator[Message]:
        """The messages already here, without waiting for more."""
        while self._sock.poll(0):
            yield self._receive()

    def _receive(self) -> Message:
        frames = self._sock.recv_multipart(copy=False)
        head = msgpack.unpackb(frames[0].bytes)
        if len(frames) == 1:
            return head[0], None, head[2]
        return head[0], (frames[1].buffer, head[1]), None

    def close(self) -> None:
        self._sock.close(linger=0)
        self._ctx.term()
