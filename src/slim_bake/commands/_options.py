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
