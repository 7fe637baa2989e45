"""Build targets with `docker buildx bake`: the build stage, nothing after it (the
smoke runs, measurements and verdicts follow in slim_bake.pipeline).

BuildKit does the building: slim runs `docker buildx bake -f <bake file> --load
[--builder NAME] TARGET...` from slim.yaml's folder with explicit targets (so no
compose or override file nearby is merged in) and passes buildx's progress display
through to stderr.

Fail closed: when bake fails, buildx cancels the targets still running, so slim
finds out which targets were really built in this run (their tag now names a
different image than before, or one their export in this run wrote, as its progress
says; an image left from an earlier run never counts), reads
from buildx's rawjson progress which targets broke (progress.py), and bakes all the
others again in one bake, until a bake succeeds or shows no new broken target. A
broken target is left out of the built set; the others are still smoke-run, measured
and reported. Only when buildx's progress names no broken target does slim bake each
target alone.

`--output registry|oci` (export): bake pushes every target to its tag, or writes an OCI
layout per target, and tells slim each image's digest in its `--metadata-file`. buildx
writes no metadata file when a bake fails, so after a failed round every target not
shown broken is baked again (from the build cache: a second push uploads nothing new)
until a bake succeeds. The docker driver exports through the engine, which then also
names the pushed image by its tag: slim puts each tag back to what it named before."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from slim_bake import engine
from slim_bake.errors import BuildError, ConfigError, Diagnostic, UsageError
from slim_bake.plan import Plan, Target, source_date_epochs
from slim_bake.progress import BuildxProgress, Exported, shown
from slim_bake.safe_text import warn

Notify = Callable[[str], None]


@dataclass(frozen=True)
class Watch:
    """What the caller of a bake is told while buildx runs (on the thread that reads
    buildx's progress: each call must return at once)."""

    started: Callable[[], None] = lambda: None  # a bake process runs (each round)
    # A target's image is in the store: an image ID naming its tag now is one of these
    # digests, else the tag still names another image (verify before use).
    exported: Exported = lambda name, wrote: None


_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_BAKE_DEFINITIONS = "[internal] load local bake definitions"  # read before any target builds


class Mode(StrEnum):
    """Where `slim bake --output` puts the images."""

    LOAD = "load"  # the engine's image store (buildx --load)
    REGISTRY = "registry"  # pushed to each target's tag (slim.yaml's registry:)
    OCI = "oci"  # an OCI image layout per target, DIR/<target>


class Cache(StrEnum):
    """Where `slim bake --cache` keeps each target's build cache between machines (a
    remote or CI builder starts empty): read before the build, written after it."""

    REGISTRY = "registry"  # beside the image: <registry>/<artifact>:<runtime>-buildcache
    GHA = "gha"  # GitHub Actions' cache service, one scope per target


@dataclass(frozen=True)
class Output:
    """Where bake puts the images, and the build cache it reads and writes."""

    mode: Mode = Mode.LOAD
    directory: Path | None = None  # oci: where the layouts go (absolute)
    cache: Cache | None = None

    def options(self, names: list[str], tags: Mapping[str, str] | None = None) -> list[str]:
        """bake's options that send `names` there, and read and write their cache
        (`tags`: each target's image tag, beside which `--cache registry` keeps it)."""
        return [*self._exporter(names), *(o for n in names for o in self._cache(n, tags))]

    def _exporter(self, names: list[str]) -> list[str]:
        if self.mode is Mode.REGISTRY:
            return ["--set", "*.output=type=registry"]
        if self.mode is Mode.OCI:
            assert self.directory is not None
            return [
                option
                for name in names
                for option in ("--set", f"{name}.output={oci_exporter(self.directory / name)}")
            ]
        return ["--load"]

    def _cache(self, name: str, tags: Mapping[str, str] | None) -> list[str]:
        # One cache per target: a pattern (`*.cache-to`) would have every target
        # overwrite one ref or scope. mode=max: the build stages' layers too (the
        # runtime stage alone would keep little of a multi-stage build). ignore-error:
        # a cache that cannot be written (a rate limit, a refused tag) fails no build.
        if self.cache is Cache.REGISTRY:
            assert tags is not None
            spec = f"type=registry,ref={tags[name]}-buildcache"
        elif self.cache is Cache.GHA:
            spec = f"type=gha,scope={name}"
        else:
            return []
        written = f"{spec},mode=max,ignore-error=true"
        return [f"--set={name}.cache-from={spec}", f"--set={name}.cache-to={written}"]


def oci_exporter(dest: Path) -> str:
    """buildx's exporter spec for an OCI layout (a directory, not a tar) at `dest`."""
    # rewrite-timestamp: file mtimes clamped to SOURCE_DATE_EPOCH (only the OCI exporter
    # honours it here: --load ignores it, the containerd store's unpack refuses it).
    return f"type=oci,dest={dest},tar=false,rewrite-timestamp=true"


def oci_directory(value: str) -> Path:
    """`--oci-dir` as an absolute path; refused (exit 2) when it could not pass through
    buildx's comma-separated exporter spec unchanged."""
    if not value or any(c in value for c in ',"') or not value.isprintable():
        raise UsageError(
            f"--oci-dir {value!r}: choose a directory whose path has no comma, double quote or"
            " control character (buildx reads it inside a comma-separated --output spec)"
        )
    return Path(value).absolute()


def base_image(target: Target) -> str:
    """The FROM of the target's runtime stage ("scratch" for the empty image), with
    its digest when the pins file pins it (what the build really used)."""
    return target.runtime_base


# --- Running buildx ---------------------------------------------------------------------


def build(
    plan: Plan,
    targets: list[Target],
    *,
    builder: str | None,
    notify: Notify,
    extra: tuple[str, ...] = (),
    watch: Watch | None = None,
    output: Output | None = None,
) -> set[str]:
    """Names of the targets built and loaded in this run (`output`: --load, and the
    build cache to use, if any).

    When a bake fails, buildx cancels the targets still building. The targets its
    progress shows broken are left out and the others are baked again, together: one
    more bake per round in which a broken target showed, however many targets there are.
    A target counts as built in a failed round when its tag now names another image
    than before the bake, or one its export in this round wrote (then it need not be
    baked again: the same image ID as before when nothing changed)."""
    tags = {t.name: t.tags[0] for t in targets}
    options = [*_common_options(plan, targets, notify), *extra]  # extra: e.g. --no-cache
    remaining = list(tags)
    built: set[str] = set()
    before: dict[str, str | None] | None = None
    while remaining:
        first = before is None
        noted = list(tags.values()) if first else []
        code, progress, snapshot = _bake_round(
            plan, remaining, builder, options, noted, output, watch=watch
        )
        before = snapshot if before is None else before
        if code == 0:
            return built | set(remaining)
        after = engine.image_ids([tags[n] for n in remaining])
        built |= {
            n
            for n in remaining
            if after[tags[n]] not in (None, before[tags[n]])
            or after[tags[n]] in progress.exports.get(n, ())
        }
        broken = progress.broken(remaining) - built
        if first and not built and not broken:
            # No buildx, no such builder, a builder of another context: one clear error
            # instead of N failures.
            _refused(output or Output(), builder, progress)
        rest = [n for n in remaining if n not in built and n not in broken]
        if not broken:
            return built | _one_by_one(plan, rest, builder, options, notify, watch, output)
        again = f"; baking the {len(rest)} unfinished other(s) again, together" if rest else ""
        notify(f"slim: bake failed: {', '.join(sorted(broken))} broke (buildx's progress){again}")
        remaining = rest
    return built


def export(
    plan: Plan,
    targets: list[Target],
    output: Output,
    *,
    builder: str | None,
    notify: Notify,
    watch: Watch | None = None,
    settle: list[Callable[[], None]] | None = None,
) -> dict[str, str]:
    """`--output registry|oci`: the targets built and exported in this run, each with
    the reference to measure it by (HOST/REPO@sha256:… pushed, or oci:DIR/<target>).
    `settle` gets what to call once the run is over (the engine's tags put back again)."""
    tags = {t.name: t.tags[0] for t in targets}
    refuse_native_only(plan, targets)
    options = _common_options(plan, targets, notify, every_platform=True)
    before = _tag_snapshot(list(tags.values()))
    if before is not None and settle is not None:
        # Once more when the run's checks are done: a target cancelled in a failed round
        # can still be named by the engine after buildx exited (seen once on a cold run).
        settle.append(lambda: _put_back(before))
    try:
        remaining = list(tags)
        first = True
        while remaining:
            code, progress, digests = _export_round(
                plan, remaining, builder, options, output, watch
            )
            if code == 0:
                return _references(output, tags, remaining, digests, notify)
            broken = progress.broken(remaining)
            if not broken:
                if first:
                    _refused(output, builder, progress)
                return _alone(plan, remaining, tags, builder, options, output, notify)
            rest = [n for n in remaining if n not in broken]
            again = f"; baking the {len(rest)} other(s) again, together" if rest else ""
            notify(
                f"slim: bake failed: {', '.join(sorted(broken))} broke (buildx's progress){again}"
            )
            remaining, first = rest, False
        return {}
    finally:
        if before is not None:
            _put_back(before)


def _tag_snapshot(tags: list[str]) -> dict[str, str | None] | None:
    """What each tag names in the engine now; None without an engine (a remote builder
    pushing, --no-smoke): then there is nothing of it to put back."""
    try:
        return engine.image_ids(tags)
    except BuildError:
        return None


def _export_round(
    plan: Plan,
    names: list[str],
    builder: str | None,
    options: list[str],
    output: Output,
    watch: Watch | None = None,
) -> tuple[int, _Progress, dict[str, str]]:
    """One bake that exports `names`: its exit code, its progress and the digest of each
    image exported (from buildx's metadata file: none when the bake failed)."""
    with tempfile.TemporaryDirectory(prefix="slim-bake-") as folder:
        metadata = Path(folder) / "metadata.json"
        written = [*options, "--metadata-file", str(metadata)]
        started = Watch(started=watch.started) if watch else None  # no image in the store
        code, progress, _ = _bake_round(plan, names, builder, written, [], output, watch=started)
        return code, progress, digests(metadata) if code == 0 else {}


def digests(metadata: Path) -> dict[str, str]:
    """Each target's exported image digest (`containerimage.digest`) in buildx's
    `--metadata-file`; a target without a well-formed one is left out."""
    try:
        data = json.loads(metadata.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found: dict[str, str] = {}
    for name, entry in data.items() if isinstance(data, dict) else ():
        digest = entry.get("containerimage.digest") if isinstance(entry, dict) else None
        if isinstance(digest, str) and _DIGEST.fullmatch(digest):
            found[name] = digest
    return found


def _references(
    output: Output, tags: dict[str, str], names: list[str], found: dict[str, str], notify: Notify
) -> dict[str, str]:
    references = {}
    for name in names:
        reference = reference_of(output, name, tags[name], found.get(name))
        if reference is None:
            notify(f"slim: buildx reported no image digest for {name}: it counts as not built")
        else:
            references[name] = reference
    return references


def reference_of(output: Output, name: str, tag: str, digest: str | None) -> str | None:
    """Where the image of `name` is, for measuring: the pushed digest in the tag's
    repository, or the target's OCI layout when its index lists the digest."""
    if digest is None:
        return None
    if output.mode is Mode.REGISTRY:
        return f"{tag.rsplit(':', 1)[0]}@{digest}"  # plan's tags are REPOSITORY:RUNTIME
    assert output.directory is not None
    layout = output.directory / name
    try:
        index = json.loads((layout / "index.json").read_text(encoding="utf-8"))
        listed = {m.get("digest") for m in index.get("manifests", []) if isinstance(m, dict)}
    except (OSError, ValueError, AttributeError):
        return None
    return f"oci:{layout}" if digest in listed else None


def _alone(
    plan: Plan,
    names: list[str],
    tags: dict[str, str],
    builder: str | None,
    options: list[str],
    output: Output,
    notify: Notify,
) -> dict[str, str]:
    """Export, as `_one_by_one` builds: each target alone."""
    references: dict[str, str] = {}
    if len(names) < 2:
        return references
    for name in names:
        notify(f"slim: bake failed; building {name} alone to see whether it builds")
        code, _, found = _export_round(plan, [name], builder, options, output)
        if code == 0:
            references |= _references(output, tags, [name], found, notify)
    return references


def _refused(output: Output, builder: str | None, progress: _Progress) -> None:
    """The first bake failed before any target started: buildx refused the bake itself
    (no buildx, no builder, a `docker` builder of another context, an exporter this
    driver lacks). One clear error (exit 3)."""
    _diagnose(builder)
    if any(v.started and v.name != _BAKE_DEFINITIONS for v in progress.vertices.values()):
        return
    said = next((line for line in reversed(progress.said) if line.startswith("ERROR:")), "")
    reason = said.removeprefix("ERROR:").strip().rstrip(".") or "see buildx's message above"
    hint = ""
    if output.mode is Mode.OCI or "ulti-platform" in reason:
        needing = "a multi-platform build" if "ulti-platform" in reason else "the OCI exporter"
        hint = (
            f"; {needing} needs an engine with the containerd image store, or a"
            " docker-container or remote builder (--builder)"
        )
    what = "the bake" if output.mode is Mode.LOAD else f"`--output {output.mode}`"
    if output.cache is not None and "cache" in reason.lower():
        what = f"`--cache {output.cache}`"
    raise BuildError(f"buildx refused {what}: {reason}{hint}")


def _put_back(before: dict[str, str | None]) -> None:
    """Each tag back to the image it named before the bake (none: no tag). Through the
    docker driver an exported image is also named by its tag in the engine's store;
    `--output registry|oci` leaves the store as it was. A tag that cannot be put back
    does not keep the others from it."""
    import docker

    try:
        after = engine.image_ids(list(before))
        images = engine.client().images
    except (BuildError, docker.errors.DockerException) as exc:
        warn(f"slim: note: could not put the engine's tags back after the bake: {exc}")
        return
    for tag, old in before.items():
        if after[tag] in (None, old):
            continue
        try:
            if old is None:
                images.remove(tag, noprune=False)
            else:
                repository, _, name = tag.rpartition(":")
                images.get(old).tag(repository, name)
        except docker.errors.DockerException as exc:
            warn(f"slim: note: could not put the engine's tag {tag} back after the bake: {exc}")


def _bake_round(
    plan: Plan,
    names: list[str],
    builder: str | None,
    options: list[str],
    note: list[str],
    output: Output | None = None,
    watch: Watch | None = None,
) -> tuple[int, _Progress, dict[str, str | None]]:
    """One `docker buildx bake` of `names`: its exit code, its progress, and what each
    tag in `note` named before it. `watch` hears of the bake's start and of each
    target's export as it ends."""
    process = _start_bake(plan, names, builder, options, output)
    watch = watch or Watch()
    progress = _Progress(watch.exported, names)
    try:
        watch.started()
        # Connect and note what each tag names while buildx starts up. Read late, a tag
        # can only look unchanged although it was rebuilt (that target is then baked
        # again), never look rebuilt when it was not: no stale image is measured.
        snapshot = engine.image_ids(note) if note else {}
        assert process.stderr is not None  # started with stderr=PIPE
        progress.read(process.stderr)
        code = process.wait()
    except BaseException:
        process.terminate()
        process.wait()
        raise
    return code, progress, snapshot


class _Progress(BuildxProgress):
    """buildx's progress shown on stderr, keeping the lines buildx itself wrote (not a
    vertex's `#N …`): its final `ERROR: …` says why it refused a bake."""

    def __init__(self, exported: Exported | None = None, targets: Collection[str] = ()) -> None:
        self.said: list[str] = []
        super().__init__(self._show, exported, targets)

    def _show(self, line: str) -> None:
        if not line.startswith("#"):
            self.said = [*self.said[-19:], line]
        warn(line)


def _one_by_one(
    plan: Plan,
    names: list[str],
    builder: str | None,
    options: list[str],
    notify: Notify,
    watch: Watch | None = None,
    output: Output | None = None,
) -> set[str]:
    """buildx's progress named no broken target (a failure outside any target's build
    graph): tell them apart by baking each alone."""
    built: set[str] = set()
    if len(names) < 2:
        return built
    for name in names:
        notify(f"slim: bake failed; building {name} alone to see whether it builds")
        if _bake_round(plan, [name], builder, options, [], output, watch=watch)[0] == 0:
            built.add(name)
    return built


def bake_command(
    plan: Plan,
    names: list[str],
    builder: str | None,
    options: list[str],
    output: Output | None = None,
) -> list[str]:
    """The `docker buildx bake` of `names`; `options` after the output's (a
    --metadata-file, the platform)."""
    command = ["docker", "buildx", "bake", "-f", plan.config.bake_file]
    tags = {t.name: t.tags[0] for t in plan.targets}
    command += [*(output or Output()).options(names, tags), "--progress=rawjson"]
    if builder:
        command += ["--builder", builder]
    return [*command, *options, "--", *names]


def _start_bake(
    plan: Plan,
    names: list[str],
    builder: str | None,
    options: list[str],
    output: Output | None = None,
) -> subprocess.Popen[str]:
    command = bake_command(plan, names, builder, options, output)
    # What runs, since the rawjson display lacks buildx's "building with … instance" line.
    count = f"{len(names)} target{'s' * (len(names) != 1)}"
    warn(f"slim: {shown(shlex.join(command[: -len(names) - 1]))} ({count})")
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        # buildx's progress (rawjson, on its stderr) is read by slim and shown on stderr;
        # its stdout goes to stderr too: stdout stays for slim's table.
        return subprocess.Popen(
            command,
            cwd=plan.config.directory,
            stdout=_stderr_fd(),
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
    except FileNotFoundError as exc:
        raise BuildError("the docker CLI is not on PATH: install it (it runs buildx)") from exc


def _stderr_fd() -> int | None:
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def _diagnose(builder: str | None) -> None:
    probe = _quiet(["docker", "buildx", "version"])
    if probe is not None:
        raise BuildError(
            "docker buildx is not installed or not found by the docker CLI"
            f" (`docker buildx version`: {probe}); install the buildx plugin"
            " (Debian: docker-buildx; see https://github.com/docker/buildx#installing)"
        )
    if builder:
        probe = _quiet(["docker", "buildx", "inspect", builder])
        if probe is not None:
            raise BuildError(f"buildx builder {builder!r} is not usable: {probe}")


def _quiet(command: list[str]) -> str | None:
    """None when `command` succeeds, else its first line of complaint."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if done.returncode == 0:
        return None
    lines = (done.stderr or done.stdout).strip().splitlines()
    return lines[0] if lines else f"exit code {done.returncode}"


def _common_options(
    plan: Plan, targets: list[Target], notify: Notify, *, every_platform: bool = False
) -> list[str]:
    """What every bake of these targets passes, whatever the output: the platform (every
    platform slim.yaml lists when the images go to a registry or OCI layouts), and each
    target's SOURCE_DATE_EPOCH (reproducible: one commit, one digest)."""
    epochs = source_date_epochs(plan, targets)
    return [
        *([] if every_platform else _platform_options(plan, notify)),
        *(f"--set={name}.args.SOURCE_DATE_EPOCH={epoch}" for name, epoch in epochs.items()),
    ]


def loaded_platform(plan: Plan) -> str | None:
    """The one platform `--load` builds when slim.yaml lists several: the engine's
    native one, else the first listed (None: slim.yaml lists at most one)."""
    platforms = plan.config.platforms
    if len(platforms) <= 1:
        return None
    native = engine.native_platform()
    return native if native in platforms else platforms[0]


def _platform_options(plan: Plan, notify: Notify) -> list[str]:
    """`--load` into the docker driver's classic store takes one platform. With several in
    slim.yaml, slim builds, runs and measures the engine's native one (else the first
    listed); `docker buildx bake --push` of the same file still builds them all."""
    chosen = loaded_platform(plan)
    if chosen is None:
        return []
    platforms = plan.config.platforms
    notify(
        f"slim: note: slim.yaml lists {len(platforms)} platforms; an image store loads one,"
        f" so slim bake builds, runs and measures {chosen} only"
    )
    return ["--set", f"*.platform={chosen}"]


def refuse_native_only(plan: Plan, targets: list[Target]) -> None:
    """Several platforms in one bake need every build stage to cross-compile (this
    machine need not emulate the others) and every runtime base to offer each platform:
    a target that cannot is refused at slim.yaml's `platforms:` line (exit 2), before
    anything is built."""
    platforms = plan.config.platforms
    if len(platforms) < 2:
        return
    problems = [*_native_only(plan, targets), *_single_platform_bases(plan, targets)]
    if problems:
        line, column = _key_position(plan.config.path, "platforms")
        path = str(plan.config.path)
        raise ConfigError([Diagnostic(path, line, column, "platforms", m) for m in problems])


def _native_only(plan: Plan, targets: list[Target]) -> list[str]:
    native = [t for t in targets if not t.build.cross]
    if not native:
        return []
    platforms = plan.config.platforms
    langs = sorted({t.artifact.lang for t in native})
    need = "; ".join(CROSS_NEEDS.get(lang, f"lang {lang} has no cross build") for lang in langs)
    names = ", ".join(t.name for t in native)
    return [
        f"platforms {', '.join(platforms)} with lang {', '.join(langs)} needs a cross"
        f" toolchain: {names} would build only by emulation ({need}); bake with"
        " `--output load` (the native platform), or list one platform"
    ]


def _single_platform_bases(plan: Plan, targets: list[Target]) -> list[str]:
    """A runtime base whose `platforms:` (bases) lacks one of slim.yaml's: the engine
    would put that base under another architecture's program, or fail to pull it."""
    problems = []
    for t in targets:
        if t.base is None or not t.base.platforms:
            continue  # the toolchain image itself (refused above), or any platform
        missing = [p for p in plan.config.platforms if p not in t.base.platforms]
        if missing:
            problems.append(
                f"{t.name}: runtime {t.base_runtime}'s base {t.base.image} offers"
                f" {', '.join(t.base.platforms)} only (its `platforms:` in bases), not"
                f" {', '.join(missing)}: name a base image that has them, or a scratch runtime"
            )
    return problems


# What a language would need to build for another platform without emulation.
CROSS_NEEDS = {
    "c": "C cross-compiles with Debian's cross gcc (the gcc-cross base), for glibc and for"
    " musl (<arch>-linux-musl-gcc; without build.packages, which would be glibc libraries):"
    " any runtime but a -debug or single-stage one",
    "cpp": "C++ cross-compiles with glibc only (Debian's g++-aarch64-linux-gnu, the gcc-cross"
    " base); musl C++ is Alpine's g++, which has no cross compiler: a glibc runtime"
    " (scratch-glibc, scratch-closure, distroless-static ...), not a musl, -debug or"
    " single-stage one",
    "rust": "Rust cross-compiles for glibc only (the rust-cross base: the target's standard"
    " library and the cross gcc as its linker); slim has no cross build for musl Rust (Debian"
    " ships no musl standard library to make and test one with): a glibc runtime"
    " (scratch-glibc, scratch-closure, distroless-cc ...), not a musl, -debug or single-stage"
    " one",
    "go": "Go cross-compiles only with CGO_ENABLED=0: a static runtime (scratch-*, distroless-"
    "static), not a -debug or single-stage one",
}


def _key_position(path: Path, key: str) -> tuple[int, int]:
    """Line and column of a top-level `key:` in the YAML file (0, 0: not found)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return 0, 0
    found = next((n for n, line in enumerate(lines, 1) if line.startswith(f"{key}:")), 0)
    return found, 1 if found else 0
