"""`load_config`: a YAML file and `-E` overrides → one validated, frozen `Settings`.

The order is Beats': the file, then each `-E key=value` over it, then `${VAR}` expansion, then
validation. Decisions where Packetbeat leaves room, all documented in the reference file:

- No file: Packetbeat's shipped defaults. A path that does not exist is an error.
- `packetbeat.` is an alias of `shardbeat.`; with both present they merge and `shardbeat.`
  wins key by key, so a packetbeat.yml can be topped up with shardbeat-only keys.
- Protocols in Packetbeat 8's list form (`- type: http`) run only the listed protocols, as
  Packetbeat does. The map form (`http: {ports: [8080]}`) adjusts the defaults, and every
  protocol not named keeps its default (enabled); disable one with `enabled: false`.
- A null value (`setup.kibana:` with only comments under it) means the key's default.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml
from pydantic import ValidationError

from shardbeat.config.errors import (NO_VALUE, ConfigError, Problem, format_problems,
                                     problems_from_validation, unknown_name_message)
from shardbeat.config.model import PROTOCOL_NAMES, Settings, enabled_protocols
from shardbeat.config.processor_list import canonical_processors
from shardbeat.config.tree import (Replace, Report, expand_dotted, expand_vars, merge,
                                   parse_override, prune_nulls)

__all__ = ["load_config", "format_problems", "enabled_protocols", "ConfigError", "Settings"]

ROOT, ALIAS = "shardbeat", "packetbeat"


def load_config(path: str | None = None, overrides: Sequence[str] = (),
                env: Mapping[str, str] | None = None) -> Settings:
    """Load, merge, expand and validate; raise ConfigError listing every problem found."""
    env = os.environ if env is None else env
    problems: list[Problem] = []

    def report(key: str, value: Any, message: str) -> None:
        problems.append(Problem(key, value, message))

    raw = _read_file(path) if path is not None else {}
    label = ALIAS if ALIAS in _roots(raw) and ROOT not in _roots(raw) else ROOT
    tree = _layer(raw, report)
    for text in overrides:
        parsed = parse_override(text, report)
        if parsed is not None:
            tree = merge(tree, _layer({parsed[0]: parsed[1]}, report))
    tree = prune_nulls(expand_vars(tree, env, report, _default_tree))
    tree = _canonical_processor_lists(tree, report)
    try:
        settings = Settings.model_validate(tree)
    except ValidationError as exc:
        # Keys already reported (say an unset ${VAR}) are not reported again by the model.
        seen = tuple(problem.key for problem in problems)
        problems += [p for p in problems_from_validation(exc, Settings)
                     if not any(p.key == k or p.key.startswith((k + ".", k + "[")) for k in seen)]
    if problems:
        raise ConfigError(_relabel(problems, label), path)
    return settings


@functools.lru_cache(maxsize=1)
def _default_tree() -> dict[str, Any]:
    # For `${path.home}` and the like when the key is not set: its default, as Beats does.
    return Settings().model_dump(by_alias=True)


def _read_file(path: str) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem(path, NO_VALUE, "no such config file")], path) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError([Problem(path, NO_VALUE, f"cannot be read: {reason}")], path) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([Problem(where, NO_VALUE, f"not valid YAML: {reason}")],
                          path) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([Problem("(top level)", data, "expected a mapping of settings, "
                                   "e.g. `shardbeat.flows.enabled: false`")], path)
    return data


def _roots(raw: dict[Any, Any]) -> set[str]:
    return {str(key).split(".", 1)[0] for key in raw}


def _layer(data: dict[str, Any], report: Report) -> dict[str, Any]:
    """One layer (the file, or one -E) in nested form with the alias folded in."""
    tree = expand_dotted(data)
    for root in (ALIAS, ROOT):
        if isinstance(tree.get(root), dict):
            tree[root] = _normalise_section(dict(tree[root]), root, report)
    alias = tree.pop(ALIAS, None)
    if alias is not None:
        tree[ROOT] = merge(alias, tree[ROOT]) if ROOT in tree else alias
    return tree


def _normalise_section(section: dict[str, Any], root: str, report: Report) -> dict[str, Any]:
    if isinstance(section.get("protocols"), list):
        section["protocols"] = _protocol_list(section["protocols"], f"{root}.protocols", report)
    interfaces = section.get("interfaces")
    if isinstance(interfaces, list):
        if len(interfaces) > 1:
            report(f"{root}.interfaces", interfaces,
                   f"{len(interfaces)} interface configurations given; shardbeat captures "
                   "with one (use `device: any` for every interface)")
            section.pop("interfaces")
        elif interfaces:
            section["interfaces"] = interfaces[0]
        else:
            section.pop("interfaces")
    return section


def _protocol_list(items: list[Any], key: str, report: Report) -> Replace:
    """Packetbeat 8's `- type: http` list → the map form, with unlisted protocols off."""
    out = Replace({name: {"enabled": False} for name in PROTOCOL_NAMES})
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        here = f"{key}[{index}]"
        if not isinstance(item, dict):
            report(here, item, f"{item!r} is not accepted; expected a mapping such as "
                               "`- type: http`")
            continue
        options = dict(item)
        name = options.pop("type", None)
        if name is None:
            report(f"{here}.type", NO_VALUE, "required: the protocol this entry configures, "
                                             "one of " + ", ".join(PROTOCOL_NAMES))
        elif name not in PROTOCOL_NAMES:
            report(f"{here}.type", name, unknown_name_message(str(name), PROTOCOL_NAMES,
                                                              "protocol"))
        elif name in seen:
            report(f"{here}.type", name, f"{name} is configured twice (also at "
                                         f"{key}[{seen[name]}])")
        else:
            seen[name] = index
            out[name] = options
    return out


def _canonical_processor_lists(tree: dict[str, Any], report: Report) -> dict[str, Any]:
    """Check and normalise the `processors` of the sections that have them (the top level,
    flows, each protocol), leaving a user's own keys of that name (under `fields`) alone."""
    sections: list[tuple[str, Any]] = [("", tree)]
    root = tree.get(ROOT)
    if isinstance(root, dict):
        sections.append((f"{ROOT}.flows.", root.get("flows")))
        protocols = root.get("protocols")
        if isinstance(protocols, dict):
            sections += [(f"{ROOT}.protocols.{name}.", section)
                         for name, section in protocols.items()]
    for prefix, section in sections:
        if isinstance(section, dict) and "processors" in section:
            section["processors"] = canonical_processors(section["processors"],
                                                         f"{prefix}processors", report)
    return tree


def _relabel(problems: list[Problem], label: str) -> list[Problem]:
    """Name keys with the root the user wrote (`packetbeat.` for a packetbeat.yml)."""
    if label == ROOT:
        return problems
    return [Problem(ALIAS + p.key[len(ROOT):], p.value, p.message)
            if p.key == ROOT or p.key.startswith(ROOT + ".") else p for p in problems]
