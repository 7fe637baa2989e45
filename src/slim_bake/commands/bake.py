"""`slim bake`: regenerate if stale, build with buildx bake, smoke-run, measure, judge."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from slim_bake import report_doc
from slim_bake.bake import bake_targets
from slim_bake.baseline import load_report
from slim_bake.commands._options import add_config_argument
from slim_bake.commands.report import add_output_arguments, write_outputs
from slim_bake.compare import compare, report_to_json
from slim_bake.config import load_config
from slim_bake.errors import UsageError
from slim_bake.judge import TargetResult, exit_code
from slim_bake.output import regenerate, shown
from slim_bake.plan import Plan, Target, make_plan
from slim_bake.report import format_table
from slim_bake.report_doc import Report
from slim_bake.safe_text import json_text, say, visible, write
from slim_bake.terminal import format_comparison, use_color


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
    parser.add_argument(
        "--baseline",
        metavar="FILE|git:REF[:PATH]",
        help="compare with a report: a file, or one committed at REF (PATH default:"
        " ./slim-report.json beside slim.yaml); judges max_growth and says why targets grew",
    )
    add_output_arguments(parser)


def run(args: argparse.Namespace) -> int:
    plan = make_plan(load_config(Path(args.config)))
    targets = select(plan, args.targets)
    # Read before building: a bad baseline fails in a second, not after the build.
    base = load_report(args.baseline, plan.config.directory) if args.baseline else None
    regenerate_first(plan)
    results = bake_targets(plan, targets, builder=args.builder, run_smoke=not args.no_smoke)
    if not (base or args.json or args.write_report or args.markdown):
        write(format_table(results))
        return exit_code(results)
    return report(args, plan, results, base)


def report(
    args: argparse.Namespace, plan: Plan, results: list[TargetResult], base: Report | None
) -> int:
    """The reports asked for: the files, the table (with baseline columns when there is
    one; on stderr under --json, whose stdout is the JSON report alone)."""
    table = sys.stderr if args.json else sys.stdout
    head = report_doc.from_results(plan, results, report_doc.environment(args.builder))
    comparison = compare(base, head, source=args.baseline)
    write_outputs(comparison, args.markdown, args.write_report)
    write(format_comparison(comparison, use_color(table)) if base else format_table(results), table)
    if args.json:
        table.flush()
        write(json_text(report_to_json(comparison)))
    return comparison.exit_code


def select(plan: Plan, names: list[str]) -> list[Target]:
    unknown = [n for n in names if n not in plan.groups and n not in {t.name for t in plan.targets}]
    if unknown:
        raise UsageError(
            f"unknown target or group {', '.join(map(repr, unknown))} in {plan.config.path.name};"
            f" targets: {', '.join(t.name for t in plan.targets)};"
            f" groups: {', '.join(plan.groups)}"
        )
    return plan.select(names or ["default"])


def regenerate_first(plan: Plan) -> None:
    """Bring the generated files up to date first: bake must build what slim.yaml says."""
    for change in regenerate(plan):
        say(f"slim: {change.kind}d {visible(shown(plan, change.path))} before baking", sys.stderr)
