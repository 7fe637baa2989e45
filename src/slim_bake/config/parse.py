"""Parsing slim.yaml: bounded YAML with the position of every value (loader.py), named
as the user would type the file from here."""

from __future__ import annotations

from pathlib import Path

from slim_bake.loader import Document, load_yaml


def parse(path: Path) -> Document:
    return load_yaml(path, display=_display(path))


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        return str(path)
