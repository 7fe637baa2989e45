"""`slim schema`: print the JSON Schema of slim.yaml (or of the report)."""

from __future__ import annotations

import argparse

from slim_bake.errors import EXIT_OK
from slim_bake.safe_text import write


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", default="slim", choices=["slim", "report"])


def run(args: argparse.Namespace) -> int:
    from slim_bake import presets

    write(presets.schema_text(args.name))
    return EXIT_OK
