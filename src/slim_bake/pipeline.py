"""The run of `slim bake` (and of `slim init`'s first build), stage after stage:
bake (buildx) → smoke run → measure → judge, one `TargetResult` per target.

This module sits above the stages it calls; none of them imports it. The report
(slim_bake.report) is made from its results, by the command.

With `--output registry|oci` the images are not in the engine: each is measured where
it went (the pushed digest, the OCI layout), and for its smoke run pulled (by digest)
or loaded (the layouts all in one `docker load`, under names of slim's) into the engine,
and removed again after the runs, unless the engine had it before.

With `--load` a target is smoke-run and measured as soon as buildx's progress shows its
image exported to the engine's store and its tag names an image that export wrote,
while buildx still builds the others; any target not shown so is checked after the
bake, as before. The stages after the bake (the docker SDK, measure, smoke, judge,
imageref) are imported while buildx runs, not before it starts."""

from __future__ import annotations

import contextlib
import io
import json
import re
import tarfile
import tempfile
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from slim_bake import engine
from slim_bake.bake import (
    Mode,
    Notify,
    Output,
    Watch,
    base_image,
    build,
    export,
    loaded_platform,
)
from slim_bake.cachedir import cache_dir
from slim_bake.config import Budget, Smoke
from slim_bake.errors import BuildError
from slim_bake.plan import Plan, Target
from slim_bake.safe_text import warn

if TYPE_CHECKING:  # imported while buildx builds (_preload), not before it starts
    from slim_bake.imageref import Descriptor, LayoutStore
    from slim_bake.judge import Status, Verdict
    from slim_bake.measure import Measurement
    from slim_bake.smoke import SmokeResult

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
    while_baking: Callable[[], None] | None = None,
) -> list[TargetResult]:
    """Build, smoke-run, measure and judge `targets`; one result each, in plan order.
    `output`: where bake puts the images (default: loaded into the engine).
    `while_baking`: called once, when buildx has been started (e.g. to import what the
    caller needs after the bake); it must return at once."""
    output = output or Output()
    # The platform whose budget a loaded image is judged by.
    budgeted = loaded_platform(plan) if output.mode is Mode.LOAD else None
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        checks = _Checks(pool, targets, output.mode, run_smoke, budgeted, while_baking)
        try:
            return _bake_and_check(plan, targets, checks, builder, notify, output)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)  # what has not started yet
            raise


class _Checks:
    """The jobs of one run on its pool: the imports and base images wanted while buildx
    builds, and each target checked as soon as its image is in the engine (`--load`)."""

    def __init__(
        self,
        pool: ThreadPoolExecutor,
        targets: list[Target],
        mode: Mode,
        run_smoke: bool,
        budgeted: str | None,
        while_baking: Callable[[], None] | None,
    ) -> None:
        self.pool = pool
        self.mode = mode
        self.run_smoke = run_smoke
        self.budgeted = budgeted
        self._targets = {t.name: t for t in targets}
        self._while_baking = while_baking
        self.warming: dict[str, Future[None]] = {}
        self.early: dict[str, Future[TargetResult | None]] = {}  # by target name
        self.settle: list[Callable[[], None]] = []  # called once every check is done
        self._started = False

    def watch(self) -> Watch:
        # Only a loaded image can be checked while the others build: a registry or OCI
        # export is measured from bake's metadata file, written when the bake ends.
        return Watch(self.started, self.exported if self.mode is Mode.LOAD else _ignore)

    def started(self) -> None:
        """buildx runs: import what the checks need, and measure the local base images
        (their layers, hundreds of MB for a toolchain image, are compressed once, during
        the build, and skipped when the images that carry them are measured). Queued
        before any check, which may wait for its base: no check waits for a job behind it."""
        if self._started:
            return
        self._started = True
        # The docker SDK first, on this thread: imported by several threads at once, its
        # circular imports can leave a module half made (`docker.errors` missing).
        with contextlib.suppress(ImportError):
            import docker  # noqa: F401
        if self._while_baking is not None:
            self._while_baking()
        self.pool.submit(_preload, self.mode)
        if self.mode is not Mode.LOAD:
            # Measured where they went (a registry, a layout), the images' layers are
            # blob sizes: the engine's base is read for its diff_ids only, and
            # compressing its layers ahead (15-25 s for the toolchain) would be waste.
            return
        bases = {base_image(t) for t in self._targets.values()} - {"scratch"}
        self.warming = {base: self.pool.submit(_warm, base) for base in sorted(bases)}

    def exported(self, name: str, wrote: tuple[str, ...]) -> None:
        """buildx's progress shows `name`'s image exported: check it now (once)."""
        target = self._targets.get(name)
        if target is None or name in self.early or not wrote:
            return
        self.started()
        self.early[name] = self.pool.submit(
            _check_exported,
            target,
            wrote,
            self.run_smoke,
            self.warming.get(base_image(target)),
            self.budgeted,
        )


