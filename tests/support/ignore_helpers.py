"""Projects for the per-Dockerfile ignore files: shared by unit/test_ignore.py and
integration/test_ignore_engine.py."""

from __future__ import annotations

from pathlib import Path

import yaml
from conftest import HELLO_C, STANDIN_BASES


def write(root: Path, config: dict[str, object]) -> Path:
    (root / "hello").mkdir(exist_ok=True)
    (root / "hello" / "hello.c").write_text(HELLO_C)
    path = root / "slim.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def lister(registry: str | None = None) -> dict[str, object]:
    """`everything` builds from the repository's top (context .) beside `hello`."""
    config: dict[str, object] = {
        "version": 1,
        "artifacts": {
            "everything": {
                "lang": "custom",
                "context": ".",
                "runtimes": ["single-stage"],
                "build": {"glibc-dynamic": {"command": "cp /bin/true ./prog", "output": "prog"}},
            },
            "hello": {"lang": "c", "runtimes": ["single-stage"]},
        },
    }
    if registry:
        config["registry"] = registry
        config["bases"] = STANDIN_BASES
    return config
