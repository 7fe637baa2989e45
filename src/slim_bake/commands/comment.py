"""`slim comment`: post the Markdown report as the pull request's sticky comment.

Runs inside GitHub Actions: reads GITHUB_EVENT_PATH, GITHUB_REPOSITORY, GITHUB_TOKEN
and GITHUB_API_URL. Outside a pull request it does nothing; with a read-only token
(a fork) it writes the report to the job summary and prints a notice. Network limits:
SLIM_GITHUB_TIMEOUT, SLIM_GITHUB_DEADLINE, SLIM_GITHUB_MAX_WAIT (see github.client.Limits)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from slim_bake.commands._options import add_config_argument
from slim_bake.errors import EXIT_OK, UsageError
from slim_bake.safe_text import printable

# A report is a few kB; far past GitHub's comment limit, reading on is pointless (and a
# path like /dev/zero would never end).
MAX_MARKDOWN = 16 * 1024 * 1024


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
    from slim_bake.github.comment import post_report, report_outcome

    markdown = read_markdown(args.markdown)
    report_outcome(post_report(markdown, args.config, os.environ, args.summary_fallback))
    return EXIT_OK


def read_markdown(path: str) -> str:
    name = printable(path)
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(MAX_MARKDOWN + 1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(f"{name}: cannot read the Markdown report: {reason}") from None
    if len(data) > MAX_MARKDOWN:
        raise UsageError(f"{name}: the Markdown report is larger than {MAX_MARKDOWN:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{name}: the Markdown report is not UTF-8 (byte {exc.start:,})") from None
