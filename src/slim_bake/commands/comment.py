"""`slim comment`: post the Markdown report as the pull request's sticky comment.

Runs inside GitHub Actions: reads GITHUB_EVENT_PATH, GITHUB_REPOSITORY, GITHUB_TOKEN
and GITHUB_API_URL. Outside a pull request it does nothing; with a read-only token
(a fork) it writes the report to the job summary and prints a notice."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from slim_bake import github
from slim_bake.cli import add_config_argument
from slim_bake.errors import EXIT_OK, UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument(
        "--markdown", required=True, metavar="FILE", help="the report from `slim bake --markdown`"
    )
    parser.add_argument(
        "--no-summary-fallback",
        dest="summary_fallback",
        action="store_false",
        help="with a read-only token, only print the notice: the report is in the job summary"
        " already (the action writes it there)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        markdown = Path(args.markdown).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"{args.markdown}: cannot read the Markdown report: {exc.strerror}"
        ) from exc
    outcome = github.post_report(markdown, args.config, os.environ, args.summary_fallback)
    github.report_outcome(outcome)
    return EXIT_OK
