"""The run of `slim bake` (and of `slim init`'s first build), stage after stage:
bake (buildx) → smoke run → measure → judge, one `TargetResult` per target.

This module sits above the stages it calls; none of them imports it. The report
(slim_bake.report) is made from its results, by the command.

With `--output registry|oci` the images are not in the engine: each is measured where
it went (the pushed digest, the OCI layout), and for its smoke run pulled (by digest)
or loaded (from its layout, under a name of slim's) into the engine, and removed again
after the run, unless the engine had it before."""

from __future__ import annotations

import contextlib
import io
import json
import re
import tarfile
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from slim_bake import engine
from slim_bake.bake import Mode, Notify, Output, base_image, build, export, loaded_platform
from slim_bake.cachedir import cache_dir
from slim_bake.config import Budget
from slim_bake.errors import BuildError
from slim_bake.imageref import OCI_PREFIX, LayoutStore, measure_reference, resolve
from slim_bake.judge import Status, Verdict, failed, judge
from slim_bake.measure import MeasureCache, Measurement, measure
from slim_bake.plan import Plan, Target
from slim_bake.safe_text import warn
from slim_bake.smoke import SmokeResult, smoke

WORKERS = 4  # smoke runs and measurements in flight at once (the engine does the work)
SMOKE_NAME = "slim-smoke"  # the repository an OCI layout is loaded into for its smoke run
_CONTAINERD_NAME = f"docker.io/library/{SMOKE_NAME}"  # the containerd store's full name
_NESTING = 4  # index → index → manifest is what buildx writes
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class TargetResult:
    """What running one target produced: the whole measurement and smoke run (the
    report keeps a cut of them) and its verdict."""

    target: str
    verdict: Verdict
    measurement: Measurement | None
    smoke: SmokeResult | None  # None: not run (--no-smoke, no smoke spec, or no image)
    budget: Budget
    platform: str | None = None  # one of several platforms slim.yaml lists; None: the only one
    notes: tuple[str, ...] = ()  # what was left out, not a failure (a platform not run)

    @property
    def status(self) -> Status:
        return self.verdict.status

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.verdict.reasons


def bake_targets(
    plan: Plan,
    targets: list[Target],
    *,
    builder: str | None = None,
    run_smoke: bool = True,
    notify: Notify = warn,
    output: Output | None = None,
) -> list[TargetResult]:
    """Build, smoke-run, measure and judge `targets`; one result each, in plan order.
    `output`: where bake puts the images (default: loaded into the engine)."""
    output = output or Output()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        # Measure the local base images while BuildKit builds: their layers (hundreds of
        # MB for a toolchain image) are compressed once, during the build, and skipped
        # when the images that carry them are measured.
        bases = {base_image(t) for t in targets} - {"scratch"}
        warming = {base: pool.submit(_warm, base) for base in sorted(bases)}
        budgeted: str | None = None  # the platform whose budget a loaded image is judged by
        if output.mode is Mode.LOAD:
            built = build(plan, targets, builder=builder, notify=notify)
            references = {t.name: t.tags[0] for t in targets if t.name in built}
            budgeted = loaded_platform(plan)
        else:
            references = export(plan, targets, output, builder=builder, notify=notify)
        platforms = result_platforms(plan, output)
        native = engine.native_platform() if len(platforms) > 1 and run_smoke else None
        jobs = [(target, platform) for target in targets for platform in platforms]
        futures = [
            pool.submit(
                _check,
                target,
                references[target.name],
                output.mode,
                run_smoke and platform in (None, native),
                warming.get(base_image(target)),
                platform,
                budgeted,
            )
            if target.name in references
            else None
            for target, platform in jobs
        ]
        return [
            _not_run(future.result(), native)
            if future is not None
            else result(
                target,
                failed(Status.BUILD_FAILED, "the build failed (see the build output above)"),
                platform=platform,
                budgeted=budgeted,
            )
            for (target, platform), future in zip(jobs, futures, strict=True)
        ]


