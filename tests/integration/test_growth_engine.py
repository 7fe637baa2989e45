"""Real images that grow, on the real engine: a bigger binary, an extra file, a new
base. Each scenario bakes a baseline report, changes one thing, bakes again with
--baseline, and checks that the verdict and the explanation (terminal, JSON,
Markdown) name the cause. Scratch and distroless stand-in targets only, to stay fast."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from slim_bake import presets

pytestmark = pytest.mark.docker

BIGGER_HELLO = """#include <stdio.h>

/* 40,000 bytes the program reads, so the linker keeps them. */
static volatile const char padding[40000] = {1};

int main(void) {
  puts("Hello, world!");
  return padding[sizeof padding - 1];
}
"""


def config(runtime: str, **artifact: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "artifacts": {
            "grow": {
                "lang": "c",
                "context": "./hello",
                "runtimes": [runtime],
                "budgets": {"*": {"max_growth": "5%"}},
                "smoke": {"expect_stdout": "Hello, world!"},
                **artifact,
            }
        },
    }


def bake(path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    env_free = ["env", "-u", "NO_COLOR"]  # the table is piped: no colour either way
    return subprocess.run(
        [*env_free, "slim", "bake", "-c", str(path), *options],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def baseline(path: Path) -> Path:
    report = path.parent / "base.json"
    done = bake(path, "--write-report", str(report))
    assert done.returncode == 0, done.stderr[-3000:]
    return report


def grown(path: Path, base: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], str]:
    head, markdown = path.parent / "head.json", path.parent / "head.md"
    done = bake(
        path, "--baseline", str(base), "--write-report", str(head), "--markdown", str(markdown)
    )
    data = json.loads(head.read_text())
    jsonschema.Draft202012Validator(presets.schema("report")).validate(data)
    return done, data, markdown.read_text()


def only_target(data: dict[str, Any]) -> dict[str, Any]:
    [target] = data["targets"]
    assert target["baseline"]["state"] == "compared"
    return target


def test_a_bigger_binary_is_blamed_on_its_copy_layer_and_file(
    docker_engine: None, project: Callable[..., Path]
) -> None:
    path = project(config("scratch-musl"), standins=True)
    base = baseline(path)
    (path.parent / "hello" / "hello.c").write_text(BIGGER_HELLO)
    done, data, markdown = grown(path, base)

    assert done.returncode == 1, done.stderr[-3000:]  # +40 kB on 18 kB breaks max_growth 5%
    target = only_target(data)
    assert target["status"] == "over-budget"
    assert any("max_growth 5%" in reason for reason in target["reasons"])
    why = target["baseline"]["explanation"]
    assert why["base_image"]["changed"] is False
    [layer] = why["layers"]
    assert layer["instruction"] == "COPY /files/ /"  # the program's tree (reproducible)
    assert layer["change"] == "grew" and layer["delta"] >= 40_000
    assert why["files"][0]["path"] == "/usr/local/bin/grow"
    assert why["files"][0]["change"] == "grown"
    assert "grow-scratch-musl grew +" in done.stdout
    assert "COPY /files/ /" in done.stdout
    assert "\033[" not in done.stdout  # piped: no colour
    assert "| `grow-scratch-musl` |" in markdown and "❌ over-budget" in markdown
    assert "`/usr/local/bin/grow`" in markdown

    # --json: stdout is the report alone (buildx and the table go to stderr).
    done = bake(path, "--baseline", str(base), "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["targets"][0]["status"] == "over-budget"
    assert "grow-scratch-musl" in done.stderr


def test_an_extra_file_is_named_with_the_layer_that_added_it(
    docker_engine: None, project: Callable[..., Path]
) -> None:
    path = project(config("scratch-musl"), standins=True)
    base = baseline(path)
    path.write_text(path.read_text().replace("smoke:", "files: {ca_certs: true}\n    smoke:"))
    done, data, markdown = grown(path, base)

    why = only_target(data)["baseline"]["explanation"]
    added = why["files"][0]
    assert (added["path"], added["change"]) == ("/etc/ssl/certs/ca-certificates.crt", "added")
    assert added["instruction"] == "COPY /rootfs/ /"
    assert [layer["instruction"] for layer in why["layers"]] == ["COPY /rootfs/ /"]
    assert "file /etc/ssl/certs/ca-certificates.crt added" in done.stdout
    assert "`/etc/ssl/certs/ca-certificates.crt` | added |" in markdown


def test_a_new_base_image_is_named_as_the_cause(
    docker_engine: None, project: Callable[..., Path]
) -> None:
    path = project(config("distroless-static"), standins=True)
    base = baseline(path)
    path.write_text(
        path.read_text().replace("slim-standin/distroless:static", "slim-standin/distroless:cc")
    )
    done, data, markdown = grown(path, base)

    assert done.returncode == 1, done.stderr[-3000:]
    why = only_target(data)["baseline"]["explanation"]
    assert why["cause"] == "base image changed, our layers did not"
    assert why["base_image"]["changed"] is True
    assert why["base_image"]["before"]["image"] == "slim-standin/distroless:static"
    assert why["base_image"]["after"]["image"] == "slim-standin/distroless:cc"
    assert why["base_image"]["delta"] > 1_000_000
    assert why["layers"] == [] and why["files"] == []
    assert "base image changed: slim-standin/distroless:static" in done.stdout
    assert "**Base image changed:** `slim-standin/distroless:static`" in markdown
