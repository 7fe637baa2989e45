"""`slim pin` against the local registry (127.0.0.1:5000) and the real engine: the pinned
digest is what `slim bake` builds on, and a Renovate-style digest update (another
pushed image) keeps `slim check` green and changes what the next bake builds on."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from support.bake_support import c_artifact, remove_images, run_slim, write_project
from support.renovate_helpers import renovate_deps, renovate_update

from slim_bake.engine import client

pytestmark = pytest.mark.docker

REGISTRY = "127.0.0.1:5000"


def push(source: str, tag: str, pushed: list[str]) -> str:
    """Push the local image `source` as `tag`; the registry's digest (kept in `pushed`)."""
    engine = client()
    engine.images.get(source).tag(tag)
    for line in engine.images.push(tag, stream=True, decode=True):
        assert "error" not in line, line
    digests = engine.images.get(tag).attrs["RepoDigests"]
    found = next(d for d in digests if d.startswith(tag.rsplit(":", 1)[0] + "@"))
    digest = str(found).split("@")[1]
    pushed.append(digest)
    return digest


def delete_from_registry(repository: str, digest: str) -> None:
    import urllib.request

    url = f"http://{REGISTRY}/v2/{repository}/manifests/{digest}"
    # A registry without deletion enabled keeps it; the name is unique anyway.
    with contextlib.suppress(OSError):
        urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=10)


@pytest.fixture
def pushed() -> Iterator[tuple[str, list[str]]]:
    """A tag of a repository of its own in the local registry, and the digests pushed to
    it (deleted afterwards, with the local tag)."""
    name = f"pin/base-{uuid.uuid4().hex[:10]}"
    tag = f"{REGISTRY}/{name}:1"
    pushed: list[str] = []
    yield tag, pushed
    for digest in pushed:
        delete_from_registry(name, digest)
    # The tag, and the digest references the engine keeps of each push.
    remove_images([tag, *(f"{REGISTRY}/{name}@{digest}" for digest in pushed)])


def test_pin_bake_and_a_bot_update(tmp_path: Path, pushed: tuple[str, list[str]]) -> None:
    base_tag, digests = pushed
    first = push("slim-standin/busybox:static", base_tag, digests)
    registry = f"slim-test.local/pin-{uuid.uuid4().hex[:10]}"
    # No smoke run: the program needs glibc, which the first stand-in lacks.
    artifact = c_artifact(["busybox-glibc"], smoke=False)
    path = write_project(tmp_path, {"hello": artifact}, registry)
    config = yaml.safe_load(path.read_text())
    config["bases"]["busybox-glibc"] = base_tag
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    image = f"{registry}/hello:busybox-glibc"
    try:
        pinned = run_slim("pin", "-c", str(path))
        # The toolchain stand-in was built here: no digest anywhere, said so, exit 1.
        assert pinned.returncode == 1, pinned.stderr
        assert "slim-standin/gcc:bookworm: not pinned" in pinned.stderr
        assert f"{first} (registry)" in pinned.stdout
        pins_file = tmp_path / "bases.Dockerfile"
        assert f"FROM {base_tag}@{first} AS " in pins_file.read_text()
        assert run_slim("check", "-c", str(path)).returncode == 0

        baked = run_slim("bake", "-c", str(path), "--write-report", str(tmp_path / "r1.json"))
        assert baked.returncode == 0, baked.stderr
        before = measured_base(tmp_path / "r1.json")
        assert before["base_image"] == f"{base_tag}@{first}"
        assert first_layer(image) == first_layer("slim-standin/busybox:static")

        # The tag moves (another image pushed as it); a bot replaces the digest.
        second = push("slim-standin/busybox:glibc", base_tag, digests)
        assert second != first
        text = pins_file.read_text()
        (dep,) = [d for d in renovate_deps(text) if d["digest"] == first]
        pins_file.write_text(renovate_update(text, dep, second))
        generated = {p: p.read_bytes() for p in tmp_path.rglob("*Dockerfile*") if p != pins_file}
        assert run_slim("check", "-c", str(path)).returncode == 0
        assert run_slim("generate", "-c", str(path), "--fail-on-change").returncode == 0
        assert {p: p.read_bytes() for p in generated} == generated

        baked = run_slim("bake", "-c", str(path), "--write-report", str(tmp_path / "r2.json"))
        assert baked.returncode == 0, baked.stderr
        assert measured_base(tmp_path / "r2.json")["base_image"] == f"{base_tag}@{second}"
        assert first_layer(image) == first_layer("slim-standin/busybox:glibc")
        compared = run_slim(
            "report",
            str(tmp_path / "r1.json"),
            str(tmp_path / "r2.json"),
            "--markdown",
            str(tmp_path / "c.md"),
        )
        assert compared.returncode in (0, 1), compared.stderr
        assert f"digest {first[:19]}… → {second[:19]}…" in compared.stdout + compared.stderr
    finally:
        remove_images([image])


def first_layer(image: str) -> str:
    return str(client().images.get(image).attrs["RootFS"]["Layers"][0])


def measured_base(report: Path) -> dict[str, str]:
    (target,) = json.loads(report.read_text())["targets"]
    measurement: dict[str, str] = target["measurement"]
    return measurement
