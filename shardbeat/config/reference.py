"""`python -m shardbeat.config.reference` prints the reference shardbeat.yml: every key with its
description and default, generated from the model so it cannot drift from it.

Keys that hold a value are written out, so loading the file gives exactly the defaults (a test
checks it); optional sections that are off by default (other outputs, the disk queue) are
written commented out with their own defaults. `deploy/shardbeat.yml` is this output; after
changing any config model, regenerate it:

    python -m shardbeat.config.reference > deploy/shardbeat.yml
"""

from __future__ import annotations

import textwrap
import types
import typing
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from shardbeat.config.model import Settings
from shardbeat.config.types import parse_duration, parse_size

WIDTH = 79

HEADER = """\
######################## shardbeat reference configuration ########################
#
# Every setting shardbeat reads, with its default and what it does. Generated from
# the config model by `python -m shardbeat.config.reference`: do not edit by hand.
# Loading this file gives exactly the built-in defaults.
#
# - Packetbeat compatibility: a packetbeat.yml loads as it is. The `packetbeat.`
#   root is an alias of `shardbeat.`; if both are present they merge and
#   `shardbeat.` wins key by key.
# - Dotted keys are paths, as in Beats: `shardbeat.flows.enabled: false` at the
#   top level is the same as the nested form.
# - Protocols: the map form below adjusts the defaults (every protocol not named
#   keeps its defaults, and all are enabled). Packetbeat 8's list form
#       shardbeat.protocols:
#       - type: http
#         ports: [80, 8080]
#   runs only the protocols listed, as Packetbeat does.
# - `-E key=value` on the command line overrides any key after the file is read;
#   the value is YAML: -E shardbeat.protocols.http.ports=[80,8080]
# - ${VAR} and ${VAR:default} in values expand from the environment (or from
#   another key, e.g. ${path.home}); $${ is a literal ${.
# - Durations: 10s, 500ms, 1m, 1h30m, or a number of seconds.
#   Sizes: 10MB, 512KiB, or a number of bytes.
# - An empty key (`name:` with no value) means its default.
"""


def _key(name: str, info: FieldInfo) -> str:
    return info.alias if name.endswith("_") and info.alias else name


def _parsed_by(info: FieldInfo, func: Any) -> bool:
    """Whether the field's type is Duration/ByteSize (a BeforeValidator with that parser)."""
    def has(items: Any) -> bool:
        return any(getattr(m, "func", None) is func for m in items)

    annotation = info.annotation
    while typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    args = typing.get_args(annotation)
    return has(info.metadata) or (
        typing.get_origin(annotation) is typing.Annotated and has(args[1:]))


def _size(nbytes: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if nbytes and nbytes % size == 0:
            return f"{nbytes // size}{unit}"
    return str(nbytes)


def _duration(seconds: float) -> str:
    if seconds == 0 or seconds < 0:
        return f"{seconds:g}s"
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _scalar(name: str, value: Any, info: FieldInfo) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if _parsed_by(info, parse_duration):
            return _duration(float(value))
        if _parsed_by(info, parse_size):
            return _size(int(value))
        if name == "permissions":
            return f"0{value:o}"  # YAML 1.1 reads a leading 0 as octal, as Beats does
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True)
    dumped = yaml.safe_dump([value], default_flow_style=True, width=10_000).strip()
    return dumped[1:-1]  # the value alone, in flow style, quoted where YAML needs it


def _model_in(annotation: Any) -> type[BaseModel] | None:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _comment(lines: list[str], text: str, indent: str) -> None:
    width = max(40, WIDTH - len(indent) - 2)
    for line in textwrap.wrap(text, width) or [""]:
        lines.append(f"{indent}# {line}")


def _fields(lines: list[str], model: type[BaseModel], values: BaseModel | None, depth: int,
            commented: bool) -> None:
    indent = "  " * depth
    mark = "#" if commented else ""
    for name, info in model.model_fields.items():
        key = _key(name, info)
        if depth == 0:
            lines.append("")
            lines.append(f"# {'=' * 8} {key} {'=' * max(4, WIDTH - 12 - len(key))}")
        sub = _model_in(info.annotation)
        if depth > 0 and sub is not None:
            lines.append("")
        if info.description:
            _comment(lines, info.description, indent)
        if values is not None:
            value = getattr(values, name)
        elif info.is_required():
            value = PydanticUndefined
        else:
            value = info.get_default(call_default_factory=True)
        if isinstance(value, BaseModel) and sub is not None and value.__class__ is sub:
            lines.append(f"{indent}{mark}{key}:")
            _fields(lines, sub, None if commented else value, depth + 1, commented)
        elif value is None and sub is not None:
            lines.append(f"{indent}#{key}:")
            _fields(lines, sub, None, depth + 1, True)
        elif value is PydanticUndefined:
            lines.append(f"{indent}#{key}:   # required")
        elif value is None:
            lines.append(f"{indent}#{key}:")
        else:
            lines.append(f"{indent}{mark}{key}: {_scalar(name, value, info)}")


def render() -> str:
    """The reference file's text."""
    lines = [HEADER.rstrip("\n")]
    _fields(lines, Settings, Settings(), 0, False)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
