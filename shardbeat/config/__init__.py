"""Configuration: one typed, frozen model (model.py) loaded from YAML and `-E` (load.py).

Names are imported lazily: the config models of other packages import
`shardbeat.config.types`, which must not pull the whole model in behind them.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "load_config": "shardbeat.config.load",
    "format_problems": "shardbeat.config.errors",
    "ConfigError": "shardbeat.config.errors",
    "Problem": "shardbeat.config.errors",
    "Settings": "shardbeat.config.model",
    "enabled_protocols": "shardbeat.config.model",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'shardbeat.config' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)
