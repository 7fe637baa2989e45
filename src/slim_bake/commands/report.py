"""`slim report BASE HEAD`: compare two reports without building anything (for CI
that built the images elsewhere). Exit codes as `slim bake`'s: 1 when a budget,
growth included, is broken or a smoke check failed; 3 when HEAD records a failed
build or measurement; 2 for an unreadable or foreign report.

`slim report merge A B …`: join the reports of `slim bake --shard` jobs into one (write
it with --write-report) and judge it without a baseline. `merge` as the first word is
the form; a report file named merge is still reachable as ./merge."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from slim_bake.commands._options import add_output_arguments
from slim_bake.errors import UsageError
from slim_bake.output import write_atomic
from slim_bake.report import json_output, junit, markdown, terminal
from slim_bake.report.compare import compare
from slim_bake.report.merge import merge
from slim_bake.report.model import Comparison
from slim_bake.report.reading import load_report, targets_of_report
from slim_bake.safe_text import write

MERGE = "merge"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = (
        "%(prog)s [options] BASE HEAD\n       %(prog)s [options] merge REPORT [REPORT ...]"
    )
    parser.add_argument(
        "reports",
        nargs="+",
        metavar="REPORT",
        help="BASE (the baseline) and HEAD (the report to judge), each a file or"
        " git:REF[:PATH] (BASE also registry:PATTERN: the images a registry holds); or"
        " `merge` and the shard reports of `slim bake --shard` to join",
    )
    add_output_arguments(parser)


def run(args: argparse.Namespace) -> int:
    here = Path.cwd()
    first, *rest = args.reports
    if first == MERGE:
        if not rest:
            raise UsageError("slim report merge: name the shard reports to merge")
        return show(args, compare(None, merge([load_report(spec, here) for spec in rest])))
    if len(args.reports) != 2:
        raise UsageError(
            "slim report takes BASE HEAD (two reports), or merge REPORT… to join shard reports"
        )
    head = load_report(rest[0], here)
    base = load_report(first, here, targets_of_report(head))
    return show(args, compare(base, head, source=first))


def show(args: argparse.Namespace, comparison: Comparison) -> int:
    """Every output asked for, each from `comparison`: the files, the table (on stderr
    under --json, whose stdout is the JSON report alone), the JSON; its exit code."""
    write_outputs(comparison, args.markdown, args.write_report, args.junit)
    table_stream = sys.stderr if args.json else sys.stdout
    write(terminal.render(comparison, color=terminal.use_color(table_stream)), table_stream)
    table_stream.flush()
    if args.json:
        write(json_output.render_stdout(comparison))
    return comparison.exit_code


def write_outputs(
    comparison: Comparison,
    markdown_file: str | None,
    report: str | None,
    junit_file: str | None = None,
) -> None:
    """The JSON, Markdown and JUnit files, each written whole or not at all."""
    if report is not None:
        _write(report, json_output.render(comparison))
    if markdown_file is not None:
        _write(markdown_file, markdown.render(comparison))
    if junit_file is not None:
        _write(junit_file, junit.render(comparison))


def _write(path: str, content: str) -> None:
    try:
        write_atomic(Path(path), content)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc.strerror}") from exc
