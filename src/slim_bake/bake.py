"""Build targets with `docker buildx bake`: the build stage, nothing after it (the
smoke runs, measurements and verdicts follow in slim_bake.pipeline).

BuildKit does the building: slim runs `docker buildx bake -f <bake file> --load
[--builder NAME] TARGET...` from slim.yaml's folder with explicit targets (so no
compose or override file nearby is merged in) and passes buildx's progress display
through to stderr.

Fail closed: when bake fails, buildx cancels the targets still running, so slim
finds out which targets were really built in this run (their tag now names a
different image than before; an image left from an earlier run never counts), reads
from buildx's rawjson progress which targets broke (progress.py), and bakes all the
others again in one bake, until a bake succeeds or shows no new broken target. A
broken target is left out of the built set; the others are still smoke-run, measured
and reported. Only when buildx's progress names no broken target does slim bake each
target alone."""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Callable

from slim_bake import engine
from slim_bake.errors import BuildError
from slim_bake.plan import Plan, Target
from slim_bake.progress import BuildxProgress, shown
from slim_bake.safe_text import warn

Notify = Callable[[str], None]


def base_image(target: Target) -> str:
    """The FROM of the target's runtime stage ("scratch" for the empty image), with
    its digest when the pins file pins it (what the build really used)."""
    return target.runtime_base


# --- Running buildx ---------------------------------------------------------------------


def build(plan: Plan, targets: list[Target], *, builder: str | None, notify: Notify) -> set[str]:
    """Names of the targets built and loaded in this run.

    When a bake fails, buildx cancels the targets still building. The targets its
    progress shows broken are left out and the others are baked again, together: one
    more bake per round in which a broken target showed, however many targets there are."""
    tags = {t.name: t.tags[0] for t in targets}
    options = _platform_options(plan, notify)
    remaining = list(tags)
    built: set[str] = set()
    before: dict[str, str | None] | None = None
    while remaining:
        first = before is None
        code, progress, snapshot = _bake_round(
            plan, remaining, builder, options, list(tags.values()) if first else []
        )
        before = snapshot if before is None else before
        if code == 0:
            return built | set(remaining)
        after = engine.image_ids([tags[n] for n in remaining])
        built |= {n for n in remaining if after[tags[n]] not in (None, before[tags[n]])}
        broken = progress.broken(remaining) - built
        if first and not built and not broken:
            _diagnose(builder)  # no buildx, no such builder: one clear error instead of N failures
        rest = [n for n in remaining if n not in built and n not in broken]
        if not broken:
            return built | _one_by_one(plan, rest, builder, options, notify)
        again = f"; baking the {len(rest)} unfinished other(s) again, together" if rest else ""
        notify(f"slim: bake failed: {', '.join(sorted(broken))} broke (buildx's progress){again}")
        remaining = rest
    return built


def _bake_round(
    plan: Plan,
    names: list[str],
    builder: str | None,
    options: list[str],
    note: list[str],
) -> tuple[int, BuildxProgress, dict[str, str | None]]:
    """One `docker buildx bake` of `names`: its exit code, its progress, and what each
    tag in `note` named before it."""
    process = _start_bake(plan, names, builder, options)
    progress = BuildxProgress(warn)
    try:
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


def _one_by_one(
    plan: Plan, names: list[str], builder: str | None, options: list[str], notify: Notify
) -> set[str]:
    """buildx's progress named no broken target (a failure outside any target's build
    graph): tell them apart by baking each alone."""
    built: set[str] = set()
    if len(names) < 2:
        return built
    for name in names:
        notify(f"slim: bake failed; building {name} alone to see whether it builds")
        if _bake_round(plan, [name], builder, options, [])[0] == 0:
            built.add(name)
    return built


def bake_command(
    plan: Plan, names: list[str], builder: str | None, options: list[str]
) -> list[str]:
    command = ["docker", "buildx", "bake", "-f", plan.config.bake_file, "--load"]
    command += ["--progress=rawjson"]
    if builder:
        command += ["--builder", builder]
    return [*command, *options, "--", *names]


def _start_bake(
    plan: Plan, names: list[str], builder: str | None, options: list[str]
) -> subprocess.Popen[str]:
    command = bake_command(plan, names, builder, options)
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


def _platform_options(plan: Plan, notify: Notify) -> list[str]:
    """`--load` into the docker driver's classic store takes one platform. With several in
    slim.yaml, slim builds, runs and measures the engine's native one (else the first
    listed); `docker buildx bake --push` of the same file still builds them all."""
    platforms = plan.config.platforms
    if len(platforms) <= 1:
        return []
    native = engine.native_platform()
    chosen = native if native in platforms else platforms[0]
    notify(
        f"slim: note: slim.yaml lists {len(platforms)} platforms; an image store loads one,"
        f" so slim bake builds, runs and measures {chosen} only"
    )
    return ["--set", f"*.platform={chosen}"]
