"""slim.yaml artifacts rendered in a throw-away project: shared by unit/test_features.py and
integration/test_features_engine.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from slim_bake import presets
from slim_bake.config import load_config
from slim_bake.output import render_all
from slim_bake.plan import make_plan


def render(root: Path, artifacts: dict[str, Any], **top: Any) -> dict[str, str]:
    for name, spec in artifacts.items():
        (root / spec.get("context", name)).mkdir(parents=True, exist_ok=True)
    path = root / "slim.yaml"
    config = {"version": 1, **top, "artifacts": artifacts}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return render_all(make_plan(load_config(path)))


def c(runtimes: list[str], **extra: Any) -> dict[str, Any]:
    return {"lang": "c", "runtimes": runtimes, **extra}


# What every C/C++ build gets first, for reproducible builds (languages.yaml).
_C_VARS = presets.languages()["c"].vars
REPRO_CFLAGS = " ".join(_C_VARS["repro_cflags"].default)
REPRO_LDFLAGS = " ".join(_C_VARS["repro_ldflags"].default)
