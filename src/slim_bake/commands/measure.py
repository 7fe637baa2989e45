"""`slim measure REF…`: measure images that slim did not build, wherever they are — the
local engine (docker://NAME, or a name without a registry host), an OCI layout
(oci:DIR[:TAG]) or a registry (HOST[:PORT]/REPO[:TAG|@DIGEST]) — with the figures of
`slim bake` (size, compressed, layers, largest files) and its budgets: from the flags,
or a target's budget in slim.yaml (-c FILE --target NAME).

Exit codes: 0 every image within budget; 1 one over budget; 2 a malformed reference or
bad usage; 3 an image that cannot be reached or read."""

from __future__ import annotations

import argparse
import contextlib
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from slim_bake.commands._options import add_output_arguments
from slim_bake.errors import BuildError, UsageError

if TYPE_CHECKING:
    from slim_bake.config import Budget
    from slim_bake.report.model import Report, TargetRecord

_FILES_SHOWN = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "refs",
        nargs="+",
        metavar="REF",
        help="docker://NAME (the local engine; also a name without a registry host),"
        " oci:DIR[:TAG] (an OCI image layout) or HOST[:PORT]/REPO[:TAG|@DIGEST] (a registry)",
    )
    parser.add_argument("--max", metavar="SIZE", help="budget: content size, e.g. 20MB, 64MiB")
    parser.add_argument(
        "--max-compressed", metavar="SIZE", help="budget: compressed size (what a pull downloads)"
    )
    parser.add_argument("--max-layers", metavar="N", type=int, help="budget: number of layers")
    parser.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        help="slim.yaml to take --target's budget (and base image) from",
    )
    parser.add_argument(
        "--target", metavar="NAME", help="the slim.yaml target whose budget applies"
    )
    parser.add_argument(
        "--base",
        metavar="IMAGE",
        help="the image's base (FROM of its last stage): its layers are listed as the base's"
        " and its files not among the image's own (default: --target's, else none)",
    )
    parser.add_argument(
        "--platform",
        metavar="OS/ARCH",
        help="the image of a multi-platform index to measure (default: linux/amd64, or the"
        " only one)",
    )
    add_output_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from slim_bake.commands.report import show
    from slim_bake.report.compare import compare

    if args.max_layers is not None and args.max_layers < 0:
        raise UsageError("--max-layers: expected a number of layers, 0 or more")
    budget, base = _budget_and_base(args)
    for ref in args.refs:  # every reference well-formed before any image is read
        _check_reference(ref)
    records = [_record(ref, budget, base, args.platform) for ref in args.refs]
    code = show(args, compare(None, _report(records)))
    _largest_files(records, sys.stderr if args.json else sys.stdout)
    return code


def _check_reference(ref: str) -> None:
    """A malformed reference is a usage error (exit 2) before anything is measured; a
    layout that cannot be read is the image's failure (exit 3), told when measured."""
    from slim_bake.imageref import engine_name, is_engine_reference, open_store

    if is_engine_reference(ref):
        engine_name(ref)
        return
    with contextlib.suppress(BuildError):
        open_store(ref)


def _record(ref: str, budget: Budget, base: str | None, platform: str | None) -> TargetRecord:
    from slim_bake.imageref import measure_reference
    from slim_bake.judge import Status, failed, judge
    from slim_bake.report.build import figures
    from slim_bake.report.model import TargetRecord

    try:
        measured = measure_reference(ref, base, platform=platform)
    except BuildError as exc:
        verdict = failed(Status.MEASURE_FAILED, f"measurement failed: {exc}")
        return TargetRecord(ref, None, None, verdict, budget, None, None)
    return TargetRecord(
        ref, None, None, judge(budget, measured, None), budget, figures(measured), None
    )


def _report(records: list[TargetRecord]) -> Report:
    from slim_bake import __version__
    from slim_bake.report.build import compression
    from slim_bake.report.model import Report

    return Report(
        slim=__version__,
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        config_path=None,
        config_sha256=None,
        config_targets=tuple(r.name for r in records),
        git=None,
        environment={},
        compression=compression(r.figures for r in records if r.figures),
        targets=tuple(records),
    )


def _largest_files(records: list[TargetRecord], stream: TextIO) -> None:
    """The few largest files of each image (its own, not its base's), as dive lists them."""
    from slim_bake.safe_text import say, visible
    from slim_bake.units import format_size

    for record in records:
        if record.figures is None or not record.figures.files.largest:
            continue
        files = record.figures.files
        say(f"{visible(record.name)}: largest of its {files.count:,} files:", stream)
        for entry in files.largest[:_FILES_SHOWN]:
            say(f"  {format_size(entry.size):>8}  {visible(entry.path)}", stream)


def _budget_and_base(args: argparse.Namespace) -> tuple[Budget, str | None]:
    """The budget (the slim.yaml target's, each flag given replacing its field) and the
    base image (--base, else the target's)."""
    from slim_bake.config import Budget

    budget, base = Budget(), None
    if args.target is not None or args.config is not None:
        budget, base = _from_config(args.config or "slim.yaml", args.target)
    spelled = dict(budget.spelled)
    if args.max is not None:
        budget = replace(budget, max=_size("--max", args.max))
        spelled["max"] = args.max.strip()
    if args.max_compressed is not None:
        budget = replace(budget, max_compressed=_size("--max-compressed", args.max_compressed))
        spelled["max_compressed"] = args.max_compressed.strip()
    if args.max_layers is not None:
        budget = replace(budget, max_layers=args.max_layers)
    return replace(budget, spelled=spelled), args.base if args.base is not None else base


def _size(option: str, text: str) -> int:
    from slim_bake.units import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


def _from_config(config: str, target: str | None) -> tuple[Budget, str | None]:
    from slim_bake.bake import base_image
    from slim_bake.config import load_config
    from slim_bake.plan import make_plan

    plan = make_plan(load_config(Path(config)))
    names = ", ".join(t.name for t in plan.targets)
    if target is None:
        raise UsageError(
            f"-c {config}: name the target whose budget applies (--target); targets: {names}"
        )
    found = next((t for t in plan.targets if t.name == target), None)
    if found is None:
        raise UsageError(f"no target {target!r} in {config}; targets: {names}")
    return found.budget, base_image(found)