def _ignore(name: str, wrote: tuple[str, ...]) -> None:
    return None


def _bake_and_check(
    plan: Plan,
    targets: list[Target],
    checks: _Checks,
    builder: str | None,
    notify: Notify,
    output: Output,
) -> list[TargetResult]:
    if output.mode is Mode.LOAD:
        built = build(
            plan, targets, builder=builder, notify=notify, watch=checks.watch(), output=output
        )
        references = {t.name: t.tags[0] for t in targets if t.name in built}
    else:
        references = export(
            plan,
            targets,
            output,
            builder=builder,
            notify=notify,
            watch=checks.watch(),
            settle=checks.settle,
        )
    checks.started()  # (a bake that never started a process: nothing ran yet)
    platforms = result_platforms(plan, output)
    native = engine.native_platform() if len(platforms) > 1 and checks.run_smoke else None

    def smoked(platform: str | None) -> bool:
        return checks.run_smoke and platform in (None, native)

    jobs = [(target, platform) for target in targets for platform in platforms]
    layouts: dict[str, tuple[str, str | None, str | None]] = {
        t.name: (references[t.name], p, base_image(t))
        for t, p in jobs
        if output.mode is Mode.OCI and t.name in references and t.smoke is not None and smoked(p)
    }
    with _staged_layouts(layouts) as loaded:

        def check(target: Target, platform: str | None) -> Future[TargetResult]:
            return checks.pool.submit(
                _check,
                target,
                references[target.name],
                output.mode,
                smoked(platform),
                checks.warming.get(base_image(target)),
                platform,
                checks.budgeted,
                loaded.get(target.name),  # only the smoke-run platform's image is loaded
            )

        done = {k: f for k, f in checks.early.items() if k in references}  # --load only
        futures = {
            (t.name, p): check(t, p) for t, p in jobs if t.name in references and t.name not in done
        }
        for name, early in done.items():  # its tag named another image: checked after the bake
            if early.result() is None:
                futures[name, None] = check(next(t for t in targets if t.name == name), None)
        outcomes = [_outcome(t, p, futures, done, native, checks.budgeted) for t, p in jobs]
    for then in checks.settle:
        then()
    return outcomes


def _outcome(
    target: Target,
    platform: str | None,
    futures: dict[tuple[str, str | None], Future[TargetResult]],
    early: dict[str, Future[TargetResult | None]],
    native: str | None,
    budgeted: str | None,
) -> TargetResult:
    future = futures.get((target.name, platform))
    if future is not None:
        return _not_run(future.result(), native)
    checked = early[target.name].result() if target.name in early else None
    if checked is not None:
        return _not_run(checked, native)
    from slim_bake.judge import Status, failed

    reason = "the build failed (see the build output above)"
    return result(target, failed(Status.BUILD_FAILED, reason), platform=platform, budgeted=budgeted)


def _preload(mode: Mode) -> None:
    """Import what the checks need, on a worker while buildx builds. A module that
    fails to import here is imported again where it is used, and fails there."""
    with contextlib.suppress(Exception):
        from slim_bake import judge, measure, smoke  # noqa: F401

        if mode is not Mode.LOAD:
            from slim_bake import imageref  # noqa: F401


