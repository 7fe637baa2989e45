"""Where slim keeps what it can rebuild: measured layer figures and crash reports. Imports
nothing from slim_bake, so the top-level handler can find it even when a stage is broken."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    explicit = os.environ.get("SLIM_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "slim-bake"
