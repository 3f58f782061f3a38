"""Where replay writes its events: one JSON object per line, to stdout or to
`output.file` (path/filename, created with the configured permissions)."""

from __future__ import annotations

import os
import sys
from typing import Any, BinaryIO


class NdjsonWriter:
    def __init__(self, stream: BinaryIO, owned: bool = False) -> None:
        self._stream = stream
        self._owned = owned
        self.events = 0

    def write(self, encoded: bytes) -> None:
        self._stream.write(encoded)
        self._stream.write(b"\n")
        self.events += 1

    def write_block(self, ndjson: bytes, count: int) -> None:
        """`count` events already joined by newlines (a bus batch), in one write."""
        self._stream.write(ndjson)
        self.events += count

    def close(self) -> None:
        self._stream.flush()
        if self._owned:
            self._stream.close()


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
