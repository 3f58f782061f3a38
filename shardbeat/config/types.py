"""Value types and the base models that every config section is built from.

Durations (`10s`, `1m`, `500ms`, or a bare number of seconds) become float seconds; sizes
(`10mb`, `1KiB`, or a bare number of bytes) become int bytes. Every model is frozen and
forbids unknown keys, so a typo is an error that names the key.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s|m|h|)\s*$")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "": 1.0,
                   "m": 60.0, "h": 3600.0}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024**2,
               "mb": 1024**2, "mib": 1024**2, "g": 1024**3, "gb": 1024**3, "gib": 1024**3,
               "t": 1024**4, "tb": 1024**4, "tib": 1024**4}


def parse_duration(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 10s, 500ms, 1m or 2h")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        # Go durations chain units ("1m30s"): sum each part.
        parts = re.findall(r"(-?\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", value.strip())
        if parts and "".join(n + u for n, u in parts) == value.strip():
            return sum(float(n) * _DURATION_UNITS[u] for n, u in parts)
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    raise ValueError("expected a duration such as 10s, 500ms, 1m or 2h")


def parse_size(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a size such as 10mb, 512kb or a number of bytes")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        match = _SIZE.match(value)
        if match and match.group(2).lower() in _SIZE_UNITS:
            return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])
    raise ValueError("expected a size such as 10mb, 512kb or a number of bytes")


def one_or_many(value: Any) -> Any:
    """go-ucfg unpacks a lone scalar into a one-element list (`ports: 80`); so do we."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return (value,)
    return value


Duration = Annotated[float, BeforeValidator(parse_duration)]
ByteSize = Annotated[int, BeforeValidator(parse_size)]
Port = Annotated[int, Field(ge=1, le=65535)]


def _names(value: Any) -> Any:
    # go-ucfg turns YAML scalars into strings where a string is wanted: [2024, yes] → names.
    value = one_or_many(value)
    if isinstance(value, (list, tuple)):
        return tuple(str(v).lower() if isinstance(v, bool) else
                     str(v) if isinstance(v, (int, float)) else v for v in value)
    return value


Names = Annotated[tuple[str, ...], BeforeValidator(_names)]


class StrictModel(BaseModel):
    """Frozen, and an unknown key is an error (with a did-you-mean, see config.errors)."""

    # coerce_numbers_to_str: `name: 1234` is a string, as go-ucfg unpacks it.
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True,
                              coerce_numbers_to_str=True)


class ProtocolConfig(StrictModel):
    """Options every protocol has in Packetbeat 8.x (`packetbeat.protocols.<name>`)."""

    enabled: bool = Field(True, description="Parse this protocol.")
    ports: tuple[Port, ...] = Field((), description="Ports whose traffic is this protocol.")
    send_request: bool = Field(False, description="Add the raw request text as `request`.")
    send_response: bool = Field(False, description="Add the raw response text as `response`.")
    transaction_timeout: Duration = Field(
        10.0, gt=0, description="A request with no response by then is published alone.")
    fields: dict[str, Any] = Field(default_factory=dict,
                                   description="Extra fields added to this protocol's events.")
    fields_under_root: bool = Field(False, description="Put `fields` at the event's root.")
    tags: tuple[str, ...] = Field((), description="Tags added to this protocol's events.")
    processors: tuple[dict[str, Any], ...] = Field(
        (), description="Processors run on this protocol's events only.")
    keep_null: bool = Field(False, description="Publish fields whose value is null.")
    index: str | None = Field(None, description="Index (or data stream) for these events.")

    @field_validator("ports", mode="before")
    @classmethod
    def _lone_port(cls, value: Any) -> Any:
        # Inherited by every protocol, also where a subclass redeclares `ports`.
        return one_or_many(value)
