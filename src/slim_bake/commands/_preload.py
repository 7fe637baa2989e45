"""Modules a command needs only after a long wait, imported while it waits.

`slim bake` spends a second or more in buildx; the report's modules (0.1 s to import)
are needed only after it. Imported in a thread started once buildx is spawned, their
import overlaps the build instead of adding to slim's own time. A module that fails to
import here is imported again where it is used, and fails there, in the one handler."""

from __future__ import annotations

import contextlib
import importlib
import threading


def preload(*modules: str) -> None:
    def load() -> None:
        for name in modules:
            with contextlib.suppress(Exception):
                importlib.import_module(name)

    threading.Thread(target=load, name="slim-preload", daemon=True).start()
