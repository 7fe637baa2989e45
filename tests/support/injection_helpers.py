"""Rendering hostile slim.yaml values: shared by unit/test_injection_properties.py and
integration/test_injection_properties_engine.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support import render_helpers


def render(tmp_path: Path, config: dict[str, Any]) -> dict[str, str]:
    """The generated files of `config` (render_helpers.render without slim.yaml's path)."""
    return render_helpers.render(tmp_path, config)[0]


def dockerfile(files: dict[str, str], target: str) -> str:
    return files[f"dockerfiles/{target}.Dockerfile"]
