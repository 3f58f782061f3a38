"""The `shardbeat` command. Exit codes: 0 done, 1 internal failure, 2 bad input (a config
error, or a capture that cannot be read)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

# Before numpy is imported: a packet worker does no linear algebra, and OpenBLAS's thread
# pool (one thread per further core, in every process) only competes with the workers.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from shardbeat import __version__

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


def _config_args() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", metavar="FILE",
                        help="configuration file (shardbeat.yml or a packetbeat.yml)")
    common.add_argument("-E", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="override a setting, value in YAML: "
                             "-E shardbeat.protocols.http.ports=[80,8080]")
    return common


def _parser() -> argparse.ArgumentParser:
    common = _config_args()
    top = argparse.ArgumentParser(
        prog="shardbeat",
        description="Network packet analyzer: Packetbeat's transactions and flows, "
                    "one worker process per core.")
    sub = top.add_subparsers(dest="command", required=True)
    rp = sub.add_parser("replay", parents=[common],
                        help="decode a pcap/pcapng file and print one JSON event per line")
    rp.add_argument("pcap", metavar="PCAP", help="capture file (pcap or pcapng)")
    rp.add_argument("--workers", type=int, default=1, metavar="N",
                    help="shard the capture by flow over N worker processes (default 1)")
    rp.add_argument("--stats", action="store_true",
                    help="print the workers' counters to stderr at the end")
    test = sub.add_parser("test", help="check the configuration")
    test_sub = test.add_subparsers(dest="what", required=True)
    test_sub.add_parser("config", parents=[common], help="validate the configuration")
    sub.add_parser("version", help="print the version")
    return top


def _load(args: argparse.Namespace):
    from shardbeat.config.load import load_config

    return load_config(args.config, args.overrides)


def _cmd_test_config(args: argparse.Namespace) -> int:
    from shardbeat.config.errors import ConfigError
    from shardbeat.config.load import format_problems

    try:
        settings = _load(args)
    except ConfigError as err:
        print(format_problems(err), file=sys.stderr)
        return EXIT_BAD_INPUT
    for note in _unparsed_protocol_notes(settings):
        print(note)
    print("Config OK")
    return EXIT_OK


def _unparsed_protocol_notes(settings) -> list[str]:
    from shardbeat.protocols.registry import PROTOCOLS

    notes = [f"warning: processor {name!r} ({where}) is validated but not applied yet"
             for where, name in _configured_processors(settings)]
    for spec in PROTOCOLS:
        cfg = getattr(settings.shardbeat.protocols, spec.name)
        if cfg.enabled and spec.parser is None:
            notes.append(f"note: protocol {spec.name!r} has no parser yet; "
                         "its traffic is counted in flows only")
    return notes


def _configured_processors(settings) -> list[tuple[str, str]]:
    """(section, processor name) of every configured processor: processors are checked by
    the config model but do not run yet, and a user must not think they did."""
    sections = [("processors", settings.processors),
                ("shardbeat.flows.processors", settings.shardbeat.flows.processors)]
    from shardbeat.protocols.registry import PROTOCOLS

    for spec in PROTOCOLS:
        cfg = getattr(settings.shardbeat.protocols, spec.name)
        sections.append((f"shardbeat.protocols.{spec.name}.processors", cfg.processors))
    return [(where, name) for where, procs in sections for proc in procs for name in proc]


def _cmd_replay(args: argparse.Namespace) -> int:
    from shardbeat.capture.pcapfile import CaptureFileError
    from shardbeat.config.errors import ConfigError
    from shardbeat.config.load import format_problems
    from shardbeat.replay import replay

    if args.workers < 1:
        print(f"shardbeat: --workers must be 1 or more, not {args.workers}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        settings = _load(args)
    except ConfigError as err:
        print(format_problems(err), file=sys.stderr)
        return EXIT_BAD_INPUT
    for where, name in _configured_processors(settings):
        print(f"shardbeat: warning: processor {name!r} ({where}) is validated but not "
              "applied yet", file=sys.stderr)
    try:
        result = replay(args.pcap, settings, args.workers, progress=sys.stderr.isatty())
    except CaptureFileError as err:
        print(f"shardbeat: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return EXIT_OK
    if result.problem:
        print(f"shardbeat: warning: {result.problem}", file=sys.stderr)
    if args.stats:
        for name, value in sorted(result.counters.snapshot().items()):
            print(f"{result.counters.metric_name(name)} {value}", file=sys.stderr)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "version":
        print(f"shardbeat {__version__} (Packetbeat 8.x event schema)")
        return EXIT_OK
    if args.command == "test":
        return _cmd_test_config(args)
    return _cmd_replay(args)
