"""Where Packetbeat's own test captures live (`../shared/pcaps/` beside the repository)."""

from __future__ import annotations

from pathlib import Path

import pytest

PCAPS = Path(__file__).resolve().parents[2].parent / "shared" / "pcaps" / "packetbeat"


def all_pcaps() -> list[Path]:
    return sorted(PCAPS.rglob("*.pcap")) if PCAPS.is_dir() else []


def pcap(name: str) -> Path:
    path = PCAPS / name
    if not path.exists():
        pytest.skip(f"{path} is absent: Packetbeat's captures live in ../shared/pcaps")
    return path


def require_pcaps() -> None:
    if not PCAPS.is_dir():
        pytest.skip(f"{PCAPS} is absent: Packetbeat's captures live in ../shared/pcaps")
