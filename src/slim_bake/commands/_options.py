"""Command-line options that several commands share, defined once. Imports nothing but
argparse: `slim check --help` loads this and the command's own module, nothing more."""

from __future__ import annotations

import argparse


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """`-c/--config FILE`: the slim.yaml a command reads (init: writes)."""
    parser.add_argument(
        "-c",
        "--config",
        default="slim.yaml",
        metavar="FILE",
        help="slim.yaml (default: %(default)s)",
    )


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """The report outputs `slim bake` and `slim report` share."""
    parser.add_argument(
        "--write-report",
        metavar="FILE",
        help="write the JSON report to FILE (the baseline of a later run; `slim schema report`)",
    )
    parser.add_argument("--markdown", metavar="FILE", help="write the Markdown report to FILE")
    parser.add_argument(
        "--junit",
        metavar="FILE",
        help="write a JUnit XML report to FILE: one test case per target and check",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the JSON report on stdout (the table then goes to stderr)",
    )
