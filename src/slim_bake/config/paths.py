"""Validation of the paths slim.yaml names: build contexts inside the repository, and
output paths where slim may write and delete generated files. Also the repository's
root, which both validation and the model need."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from slim_bake.config.model import GENERATED_SUFFIXES
from slim_bake.config.problems import Problems
from slim_bake.loader import PathKey


def repository_root(directory: Path) -> Path:
    """The git work tree holding `directory`, or `directory` itself outside git."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=directory,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return directory.resolve()
    top = out.stdout.strip()
    return Path(top).resolve() if out.returncode == 0 and top else directory.resolve()


def check_context(p: Problems, value: str, where: PathKey) -> None:
    target = (p.path.parent / value).resolve()
    if not target.is_relative_to(p.root):
        p.fail(where, f"{value!r} is outside the repository ({p.root})")
    elif not target.is_dir():
        p.fail(where, f"{value!r} is not a folder")


def check_relative(p: Problems, value: str, key: str) -> None:
    """An `output:` path stays inside slim.yaml's folder."""
    if value.startswith("/") or ".." in Path(value).parts:
        p.fail(("output", key), f"{value!r} must be a path inside slim.yaml's folder")


def check_outputs(p: Problems, dockerfiles: str, bake: str) -> None:
    """Refuse output paths where slim would write or delete what it must not: outside
    the repository (symlinks followed), in `.git`, on slim.yaml or its folder, into each
    other, or through a symbolic link. Nothing is written before these pass."""
    if {"output.dockerfiles", "output.bake"} & {d.path for d in p.found}:
        return  # check_relative refused one already
    problems = _placement(p, dockerfiles, bake)
    for key, problem in problems.items():
        if problem:
            p.fail(("output", key), problem)
    if not any(problems.values()):
        _check_in_the_way(p, dockerfiles, bake)


def _placement(p: Problems, dockerfiles: str, bake: str) -> dict[str, str | None]:
    """Per output, why it is no place for generated files (None: it is one)."""
    folder = _resolved(p.path.parent / dockerfiles)
    bake_file = _resolved(p.path.parent / bake)
    problems = {
        "dockerfiles": _outside(p.root, dockerfiles, folder)
        or _holds_config(dockerfiles, folder, p.path),
        "bake": _outside(p.root, bake, bake_file) or _is_config(bake, bake_file, p.path),
    }
    if not any(problems.values()) and folder is not None and bake_file is not None:
        if bake_file == folder or bake_file.is_relative_to(folder):
            problems["bake"] = f"{bake!r} must not be inside the Dockerfiles folder"
        elif folder.is_relative_to(bake_file):
            problems["dockerfiles"] = f"{dockerfiles!r} must not be inside {bake!r}"
    return problems


def _check_in_the_way(p: Problems, dockerfiles: str, bake: str) -> None:
    """Files where folders must be, a folder where the bake file must be, symbolic links
    where generated files are written or swept."""
    directory = p.path.parent
    for key, path in (
        ("dockerfiles", directory / dockerfiles / "x"),
        ("bake", directory / bake),
    ):
        blocked = [d for d in path.parents if d.is_relative_to(directory) and d.is_file()]
        if blocked:
            p.fail(("output", key), f"{blocked[-1].relative_to(directory)} is a file")
    if (directory / bake).is_dir():
        p.fail(("output", "bake"), f"{bake!r} is a folder")
    bake_link = [bake] if (directory / bake).is_symlink() else []
    for key, links in (("dockerfiles", _links(directory, dockerfiles)), ("bake", bake_link)):
        if links:
            p.fail(
                ("output", key),
                f"{', '.join(links)}: a symbolic link where slim writes or removes a "
                "generated file; slim replaces only regular files it wrote: remove the link",
            )


def check_pins(p: Problems, pins: str, dockerfiles: str, bake: str) -> None:
    """The pins file (`pins:`) is the user's: beside slim.yaml or below, never where
    slim writes or sweeps generated files."""
    target = _resolved(p.path.parent / pins)
    problem = (
        (
            None
            if not pins.startswith("/") and ".." not in Path(pins).parts
            else f"{pins!r} must be a path inside slim.yaml's folder"
        )
        or _outside(p.root, pins, target)
        or _is_config(pins, target, p.path)
    )
    folder = _resolved(p.path.parent / dockerfiles)
    if problem is None and target is not None and folder is not None:
        if target.is_relative_to(folder):
            problem = f"{pins!r} must not be inside the Dockerfiles folder"
        elif target == _resolved(p.path.parent / bake):
            problem = f"{pins!r} is the generated bake file"
    if problem:
        p.fail(("pins",), problem)


def _outside(root: Path, value: str, target: Path | None) -> str | None:
    """Why `target` (resolved `value`) is no place for generated files, if it is not."""
    if target is None:
        return f"{value!r} cannot be resolved (a symbolic link loop?)"
    if not target.is_relative_to(root):
        return f"{value!r} leads outside the repository ({root})"
    inside = target.relative_to(root).parts + Path(value).parts
    if any(part.lower() == ".git" for part in inside):
        return f"{value!r} is inside .git"
    return None


def _resolved(path: Path) -> Path | None:
    """`path` with every existing symbolic link followed; None for a link loop."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return None


def _holds_config(value: str, folder: Path | None, config: Path) -> str | None:
    """The Dockerfiles folder must not be slim.yaml's folder or one above it: stale
    generated files are swept from it, and it would mix them with the user's files."""
    if folder is not None and config.parent.is_relative_to(folder):
        return f"{value!r} must not be slim.yaml's folder or hold it; use a subfolder"
    return None


def _is_config(value: str, bake: Path | None, config: Path) -> str | None:
    return f"{value!r} is slim.yaml itself" if bake == config else None


def _links(directory: Path, dockerfiles: str) -> list[str]:
    """Symbolic links named like generated files in the Dockerfiles folder: writing or
    sweeping through them would reach elsewhere."""
    try:
        entries = sorted(os.scandir(directory / dockerfiles), key=lambda e: e.name)
    except OSError:
        return []
    return [
        Path(dockerfiles, e.name).as_posix()
        for e in entries
        if e.name.endswith(GENERATED_SUFFIXES) and e.is_symlink()
    ]
