"""The collector every validation check reports to: one Diagnostic per problem, located
at file:line:column by the parsed document, so that one run tells them all."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slim_bake.config.shell import shell_command_problem
from slim_bake.errors import Diagnostic
from slim_bake.loader import Document, PathKey


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


@dataclass
class Problems:
    """One validation of `doc` (slim.yaml at `path`, in the repository at `root`): the
    paths the schema refused, and the problems the checks found so far."""

    doc: Document
    path: Path
    root: Path
    broken: set[PathKey] = field(default_factory=set)
    found: list[Diagnostic] = field(default_factory=list)

    def fail(self, where: PathKey, message: str, at_key: bool = False) -> None:
        self.found.append(self.doc.diagnostic(where, message, at_key))

    def sound(self, *path: str | int) -> bool:
        """Whether the schema accepted everything at and below `path`."""
        return not any(bad[: len(path)] == path for bad in self.broken)

    def section(self, key: str) -> dict[str, Any]:
        """A top-level mapping, or {} where it is missing or the schema refused it."""
        value = self.doc.data.get(key, {})
        return value if self.sound(key) and isinstance(value, dict) else {}

    def shell(self, command: Any, where: PathKey) -> None:
        if isinstance(command, str) and (problem := shell_command_problem(command)):
            self.fail(where, f"{command!r} {problem}")
