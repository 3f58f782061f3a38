"""Capturing loopback traffic with tcpdump, and reading a capture back with tshark (the oracle).

tcpdump writes the pcap file header only after the capture is active and its filter is
installed, so "the file holds a header" is a reliable "now listening" signal; --immediate-mode
and -U make each packet reach the file as it arrives rather than when a ring block fills.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from tests.integration.realservers import (STARTUP_TIMEOUT_S, TCPDUMP, TSHARK,
                                           stop_process)

PCAP_HEADER_LEN = 24
# After the client is done, the file must stop growing for this long before tcpdump is
# stopped: the last FIN/ACK exchange of a connection can trail the client's close().
SETTLE_QUIET_S = 0.3
SETTLE_MAX_S = 3.0


@dataclass
class Capture:
    path: Path
    port: int


@contextlib.contextmanager
def capture_port(path: Path, port: int) -> Iterator[Capture]:
    """Capture every packet to or from `port` on lo into `path` (nanosecond timestamps)."""
    log = path.with_suffix(".tcpdump.log")
    argv = [TCPDUMP, "-i", "lo", "-n", "-U", "--immediate-mode", "-Z", "root",
            "--time-stamp-precision=nano", "-s", "0", "-w", str(path), f"port {port}"]
    with open(log, "wb") as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err)
    try:
        _wait_listening(proc, path, log)
        yield Capture(path=path, port=port)
        _settle(path)
    finally:
        # SIGINT is tcpdump's orderly stop: it flushes the file and prints its counts.
        stop_process(proc, signal.SIGINT)


def _wait_listening(proc: subprocess.Popen, path: Path, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"tcpdump exited with {proc.returncode}: "
                               f"{log.read_text(errors='replace')[-2000:]}")
        if path.exists() and path.stat().st_size >= PCAP_HEADER_LEN:
            # The socket is bound and filtered; give the kernel a moment to start queueing.
            time.sleep(0.1)
            return
        time.sleep(0.02)
    stop_process(proc, signal.SIGINT)
    raise RuntimeError(f"tcpdump did not start: {log.read_text(errors='replace')[-2000:]}")


def _settle(path: Path) -> None:
    deadline = time.monotonic() + SETTLE_MAX_S
    size, since = os.path.getsize(path), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = os.path.getsize(path)
        if now != size:
            size, since = now, time.monotonic()
        elif time.monotonic() - since >= SETTLE_QUIET_S:
            return


# ---------------------------------------------------------------- tshark as the oracle

@dataclass(frozen=True)
class Conversation:
    """One row of `tshark -z conv,tcp|udp`: endpoints and frames per direction. tshark
    rounds large byte counts to kB there, so exact bytes come from `frame_totals`."""

    a_ip: str
    a_port: int
    b_ip: str
    b_port: int
    frames_b_to_a: int
    frames_a_to_b: int

    @property
    def ports(self) -> frozenset[int]:
        return frozenset((self.a_port, self.b_port))


def conversations(path: Path, transport: str = "tcp") -> list[Conversation]:
    out = _tshark(path, "-q", "-z", f"conv,{transport}")
    rows = []
    for line in out.splitlines():
        parts = line.split()
        # "A:port <-> B:port   frames N bytes   frames N bytes   frames N bytes   start dur"
        if len(parts) < 4 or parts[1] != "<->":
            continue
        a_ip, a_port = parts[0].rsplit(":", 1)
        b_ip, b_port = parts[2].rsplit(":", 1)
        frames_b_to_a, frames_a_to_b = int(parts[3]), int(_next_count(parts, 4))
        rows.append(Conversation(a_ip, int(a_port), b_ip, int(b_port),
                                 frames_b_to_a, frames_a_to_b))
    return rows


def _next_count(parts: list[str], start: int) -> str:
    """The second frames column: skip the first byte count and its unit word."""
    i = start + 1                      # first byte count
    if not parts[i + 1].isdigit():     # its unit ("bytes", "kB", ...)
        i += 1
    return parts[i + 1]


def frame_totals(path: Path, transport: str = "tcp") -> dict[tuple[int, int], list[int]]:
    """{(src_port, dst_port): [frames, bytes]} summed from each frame's on-wire length, the
    quantity Packetbeat's flows count (the capture's original length, link header included)."""
    rows = packet_fields(path, transport, f"{transport}.srcport", f"{transport}.dstport",
                         "frame.len")
    totals: dict[tuple[int, int], list[int]] = {}
    for src, dst, flen in rows:
        entry = totals.setdefault((int(src), int(dst)), [0, 0])
        entry[0] += 1
        entry[1] += int(flen)
    return totals


def capture_span(path: Path) -> tuple[int, int]:
    """(first, last) packet timestamps of a capture, in ns since the epoch."""
    stamps = []
    for (text,) in packet_fields(path, "frame", "frame.time_epoch"):
        secs, _, frac = text.partition(".")
        stamps.append(int(secs) * 1_000_000_000 + int(frac.ljust(9, "0")[:9]))
    return min(stamps), max(stamps)


def _tshark(path: Path, *args: str) -> str:
    return subprocess.run([TSHARK, "-n", "-r", str(path), *args], capture_output=True,
                          text=True, timeout=60, check=True).stdout


def packet_fields(path: Path, display_filter: str, *fields: str,
                  decode_as: tuple[str, ...] = ()) -> list[list[str]]:
    """`tshark -T fields` rows for the packets matching `display_filter`. `decode_as`
    entries ("tcp.port==20053,dns") name dissectors for ports tshark does not know."""
    args = [arg for rule in decode_as for arg in ("-d", rule)]
    args += ["-Y", display_filter, "-T", "fields", "-E", "separator=/t",
             "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in fields:
        args += ["-e", f]
    out = _tshark(path, *args)
    return [line.split("\t") for line in out.splitlines() if line.strip()]
