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
    """Adds what every event carries, then encodes it.

    What a section adds (agent, ecs, tags, fields) is the same for every event of that
    section, so it is encoded once into a JSON suffix. An event that has none of the
    suffix's top-level keys gets the same bytes as the dict route (`finished` then
    `orjson.dumps`) would give: the added keys come last in that route too, in the same
    order. Only an event that collides with them (a field under root a protocol also sets)
    takes the dict route. Processors, when they come, need the dict route: they read and
    change the finished event.

    A published event is read-only: producers may share parts of it with other events
    (objects cached per distinct value, `client` the same object as `source`). The dict
    route therefore changes a copy.
    """

    def __init__(self, top: SectionExtras, sections: dict[str, SectionExtras],
                 name: str | None = None) -> None:
        self._top = top
        self._sections = sections
        hostname = socket.gethostname()
        self._agent = {"type": "shardbeat", "version": __version__,
                       "name": name or hostname, "hostname": hostname}
        self._ecs = {"version": ECS_VERSION}
        # event type -> (the keys the suffix adds, the suffix); few types, filled lazily.
        self._suffixes: dict[str, tuple[frozenset[str], bytes]] = {}

    def finish(self, event: dict[str, Any]) -> bytes:
        kind = event.get("type", "")
        suffix = self._suffixes.get(kind)
        if suffix is None:
            suffix = self._suffixes[kind] = self._suffix(kind)
        keys, tail = suffix
        # From the event's side: the view walks the few added keys, not the event's.
        if event and event.keys().isdisjoint(keys):
            return orjson.dumps(event)[:-1] + tail
        return orjson.dumps(self.finished(event))

    def appender(self, kind: str, event_keys: frozenset[str]) -> Callable[[bytes], bytes] | None:
        """For events of `kind` that a producer encodes itself (without their closing
        brace) and whose top-level keys are `event_keys`: the function that finishes them,
        or None when the section's additions collide with those keys (the dict route then)."""
        suffix = self._suffixes.get(kind)
        if suffix is None:
            suffix = self._suffixes[kind] = self._suffix(kind)
        keys, tail = suffix
        if not keys.isdisjoint(event_keys):
            return None
        return lambda body: body + tail

    def finished(self, event: dict[str, Any]) -> dict[str, Any]:
        """A copy of `event` with its agent, ecs, tags and fields added: `event` may share
        objects with other events, which merging fields into it would change."""
        event = _copy(event)
        self._add_extras(event, self._sections.get(event.get("type", "")))
        return event

    def _suffix(self, kind: str) -> tuple[frozenset[str], bytes]:
        extras: dict[str, Any] = {}
        self._add_extras(extras, self._sections.get(kind))
        return frozenset(extras), b"," + orjson.dumps(extras)[1:]

    def _add_extras(self, event: dict[str, Any], section: SectionExtras | None) -> None:
        event["agent"] = dict(self._agent)
        event["ecs"] = dict(self._ecs)
        tags = list(self._top.tags)
        if section is not None:
            tags += [t for t in section.tags if t not in tags]
        if tags:
            event["tags"] = tags
        for extras in (self._top, section):
            if extras is not None and extras.fields:
                self._add_fields(event, extras)

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
