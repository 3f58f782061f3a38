"""Run N copies of one command at once, each writing its stdout to a file of its own in
DIR, and wait for all; exit 1 if any failed. The files are removed afterwards.

    side_by_side.py N DIR CMD...

The benchmark runs N independent one-worker replays this way beside its N-worker run: no
sharding, no bus, each copy the whole capture, so their combined speed is what this machine
gives N processes doing exactly this work (shared caches, memory and whatever else the
hypervisor shares), the ceiling against which the N-worker figure is read.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    copies, scratch, cmd = int(argv[0]), Path(argv[1]), argv[2:]
    outs = [scratch / f"side-by-side-{i}" for i in range(copies)]
    procs = []
    try:
        for out in outs:
            with open(out, "wb") as f:
                procs.append(subprocess.Popen(cmd, stdout=f))
        return 0 if all(p.wait() == 0 for p in procs) else 1
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        for out in outs:
            out.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
