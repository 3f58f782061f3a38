"""`processors:` lists, checked against Beats 8's processor names and put in one canonical shape.

Beats reads every dotted key as a path, so `if.contains.tags: forwarded` (as in the shipped
packetbeat.yml) and `when.equals.http.response.code: 200` mean nested maps, and it flattens a
condition's field map back to dotted field names. This module does the same once, at load time,
so the processor code sees only:

    {name: {option: value, ..., "when": condition}}          one processor
    {"if": condition, "then": [...], "else": [...]}            a conditional ("else" optional)
    condition = {op: {"dotted.field": value}} | {"or"/"and": [condition]} | {"not": condition}
                | {"has_fields": [field, ...]}

A processor's own options are left as written (their meaning is the processor's business).
"""

from __future__ import annotations

from typing import Any, Callable

from shardbeat.config.errors import unknown_name_message

# Beats 8.x processors available to Packetbeat (libbeat/processors and its documentation's
# list; `move_fields` is the registered name of the documented "move-fields").
PROCESSOR_NAMES = frozenset({
    "add_cloud_metadata", "add_cloudfoundry_metadata", "add_docker_metadata", "add_fields",
    "add_host_metadata", "add_id", "add_kubernetes_metadata", "add_labels", "add_locale",
    "add_network_direction", "add_nomad_metadata", "add_observer_metadata",
    "add_process_metadata", "add_tags", "append", "community_id", "convert", "copy_fields",
    "decode_base64_field", "decode_duration", "decode_json_fields", "decode_xml",
    "decode_xml_wineventlog", "decompress_gzip_field", "detect_mime_type", "dissect", "dns",
    "drop_event", "drop_fields", "extract_array", "fingerprint", "include_fields", "move_fields",
    "rate_limit", "registered_domain", "rename", "replace", "script", "syslog",
    "translate_ldap_attribute", "translate_sid", "truncate_fields", "urldecode",
})
CONDITION_OPS = frozenset({"equals", "contains", "regexp", "range", "network", "has_fields",
                           "or", "and", "not"})
_FIELD_MAP_OPS = ("equals", "contains", "regexp", "range", "network")

Report = Callable[[str, Any, str], None]  # (key, value, message)


def canonical_processors(items: Any, key: str, report: Report) -> list[dict[str, Any]]:
    """The canonical form of a `processors` list; every problem goes to `report`."""
    if items is None:
        return []
    if isinstance(items, dict):
        items = [items]  # `then:` and `else:` may hold a single processor
    if not isinstance(items, (list, tuple)):
        report(key, items, f"{items!r} is not accepted; expected a list of processors, "
                           "e.g. [{drop_fields: {fields: [host]}}]")
        return []
    out = []
    for index, item in enumerate(items):
        canonical = _canonical_item(item, f"{key}[{index}]", report)
        if canonical is not None:
            out.append(canonical)
    return out


def _split_heads(mapping: dict[str, Any], heads: frozenset[str] | set[str]) -> dict[str, Any]:
    """Turn `head.rest: v` into `head: {rest: v}` for the structural words in `heads`."""
    out: dict[str, Any] = {}
    for name, value in mapping.items():
        head, dot, rest = str(name).partition(".")
        if dot and head in heads:
            nested = out.get(head)
            if not isinstance(nested, dict):
                nested = {}
            out[head] = {**nested, rest: value}
        elif name in out and isinstance(out[name], dict) and isinstance(value, dict):
            out[name] = {**out[name], **value}
        else:
            out[name] = value
    return out


def _canonical_item(item: Any, key: str, report: Report) -> dict[str, Any] | None:
    if not isinstance(item, dict) or not item:
        report(key, item, "expected a mapping naming one processor, "
                          "e.g. `- drop_fields: {fields: [host]}`")
        return None
    item = _split_heads(item, PROCESSOR_NAMES | {"if", "then", "else"})
    if "if" in item:
        return _canonical_conditional(item, key, report)
    if len(item) != 1:
        report(key, sorted(item), "one processor per list item (start each with `- `), "
                                  "or `if`/`then`/`else`")
        return None
    name, options = next(iter(item.items()))
    if name not in PROCESSOR_NAMES:
        report(f"{key}.{name}", options, unknown_name_message(name, PROCESSOR_NAMES,
                                                              "processor"))
        return None
    if options is None:
        options = {}
    if not isinstance(options, dict):
        report(f"{key}.{name}", options, f"{options!r} is not accepted; expected the "
                                         "processor's options as a mapping, or ~ for none")
        return None
    options = _split_heads(options, {"when"})
    if "when" in options:
        options["when"] = canonical_condition(options["when"], f"{key}.{name}.when", report)
    return {name: options}


def _canonical_conditional(item: dict[str, Any], key: str, report: Report) -> dict[str, Any]:
    for extra in sorted(set(item) - {"if", "then", "else"}):
        report(f"{key}.{extra}", item[extra], "an `if` processor takes only if, then and else")
    if "then" not in item:
        report(f"{key}.then", None, "required by `if`: the processors to run when it holds")
    out = {"if": canonical_condition(item["if"], f"{key}.if", report),
           "then": canonical_processors(item.get("then"), f"{key}.then", report)}
    if "else" in item:
        out["else"] = canonical_processors(item["else"], f"{key}.else", report)
    return out


def canonical_condition(cond: Any, key: str, report: Report) -> dict[str, Any]:
    if not isinstance(cond, dict) or not cond:
        report(key, cond, f"{cond!r} is not accepted; expected a condition such as "
                          "`equals: {status: OK}`")
        return {}
    out: dict[str, Any] = {}
    for op, arg in _split_heads(cond, CONDITION_OPS).items():
        here = f"{key}.{op}"
        if op not in CONDITION_OPS:
            report(here, arg, unknown_name_message(str(op), CONDITION_OPS, "condition"))
        elif op in ("or", "and"):
            if not isinstance(arg, list):
                report(here, arg, f"{arg!r} is not accepted; expected a list of conditions")
                continue
            out[op] = [canonical_condition(c, f"{here}[{i}]", report) for i, c in enumerate(arg)]
        elif op == "not":
            out[op] = canonical_condition(arg, here, report)
        elif op == "has_fields":
            fields = [arg] if isinstance(arg, str) else arg
            if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
                report(here, arg, f"{arg!r} is not accepted; expected a list of field names")
                continue
            out[op] = list(fields)
        elif not isinstance(arg, dict) or not arg:
            report(here, arg, f"{arg!r} is not accepted; expected a mapping of field: value")
        else:
            out[op] = flatten(arg)
    return out


def flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested maps to dotted keys (lists and scalars are leaves), as Beats' conditions do."""
    out: dict[str, Any] = {}
    for name, value in mapping.items():
        dotted = f"{prefix}{name}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out
