"""`slim bake`: regenerate if stale, build with buildx bake, smoke-run, measure, judge."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from slim_bake.bake import bake_targets
from slim_bake.cli import add_config_argument
from slim_bake.commands.generate import _shown
from slim_bake.config import load_config
from slim_bake.errors import UsageError
from slim_bake.judge import exit_code
from slim_bake.output import apply_changes, plan_changes
from slim_bake.plan import Plan, Target, make_plan
from slim_bake.report import format_table


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="TARGET|GROUP",
        help="targets or groups (an artifact, a runtime, default) to build; default: all",
    )
    add_config_argument(parser)
    parser.add_argument(
        "--builder", metavar="NAME", help="buildx builder to build with (e.g. a remote BuildKit)"
    )
    parser.add_argument("--no-smoke", action="store_true", help="do not run the smoke checks")


def run(args: argparse.Namespace) -> int:
    plan = make_plan(load_config(Path(args.config)))
    targets = select(plan, args.targets)
    regenerate(plan)
    results = bake_targets(plan, targets, builder=args.builder, run_smoke=not args.no_smoke)
    sys.stdout.write(format_table(results))
    return exit_code(results)


def select(plan: Plan, names: list[str]) -> list[Target]:
    unknown = [n for n in names if n not in plan.groups and n not in {t.name for t in plan.targets}]
    if unknown:
        raise UsageError(
            f"unknown target or group {', '.join(map(repr, unknown))} in {plan.config.path.name};"
            f" targets: {', '.join(t.name for t in plan.targets)};"
            f" groups: {', '.join(plan.groups)}"
        )
    return plan.select(names or ["default"])


def regenerate(plan: Plan) -> None:
    """Bring the generated files up to date first: bake must build what slim.yaml says."""
    wanted, changes = plan_changes(plan)
    apply_changes(plan, wanted, changes)
    for change in changes:
        shown = _shown(plan.config.directory, change.path)
        print(f"slim: {change.kind}d {shown} before baking", file=sys.stderr)
