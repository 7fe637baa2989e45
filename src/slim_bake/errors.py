"""The exceptions slim raises, each carrying its exit code; `failsafe.guarded` is the one
place that turns them into a message and that code.

    SlimError                 reported without a traceback (exit 2 unless a subclass says)
    ├── UsageError            bad command line, environment or input file    2
    ├── ConfigError           slim.yaml or a report invalid, every problem   2
    ├── BuildError            the engine, buildx, a build or a measurement    3
    └── GitHubError           the GitHub API refused or failed a request      3
        ├── ReadOnlyToken     403 to a write (a fork's token): not a failure
        └── RateLimited       a rate limit not waited out within slim's bound

Anything else that escapes a command is a bug in slim: exit 4, traceback in a file."""

from __future__ import annotations

from dataclasses import dataclass

from slim_bake.safe_text import visible

# Exit codes, documented in README.md.
EXIT_OK = 0
EXIT_FAILED = 1  # a check failed: stale files, a broken budget, a failed smoke run
EXIT_USAGE = 2  # bad command line or bad slim.yaml
EXIT_BUILD = 3  # a build, the engine or a measurement failed
EXIT_INTERNAL = 4  # an exception slim did not expect: a bug in slim
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT)
EXIT_TERMINATED = 143  # SIGTERM


@dataclass(frozen=True)
class Diagnostic:
    """One problem in an input file, located for a human."""

    file: str
    line: int  # 1-based; 0 when unknown
    column: int  # 1-based; 0 when unknown
    path: str  # dotted path of the field, e.g. artifacts.hello.runtimes[2]
    message: str

    def __str__(self) -> str:
        """One line, whatever the file name, the key or the message quotes."""
        where = visible(self.file)
        if self.line:
            where += f":{self.line}:{self.column}"
        field = f" {visible(self.path)}:" if self.path else ""
        return f"{where}:{field} {visible(self.message)}"


class SlimError(Exception):
    """Base of every error slim reports without a traceback."""

    exit_code = EXIT_USAGE


class UsageError(SlimError):
    exit_code = EXIT_USAGE


class ConfigError(SlimError):
    """slim.yaml (or a report) is invalid; carries every problem found, not just the first."""

    exit_code = EXIT_USAGE

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__("\n".join(str(d) for d in diagnostics))


class BuildError(SlimError):
    """The engine, buildx, a build or a measurement failed."""

    exit_code = EXIT_BUILD


class GitHubError(SlimError):
    """The GitHub API refused or failed a request (other than the fork case)."""

    exit_code = EXIT_BUILD

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class ReadOnlyToken(GitHubError):
    """403 to a write: the token may read but not write (a pull request from a fork)."""


class RateLimited(GitHubError):
    """GitHub's rate limit, not waited out within slim's bound."""
