"""Config problems that name the dotted key, the bad value and what is accepted.

pydantic reports where validation failed as a location tuple that mixes field names, list
indexes and union-member tags; `problems_from_validation` walks the model along it so the key
printed is the one the user wrote (`shardbeat.protocols.http.ports[0]`), and an unknown key gets
a did-you-mean from the fields of the model it was found in.
"""

from __future__ import annotations

import difflib
import reprlib
import types
import typing
from dataclasses import dataclass
from typing import Any, Iterable

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo


class _NoValue:
    def __repr__(self) -> str:
        return "<no value>"


NO_VALUE: Any = _NoValue()
_show_repr = reprlib.Repr()
_show_repr.maxstring, _show_repr.maxother, _show_repr.maxlist, _show_repr.maxdict = 60, 60, 6, 4


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration."""

    key: str            # dotted key as written, e.g. shardbeat.protocols.http.ports[0]
    value: Any          # the rejected value, or NO_VALUE (a missing key, a whole file)
    message: str        # what is wrong and what is accepted

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


class ConfigError(Exception):
    """Every problem found in one load, so a user fixes them in one pass."""

    def __init__(self, problems: Iterable[Problem], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__(format_problems(self))


def format_problems(err: ConfigError) -> str:
    """The text `shardbeat test config` prints: a heading, then one problem per line."""
    where = f" in {err.source}" if err.source else ""
    count = len(err.problems)
    head = f"Config error{'s' if count != 1 else ''}{where} ({count}):"
    return "\n".join([head] + [f"  {problem}" for problem in err.problems])


def show(value: Any) -> str:
    """A short, readable rendering of a rejected value."""
    if isinstance(value, dict):
        return "a mapping {" + ", ".join(str(k) for k in list(value)[:4]) + (
            ", ...}" if len(value) > 4 else "}")
    return _show_repr.repr(value)


def suggest(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to a misspelled name, if any is close."""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def unknown_name_message(word: str, candidates: Iterable[str], what: str = "key") -> str:
    names = sorted(set(candidates))
    near = suggest(word, names)
    if near is not None:
        return f"unknown {what} {word!r}; did you mean {near!r}?"
    listed = ", ".join(names[:16]) + (", ..." if len(names) > 16 else "")
    return f"unknown {what} {word!r}; accepted: {listed}"


# --- walking a model along a pydantic error location --------------------------------------

def _unwrap(tp: Any) -> tuple[list[Any], list[Any]]:
    """(candidate types, constraint metadata) of an annotation, through Annotated/Optional."""
    metadata: list[Any] = []
    while typing.get_origin(tp) is typing.Annotated:
        tp, *extra = typing.get_args(tp)
        metadata.extend(extra)
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(tp):
            if arg is not type(None):
                sub, meta = _unwrap(arg)
                out.extend(sub)
                metadata.extend(meta)
        return out, metadata
    return [tp], metadata


def _field_names(model: type[BaseModel]) -> dict[str, str]:
    """Every accepted spelling of a field (name and alias) → field name."""
    names = {}
    for name, info in model.model_fields.items():
        names[name] = name
        if info.alias:
            names[info.alias] = name
    return names


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _step(cands: list[Any], part: Any) -> tuple[list[Any], list[Any], str | None] | None:
    """Follow one location part; None when it is a union tag rather than a real step."""
    for tp in cands:
        if isinstance(part, str) and _is_model(tp):
            names = _field_names(tp)
            if part in names:
                info = tp.model_fields[names[part]]
                sub, meta = _unwrap(info.annotation)
                return sub, list(info.metadata) + meta, f".{part}"
        origin = typing.get_origin(tp)
        if isinstance(part, int) and origin in (tuple, list, set, frozenset):
            sub, meta = _unwrap(typing.get_args(tp)[0])
            return sub, meta, f"[{part}]"
        if isinstance(part, str) and origin is dict:
            sub, meta = _unwrap(typing.get_args(tp)[1])
            return sub, meta, f".{part}"
    return None


def walk(root: type[BaseModel], loc: tuple[Any, ...]) -> tuple[str, list[Any], list[Any]]:
    """The dotted key of `loc`, the types found there and their constraints."""
    cands: list[Any] = [root]
    metadata: list[Any] = []
    key = ""
    for part in loc:
        stepped = _step(cands, part)
        if stepped is None:
            if not any(_is_model(t) for t in cands):
                continue  # a union member tag such as 'literal[...]' or 'int'
            key += f".{part}"  # an unknown key of a section: nothing to step into
            cands, metadata = [], []
            continue
        cands, metadata, suffix = stepped
        key += suffix
    return key.lstrip("."), cands, metadata