def _check_exported(
    target: Target,
    wrote: tuple[str, ...],
    run_smoke: bool,
    base_measured: Future[None] | None,
    budgeted: str | None,
) -> TargetResult | None:
    """Check a target whose export buildx's progress showed, while the bake goes on;
    None when its tag does not name an image that export wrote (a tarball the engine
    has not finished loading, the engine not answering): it is then checked after the
    bake, if the bake counts it built. A stale image is never measured for it."""
    tag = target.tags[0]
    try:
        if engine.image_ids([tag])[tag] not in wrote:
            return None
    except Exception:  # whatever the engine said, the check after the bake meets it again
        return None
    return _check(target, tag, Mode.LOAD, run_smoke, base_measured, None, budgeted)


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


def measure(image: str, base: str | None, *, contents: bool = False) -> Measurement:
    """slim_bake.measure.measure, imported when first used."""
    from slim_bake.measure import measure as measured

    return measured(image, base, contents=contents)


def measure_reference(
    reference: str, base: str | None, *, platform: str | None = None, contents: bool = False
) -> Measurement:
    """slim_bake.imageref.measure_reference, imported when first used."""
    from slim_bake.imageref import measure_reference as measured

    return measured(reference, base, platform=platform, contents=contents)


def smoke(image: str, spec: Smoke) -> SmokeResult:
    """slim_bake.smoke.smoke, imported when first used."""
    from slim_bake.smoke import smoke as run

    return run(image, spec)


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
    loaded_as: str | None = None,
) -> TargetResult:
    """Smoke-run, measure and judge one built target, found at `reference` (its tag,
    its pushed digest or its OCI layout; `loaded_as`: the name the layout's image was
    loaded under for its smoke run). Fail closed: an unexpected error (the engine
    going away mid-run) fails this target with its message, not the run."""
    from slim_bake.judge import judge
    from slim_bake.smoke import SmokeResult

    smoked: SmokeResult | None = None
    if run_smoke and target.smoke is not None:
        try:
            if mode is Mode.LOAD or loaded_as is not None:
                smoked = smoke(loaded_as or reference, target.smoke)
            else:
                with staged(reference, platform, base_image(target)) as name:
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
    from slim_bake.judge import Status, failed

    return failed(Status.MEASURE_FAILED, reason)


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}".strip()[:300]


# --- An exported image in the engine, for its smoke run --------------------------------------


@contextlib.contextmanager
def staged(reference: str, platform: str | None = None, base: str | None = None) -> Iterator[str]:
    """The engine's name for the image at `reference` (HOST/REPO@sha256:… or oci:DIR)
    while the block runs: pulled, or loaded from the layout under a name of its own,
    and removed afterwards unless the engine already had it. `platform`: the image of
    a multi-platform index to load (a pull takes the engine's own). `base`: the image the
    layout's image was built on, whose blobs the engine may not need sent again."""
    import docker

    from slim_bake.imageref import OCI_PREFIX

    images = engine.client().images
    if reference.startswith(OCI_PREFIX):
        name, present = f"{SMOKE_NAME}:{uuid.uuid4().hex[:16]}", False
        _load_layouts([(reference, name, platform, base)])
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


@contextlib.contextmanager
def _staged_layouts(
    wanted: dict[str, tuple[str, str | None, str | None]],
) -> Iterator[dict[str, str]]:
    """Each target's smoke image (layout reference, platform, base) loaded in ONE
    `docker load`, under names of slim's, while the block runs; removed after it. The
    engine loads one archive at a time: side by side, 4 loads of hello's images took
    1.8-3.2 s each (0.2 s alone). {} when there are fewer than two, or the load failed:
    each check then loads its own image, and reports what went wrong with it."""
    loaded: dict[str, str] = {}
    if len(wanted) > 1:
        names = {target: f"{SMOKE_NAME}:{uuid.uuid4().hex[:16]}" for target in wanted}
        loadings = [(ref, names[t], platform, base) for t, (ref, platform, base) in wanted.items()]
        try:
            _load_layouts(loadings)
            loaded = names
        except Exception:
            _remove(list(names.values()))  # whichever the engine loaded before it failed
    try:
        yield loaded
    finally:
        _remove(list(loaded.values()))