def result_platforms(plan: Plan, output: Output) -> list[str | None]:
    """The platforms each target has a result for: every one slim.yaml lists when bake
    built them all (registry, OCI); else the one image a store loads (None)."""
    listed = list(plan.config.platforms)
    return [*listed] if len(listed) > 1 and output.mode is not Mode.LOAD else [None]


def _not_run(done: TargetResult, native: str | None) -> TargetResult:
    """A platform this machine cannot run (no emulation): said in the report, not failed."""
    if done.platform is None or done.platform == native or done.smoke is not None:
        return done
    if native is None:
        return done  # --no-smoke: nothing was run anywhere
    note = f"smoke run not run: {done.platform} is not this engine's platform ({native})"
    return replace(done, notes=(*done.notes, note))


def result(
    target: Target,
    verdict: Verdict,
    measurement: Measurement | None = None,
    smoked: SmokeResult | None = None,
    platform: str | None = None,
    budgeted: str | None = None,
) -> TargetResult:
    budget = target.budget.for_platform(platform or budgeted)
    return TargetResult(target.name, verdict, measurement, smoked, budget, platform)


def _warm(base: str) -> None:
    # Only a head start: whatever fails here (a base BuildKit pulled but the image store
    # lacks) is met again, and reported, when the target itself is measured.
    # Measured as its own base, so that no file list is loaded for it.
    with contextlib.suppress(Exception):
        measure(base, base)


def _check(
    target: Target,
    reference: str,
    mode: Mode,
    run_smoke: bool,
    base_measured: Future[None] | None,
    platform: str | None = None,
    budgeted: str | None = None,
) -> TargetResult:
    """Smoke-run, measure and judge one built target, found at `reference` (its tag,
    its pushed digest or its OCI layout). Fail closed: an unexpected error (the engine
    going away mid-run) fails this target with its message, not the run."""
    smoked: SmokeResult | None = None
    if run_smoke and target.smoke is not None:
        try:
            if mode is Mode.LOAD:
                smoked = smoke(reference, target.smoke)
            else:
                with staged(reference, platform) as name:
                    smoked = smoke(name, target.smoke)
        except Exception as exc:
            smoked = SmokeResult(False, None, "", "", f"the smoke run failed: {_describe(exc)}")
    if base_measured is not None:
        base_measured.result()  # its layers are then in the cache, not compressed twice
    try:
        needs = target.asserts.needs_contents
        measured: Measurement = (
            measure(reference, base_image(target), contents=needs)
            if mode is Mode.LOAD
            else measure_reference(reference, base_image(target), platform=platform, contents=needs)
        )
    except BuildError as exc:
        reason = f"measurement failed: {exc}"
        return result(target, _unmeasured(reason), None, smoked, platform, budgeted)
    except Exception as exc:
        reason = f"measurement failed: {_describe(exc)}"
        return result(target, _unmeasured(reason), None, smoked, platform, budgeted)
    budget = target.budget.for_platform(platform or budgeted)
    verdict = judge(budget, measured, smoked, target.asserts)
    return result(target, verdict, measured, smoked, platform, budgeted)


def _unmeasured(reason: str) -> Verdict:
    return failed(Status.MEASURE_FAILED, reason)


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}".strip()[:300]


# --- An exported image in the engine, for its smoke run --------------------------------------


@contextlib.contextmanager
def staged(reference: str, platform: str | None = None) -> Iterator[str]:
    """The engine's name for the image at `reference` (HOST/REPO@sha256:… or oci:DIR)
    while the block runs: pulled, or loaded from the layout under a name of its own,
    and removed afterwards unless the engine already had it. `platform`: the image of
    a multi-platform index to load (a pull takes the engine's own)."""
    import docker

    images = engine.client().images
    if reference.startswith(OCI_PREFIX):
        name, present = f"{SMOKE_NAME}:{uuid.uuid4().hex[:16]}", False
        _load_layout(reference, name, platform)
    else:
        name, present = reference, _present(reference)
        if not present:
            _pull(reference)
    try:
        yield name
    finally:
        if not present:
            with contextlib.suppress(docker.errors.DockerException):
                images.remove(name)


