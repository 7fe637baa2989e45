"""Command line: parse arguments, call a command; `failsafe.guarded` maps every way it
ends to an exit code. Nothing else.

A command's module is imported only when that command is named (`slim --help` imports
none), and declares its arguments with nothing but argparse (commands/_options.py for
the shared ones), importing the stages it drives inside its `run`: so `slim check
--help` loads no YAML or JSON Schema, and the pre-commit hooks never load docker, urllib
or the report outputs."""

from __future__ import annotations

try:  # Ctrl-C while slim starts: exit 130, quietly (main() catches it from then on)
    import argparse
    import importlib
    import sys
    from collections.abc import Sequence
    from types import ModuleType
    from typing import NoReturn

    from slim_bake import __version__, failsafe
    from slim_bake.safe_text import Stream, say, visible, write
except KeyboardInterrupt:
    raise SystemExit(130) from None

COMMANDS = {
    "init": "write a first slim.yaml for the repository here (never overwrites one)",
    "generate": "write the Dockerfiles and docker-bake.hcl for slim.yaml",
    "check": "exit 1 if the generated files are missing, stale or edited (writes nothing)",
    "pin": "pin each base image tag to its digest in the pins file (bases.Dockerfile) bots update",
    "validate": "validate slim.yaml (file:line:column errors)",
    "schema": "print the JSON Schema of slim.yaml",
    "bake": "build the targets with docker buildx bake, smoke-run, measure and budget them",
    "report": "compare two reports (BASE HEAD) without building, or merge shard reports",
    "measure": "measure images anywhere (engine, registry, OCI layout) against size budgets",
    "comment": "post the Markdown report as the pull request's sticky comment (GitHub Actions)",
}


class _Parser(argparse.ArgumentParser):
    """argparse, its messages (which quote the command line) printed like slim's own."""

    def _print_message(self, message: str, file: Stream | None = None) -> None:
        if message:
            write(message, file or sys.stderr)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            say(visible(message.rstrip("\n")), sys.stderr)
        sys.exit(status)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser with every command listed and only `command`'s arguments (its module
    imported); the others are never run in this process, so their modules stay unloaded."""
    parser = _Parser(
        prog="slim",
        description="Small container images by default: slim.yaml → Dockerfiles + docker-bake.hcl"
        " → BuildKit → measured, budgeted images.",
        epilog="Exit codes: 0 ok; 1 a check failed (stale files, broken budget, failed smoke run);"
        " 2 usage or configuration error; 3 build, engine or measurement failure;"
        " 4 internal error: a bug in slim (the traceback is written to a file, whose path is"
        " printed); 130 interrupted (Ctrl-C); 143 terminated (SIGTERM).",
    )
    parser.add_argument("--version", action="version", version=f"slim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        subparser = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            _module(name).add_arguments(subparser)
    return parser


def _chosen(argv: Sequence[str]) -> str | None:
    """The command named on the command line: its first word that is not an option (the
    top level has no option taking a value)."""
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    return first if first in COMMANDS else None


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"slim_bake.commands.{name}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; every way it can end is an exit code and at most a few lines on
    stderr, never a traceback (failsafe.guarded)."""
    words = sys.argv[1:] if argv is None else argv
    return failsafe.guarded(lambda: _run(words))


def _run(words: Sequence[str]) -> int:
    # Parsing imports the chosen command's module: inside the guard, so Ctrl-C there is caught.
    args = build_parser(_chosen(words)).parse_args(words)
    result: int = _module(args.command).run(args)
    return result