def _remove(names: list[str]) -> None:
    """Remove slim's smoke images, side by side (each removal waits on the engine)."""
    import docker

    def remove(name: str) -> None:
        with contextlib.suppress(docker.errors.DockerException):
            engine.client().images.remove(name)

    if names:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            list(pool.map(remove, names))


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


# One image to load: its layout reference, the name it gets, its platform, its base.
Loading = tuple[str, str, str | None, str | None]
# One image in the archive: its layout, the name it gets, its layers and config digest.
Staged = tuple["LayoutStore", str, "list[Descriptor]", str]


def _load_layouts(loadings: list[Loading]) -> None:
    """One `docker load` of the layouts as one archive both image stores read: the OCI
    layout with an entry named for containerd, and the manifest.json the classic store
    reads, each naming its image. First without the blobs of the layers each base has in
    the engine (116 MB for a toolchain base, most of the load's time): a containerd store
    has those very blobs when its own builder exported them, a classic store skips a
    layer it has (by chain ID) without opening its file; any failure: all of them."""
    import docker

    from slim_bake.imageref import LayoutStore, resolve
    from slim_bake.measure import MeasureCache

    cache = MeasureCache(cache_dir())
    images: list[Staged] = []
    skipped: set[str] = set()
    for reference, name, platform, base in loadings:
        store = LayoutStore.open(reference)
        layers, config, _ = resolve(store, cache, platform)
        shared = _engine_has(base, [diff_id for _, diff_id in layers])
        skipped |= {layer.digest for layer, _ in layers[:shared]}
        images.append((store, name, [layer for layer, _ in layers], config))
    what = loadings[0][0] if len(loadings) == 1 else f"{len(loadings)} OCI layouts"
    for left_out in [skipped, set()] if skipped else [set()]:
        with tempfile.TemporaryFile(prefix="slim-oci-") as archive:
            _write_images(archive, images, left_out)
            archive.seek(0)
            try:
                engine.client().images.load(archive)
                return
            except docker.errors.DockerException as exc:
                if not left_out:
                    raise BuildError(f"cannot load {what} into the engine: {exc}") from exc


def _engine_has(base: str | None, diff_ids: list[str]) -> int:
    """How many leading layers of `diff_ids` are `base`'s in the engine (0: no such
    base, or it is not where the image starts)."""
    if base in (None, "scratch"):
        return 0
    try:
        shared = engine.image_diff_ids(base)
    except Exception:  # the full archive is loaded, and says what is wrong
        return 0
    return len(shared) if shared and tuple(diff_ids[: len(shared)]) == shared else 0


def _write_images(
    archive: IO[bytes], images: list[Staged], left_out: set[str] | frozenset[str] = frozenset()
) -> None:
    """The archive `_load_layouts` loads: each image under its name; a blob several
    share is written once; `left_out`: blobs the engine has (not written)."""
    entries: list[dict[str, Any]] = []
    classic: list[dict[str, Any]] = []
    blobs: dict[str, Path] = {}
    for store, name, layers, config in images:
        index = json.loads((store.directory / "index.json").read_bytes())
        entry = dict(index["manifests"][0])
        entry["annotations"] = {
            **(entry.get("annotations") or {}),
            "io.containerd.image.name": f"{_CONTAINERD_NAME}:{name.rpartition(':')[2]}",
            "org.opencontainers.image.ref.name": name.rpartition(":")[2],
        }
        entries.append(entry)
        classic.append(
            {
                "Config": _blob_path(config),
                "RepoTags": [name],
                "Layers": [_blob_path(layer.digest) for layer in layers],
            }
        )
        needed = _referenced(store.directory, entry["digest"]) | {config}
        needed |= {layer.digest for layer in layers}
        for digest in needed:
            blobs.setdefault(digest, store.directory / _blob_path(digest))
    with tarfile.open(fileobj=archive, mode="w") as tar:
        _add(tar, "index.json", {"schemaVersion": 2, "manifests": entries})
        _add(tar, "manifest.json", classic)
        _add(tar, "oci-layout", {"imageLayoutVersion": "1.0.0"})
        for digest in sorted(set(blobs) - left_out):
            if blobs[digest].is_file():
                tar.add(blobs[digest], _blob_path(digest))


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
