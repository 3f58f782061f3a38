"""Where replay writes its events: one JSON object per line, to stdout or to
`output.file` (path/filename, created with the configured permissions)."""

from __future__ import annotations

import os
import sys
from typing import Any, BinaryIO, ContextManager


# Lines are joined and written this many at a time: two buffered writes per event were a
# tenth of a flows-only replay.
_LINES_PER_WRITE = 512


class NdjsonWriter:
    def __init__(self, stream: BinaryIO, owned: bool = False) -> None:
        self._stream = stream
        self._owned = owned
        self._pending: list[bytes] = []
        self._turn: ContextManager | None = None
        self.events = 0

    def share(self, turn: ContextManager) -> None:
        """From now on write each batch whole, in `turn`, as other processes (forked from
        this one, with this writer) write to the same output. Called before any write."""
        self._stream.flush()
        self._turn = turn

    def write(self, encoded: bytes) -> None:
        pending = self._pending
        pending.append(encoded)
        if len(pending) >= _LINES_PER_WRITE:
            self._flush_pending()

    def close(self) -> None:
        if self._pending:
            self._flush_pending()
        self._stream.flush()
        if self._owned:
            self._stream.close()

    def _flush_pending(self) -> None:
        pending = self._pending
        self.events += len(pending)
        pending.append(b"")  # the last line's newline
        self._put(b"\n".join(pending))
        pending.clear()

    def _put(self, chunk: bytes) -> None:
        if self._turn is None:
            self._stream.write(chunk)
            return
        with self._turn:
            self._stream.write(chunk)
            self._stream.flush()


def open_writer(settings: Any) -> NdjsonWriter:
    file_cfg = getattr(getattr(settings, "output", None), "file", None)
    if file_cfg is not None and getattr(file_cfg, "enabled", False):
        directory = file_cfg.path
        os.makedirs(directory, exist_ok=True)
        target = os.path.join(directory, file_cfg.filename)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                     getattr(file_cfg, "permissions", 0o600))
        return NdjsonWriter(os.fdopen(fd, "wb", buffering=1 << 20), owned=True)
    return NdjsonWriter(sys.stdout.buffer)
