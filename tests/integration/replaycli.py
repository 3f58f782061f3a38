"""Running the real `shardbeat replay` CLI as a user would, and reading its NDJSON back.

The CLI runs as `sys.executable -m shardbeat` so the interpreter (and venv) running the tests
is the one under test, whatever is first on PATH.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

REPLAY_TIMEOUT_S = 120
# The one field allowed to differ between worker counts: it names the worker that saw it.
SHARD_FIELD = ("observer", "shard")


class ReplayError(AssertionError):
    pass


def replay_argv(pcap: Path, overrides: Iterable[str] = (), workers: int | None = None) -> list:
    argv = [sys.executable, "-m", "shardbeat", "replay", str(pcap)]
    for item in overrides:
        argv += ["-E", item]
    if workers is not None:
        argv += ["--workers", str(workers)]
    return argv


def start_replay(pcap: Path, overrides: Iterable[str] = (),
                 workers: int | None = None) -> subprocess.Popen:
    # Its own session, so a replay that hangs can be killed with the workers it forked.
    return subprocess.Popen(replay_argv(pcap, overrides, workers), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate()


def finish_replay(proc: subprocess.Popen) -> list[dict]:
    """Wait for a replay started by `start_replay` and parse every stdout line as an event."""
    try:
        out, err = proc.communicate(timeout=REPLAY_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise ReplayError(f"{' '.join(map(str, proc.args))} ran over {REPLAY_TIMEOUT_S}s")
    command = " ".join(map(str, proc.args))
    if proc.returncode != 0:
        raise ReplayError(f"{command} exited {proc.returncode}:\n"
                          f"{err.decode(errors='replace')[-3000:]}")
    return parse_ndjson(out, command)


def run_replay(pcap: Path, overrides: Iterable[str] = (),
               workers: int | None = None) -> list[dict]:
    return finish_replay(start_replay(pcap, overrides, workers))


def run_replays_together(pcap: Path, overrides: Iterable[str],
                         worker_counts: Iterable[int]) -> list[list[dict]]:
    """One replay per worker count, all running at once; none is left running on failure."""
    overrides = tuple(overrides)
    procs = [start_replay(pcap, overrides, n) for n in worker_counts]
    try:
        return [finish_replay(p) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                _kill_group(p)


def parse_ndjson(out: bytes, command: str = "replay") -> list[dict]:
    events = []
    for n, line in enumerate(out.splitlines(), 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError as exc:
            raise ReplayError(f"{command}: stdout line {n} is not JSON ({exc}): "
                              f"{line[:200]!r}") from None
        if not isinstance(event, dict):
            raise ReplayError(f"{command}: stdout line {n} is not a JSON object: {line[:200]!r}")
        events.append(event)
    return events


def get(event: dict, dotted: str, default: Any = None) -> Any:
    """`get(e, "http.response.status_code")` on a nested event."""
    node: Any = event
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def check_loopback_transaction(e: dict, protocol: str, server_port: int,
                               span: tuple[int, int], where: object) -> None:
    """What every transaction event of a loopback recording holds: both ends 127.0.0.1,
    client/server the same as source/destination, the server's port, IPv4, and a start
    and end inside the capture with their duration."""
    assert get(e, "client.ip") == get(e, "source.ip") == "127.0.0.1", where
    assert get(e, "server.ip") == get(e, "destination.ip") == "127.0.0.1", where
    assert get(e, "client.port") == get(e, "source.port"), where
    assert get(e, "server.port") == get(e, "destination.port") == server_port, where
    assert get(e, "network.protocol") == protocol and get(e, "network.type") == "ipv4", where
    start, end = timestamp_ns(get(e, "event.start")), timestamp_ns(get(e, "event.end"))
    assert span[0] <= start <= end <= span[1], where
    assert get(e, "event.duration") == end - start >= 0, where


def of_type(events: list[dict], type_: str) -> list[dict]:
    return [e for e in events if e.get("type") == type_]


def timestamp_ns(text: str) -> int:
    """RFC 3339 UTC with up to nine fractional digits ("...T08:00:55.63805Z") → ns."""
    assert text.endswith("Z"), text
    base, _, frac = text[:-1].partition(".")
    secs = datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return int(secs.timestamp()) * 1_000_000_000 + int((frac or "0").ljust(9, "0")[:9])


def canonical_lines(events: list[dict]) -> list[str]:
    """Each event as sorted-key JSON without the shard field, the list sorted: two runs
    produced the same events exactly when these lists are equal."""
    lines = []
    for event in events:
        observer = event.get(SHARD_FIELD[0])
        if isinstance(observer, dict) and SHARD_FIELD[1] in observer:
            event = dict(event)
            observer = {k: v for k, v in observer.items() if k != SHARD_FIELD[1]}
            if observer:
                event[SHARD_FIELD[0]] = observer
            else:
                del event[SHARD_FIELD[0]]
        lines.append(json.dumps(event, sort_keys=True, separators=(",", ":")))
    return sorted(lines)

