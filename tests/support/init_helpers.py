"""Throw-away repositories for slim init: shared by unit/test_init.py and
integration/test_init_engine.py."""

from __future__ import annotations

from pathlib import Path


def repo(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root
