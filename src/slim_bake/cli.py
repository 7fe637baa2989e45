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
    "generate": "write the Dockerfiles and docker-bake.hcl for slim.yaml",
    "check": "exit 1 if the generated files are missing, stale or edited (writes nothing)",
    "validate": "validate slim.yaml (file:line:column errors)",
    "schema": "print the JSON Schema of slim.yaml",
}


def build_parser() -> argparse.ArgumentParser:
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
        module = _module(name)
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command)
    return parser


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
    args = build_parser().parse_args(argv)
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
    except KeyboardInterrupt:
        print("slim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_USAGE
