"""Settings of the L2–L4 decoder: the bounds of IP fragment reassembly.

Reassembly holds fragments of datagrams it has not seen the end of, so each of its limits is a
setting with a counter of what it gave up (`ipfrag_*`, see shardbeat.decode.ipfrag).
"""

from __future__ import annotations

from pydantic import Field

from shardbeat.config.types import ByteSize, Duration, StrictModel


class IpFragConfig(StrictModel):
    """IPv4 and IPv6 fragment reassembly (Packetbeat reassembles IPv4 only, with fixed caps)."""

    max_datagrams: int = Field(
        1024, ge=1, le=1_000_000,
        description="Datagrams being reassembled at once; past this the oldest is dropped "
                    "(counted as ipfrag_evictions).")
    max_fragments: int = Field(
        128, ge=2, le=8192,
        description="Fragments one datagram may arrive in; more drops the datagram "
                    "(ipfrag_too_many_fragments). Bounds the work a flood of tiny "
                    "fragments can cause.")
    timeout: Duration = Field(
        30.0, gt=0,
        description="Packet time a datagram may take to complete from its first fragment; "
                    "then it is dropped (ipfrag_timeouts).")
    max_datagram_size: ByteSize = Field(
        65535, ge=68, le=16 * 1024 * 1024,
        description="Largest reassembled IP payload accepted; a fragment reaching past it "
                    "drops the datagram (ipfrag_oversize).")
