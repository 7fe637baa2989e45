"""Command line: parse arguments, call a command, map errors to exit codes. Nothing else.

Commands are imported only when chosen, so the pre-commit hooks do not pay for
docker or hcl2 imports at start-up."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from slim_bake import __version__
from slim_bake.errors import EXIT_USAGE, ConfigError, SlimError

COMMANDS = {
    "init": "write a first slim.yaml for the repository here (never overwrites one)",
    "generate": "write the Dockerfiles and docker-bake.hcl for slim.yaml",
    "check": "exit 1 if the generated files are missing, stale or edited (writes nothing)",
    "validate": "validate slim.yaml (file:line:column errors)",
    "schema": "print the JSON Schema of slim.yaml",
    "bake": "build the targets with docker buildx bake, smoke-run, measure and budget them",
    "report": "compare two reports (BASE HEAD) without building: growth, why it grew, Markdown",
    "comment": "post the Markdown report as the pull request's sticky comment (GitHub Actions)",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or (`only`) one whose other commands have no arguments: their
    modules, and whatever they import (docker, urllib), are then not loaded."""
    parser = argparse.ArgumentParser(
        prog="slim",
        description="Small container images by default: slim.yaml → Dockerfiles + docker-bake.hcl"
        " → BuildKit → measured, budgeted images.",
        epilog="Exit codes: 0 ok; 1 a check failed (stale files, broken budget, failed smoke run);"
        " 2 usage or configuration error; 3 build, engine or measurement failure.",
    )
    parser.add_argument("--version", action="version", version=f"slim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if only is None or name == only:
            _module(name).add_arguments(command)
    return parser


def _chosen(argv: Sequence[str]) -> str | None:
    """The command named on the command line (its first word that is not an option)."""
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    return first if first in COMMANDS else None


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        default="slim.yaml",
        metavar="FILE",
        help="slim.yaml (default: %(default)s)",
    )


def _module(name: str):  # type: ignore[no-untyped-def]
    return importlib.import_module(f"slim_bake.commands.{name}")


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    args = build_parser(_chosen(words)).parse_args(words)
    try:
        result: int = _module(args.command).run(args)
        return result
    except ConfigError as exc:
        for diagnostic in exc.diagnostics:
            print(diagnostic, file=sys.stderr)
        return exc.exit_code
    except SlimError as exc:
        print(f"slim: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # a file or folder in the way, a permission: not a bug to trace
        print(f"slim: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("slim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_USAGE
