"""The last step in a worker: the fields every event carries, then encoding, once.

`tags` and `fields` come from the top level and from the protocol's (or flows') own
section, as in Packetbeat: the section's tags follow the global ones, its fields are merged
over the global ones.
"""

from __future__ import annotations

import socket
from typing import Any, Callable

import orjson

from shardbeat import ECS_VERSION, __version__
from shardbeat.transactions.event import merge_nested


class SectionExtras:
    """What one config section (a protocol, flows, or the top level) adds to its events."""

    __slots__ = ("tags", "fields", "fields_under_root")

    def __init__(self, tags: tuple[str, ...] = (), fields: dict | None = None,
                 fields_under_root: bool = False) -> None:
        self.tags = tuple(tags)
        self.fields = dict(fields or {})
        self.fields_under_root = fields_under_root


class EventFinisher:
    def __init__(self, top: SectionExtras, sections: dict[str, SectionExtras],
                 name: str | None = None) -> None:
        self._top = top
        self._sections = sections
        hostname = socket.gethostname()
        self._agent = {"type": "shardbeat", "version": __version__,
                       "name": name or hostname, "hostname": hostname}
        self._ecs = {"version": ECS_VERSION}

    def finish(self, event: dict[str, Any]) -> bytes:
        event["agent"] = dict(self._agent)
        event["ecs"] = dict(self._ecs)
        section = self._sections.get(event.get("type", ""))
        tags = list(self._top.tags)
        if section is not None:
            tags += [t for t in section.tags if t not in tags]
        if tags:
            event["tags"] = tags
        for extras in (self._top, section):
            if extras is not None and extras.fields:
                self._add_fields(event, extras)
        return orjson.dumps(event)

    @staticmethod
    def _add_fields(event: dict, extras: SectionExtras) -> None:
        if extras.fields_under_root:
            merge_nested(event, _copy(extras.fields))
        else:
            merge_nested(event.setdefault("fields", {}), _copy(extras.fields))


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


EncodedSink = Callable[[bytes], None]
