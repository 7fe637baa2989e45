"""`slim validate`: slim.yaml against the schema and the presets."""

from __future__ import annotations

import argparse
from pathlib import Path

from slim_bake.commands._options import add_config_argument
from slim_bake.errors import EXIT_OK
from slim_bake.safe_text import say, visible


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing when valid")


def run(args: argparse.Namespace) -> int:
    from slim_bake.config import load_config
    from slim_bake.plan import make_plan

    plan = make_plan(load_config(Path(args.config)))
    if not args.quiet:
        say(f"{visible(args.config)}: valid ({len(plan.targets)} targets)")
    return EXIT_OK
