"""`slim generate`: write the Dockerfiles and the bake file."""

from __future__ import annotations

import argparse
from pathlib import Path

from slim_bake.commands._options import add_config_argument
from slim_bake.errors import EXIT_FAILED, EXIT_OK
from slim_bake.safe_text import say, visible


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument(
        "--fail-on-change",
        action="store_true",
        help="exit 1 when a file was written or removed (for pre-commit hooks)",
    )


def run(args: argparse.Namespace) -> int:
    from slim_bake.config import load_config
    from slim_bake.output import regenerate, shown
    from slim_bake.plan import make_plan

    plan = make_plan(load_config(Path(args.config)))
    changes = regenerate(plan)
    for change in changes:
        say(f"slim: {change.kind}d {visible(shown(plan, change.path))}")
    return EXIT_FAILED if changes and args.fail_on_change else EXIT_OK
