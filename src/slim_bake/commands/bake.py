"""`slim bake`: regenerate if stale, then the pipeline (build with buildx bake, smoke-run,
measure, judge), then the report: one Comparison (against the baseline, or none) that
every output renders."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from slim_bake.bake import Cache, Mode, Output, oci_directory
from slim_bake.commands._options import add_config_argument, add_output_arguments
from slim_bake.commands._preload import preload
from slim_bake.config import load_config
from slim_bake.errors import UsageError
from slim_bake.output import regenerate, shown
from slim_bake.pipeline import TargetResult, bake_targets, result_platforms
from slim_bake.plan import Plan, Target, make_plan
from slim_bake.safe_text import say, visible, warn
from slim_bake.shards import parse_shard, select_shard

if TYPE_CHECKING:
    from slim_bake.report.model import Report

# Needed once the images are built: imported while buildx builds them (_preload.py).
AFTER_BAKE = (
    "slim_bake.report.build",
    "slim_bake.report.compare",
    "slim_bake.commands.report",
)

DEFAULT_OCI_DIR = "slim-oci"


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
        "--output",
        choices=[m.value for m in Mode],
        default=Mode.LOAD.value,
        help="where the images go: load into the engine (default); registry: push to the tags"
        " slim.yaml's registry gives and measure the pushed digests; oci: an OCI layout per"
        " target in --oci-dir. registry and oci leave the engine's image store as it was",
    )
    parser.add_argument(
        "--cache",
        choices=[c.value for c in Cache],
        help="keep each target's build cache between machines (a remote or CI builder starts"
        " empty): registry: beside its image, <registry>/<artifact>:<runtime>-buildcache; gha:"
        " GitHub Actions' cache, one scope per target. Read and written (mode=max); needs a"
        " builder that exports cache (not the docker driver on the classic image store)",
    )
    parser.add_argument(
        "--oci-dir",
        metavar="DIR",
        default=DEFAULT_OCI_DIR,
        help="with --output oci: write the layout of target T to DIR/T (default: %(default)s)",
    )
    parser.add_argument(
        "--baseline",
        metavar="FILE|git:REF[:PATH]|registry:PATTERN",
        help="compare with a report: a file, or one committed at REF (PATH default:"
        " ./slim-report.json beside slim.yaml), or the images in a registry"
        " (registry:HOST/REPO/{artifact}:main-{runtime}); judges max_growth and says why"
        " targets grew",
    )
    parser.add_argument(
        "--shard",
        metavar="I/N",
        help="build only shard I of N of the selected targets (for a CI matrix; join the"
        " reports with `slim report merge`); balanced by the baseline's sizes when given",
    )
    parser.add_argument(
        "--repro-check",
        action="store_true",
        help="build the targets twice from an empty cache and compare the images; exit 1"
        " naming the layers and files that differ when a target is not reproducible",
    )
    add_output_arguments(parser)


def run(args: argparse.Namespace) -> int:
    shard = parse_shard(args.shard) if args.shard is not None else None
    plan = make_plan(load_config(Path(args.config)))
    output = output_of(args, plan)
    targets = select(plan, args.targets)
    # Read before building: a bad baseline fails in a second, not after the build.
    base = baseline(args.baseline, plan, targets, output) if args.baseline else None
    if shard is not None:
        targets = in_shard(targets, shard, base)
    regenerate_first(plan)
    if args.repro_check:
        return repro_check(plan, targets, args.builder)
    results = bake_targets(
        plan,
        targets,
        builder=args.builder,
        run_smoke=not args.no_smoke,
        output=output,
        while_baking=lambda: preload(*AFTER_BAKE),
    )
    from slim_bake.commands.report import show
    from slim_bake.report.compare import compare

    return show(args, compare(base, head_report(args, plan, results, base), source=args.baseline))


def baseline(source: str, plan: Plan, targets: list[Target], output: Output) -> Report:
    from slim_bake.report.reading import load_report, targets_of_plan

    known = targets_of_plan(targets, result_platforms(plan, output))
    return load_report(source, plan.config.directory, known)


def output_of(args: argparse.Namespace, plan: Plan) -> Output:
    """`--output`, `--oci-dir` and `--cache`, checked before anything is built."""
    mode = Mode(args.output)
    cache = Cache(args.cache) if args.cache else None
    for asked, what in (
        (mode is Mode.REGISTRY, "--output registry pushes to"),
        (cache is Cache.REGISTRY, "--cache registry keeps the build cache beside"),
    ):
        if asked and not plan.config.registry:
            raise UsageError(
                f"{what} the tags slim.yaml's `registry:` gives, and"
                f" {plan.config.path.name} sets none: add e.g. `registry: ghcr.io/OWNER`"
            )
    directory = oci_directory(args.oci_dir) if mode is Mode.OCI else None
    return Output(mode, directory, cache)


def repro_check(plan: Plan, targets: list[Target], builder: str | None) -> int:
    """Two empty-cache builds of `targets`, compared (slim_bake.repro): 1 when one differs."""
    from slim_bake import repro
    from slim_bake.bake import build as bake_build

    again = ("--no-cache",)
    outcomes = repro.check(
        targets, lambda: bake_build(plan, targets, builder=builder, notify=warn, extra=again)
    )
    for outcome in outcomes:
        for line in repro.describe(outcome):
            say(visible(line))
    return 0 if all(o.reproducible for o in outcomes) else 1


def head_report(
    args: argparse.Namespace, plan: Plan, results: list[TargetResult], base: Report | None
) -> Report:
    """This run's report; with the engine and git it was made with only when it is
    compared or leaves the process (asking costs a call to each)."""
    from slim_bake.report import build

    if not (base or args.json or args.write_report or args.markdown):
        return build.from_results(plan, results)
    environment, git = build.provenance(plan, args.builder)
    return build.from_results(plan, results, environment, git)


def select(plan: Plan, names: list[str]) -> list[Target]:
    unknown = [n for n in names if n not in plan.groups and n not in {t.name for t in plan.targets}]
    if unknown:
        raise UsageError(
            f"unknown target or group {', '.join(map(repr, unknown))} in {plan.config.path.name};"
            f" targets: {', '.join(t.name for t in plan.targets)};"
            f" groups: {', '.join(plan.groups)}"
        )
    return plan.select(names or ["default"])


def in_shard(targets: list[Target], shard: tuple[int, int], base: Report | None) -> list[Target]:
    """The targets of shard I/N, weighed by the baseline's sizes when it has them."""
    weights = {
        t.name: t.figures.size for t in (base.targets if base else ()) if t.figures is not None
    }
    names = select_shard([t.name for t in targets], *shard, weights)
    say(f"slim: shard {shard[0]}/{shard[1]}: {len(names)} of {len(targets)} targets", sys.stderr)
    return [t for t in targets if t.name in set(names)]


def regenerate_first(plan: Plan) -> None:
    """Bring the generated files up to date first: bake must build what slim.yaml says."""
    for change in regenerate(plan):
        say(f"slim: {change.kind}d {visible(shown(plan, change.path))} before baking", sys.stderr)
