"""Run one command and measure it: wall time, CPU time, peak RSS of every process in its tree.

Peak RSS per process is the kernel's own high-water mark (`VmHWM` in /proc/PID/status), read
by polling the process tree (`/proc/PID/task/*/children`) until the command exits, so a
worker's figure is its true peak, not a sample. CPU time comes from `wait4`, which includes
every descendant the command reaped.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

POLL_S = 0.05
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class ProcPeak:
    pid: int
    cmdline: str
    hwm_kb: int
    cpu_s: float = 0.0      # user + system, as of the last sample before the process ended


@dataclass
class RunResult:
    cmd: list[str]
    wall_s: float
    cpu_s: float
    returncode: int
    timed_out: bool
    procs: dict[int, ProcPeak] = field(default_factory=dict)
    root_pid: int = 0
    max_rss_tree_kb: int = 0      # wait4: the largest peak of the command and all it reaped

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def peak_main_mb(self) -> float:
        p = self.procs.get(self.root_pid)
        return p.hwm_kb / 1024 if p else 0.0

    def children(self, exclude: tuple[str, ...] = ("resource_tracker",)) -> list[ProcPeak]:
        """Descendants (the workers), helper processes excluded."""
        return [p for pid, p in self.procs.items()
                if pid != self.root_pid and not any(x in p.cmdline for x in exclude)]

    def peak_children_mb(self) -> float:
        return max((p.hwm_kb for p in self.children()), default=0) / 1024


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass                                     # exited between listing and reading
    return out


def _tree(root: int) -> list[int]:
    seen, todo = [], [root]
    while todo:
        pid = todo.pop()
        seen.append(pid)
        todo += _children(pid)
    return seen


def _read(pid: int) -> tuple[int, str, float] | None:
    """(VmHWM kB, command line, CPU seconds) of a live process; None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            status = f.read()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read().rsplit(")", 1)[1].split()   # after the command name, field 3 on
    except OSError:
        return None
    cpu = (int(stat[11]) + int(stat[12])) / CLOCK_TICKS   # utime, stime (fields 14, 15)
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]), cmdline, cpu
    return None                                   # a zombie has no memory lines


def _sample(root: int, procs: dict[int, ProcPeak]) -> None:
    for pid in _tree(root):
        got = _read(pid)
        if got is None:
            continue
        hwm, cmdline, cpu = got
        peak = procs.get(pid)
        if peak is None:
            procs[pid] = ProcPeak(pid, cmdline, hwm, cpu)
        else:
            peak.hwm_kb, peak.cpu_s = max(hwm, peak.hwm_kb), cpu


def run(cmd: list[str], stdout: Path, stderr: Path, timeout_s: float,
        env: dict | None = None) -> RunResult:
    """Run `cmd` with stdout/stderr to files; kill its process group on timeout."""
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, start_new_session=True)
        result = RunResult(cmd, 0.0, 0.0, -1, False, root_pid=proc.pid)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            _sample(proc.pid, result.procs)
            if time.perf_counter() - t0 > timeout_s:
                os.killpg(proc.pid, 9)
                result.timed_out = True
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(POLL_S)
        result.wall_s = time.perf_counter() - t0
    proc.returncode = result.returncode = os.waitstatus_to_exitcode(status)
    result.cpu_s = usage.ru_utime + usage.ru_stime
    result.max_rss_tree_kb = usage.ru_maxrss
    if proc.pid not in result.procs:            # exited before the first sample
        result.procs[proc.pid] = ProcPeak(proc.pid, " ".join(cmd), usage.ru_maxrss)
    return result
