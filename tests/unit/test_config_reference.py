"""The committed reference file is what the model generates, and it loads to the defaults."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from shardbeat.config.load import load_config
from shardbeat.config.model import PROTOCOL_NAMES, Settings
from shardbeat.config.reference import render

REFERENCE = Path(__file__).resolve().parents[2] / "deploy" / "shardbeat.yml"


def test_committed_reference_is_the_generated_one():
    assert REFERENCE.read_text() == render(), (
        "deploy/shardbeat.yml is stale: python -m shardbeat.config.reference > "
        "deploy/shardbeat.yml")


def test_reference_loads_to_exactly_the_defaults():
    assert load_config(str(REFERENCE)) == Settings()


def test_reference_documents_every_protocol_and_output():
    text = render()
    for name in PROTOCOL_NAMES:
        assert f"\n    {name}:\n" in text, name
    for output in ("console:", "#file:", "#elasticsearch:", "#logstash:", "#kafka:", "#redis:"):
        assert f"\n  {output}\n" in text, output


def test_module_prints_the_reference():
    done = subprocess.run([sys.executable, "-m", "shardbeat.config.reference"],
                          capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout == render()
