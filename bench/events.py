"""Count what shardbeat published and compare it with what the generator put in.

Transactions are counted per `type` (Packetbeat's protocol name); flows by their final report
(one per flow, `flow.final: true`). HTTP status codes and DNS response codes are compared too,
so a parser that pairs the wrong response still shows up even when the totals agree.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import orjson

DNS_RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


@dataclass
class Published:
    types: Counter = field(default_factory=Counter)
    final_flows: int = 0
    http_status: Counter = field(default_factory=Counter)
    dns_rcode: Counter = field(default_factory=Counter)
    unparsable_lines: int = 0

    @property
    def transactions(self) -> int:
        return sum(n for t, n in self.types.items() if t != "flow")


def count(path: Path) -> Published:
    out = Published()
    with open(path, "rb") as f:
        for line in f:
            try:
                event = orjson.loads(line)
            except orjson.JSONDecodeError:
                out.unparsable_lines += 1
                continue
            kind = event.get("type")
            out.types[kind] += 1
            if kind == "flow":
                out.final_flows += bool(event.get("flow", {}).get("final"))
            elif kind == "http":
                out.http_status[event.get("http", {}).get("response", {}).get("status_code")] += 1
            elif kind == "dns":
                out.dns_rcode[event.get("dns", {}).get("response_code")] += 1
    return out


@dataclass
class Check:
    name: str
    published: int | str
    expected: int | str
    ok: bool
    note: str = ""


def compare(pub: Published, sidecar: dict, parsed: list[str], unparsed_note: str) -> list[Check]:
    """One line per protocol in the capture: parsed ones must match, others publish nothing."""
    checks = []
    for proto, want in sidecar["transactions"].items():
        got = pub.types.get(proto, 0)
        if proto in parsed:
            checks.append(Check(proto, got, want, got == want))
        else:
            checks.append(Check(proto, got, want, got == 0, unparsed_note))
    if "http" in parsed:
        want = {int(k): v for k, v in sidecar["protocols"]["http"]["status"].items()}
        got = {k: v for k, v in pub.http_status.items()}
        checks.append(Check("http status codes", _fmt(got), _fmt(want), got == want))
    if "dns" in parsed:
        want = {DNS_RCODES[int(k)]: v for k, v in sidecar["protocols"]["dns"]["rcodes"].items()}
        got = dict(pub.dns_rcode)
        checks.append(Check("dns response codes", _fmt(got), _fmt(want), got == want))
    checks.append(Check("flows (final reports)", pub.final_flows, sidecar["flows"],
                        pub.final_flows == sidecar["flows"]))
    unexpected = {t: n for t, n in pub.types.items()
                  if t != "flow" and t not in sidecar["transactions"]}
    if unexpected:
        checks.append(Check("events of other types", _fmt(unexpected), "none", False))
    if pub.unparsable_lines:
        checks.append(Check("unparsable output lines", pub.unparsable_lines, 0, False))
    return checks


def _fmt(counts: dict) -> str:
    return " ".join(f"{k}:{v}" for k, v in sorted(counts.items(), key=lambda kv: str(kv[0])))
