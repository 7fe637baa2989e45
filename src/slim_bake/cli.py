"""Command line: parse arguments, call a command, map errors to exit codes. Nothing else.

Commands are imported only when chosen, so the pre-commit hooks do not pay for
docker or hcl2 imports at start-up."""

from __future__ import annotations

try:  # Ctrl-C while slim starts: exit 130, quietly (main() catches it from then on)
    import argparse
    import importlib
    import io
    import os
    import sys
    from collections.abc import Sequence
    from typing import NoReturn

    from slim_bake import __version__, failsafe
    from slim_bake.errors import (
        EXIT_INTERNAL,
        EXIT_INTERRUPTED,
        EXIT_TERMINATED,
        EXIT_USAGE,
        ConfigError,
        SlimError,
    )
    from slim_bake.safe_text import Stream, say, visible, warn, write
except KeyboardInterrupt:
    raise SystemExit(130) from None

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


class _Parser(argparse.ArgumentParser):
    """argparse, its messages (which quote the command line) printed like slim's own."""

    def _print_message(self, message: str, file: Stream | None = None) -> None:
        if message:
            write(message, file or sys.stderr)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            say(visible(message.rstrip("\n")), sys.stderr)
        sys.exit(status)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or (`only`) one whose other commands have no arguments: their
    modules, and whatever they import (docker, urllib), are then not loaded."""
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
    """Run a command; every way it can end is an exit code and at most a few lines on
    stderr, never a traceback. Ctrl-C and SIGTERM unwind the stack, so temporary files
    are removed on the way out."""
    try:
        with failsafe.terminate_unwinds():
            return _run(sys.argv[1:] if argv is None else argv)
    except KeyboardInterrupt:
        failsafe.quiet_signals()
        warn("slim: interrupted")
        return EXIT_INTERRUPTED
    except failsafe.Terminated:
        failsafe.quiet_signals()
        warn("slim: terminated")
        return EXIT_TERMINATED


def _run(words: Sequence[str]) -> int:
    try:
        # Parsing imports the chosen command's module: inside, so Ctrl-C there is caught.
        args = build_parser(_chosen(words)).parse_args(words)
        result: int = _module(args.command).run(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return result
    except ConfigError as exc:
        for diagnostic in exc.diagnostics:
            say(str(diagnostic), sys.stderr)  # each one line, its values quoted
        return exc.exit_code
    except SlimError as exc:
        warn(f"slim: {exc}")
        return exc.exit_code
    except BrokenPipeError:  # our reader went away (`slim report … | head`)
        _drop_stdout()
        warn("slim: output closed early (broken pipe)")
        return EXIT_USAGE
    except OSError as exc:  # a file or folder in the way, a permission: not a bug to trace
        warn(f"slim: {exc}")
        return EXIT_USAGE
    except Exception as exc:  # a bug: one line, the traceback in a file
        path = failsafe.write_traceback(exc)
        where = f"; traceback in {path}" if path else ""
        what = failsafe.one_line(f"{type(exc).__name__}: {exc}")
        warn(f"slim: internal error (a bug in slim): {what}{where}")
        return EXIT_INTERNAL


def _drop_stdout() -> None:
    """Point stdout at /dev/null: Python's flush at exit would fail on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):  # not a real file (in tests)
        pass