def _present(name: str) -> bool:
    import docker

    try:
        engine.client().images.get(name)
    except docker.errors.ImageNotFound:
        return False
    return True


def _pull(reference: str) -> None:
    """Pull REPO@DIGEST, saying why when the engine cannot (the SDK's pull hides it)."""
    import docker

    repository, _, digest = reference.rpartition("@")
    try:
        for event in engine.client().api.pull(repository, tag=digest, stream=True, decode=True):
            if isinstance(event, dict) and event.get("error"):
                raise BuildError(f"cannot pull {reference}: {event['error']}")
    except docker.errors.DockerException as exc:
        raise BuildError(f"cannot pull {reference}: {exc}") from exc


def _load_layout(reference: str, name: str, platform: str | None = None) -> None:
    """`docker load` of the layout as one archive both image stores read: the OCI
    layout with its entry named for containerd, and the manifest.json the classic store
    reads, both naming the image `name`."""
    import docker

    store = LayoutStore.open(reference)
    with tempfile.TemporaryFile(prefix="slim-oci-") as archive:
        _write_archive(store, name, archive, platform)
        archive.seek(0)
        try:
            engine.client().images.load(archive)
        except docker.errors.DockerException as exc:
            raise BuildError(f"cannot load {reference} into the engine: {exc}") from exc


def _write_archive(
    store: LayoutStore, name: str, archive: IO[bytes], platform: str | None = None
) -> None:
    layers, config, _ = resolve(store, MeasureCache(cache_dir()), platform)
    index = json.loads((store.directory / "index.json").read_bytes())
    entry = dict(index["manifests"][0])
    entry["annotations"] = {
        **(entry.get("annotations") or {}),
        "io.containerd.image.name": f"{_CONTAINERD_NAME}:{name.rpartition(':')[2]}",
        "org.opencontainers.image.ref.name": name.rpartition(":")[2],
    }
    classic = {
        "Config": _blob_path(config),
        "RepoTags": [name],
        "Layers": [_blob_path(layer.digest) for layer, _ in layers],
    }
    needed = _referenced(store.directory, entry["digest"]) | {config}
    needed |= {layer.digest for layer, _ in layers}
    with tarfile.open(fileobj=archive, mode="w") as tar:
        _add(tar, "index.json", {"schemaVersion": 2, "manifests": [entry]})
        _add(tar, "manifest.json", [classic])
        _add(tar, "oci-layout", {"imageLayoutVersion": "1.0.0"})
        for digest in sorted(needed):
            path = store.directory / _blob_path(digest)
            if path.is_file():
                tar.add(path, _blob_path(digest))


def _referenced(layout: Path, digest: str, depth: int = 0) -> set[str]:
    """`digest` and every blob its manifest or index names, followed through indexes."""
    path = layout / _blob_path(digest)
    if depth > _NESTING or not path.is_file() or path.stat().st_size > (4 << 20):
        return {digest}
    try:
        document: Any = json.loads(path.read_bytes())
    except ValueError:
        return {digest}
    found = {digest}
    if not isinstance(document, dict):
        return found
    for entry in document.get("manifests") or []:
        if isinstance(entry, dict) and _DIGEST.fullmatch(str(entry.get("digest"))):
            found |= _referenced(layout, entry["digest"], depth + 1)
    described = [document.get("config"), *(document.get("layers") or [])]
    found |= {
        str(d["digest"])
        for d in described
        if isinstance(d, dict) and _DIGEST.fullmatch(str(d.get("digest")))
    }
    return found


def _blob_path(digest: str) -> str:
    if not _DIGEST.fullmatch(digest):  # a path inside the layout, never outside it
        raise BuildError(f"an OCI layout names a blob {digest!r}: not a sha256 digest")
    return f"blobs/sha256/{digest.removeprefix('sha256:')}"


def _add(tar: tarfile.TarFile, name: str, document: object) -> None:
    data = json.dumps(document).encode()
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
