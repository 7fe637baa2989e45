"""Rendering hostile slim.yaml values: shared by unit/test_injection_properties.py and
integration/test_injection_properties_engine.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from slim_bake.config import load_config
from slim_bake.output import render_all
from slim_bake.plan import make_plan


def render(tmp_path: Path, config: dict[str, Any]) -> dict[str, str]:
    for name in ("tool", "hello", "gohello", "rusty"):
        (tmp_path / name).mkdir(exist_ok=True)
    path = tmp_path / "slim.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return render_all(make_plan(load_config(path)))


def dockerfile(files: dict[str, str], target: str) -> str:
    return files[f"dockerfiles/{target}.Dockerfile"]