# --- turning pydantic errors into problems ---------------------------------------------------

_EXPECTED = {
    "int_parsing": "a whole number", "int_type": "a whole number",
    "int_from_float": "a whole number", "float_parsing": "a number", "float_type": "a number",
    "bool_parsing": "true or false", "bool_type": "true or false",
    "string_type": "a string", "tuple_type": "a list, e.g. [a, b]",
    "list_type": "a list, e.g. [a, b]", "dict_type": "a mapping of key: value",
    "model_type": "a mapping of key: value", "model_attributes_type": "a mapping of key: value",
    "none_required": "nothing (null)",
}
_BOUND_TYPES = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def _bounds(metadata: list[Any]) -> str | None:
    lo = hi = None
    flat: list[Any] = []
    for item in metadata:
        # `Annotated[int, Field(ge=1)]` keeps its bounds inside a FieldInfo.
        flat.extend(item.metadata if isinstance(item, FieldInfo) else [item])
    for item in flat:
        for kind in ("ge", "gt", "le", "lt"):
            value = getattr(item, kind, None)
            if value is not None and isinstance(item, getattr(annotated_types, kind.title())):
                if kind in ("ge", "gt"):
                    lo = f"{'at least' if kind == 'ge' else 'more than'} {value}"
                else:
                    hi = f"{'at most' if kind == 'le' else 'less than'} {value}"
    if lo and hi and lo.startswith("at least") and hi.startswith("at most"):
        return f"a value from {lo[9:]} to {hi[8:]}"
    parts = [p for p in (lo, hi) if p]
    return "a value of " + " and ".join(parts) if parts else None


def _expected(error: dict[str, Any], metadata: list[Any]) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in _BOUND_TYPES:
        return _bounds(metadata) or error["msg"]
    if kind == "literal_error":
        return "one of " + str(ctx.get("expected", "")).replace(" or ", ", ")
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    return str(error["msg"])


def _one_problem(root: type[BaseModel], error: dict[str, Any]) -> tuple[str, Any, str]:
    key, cands, metadata = walk(root, tuple(error["loc"]))
    value = error.get("input", NO_VALUE)
    kind = error["type"]
    if kind == "extra_forbidden":
        parent, _, word = key.rpartition(".")
        _, owners, _ = walk(root, tuple(error["loc"][:-1]))
        names = [n for t in owners if _is_model(t) for n in _field_names(t)]
        return key, value, unknown_name_message(word, names) if names else "unknown key"
    if kind == "missing":
        return key, NO_VALUE, "required, but not set"
    if kind in ("value_error", "assertion_error"):
        reason = str((error.get("ctx") or {}).get("error", error["msg"]))
        if any(_is_model(t) for t in cands):
            return key, value, reason  # a check across a section's keys: no one value
        return key, value, f"{show(value)} is not accepted: {reason}"
    return key, value, f"{show(value)} is not accepted; expected {_expected(error, metadata)}"


def problems_from_validation(exc: ValidationError, root: type[BaseModel]) -> list[Problem]:
    """One problem per bad key; a union's several complaints about one key become one."""
    merged: dict[str, tuple[Any, list[str]]] = {}
    for error in exc.errors(include_url=False):
        key, value, message = _one_problem(root, error)
        if key in merged:
            merged[key][1].append(message)
        else:
            merged[key] = (value, [message])
    problems = []
    for key, (value, messages) in merged.items():
        problems.append(Problem(key or "(top level)", value, _join(messages)))
    return problems


def _join(messages: list[str]) -> str:
    if len(messages) == 1:
        return messages[0]
    # A union: "'x' is not accepted; expected A" + "...; expected B" → "...; expected A or B".
    heads = {m.partition("; expected ")[0] for m in messages}
    if len(heads) == 1 and all("; expected " in m for m in messages):
        tails = [m.partition("; expected ")[2] for m in messages]
        return f"{heads.pop()}; expected " + " or ".join(dict.fromkeys(tails))
    return "; ".join(dict.fromkeys(messages))
