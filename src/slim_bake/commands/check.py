"""`slim check`: are the generated files exactly what slim.yaml gives? Writes nothing."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from slim_bake.commands._options import add_config_argument
from slim_bake.errors import EXIT_FAILED, EXIT_OK
from slim_bake.safe_text import say, visible

REASONS = {
    "create": "missing",
    "update": "out of date or edited by hand",
    "remove": "no longer in slim.yaml",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)


def run(args: argparse.Namespace) -> int:
    from slim_bake.config import load_config
    from slim_bake.output import plan_changes, shown
    from slim_bake.plan import make_plan

    plan = make_plan(load_config(Path(args.config)))
    _, changes = plan_changes(plan)
    for change in changes:
        say(f"{visible(shown(plan, change.path))}: {REASONS[change.kind]}", sys.stderr)
    if changes:
        config = visible(args.config)
        say(f"slim: run `slim generate -c {config}` and commit the result", sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
