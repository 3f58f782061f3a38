"""One walk over a capture's records, used by two processes of a sharded replay.

Every worker of `replay --workers N` reads the whole file, and finding where each pcap
record starts is a loop of Python per record: about a twentieth of a worker's time, done
again in each. So one forked worker publishes, window by window, the record starts it
found on a pipe, and the replaying process (shard 0, which also starts the others and waits
for their last words) takes them instead of walking again. Both read the same file through the
same sequence of windows, so the taker's window is the walker's; a result that does not
fit the taker's own window, or a pipe that ends early (the walker died), makes the taker
walk on by itself, so sharing never changes what is read.
"""

from __future__ import annotations

import fcntl
import os
import struct

import numpy as np

from shardbeat.capture.batch import RECORD_LENGTH, locate_records

# window length, bytes its whole records span, records, whether a corrupt header ends them
_HEAD = struct.Struct("<IIIB")
# Room for ~40 windows' results, so that the walker rarely waits for the taker.
PIPE_BYTES = 1 << 20


def walk_pipe() -> tuple[int, int]:
    """(read end, write end) of a pipe for one walker and one taker."""
    read_fd, write_fd = os.pipe()
    try:
        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except OSError:
        pass  # a smaller pipe only makes the walker wait more often
    return read_fd, write_fd


class _PipeEnd:
    """One end of the walk pipe, closed once."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class PublishedWalk(_PipeEnd):
    """The walker's `locate`: walk as usual, then write what was found for the taker."""

    def __call__(self, data: bytes, end: int, max_record: int) -> tuple[np.ndarray, int, bool]:
        found = locate_records(data, end, max_record)
        if self._fd is not None:
            starts, spanned, corrupt = found
            message = _HEAD.pack(len(data), spanned, len(starts), corrupt) + \
                starts.astype("<u4").tobytes()
            try:
                _write_all(self._fd, message)
            except OSError:  # the taker stopped listening: walk on alone
                self.close()
        return found


class TakenWalk(_PipeEnd):
    """The taker's `locate`: each window's records from the walker, waited for when the
    walker is behind. The wait cannot deadlock: the walker never waits on the taker but for
    room on this pipe, or for the output's turn, which the taker holds only while writing."""

    def __init__(self, fd: int) -> None:
        super().__init__(fd)
        self.taken = 0  # windows whose records came from the walker

    def __call__(self, data: bytes, end: int, max_record: int) -> tuple[np.ndarray, int, bool]:
        found = self._take(data) if self._fd is not None else None
        if found is None:
            self.close()
            return locate_records(data, end, max_record)
        self.taken += 1
        return found

    def _take(self, data: bytes) -> tuple[np.ndarray, int, bool] | None:
        head = self._read(_HEAD.size)
        if head is None:
            return None
        window, spanned, count, corrupt = _HEAD.unpack(head)
        body = self._read(4 * count)
        if body is None or window != len(data):
            return None
        starts = np.frombuffer(body, dtype="<u4").astype(np.int64)
        last_end = int(starts[-1]) + 16 + RECORD_LENGTH(data, int(starts[-1]))[0] if count else 0
        if last_end != spanned:
            return None
        return starts, spanned, bool(corrupt)

    def _read(self, n: int) -> bytes | None:
        """Exactly `n` bytes, or None at the end of the pipe."""
        chunks, got = [], 0
        while got < n:
            chunk = os.read(self._fd, n - got)
            if not chunk:
                return None
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
