"""Git, asked through one door: the commit a report records, and a file as committed
at a ref (a baseline report), read with git itself without checking anything out."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

TIMEOUT = 30  # seconds per git call: a hung credential prompt or a slow mount is no answer


class GitUnavailable(Exception):
    """git cannot be run here (not installed, not executable, timed out)."""

    def __init__(self, message: str, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing  # not on PATH at all


@dataclass(frozen=True)
class Done:
    code: int
    out: bytes
    err: str

    @property
    def ok(self) -> bool:
        return self.code == 0

    @property
    def text(self) -> str:
        return self.out.decode("utf-8", "replace").strip()

    @property
    def first_error(self) -> str:
        lines = self.err.strip().splitlines()
        return lines[0].removeprefix("fatal: ") if lines else "git failed"


@dataclass(frozen=True)
class Checkout:
    commit: str
    branch: str | None  # None: a detached HEAD
    dirty: bool | None  # None: git could not say


def git(directory: Path, *args: str) -> Done:
    """`git ARGS` run in `directory`; GitUnavailable when git itself cannot run."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=directory, capture_output=True, check=False, timeout=TIMEOUT
        )
    except FileNotFoundError:
        raise GitUnavailable("git is not on PATH", missing=True) from None
    except subprocess.TimeoutExpired:
        raise GitUnavailable(f"git {args[0]} took longer than {TIMEOUT}s") from None
    except OSError as exc:
        raise GitUnavailable(f"cannot run git in {directory}: {exc.strerror}") from None
    return Done(done.returncode, done.stdout, done.stderr.decode("utf-8", "replace"))


def checkout(directory: Path) -> Checkout | None:
    """The commit checked out at `directory`, and whether the tree has changes; None
    outside a git repository (or without git)."""
    try:
        head = git(directory, "rev-parse", "HEAD")
        if not head.ok:
            return None
        status = git(directory, "status", "--porcelain", "--untracked-files=no")
        branch = git(directory, "rev-parse", "--abbrev-ref", "HEAD")
    except GitUnavailable:
        return None
    name = branch.text if branch.ok else None
    return Checkout(
        commit=head.text,
        branch=name if name and name != "HEAD" else None,
        dirty=bool(status.text) if status.ok else None,
    )


def is_work_tree(directory: Path) -> bool:
    return git(directory, "rev-parse", "--is-inside-work-tree").ok


def has_commit(directory: Path, ref: str) -> bool:
    return git(directory, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").ok


def blob_size(directory: Path, ref: str, path: str) -> Done:
    """`git cat-file -s REF:PATH` (asked first: a blob is read whole)."""
    return git(directory, "cat-file", "-s", f"{ref}:{path}")


def blob(directory: Path, ref: str, path: str) -> Done:
    return git(directory, "cat-file", "blob", f"{ref}:{path}")


def last_commit_time(directory: Path, path: Path) -> int | None:
    """The commit time (seconds since the epoch) of the last commit that touched `path`
    (a file or folder, `directory`'s repository); None outside git or when no commit
    touched it (new, uncommitted files)."""
    try:
        done = git(directory, "log", "-1", "--format=%ct", "--", str(path))
    except GitUnavailable:
        return None
    return int(done.text) if done.ok and done.text.isdigit() else None
