"""A slim.yaml that uses every runtime and language, rendered: shared by unit/test_render.py and
integration/test_render_engine.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2
import yaml

from slim_bake.config import load_config
from slim_bake.output import render_all
from slim_bake.plan import make_plan
from support.buildkit_rules import as_dicts

ROOT = Path(__file__).resolve().parents[2]


EXAMPLES = ROOT / "examples"


ALL_RUNTIMES = [
    "single-stage", "ubuntu", "debian-slim", "alpine", "alpine-static", "busybox-glibc",
    "distroless-static", "distroless-cc", "scratch-glibc", "scratch-musl", "scratch-closure",
    "scratch-musl-debug", "scratch-closure-debug", "distroless-cc-debug",
]  # fmt: skip


NASTY = "a\"b\\c ${HOME} %{x} $(id) `id` 'q' \n new line\tend"


def render(tmp_path: Path, config: dict[str, Any]) -> tuple[dict[str, str], Path]:
    for name in ("hello", "gohello", "rusty", "tool"):
        (tmp_path / name).mkdir(exist_ok=True)
    path = tmp_path / "slim.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return render_all(make_plan(load_config(path))), path


def wide_config() -> dict[str, Any]:
    return {
        "version": 1,
        "registry": "ghcr.io/acme",
        "platforms": ["linux/amd64"],
        "artifacts": {
            "hello": {"lang": "c", "runtimes": ALL_RUNTIMES, "args": ["--greet", "world"]},
            "gohello": {"lang": "go", "runtimes": ["scratch-glibc", "alpine", "distroless-cc"]},
            "rusty": {
                "lang": "rust",
                "runtimes": ["scratch-musl", "debian-slim"],
                "profile": "min",
            },
            "tool": {
                "lang": "custom",
                "runtimes": ["scratch-glibc", "busybox-glibc"],
                "build": {
                    "glibc-static": {"command": "make static", "output": "bin/tool"},
                    "glibc-dynamic": {"command": "make", "output": "/src/bin/tool"},
                },
            },
        },
    }


def stages(instructions: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    result: dict[str, list[dict[str, Any]]] = {}
    current = ""
    for ins in instructions:
        if ins["instruction"] == "COMMENT":
            continue
        if ins["instruction"] == "FROM":
            words = ins["value"].split()
            assert len(words) == 3 and words[1].upper() == "AS", f"unnamed stage: {ins['content']}"
            current = words[2]
            result[current] = []
        else:
            result[current].append(ins)
    return result


def load_hcl(text: str) -> dict[str, Any]:
    """Parse with python-hcl2, then undo the `$${`/`%%{` escapes as HCL's evaluation does."""
    options = hcl2.SerializationOptions(strip_string_quotes=True)

    def unescape(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("$${", "${").replace("%%{", "%{")
        if isinstance(value, dict):
            return {unescape(k): unescape(v) for k, v in value.items()}
        if isinstance(value, list):
            return [unescape(v) for v in value]
        return value

    return unescape(hcl2.loads(text, serialization_options=options))  # type: ignore[no-any-return]


def parse(text: str) -> list[dict[str, Any]]:
    # dockerfile-parse knows no heredocs: read the file as BuildKit does.
    return list(as_dicts(text))
