"""Plain-data steps of loading, before the model sees anything: Beats' dotted keys, merging
layers, `-E` values, and `${VAR}` expansion.

Each step walks nested dicts and lists and reports problems as (key, value, message) through
a callback, so one load reports every problem at once.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping

import yaml

Report = Callable[[str, Any, str], None]

# Free-form lists whose items keep their dotted keys: processor_list.py reads those itself.
_KEEP_DOTTED_UNDER = frozenset({"processors"})


class Replace(dict):
    """A mapping that replaces, rather than merges into, what an earlier layer set."""


def expand_dotted(value: Any) -> Any:
    """`a.b.c: 1` → `{a: {b: {c: 1}}}` at every level, merged with its siblings, as go-ucfg
    reads YAML. Later keys win over earlier ones on conflict."""
    if isinstance(value, list):
        return [expand_dotted(item) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[Any, Any] = {}
    for key, item in value.items():
        parts = key.split(".") if isinstance(key, str) and key else [key]
        child = item if parts[-1] in _KEEP_DOTTED_UNDER else expand_dotted(item)
        for part in reversed(parts[1:]):
            child = {part: child}
        head = parts[0]
        out[head] = merge(out[head], child) if head in out else child
    return out


def merge(base: Any, layer: Any) -> Any:
    """`layer` over `base`: mappings merge key by key, anything else (lists too) replaces."""
    if isinstance(layer, Replace):
        return Replace(layer)  # stays a replacement when this layer meets an earlier one
    if not (isinstance(base, dict) and isinstance(layer, dict)):
        return layer
    out = Replace(base) if isinstance(base, Replace) else dict(base)
    for key, item in layer.items():
        out[key] = merge(out[key], item) if key in out else item
    return out


def prune_nulls(value: Any) -> Any:
    """Drop keys whose value is null: in Beats an empty section (`setup.kibana:` with only
    comments under it) means "defaults". Lists are left alone (`- add_host_metadata: ~`)."""
    if isinstance(value, dict):
        return {k: prune_nulls(v) for k, v in value.items() if v is not None}
    return value


def parse_value(text: str) -> Any:
    """A `-E` value, typed as YAML would type it: [80,8080] is a list, false a bool, 10 an int,
    and anything YAML would not take as a scalar or a flow collection stays a string."""
    stripped = text.strip()
    if not stripped:
        return ""
    try:
        value = yaml.safe_load(stripped)
    except yaml.YAMLError:
        return text
    if isinstance(value, dict) and not stripped.startswith("{"):
        return text  # "a: b" is a string here, not a mapping
    if value is None and stripped not in ("null", "Null", "NULL", "~"):
        return text
    return value


def parse_override(text: str, report: Report) -> tuple[str, Any] | None:
    key, eq, raw = text.partition("=")
    key = key.strip()
    if not eq or not key or any(not part for part in key.split(".")):
        report(f"-E {text}", text, "expected KEY=VALUE with a dotted key, "
                                   "e.g. -E shardbeat.flows.enabled=false")
        return None
    return key, parse_value(raw)


_VAR = re.compile(r"\$\$\{|\$\{([^}:]+)(?::([^}]*))?\}")


def expand_vars(tree: Any, env: Mapping[str, str], report: Report,
                defaults: Callable[[], Mapping[str, Any]] = dict) -> Any:
    """Replace `${NAME}` and `${NAME:default}` in every string. A NAME that is a key of the
    config (`${path.home}`) takes that key's value, as set or else its default, as in Beats;
    otherwise NAME is an environment variable. `$${` is a literal `${`."""

    def find(root: Any, name: str) -> Any:
        node = root
        for part in name.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
        return node if isinstance(node, (str, int, float, bool)) else None

    depth = 0

    def lookup(name: str) -> Any:
        nonlocal depth
        found = find(tree, name)
        if found is None and "." in name:
            found = find(defaults(), name)
        if isinstance(found, str) and "${" in found and depth < 8:  # 8: a cycle stops
            depth += 1
            found = _substitute(found, name, lookup, report)
            depth -= 1
        return env.get(name) if found is None else found

    def walk(value: Any, key: str) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, f"{key}.{k}" if key else str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, f"{key}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, str) and "${" in value:
            return _substitute(value, key, lookup, report)
        return value

    return walk(tree, "")


def _substitute(text: str, key: str, lookup: Callable[[str], Any], report: Report) -> Any:
    whole = _VAR.fullmatch(text)
    missing: list[str] = []

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group(1).strip(), match.group(2)
        found = lookup(name)
        if found is None:
            if default is None:
                missing.append(name)
                return ""
            return default
        return str(found).lower() if isinstance(found, bool) else str(found)

    result = _VAR.sub(one, text)
    for name in missing:
        report(key, text, f"${{{name}}} is not set: no environment variable {name} and no "
                          f"default (write ${{{name}:default}} to give one)")
    if whole is not None and whole.group(0) != "$${" and result.lstrip()[:1] in ("[", "{"):
        return parse_value(result)  # PORTS="[80, 8080]" in `ports: ${PORTS}` is a list
    return result
