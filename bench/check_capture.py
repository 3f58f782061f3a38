#!/usr/bin/env python3
"""Validate a generated capture with tshark: no malformed packets, counts as the sidecar says.

    python bench/check_capture.py bench/out/mix-1500000-s1.pcap

One tshark pass with checksum validation on: expert info at warning level and above must be
empty (a malformed packet is an expert error; a bad seq/ack shows up as a TCP warning), and the
requests tshark counts per protocol must equal the generator's sidecar. Redis is reported but
not compared: tshark counts an array split across segments once partially and once whole.
Exit 0 when the capture is clean, 1 otherwise.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

COUNTS = {  # protocol: (field counted, display filter)
    "http": ("http.request", "http.request"),
    "http_responses": ("http.response", "http.response"),
    "dns": ("dns.flags.response", "dns.flags.response==0"),
    "dns_responses": ("dns.flags.response", "dns.flags.response==1"),
    "mysql": ("mysql.query", "mysql.query"),
    "pgsql": ("pgsql.query", "pgsql.query"),
}
PAIRED = {"http_responses": "http", "dns_responses": "dns"}
CHECKSUMS = ("ip.check_checksum:TRUE", "tcp.check_checksum:TRUE", "udp.check_checksum:TRUE")
SECTION = re.compile(r"^(Errors|Warns) \((\d+)\)", re.M)


def tshark_report(pcap: Path) -> str:
    stat = ",".join(f"COUNT({fld}){flt}" for fld, flt in COUNTS.values())
    cmd = ["tshark", "-r", str(pcap), "-q", "-z", "expert,warn", "-z", f"io,stat,0,{stat}"]
    for opt in CHECKSUMS:
        cmd += ["-o", opt]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def parse_counts(report: str) -> dict[str, int]:
    row = next(line for line in report.splitlines() if "<>" in line)
    cells = [c.strip() for c in row.strip("|").split("|")][1:]
    return dict(zip(COUNTS, (int(c) for c in cells)))


def check(pcap: Path) -> tuple[bool, list[str]]:
    side = json.loads(pcap.with_suffix(".json").read_text())
    report = tshark_report(pcap)
    lines, ok = [], True
    for kind, n in SECTION.findall(report):
        ok = False
        lines.append(f"tshark expert {kind}: {n}")
    if ok:
        lines.append("tshark expert: no warnings, no errors, no malformed packets")
    for name, seen in parse_counts(report).items():
        want = side["transactions"][PAIRED.get(name, name)]
        ok &= seen == want
        verdict = "ok" if seen == want else "MISMATCH"
        lines.append(f"{name:15} tshark {seen:>8}  generator {want:>8}  {verdict}")
    lines.append(f"{'redis':15} generator {side['transactions']['redis']:>8}  (not compared, see --help)")
    if not ok:
        lines.append(report)
    return ok, lines


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    ok, lines = check(Path(argv[0]))
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
