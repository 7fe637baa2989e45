"""`slim bake --output registry|oci` on the real engines and the local registry
(scripts/registry.sh): the figures are those of the pushed digests (compressed sizes
byte for byte the registry's blob sizes) or of the OCI layouts written, the smoke runs
pass, a broken target is reported broken beside the measured others, and the engine's
image store is left as it was — nothing pulled, loaded or tagged stays behind. The same
through a builder that is not the engine's own (scripts/remote-builder.sh: buildx's
`remote` driver), which has no access to the engine's image store."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import tarfile
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.bake_support import (
    HELLO,
    HELLO_C,
    ROOT,
    c_artifact,
    remove_images,
    run_slim,
    write_project,
)

from slim_bake.pipeline import SMOKE_NAME, staged
from slim_bake.registry import parse_reference

pytestmark = pytest.mark.docker

CONTAINERD = "unix:///run/slim-containerd/docker.sock"
CLASSIC = "unix:///var/run/docker.sock"
HELLO_RUNTIMES = ["scratch-musl", "alpine", "debian-slim"]
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json,"
    " application/vnd.docker.distribution.manifest.v2+json,"
    " application/vnd.docker.distribution.manifest.list.v2+json"
)


@pytest.fixture(scope="module")
def registry(docker_engine: None) -> str:
    done = subprocess.run(
        [str(ROOT / "scripts" / "registry.sh")], capture_output=True, text=True, check=False
    )
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines and lines[-1].startswith("SLIM_TEST_REGISTRY="), done
    return lines[-1].removeprefix("SLIM_TEST_REGISTRY=")


@pytest.fixture
def prefix(registry: str) -> Iterator[str]:
    """A registry prefix of this test alone; its manifests are deleted afterwards."""
    name = f"{registry}/outputs/t{uuid.uuid4().hex[:10]}"
    yield name
    for reference in _pushed.get(name, []):
        parsed = parse_reference(reference)
        request = urllib.request.Request(
            f"http://{parsed.host}/v2/{parsed.repository}/manifests/{parsed.reference}",
            method="DELETE",
        )
        # A registry without deletes keeps them: the names are unique anyway.
        with contextlib.suppress(OSError):
            urllib.request.urlopen(request, timeout=30).close()


_pushed: dict[str, list[str]] = {}


def _bake(path: Path, *args: str, host: str) -> subprocess.CompletedProcess[str]:
    env = {
        "DOCKER_HOST": host,
        "SLIM_CACHE_DIR": str(path.parent / "cache"),
        "PYTHONPATH": str(ROOT / "src"),
    }
    return run_slim("bake", "-c", str(path), "--json", *args, env=env, cwd=path.parent)


def _images(host: str) -> set[tuple[str, str]]:
    """(name, full ID) of every image in the engine's store, dangling ones too."""
    done = subprocess.run(
        [
            "docker",
            "image",
            "ls",
            "-a",
            "--no-trunc",
            "--format",
            "{{.Repository}}:{{.Tag}} {{.ID}}",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DOCKER_HOST": host},
    )
    return {tuple(line.split(" ", 1)) for line in done.stdout.splitlines()}  # type: ignore[misc]


def _left_behind(
    before: set[tuple[str, str]], after: set[tuple[str, str]], ids: set[str], prefix: str
) -> set[tuple[str, str]]:
    """What this run left in the store: a name of its own (the registry prefix, slim's
    smoke name) or an image it built that was not there before. Other helpers' images
    may come and go meanwhile: they are not this run's."""
    known = {image for _, image in before}
    return {
        (name, image)
        for name, image in after - before
        if name.startswith((prefix, f"{SMOKE_NAME}:")) or (image in ids and image not in known)
    }


def _manifest(reference: str, media_type: str = MANIFEST_TYPES) -> tuple[dict[str, Any], str]:
    parsed = parse_reference(reference)
    request = urllib.request.Request(
        f"http://{parsed.host}/v2/{parsed.repository}/manifests/{parsed.reference}",
        headers={"Accept": media_type},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read()), response.headers.get("Content-Type", "")


def _image_manifest(reference: str) -> dict[str, Any]:
    """The registry's image manifest behind `reference`, through an index (linux/amd64,
    not an attestation) as the containerd store pushes one."""
    document, _ = _manifest(reference)
    if "manifests" in document:
        entry = next(
            m
            for m in document["manifests"]
            if m.get("platform", {}).get("architecture") == "amd64"
            and m.get("platform", {}).get("os") == "linux"
        )
        repository = reference.rsplit("@", 1)[0]
        document, _ = _manifest(f"{repository}@{entry['digest']}")
    return document


def _targets(run: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    document = json.loads(run.stdout)
    return {t["name"]: t for t in document["targets"]}


def _broken_artifact(root: Path) -> dict[str, Any]:
    (root / "broken").mkdir(parents=True, exist_ok=True)
    (root / "broken" / "hello.c").write_text("int main(void) { return missing_symbol; }\n")
    return {"lang": "c", "context": "./broken", "runtimes": ["alpine"]}


def test_registry_output_measures_the_pushed_digests_and_leaves_the_engine_store_alone(
    tmp_path: Path, prefix: str
) -> None:
    path = write_project(
        tmp_path,
        {"hello": c_artifact(HELLO_RUNTIMES), "broken": _broken_artifact(tmp_path)},
        prefix,
    )
    before = _images(CLASSIC)
    run = _bake(path, "--output", "registry", host=CLASSIC)
    targets = _targets(run)
    pushed = [t["measurement"]["image"] for t in targets.values() if t["measurement"] is not None]
    _pushed[prefix] = pushed
    assert run.returncode == 3, run.stderr  # a target did not build
    assert targets["broken-alpine"]["status"] == "build-failed"
    assert targets["broken-alpine"]["measurement"] is None
    ids = set()
    for runtime in HELLO_RUNTIMES:
        target = targets[f"hello-{runtime}"]
        assert target["status"] == "pass", target["reasons"]
        assert target["smoke"]["ok"] and target["smoke"]["stdout"].strip() == "Hello, world!"
        measured = target["measurement"]
        assert measured["image"].startswith(f"{prefix}/hello@sha256:")
        manifest = _image_manifest(measured["image"])
        sizes = [layer["size"] for layer in manifest["layers"]]
        assert [layer["compressed"] for layer in measured["layers"]] == sizes
        assert measured["compressed"] == sum(sizes)
        assert measured["image_id"] == manifest["config"]["digest"]
        ids.add(measured["image_id"])
    assert _left_behind(before, _images(CLASSIC), ids, prefix) == set()


def test_registry_output_without_smoke_on_the_containerd_engine_pulls_nothing(
    tmp_path: Path, prefix: str
) -> None:
    path = write_project(tmp_path, {"hello": c_artifact(["scratch-musl", "alpine"])}, prefix)
    before = _images(CONTAINERD)
    run = _bake(path, "--output", "registry", "--no-smoke", host=CONTAINERD)
    targets = _targets(run)
    _pushed[prefix] = [t["measurement"]["image"] for t in targets.values() if t["measurement"]]
    assert run.returncode == 0, run.stderr
    ids = set()
    for target in targets.values():
        assert target["smoke"] is None
        reference = target["measurement"]["image"]
        ids.add(reference.rsplit("@", 1)[1])  # the containerd store names images by this
        manifest = _image_manifest(reference)
        assert target["measurement"]["compressed"] == sum(x["size"] for x in manifest["layers"])
    assert _left_behind(before, _images(CONTAINERD), ids, prefix) == set()


def test_oci_output_on_the_containerd_engine_measures_and_smoke_runs_the_layouts(
    tmp_path: Path, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, {"hello": c_artifact(["scratch-musl", "alpine"])}, prefix)
    layouts = tmp_path / "layouts"
    before = _images(CONTAINERD)
    run = _bake(path, "--output", "oci", "--oci-dir", str(layouts), host=CONTAINERD)
    assert run.returncode == 0, run.stderr
    ids = set()
    for name, target in _targets(run).items():
        layout = layouts / name
        assert target["measurement"]["image"] == f"oci:{layout}"
        assert target["smoke"]["ok"] and target["smoke"]["stdout"].strip() == "Hello, world!"
        (entry,) = json.loads((layout / "index.json").read_text())["manifests"]
        ids.add(entry["digest"])
        manifest = json.loads((layout / "blobs" / "sha256" / entry["digest"][7:]).read_text())
        sizes = [layer["size"] for layer in manifest["layers"]]
        assert [layer["compressed"] for layer in target["measurement"]["layers"]] == sizes
    assert _left_behind(before, _images(CONTAINERD), ids, prefix) == set()
    base = _targets(run)["hello-alpine"]["measurement"]["base_image"]
    # The engine's own builder wrote the layout: the base's blobs are in its content store.
    _staged_without_the_base_blobs(layouts / "hello-alpine", base, monkeypatch, CONTAINERD)
    # The classic store has the base's layers (the same stand-in): it skips them unread.
    _staged_without_the_base_blobs(layouts / "hello-alpine", base, monkeypatch, CLASSIC)
    # A layout a remote builder wrote loads into the classic store too (as manifest.json).
    _smoke_run_on_the_classic_engine(layouts / "hello-alpine", monkeypatch)


def _staged_without_the_base_blobs(
    layout: Path, base: str, monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    """The engine at `host` has the base's layers, so the archive loaded for a smoke run
    leaves their blobs out (one load, no second try with every blob), and the image runs."""
    from slim_bake import engine

    monkeypatch.setenv("DOCKER_HOST", host)
    monkeypatch.setenv("SLIM_CACHE_DIR", str(layout.parent.parent / "cache"))
    collection = type(engine.client().images)  # a new collection object on each access
    sent: list[set[str]] = []
    load = collection.load

    def spy(self: Any, archive: Any) -> Any:
        with tarfile.open(fileobj=archive) as tar:
            sent.append(set(tar.getnames()))
        archive.seek(0)
        return load(self, archive)

    monkeypatch.setattr(collection, "load", spy)
    base_blobs = _layer_blobs(layout)[: len(engine.image_diff_ids(base))]
    assert base_blobs  # alpine's stand-in has a layer
    with staged(f"oci:{layout}", None, base) as name:
        ran = _docker(host, "run", "--rm", "--network", "none", name)
        assert (ran.returncode, ran.stdout.strip()) == (0, "Hello, world!"), ran.stderr
    [names] = sent  # one load, no second try with every blob
    assert not {f"blobs/sha256/{d[7:]}" for d in base_blobs} & names
    assert {f"blobs/sha256/{d[7:]}" for d in _layer_blobs(layout)[len(base_blobs) :]} <= names


def _layer_blobs(layout: Path) -> list[str]:
    (entry,) = json.loads((layout / "index.json").read_text())["manifests"]
    manifest = json.loads((layout / "blobs" / "sha256" / entry["digest"][7:]).read_text())
    return [layer["digest"] for layer in manifest["layers"]]


def _docker(host: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_HOST": host}
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=False, env=env)


def _smoke_run_on_the_classic_engine(layout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", CLASSIC)
    monkeypatch.setenv("SLIM_CACHE_DIR", str(layout.parent.parent / "cache"))
    env = {**os.environ, "DOCKER_HOST": CLASSIC}
    with staged(f"oci:{layout}") as name:
        assert name.startswith(f"{SMOKE_NAME}:")
        ran = subprocess.run(
            ["docker", "run", "--rm", "--network", "none", name],
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
        assert (ran.returncode, ran.stdout.strip()) == (0, "Hello, world!"), ran.stderr
    gone = subprocess.run(["docker", "image", "inspect", name], capture_output=True, env=env)
    assert gone.returncode != 0


def test_oci_output_on_the_classic_store_is_refused_with_buildxs_reason(
    tmp_path: Path, prefix: str
) -> None:
    path = write_project(tmp_path, {"hello": c_artifact(["scratch-musl", "alpine"])}, prefix)
    run = _bake(path, "--output", "oci", "--oci-dir", str(tmp_path / "layouts"), host=CLASSIC)
    assert run.returncode == 3, run.stderr
    message = run.stderr.strip().splitlines()[-1]
    assert "buildx refused `--output oci`" in message
    assert "not supported for the docker driver" in message
    assert "containerd image store" in message
    assert run.stderr.count("building hello-") == 0  # not baked target by target


def test_a_cache_the_classic_engines_own_builder_cannot_export_is_refused_naming_the_option(
    tmp_path: Path, prefix: str
) -> None:
    path = write_project(tmp_path, {"hello": c_artifact(["scratch-musl", "alpine"])}, prefix)
    run = _bake(path, "--cache", "registry", "--no-smoke", host=CLASSIC)
    assert run.returncode == 3, run.stderr
    message = run.stderr.strip().splitlines()[-1]
    assert message.startswith("slim: buildx refused `--cache registry`: "), message
    assert "not supported for the docker driver" in message
    assert run.stderr.count("building hello-") == 0  # not baked target by target


# --- A builder that is not the engine's own ----------------------------------------------


@pytest.fixture(scope="module")
def remote_builder(docker_engine: None) -> str:
    done = subprocess.run(
        [str(ROOT / "scripts" / "remote-builder.sh")], capture_output=True, text=True, check=False
    )
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines, done
    assert lines[-1].startswith("SLIM_TEST_REMOTE_BUILDER="), done
    return lines[-1].removeprefix("SLIM_TEST_REMOTE_BUILDER=")


def _image_id(host: str, reference: str) -> str | None:
    found = _docker(host, "image", "inspect", "--format", "{{.Id}}", reference)
    return found.stdout.strip() if found.returncode == 0 else None


def test_a_remote_builder_loads_into_the_engine_and_the_image_it_built_is_measured(
    tmp_path: Path, prefix: str, remote_builder: str
) -> None:
    """The engine's tags first name images of the engine's own builder; the remote builder
    then builds a changed source and sends its images as tarballs: those are what is
    smoke-run and measured, never the stale images under the same tags."""
    changed = "Hello, remote!"
    path = write_project(tmp_path, {"hello": c_artifact(["scratch-musl", "alpine"])}, prefix)
    tags = [f"{prefix}/hello:scratch-musl", f"{prefix}/hello:alpine"]
    try:
        own = _bake(path, "--no-smoke", host=CLASSIC)
        assert own.returncode == 0, own.stderr
        stale = {tag: _image_id(CLASSIC, tag) for tag in tags}
        (tmp_path / "hello" / "hello.c").write_text(HELLO_C.replace(HELLO, changed))
        config = yaml.safe_load(path.read_text())
        config["artifacts"]["hello"]["smoke"]["expect_stdout"] = changed
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        run = _bake(path, "--builder", remote_builder, host=CLASSIC)
        assert run.returncode == 0, run.stderr
        assert "sending tarball" in run.stderr  # buildx's load from a builder without the store
        for runtime, tag in zip(["scratch-musl", "alpine"], tags, strict=True):
            target = _targets(run)[f"hello-{runtime}"]
            assert target["smoke"]["stdout"].strip() == changed
            now = _image_id(CLASSIC, tag)
            assert now is not None and now != stale[tag]
            assert target["measurement"]["image_id"] == now
    finally:
        remove_images(tags, CLASSIC)


def test_a_remote_builder_pushes_and_the_engine_store_is_left_alone(
    tmp_path: Path, prefix: str, remote_builder: str
) -> None:
    path = write_project(tmp_path, {"hello": c_artifact(["scratch-musl", "alpine"])}, prefix)
    before = _images(CLASSIC)
    run = _bake(path, "--output", "registry", "--builder", remote_builder, host=CLASSIC)
    targets = _targets(run)
    _pushed[prefix] = [t["measurement"]["image"] for t in targets.values() if t["measurement"]]
    assert run.returncode == 0, run.stderr
    ids = set()
    for target in targets.values():
        assert target["smoke"]["ok"] and target["smoke"]["stdout"].strip() == HELLO
        measured = target["measurement"]
        manifest = _image_manifest(measured["image"])
        sizes = [layer["size"] for layer in manifest["layers"]]
        assert [layer["compressed"] for layer in measured["layers"]] == sizes
        ids.add(measured["image_id"])
    assert _left_behind(before, _images(CLASSIC), ids, prefix) == set()


def test_a_remote_builder_writes_oci_layouts_that_the_classic_engine_smoke_runs(
    tmp_path: Path, prefix: str, remote_builder: str
) -> None:
    """The classic store cannot take an OCI export from its own builder (the test above
    this section): from a remote builder it gets the layouts, loaded whole for the runs."""
    path = write_project(tmp_path, {"hello": c_artifact(["scratch-musl", "alpine"])}, prefix)
    layouts = tmp_path / "layouts"
    before = _images(CLASSIC)
    run = _bake(
        path,
        "--output",
        "oci",
        "--oci-dir",
        str(layouts),
        "--builder",
        remote_builder,
        host=CLASSIC,
    )
    assert run.returncode == 0, run.stderr
    for name, target in _targets(run).items():
        assert target["measurement"]["image"] == f"oci:{layouts / name}"
        assert target["smoke"]["ok"] and target["smoke"]["stdout"].strip() == HELLO
        (entry,) = json.loads((layouts / name / "index.json").read_text())["manifests"]
        manifest = json.loads(
            (layouts / name / "blobs" / "sha256" / entry["digest"][7:]).read_text()
        )
        sizes = [layer["size"] for layer in manifest["layers"]]
        assert [layer["compressed"] for layer in target["measurement"]["layers"]] == sizes
    assert _left_behind(before, _images(CLASSIC), set(), prefix) == set()


def _digest(reference: str) -> str:
    """The registry's digest of the manifest `reference` names (its Docker-Content-Digest)."""
    parsed = parse_reference(reference)
    request = urllib.request.Request(
        f"http://{parsed.host}/v2/{parsed.repository}/manifests/{parsed.reference}",
        headers={"Accept": MANIFEST_TYPES},
        method="HEAD",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(response.headers["Docker-Content-Digest"])


def _compile_cached(stderr: str) -> bool:
    """Whether buildx's display shows the build stage's last RUN (the compile) as CACHED
    (a bake of one target: its vertex names have no target prefix)."""
    steps = re.findall(r"^#(\d+) \[build \d+/\d+\] RUN", stderr, re.MULTILINE)
    assert steps, stderr
    return f"#{steps[-1]} CACHED" in stderr.splitlines()


def test_a_remote_builder_emptied_builds_from_the_targets_cache_in_the_registry(
    tmp_path: Path, prefix: str, remote_builder: str
) -> None:
    """`--cache registry`: the first run writes the target's cache beside its image; with
    the builder's cache pruned (a fresh CI builder), the next run compiles nothing. (That
    builder is the containerd-store engine's BuildKit: the engine tests after this one
    find its build cache empty and rebuild what they need, in seconds.)"""
    unique = f"Hello, {uuid.uuid4().hex[:8]}!"  # a compile step no build cache holds yet
    artifact = c_artifact(["scratch-musl"], smoke={"expect_stdout": unique})
    path = write_project(tmp_path, {"hello": artifact}, prefix)
    (tmp_path / "hello" / "hello.c").write_text(HELLO_C.replace(HELLO, unique))
    options = ("--output", "registry", "--builder", remote_builder, "--cache", "registry")
    first = _bake(path, *options, host=CLASSIC)
    assert first.returncode == 0, first.stderr
    cache_ref = f"{prefix}/hello:scratch-musl-buildcache"
    (pushed,) = (t["measurement"]["image"] for t in _targets(first).values())
    _pushed[prefix] = [pushed, f"{prefix}/hello@{_digest(cache_ref)}"]  # deleted by digest
    assert not _compile_cached(first.stderr)
    cache, _ = _manifest(cache_ref)
    assert cache["manifests"]  # the cache's layers, build stage included (mode=max)
    pruned = _docker(CLASSIC, "buildx", "prune", "--builder", remote_builder, "-af")
    assert pruned.returncode == 0, pruned.stderr
    again = _bake(path, *options, host=CLASSIC)
    assert again.returncode == 0, again.stderr
    assert f"importing cache manifest from {cache_ref}" in again.stderr
    assert _compile_cached(again.stderr)
    (target,) = _targets(again).values()
    assert target["smoke"]["stdout"].strip() == unique
