"""`shardbeat.flows`: Packetbeat 8.x's flow options plus the two bounds Packetbeat lacks.

Packetbeat rejects a `timeout` under one second and a `period` that is neither negative
(final reports only) nor at least one second; the same checks live here so a config
Packetbeat refuses is refused with the key named.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from shardbeat.config.types import Duration, StrictModel


class FlowsConfig(StrictModel):
    """Bidirectional network flows, reported every `period` and when they end."""

    enabled: bool = Field(True, description="Track flows and publish flow events.")
    timeout: Duration = Field(
        30.0, ge=1.0,
        description="A flow with no packet for this long ends with a final report.")
    period: Duration = Field(
        10.0,
        description="Report every open flow this often (on packet time, at multiples of "
                    "the period since the epoch); -1 reports only when a flow ends.")
    enable_delta_flow_reports: bool = Field(
        False,
        description="Report bytes and packets since the flow's previous report instead "
                    "of totals since it started.")
    allow_mismatched_eth: bool = Field(
        False,
        description="Leave MAC addresses out of a flow's key (and its event), so that "
                    "frames of one conversation with differing MACs (asymmetric routing) "
                    "stay one flow.")
    fields: dict[str, Any] = Field(default_factory=dict,
                                   description="Extra fields added to every flow event.")
    fields_under_root: bool = Field(False, description="Put `fields` at the event's root.")
    tags: tuple[str, ...] = Field((), description="Tags added to every flow event.")
    processors: tuple[dict[str, Any], ...] = Field(
        (), description="Processors run on flow events only.")
    keep_null: bool = Field(False, description="Publish fields whose value is null.")
    index: str | None = Field(None, description="Index (or data stream) for flow events.")
    active_timeout: Duration = Field(
        1800.0, ge=0.0,
        description="shardbeat only: a flow older than this is reported final and starts "
                    "again with its next packet, so a connection that never idles still "
                    "ends up in closed-flow analytics; 0 turns it off.")
    max_flows: int = Field(
        262144, ge=1,
        description="shardbeat only: open flows per worker; at the cap the flow idle the "
                    "longest is reported final and dropped (counted as flows_evicted).")

    @field_validator("period")
    @classmethod
    def _period_disabled_or_one_second(cls, value: float) -> float:
        # Packetbeat schedules no periodic report for any period <= 0.
        if value <= 0:
            return -1.0
        if value < 1.0:
            raise ValueError("period must be -1 (final reports only) or at least 1s")
        return value

    @field_validator("active_timeout")
    @classmethod
    def _active_timeout_off_or_one_second(cls, value: float) -> float:
        if 0 < value < 1.0:
            raise ValueError("active_timeout must be 0 (off) or at least 1s")
        return value
