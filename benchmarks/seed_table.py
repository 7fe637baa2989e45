"""The seed document's size table, reproduced and beaten in one `slim bake` run.

The seed ends with the image sizes of hello.c built six ways (official images): 1.14 GB
single stage, 64.2 MB ubuntu, 6.5 MB alpine + static glibc, 5.6 MB alpine + dynamic,
940 kB scratch + static glibc, 94 kB scratch + static musl. This script writes, into a
temporary folder, one slim.yaml with four artifacts — hello.c and textstats (about 2,600
lines of C, examples/textstats), each with the `default` and the `min` size profile —
on every runtime slim has, with the offline stand-in bases (tests/support/standin_bases.yaml),
and then:

1. empties BuildKit's cache (`docker builder prune -af`) and runs `slim bake` ONCE for
   all targets (build, smoke-run, measure; a fresh measurement cache), timed;
2. runs it again with nothing changed (warm), and `slim bake hello` (the hello example's
   variants) likewise: target ≤ 3 s;
3. times `docker buildx bake --load` of the generated bake file and one-by-one `docker
   build` of the same Dockerfiles, each from an empty cache and again warm;
4. measures every image and its base with slim_bake.measure (what `slim bake` reports)
   and checks, per variant, that image − base − program − closure − opted-in files
   (− the debug shell, − the sources a single stage keeps) = 0 bytes;
5. measures each C flag of the profiles (benchmarks/profile_flags.py);
6. writes BENCHMARKS.md and benchmarks/sizes.svg (log scale).

    python benchmarks/seed_table.py [--out BENCHMARKS.md] [--svg benchmarks/sizes.svg] [--quick]

--quick: hello (`default` and `min`) on scratch-musl, scratch-glibc and alpine (6 images),
one warm run each, nothing pruned (the engine is shared), the flags of hello with musl;
writes BENCHMARKS.md and sizes.svg into a temporary folder unless --out/--svg are given;
the warm-time target is printed, not enforced (tests/integration/test_benchmarks.py runs
it so that the script cannot rot).

Images are tagged slim-bench/<artifact>:<runtime> and left in the engine; the one-by-one
builds' tags (slim-bench-docker/...) are removed. Exit status 1 when a target is missed.
Needs the engine and the stand-ins (scripts/engine.sh, scripts/standins.sh).
"""

from __future__ import annotations

import argparse
import datetime
import html
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from slim_bake import __version__, presets
from slim_bake.bake import base_image
from slim_bake.config import load_config
from slim_bake.measure import MeasureCache, Measurement, measure
from slim_bake.plan import Plan, Target, make_plan
from slim_bake.units import format_size

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import profile_flags  # noqa: E402  (the sibling script)

REGISTRY = "slim-bench"
DOCKER_TAGS = "slim-bench-docker"
HELLO_OUT = "Hello, world!"
TEXTSTATS_OUT = "textstats self-test: 101 of 101 checks passed"
WARM_RUNS = 3
EXAMPLE_RUNS = 5

# The seed's table: (its wording, bytes, the runtime that builds it here).
SEED = [
    ("single stage (原始的构建方法)", 1_140_000_000, "single-stage"),
    ("multi-stage on ubuntu", 64_200_000, "ubuntu"),
    ("alpine + static glibc", 6_500_000, "alpine-static"),
    ("alpine + dynamic libraries", 5_600_000, "alpine"),
    ("scratch + static glibc", 940_000, "scratch-glibc"),
    ("scratch + static musl", 94_000, "scratch-musl"),
]
# (artifact, runtime, limit in bytes) from the issue.
SIZE_TARGETS = [
    ("hello", "scratch-musl", 20_000),
    ("hello-min", "scratch-musl", 8_000),
    ("hello", "scratch-glibc", 800_000),
]
WARM_TARGET_SECONDS = 3.0
ARTIFACTS = {  # name: (context, binary, profile, args, expected output)
    "hello": ("hello", "hello", "default", None, HELLO_OUT),
    "hello-min": ("hello", "hello", "min", None, HELLO_OUT),
    "textstats": ("textstats", "textstats", "default", ["--self-test"], TEXTSTATS_OUT),
    "textstats-min": ("textstats", "textstats", "min", ["--self-test"], TEXTSTATS_OUT),
}
OPTED_IN = ("/etc/passwd", "/etc/group", "/etc/ssl/certs/", "/usr/share/zoneinfo/")
# --quick: what the size targets name, and one base to subtract.
QUICK_ARTIFACTS = ("hello", "hello-min")
QUICK_RUNTIMES = ["scratch-musl", "scratch-glibc", "alpine"]


# --- The project -----------------------------------------------------------------------


def write_project(folder: Path, quick: bool = False) -> Path:
    for context in ("hello", "textstats"):
        shutil.copytree(ROOT / "examples" / context, folder / context)
    standins = yaml.safe_load((ROOT / "tests" / "support" / "standin_bases.yaml").read_text())
    runtimes = QUICK_RUNTIMES if quick else list(presets.runtimes())
    artifacts = {}
    for name, (context, binary, profile, args, expected) in ARTIFACTS.items():
        if quick and name not in QUICK_ARTIFACTS:
            continue
        spec: dict[str, object] = {
            "lang": "c",
            "context": f"./{context}",
            "binary": binary,
            "runtimes": runtimes,
            "profile": profile,
            "smoke": {"expect_stdout": expected},
        }
        if args:
            spec["args"] = args
        artifacts[name] = spec
    config = {"version": 1, "registry": REGISTRY, "bases": standins, "artifacts": artifacts}
    path = folder / "slim.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return path


# --- Timing ----------------------------------------------------------------------------


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """(seconds, exit code, stdout) of a command whose stderr is kept out of sight."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        print(
            f"seed_table: {' '.join(command)} exited {done.returncode}:\n{done.stderr[-2000:]}",
            file=sys.stderr,
        )
    return seconds, done.returncode, done.stdout


def prune() -> None:
    subprocess.run(["docker", "builder", "prune", "-af"], capture_output=True, check=True)


def median_of(runs: int, once: Callable[[], float]) -> tuple[float, list[float]]:
    times = [once() for _ in range(runs)]
    return statistics.median(times), times


@dataclass
class Timings:
    rows: list[tuple[str, float | None, float | None, str]] = field(default_factory=list)
    warm_hello: float = 0.0
    warm_hello_runs: list[float] = field(default_factory=list)
    bake_exit: int = 0
    bake_table: str = ""
    warm_runs: int = WARM_RUNS
    example_runs: int = EXAMPLE_RUNS
    cold: bool = True  # False (--quick): nothing pruned, the engine being shared
    enforce_time: bool = True  # False (--quick): one warm run on a shared machine

    def cold_start(self) -> None:
        if self.cold:
            prune()


def slim_env(cache: Path) -> dict[str, str]:
    return {**os.environ, "SLIM_CACHE_DIR": str(cache)}


def write_hello_example(folder: Path, quick: bool = False) -> Path:
    """examples/offline.slim.yaml and its hello/, tagged under slim-bench-example/
    (with --quick, its variants on QUICK_RUNTIMES only)."""
    (folder / "hello-example").mkdir()
    shutil.copytree(ROOT / "examples" / "hello", folder / "hello-example" / "hello")
    config = yaml.safe_load((ROOT / "examples" / "offline.slim.yaml").read_text())
    config["registry"] = f"{REGISTRY}-example"
    if quick:
        hello = config["artifacts"]["hello"]
        hello["runtimes"] = QUICK_RUNTIMES
        hello["budgets"] = {
            k: v for k, v in hello["budgets"].items() if k in ["*", *QUICK_RUNTIMES]
        }
    path = folder / "hello-example" / "slim.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def time_hello_example(config: Path, cache: Path, out: Timings) -> None:
    """The issue's warm-rebuild target: the hello example, nothing changed."""
    slim = [sys.executable, "-m", "slim_bake", "bake", "-c", config.name]
    env = slim_env(cache)
    first = run(slim, config.parent, env)[0]  # its build stages are cached by the big run
    out.warm_hello, out.warm_hello_runs = median_of(
        out.example_runs, lambda: run(slim, config.parent, env)[0]
    )
    n = len(make_plan(load_config(config)).targets)
    out.rows.append(
        (
            f"`slim bake` of the hello example (examples/offline.slim.yaml, {n} variants)",
            first,
            out.warm_hello,
            f"target ≤ 3 s warm; runs: {', '.join(f'{t:.2f}' for t in out.warm_hello_runs)}",
        )
    )


def time_slim(config: Path, plan: Plan, cache: Path, out: Timings) -> None:
    slim = [sys.executable, "-m", "slim_bake", "bake", "-c", config.name]
    env = slim_env(cache)
    out.cold_start()
    print("seed_table: cold `slim bake` of every target ...", file=sys.stderr)
    cold, out.bake_exit, out.bake_table = run(slim, config.parent, env)
    warm, _ = median_of(out.warm_runs, lambda: run(slim, config.parent, env)[0])
    no_smoke, _ = median_of(
        out.warm_runs, lambda: run([*slim, "--no-smoke"], config.parent, env)[0]
    )
    n = len(plan.targets)
    out.rows += [
        (
            f"`slim bake`: build, smoke-run and measure all {n} targets, one command",
            cold,
            warm,
            "cold: empty BuildKit cache and empty measurement cache"
            if out.cold
            else "first run: build cache not pruned (--quick), empty measurement cache",
        ),
        (f"`slim bake --no-smoke`: the same without the {n} smoke runs", None, no_smoke, ""),
    ]


def time_buildx_bake(config: Path, plan: Plan, out: Timings) -> None:
    names = [t.name for t in plan.targets]
    command = ["docker", "buildx", "bake", "-f", plan.config.bake_file, "--load", "--", *names]
    out.cold_start()
    print("seed_table: cold `docker buildx bake` ...", file=sys.stderr)
    cold = run(command, config.parent)[0]
    warm, _ = median_of(out.warm_runs, lambda: run(command, config.parent)[0])
    out.rows.append(
        (
            f"`docker buildx bake --load` of the generated file, all {len(names)} targets"
            " (build only)",
            cold,
            warm,
            "",
        )
    )


def docker_build_commands(plan: Plan) -> list[list[str]]:
    commands = []
    for target in plan.targets:
        context = target.artifact.context
        tag = f"{DOCKER_TAGS}/{target.artifact.name}:{target.runtime}"
        commands.append(
            [
                "docker",
                "build",
                "-q",
                "-f",
                target.dockerfile,
                "--target",
                "runtime",
                "-t",
                tag,
                context,
            ]
        )
    return commands


def time_one_by_one(config: Path, plan: Plan, out: Timings) -> None:
    commands = docker_build_commands(plan)

    def all_of_them() -> float:
        return sum(run(c, config.parent)[0] for c in commands)

    out.cold_start()
    print("seed_table: cold one-by-one `docker build` ...", file=sys.stderr)
    cold = all_of_them()
    warm, _ = median_of(out.warm_runs, all_of_them)
    out.rows.append(
        (
            f"`docker build` of the same {len(commands)} Dockerfiles one by one (build only)",
            cold,
            warm,
            "",
        )
    )
    tags = [c[c.index("-t") + 1] for c in commands]
    subprocess.run(["docker", "image", "rm", *tags], capture_output=True, check=False)


# --- Measuring and accounting -------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    target: Target
    image: Measurement
    base: Measurement | None  # None: scratch
    parts: dict[str, int]  # program, closure, files, debug shell, sources, unexplained
    unexplained: tuple[str, ...]

    @property
    def base_size(self) -> int:
        return self.base.size if self.base else 0

    @property
    def above(self) -> int:
        return self.image.size - self.base_size

    @property
    def residue(self) -> int:
        return self.above - sum(v for k, v in self.parts.items() if k != "unexplained")


def classify(target: Target, path: str) -> str:
    """Which part of a variant a file of the build's own layers is."""
    if path == target.entrypoint:
        return "program"
    if path.startswith(OPTED_IN):
        return "files"
    if target.closure and ".so" in path.rsplit("/", 1)[-1]:
        return "closure"
    if target.debug and path == "/busybox/busybox":
        return "debug shell"
    if target.base is None and path.startswith("/src/"):
        return "sources"  # the single stage keeps its build context
    return "unexplained"


def account(target: Target, image: Measurement, base: Measurement | None) -> Variant:
    parts = dict.fromkeys(
        ("program", "closure", "files", "debug shell", "sources", "unexplained"), 0
    )
    unexplained = []
    for f in image.files:
        part = classify(target, f.path)
        parts[part] += f.size
        if part == "unexplained":
            unexplained.append(f"{f.path} ({f.size:,} B)")
    return Variant(target, image, base, parts, tuple(unexplained))


def measure_all(plan: Plan, cache: Path) -> list[Variant]:
    store = MeasureCache(cache)  # the cache slim bake filled
    bases: dict[str, Measurement | None] = {}
    variants = []
    for target in plan.targets:
        base = base_image(target)
        if base not in bases:
            bases[base] = None if base == "scratch" else measure(base, None, cache=store)
        image = measure(target.tags[0], base, cache=store)
        variants.append(account(target, image, bases[base]))
    return variants


# --- Facts about the machine ------------------------------------------------------------------


def output_of(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def image_store() -> str:
    status = output_of(["docker", "info", "--format", "{{json .DriverStatus}}"])
    driver = output_of(["docker", "info", "--format", "{{.Driver}}"])
    if "io.containerd.snapshotter" in status or driver.startswith("overlayfs"):
        return f"containerd image store ({driver})"
    return f"classic image store ({driver})"


def facts() -> list[tuple[str, str]]:
    debian = Path("/etc/debian_version")
    commit = output_of(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = output_of(["git", "-C", str(ROOT), "status", "--porcelain"])
    return [
        ("date", datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("slim", f"{__version__} (commit {commit}{' + uncommitted changes' if dirty else ''})"),
        (
            "engine",
            f"dockerd {output_of(['docker', 'version', '--format', '{{.Server.Version}}'])}",
        ),
        ("buildx", output_of(["docker", "buildx", "version"])),
        ("image store", image_store()),
        (
            "machine",
            f"{os.cpu_count()} CPUs ({cpu_model()}), "
            f"{_memory()}, Linux {platform.release()}"
            + (f", Debian {debian.read_text().strip()}" if debian.exists() else ""),
        ),
    ]


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024**2:.1f} GiB RAM"
    except (OSError, ValueError):
        pass
    return "RAM unknown"


# --- Markdown ---------------------------------------------------------------------------------


def size(n: int) -> str:
    return f"{format_size(n)} ({n:,} B)" if n < 10_000_000 else format_size(n)


def find(variants: list[Variant], artifact: str, runtime: str) -> Variant:
    return next(
        v for v in variants if v.target.artifact.name == artifact and v.target.runtime == runtime
    )


def seed_section(variants: list[Variant]) -> str:
    lines = [
        "| seed's build | runtime here | base here (stand-in) | seed | ours, `default`"
        " | ours ÷ seed | ours, `min` | ours ÷ seed | above the base: `default` / `min` |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    built = {v.target.runtime for v in variants}
    for wording, seed, runtime in (row for row in SEED if row[2] in built):  # all but --quick
        d, m = find(variants, "hello", runtime), find(variants, "hello-min", runtime)
        base = (
            d.target.base.image
            if d.target.base
            else f"{d.target.build.toolchain.image} (toolchain)"
        )
        if d.target.base and d.target.base.image == "scratch":
            base = "scratch (empty)"
        lines.append(
            f"| {wording} | `{runtime}` | `{base}` | {format_size(seed)} | {size(d.image.size)} |"
            f" {d.image.size / seed:.3g} | {size(m.image.size)} | {m.image.size / seed:.3g} |"
            f" {d.above:,} B / {m.above:,} B |"
        )
    return "\n".join(lines) + "\n"


def targets_section(variants: list[Variant], timings: Timings) -> tuple[str, bool]:
    lines = ["| target | limit | measured | met |", "|---|---:|---:|---|"]
    all_met = True
    for artifact, runtime, limit in SIZE_TARGETS:
        v = find(variants, artifact, runtime)
        met = v.image.size <= limit
        all_met &= met
        profile = v.target.profile
        lines.append(
            f"| hello on `{runtime}`, `{profile}` profile | {format_size(limit)} |"
            f" {size(v.image.size)} | {'yes' if met else '**no**'} |"
        )
    met = timings.warm_hello <= WARM_TARGET_SECONDS
    all_met &= met or not timings.enforce_time
    runs = ", ".join(f"{t:.2f}" for t in timings.warm_hello_runs)
    lines.append(
        "| warm `slim bake` of the hello example (examples/offline.slim.yaml), nothing changed |"
        f" {WARM_TARGET_SECONDS:g} s | {timings.warm_hello:.2f} s (median of {runs}) |"
        f" {'yes' if met else '**no**'} |"
    )
    bad = [v for v in variants if v.residue != 0 or v.unexplained]
    all_met &= not bad
    lines.append(
        f"| image − base − program − closure − opted-in files, every variant | 0 B |"
        f" {'0 B for all ' + str(len(variants)) if not bad else f'{len(bad)} variants off'} |"
        f" {'yes' if not bad else '**no**'} |"
    )
    smoke_ok = timings.bake_exit == 0
    all_met &= smoke_ok
    lines.append(
        f"| `slim bake` exit status (every smoke check and budget) | 0 | {timings.bake_exit} |"
        f" {'yes' if smoke_ok else '**no**'} |"
    )
    return "\n".join(lines) + "\n", all_met


def variants_section(variants: list[Variant]) -> str:
    lines = [
        "| target | profile | base | image | base size | above the base | program | closure"
        " | opted-in files | debug shell / sources | residue |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for v in variants:
        t = v.target
        base = t.base.image if t.base else f"{t.build.toolchain.image} (single stage)"
        extra = v.parts["debug shell"] + v.parts["sources"]
        residue = f"{v.residue:,} B" + (
            f"; unexplained: {', '.join(v.unexplained)}" if v.unexplained else ""
        )
        lines.append(
            f"| {t.name} | {t.profile} | `{base}` | {size(v.image.size)} |"
            f" {format_size(v.base_size)} | {v.above:,} | {v.parts['program']:,} |"
            f" {v.parts['closure']:,} | {v.parts['files']:,} | {extra:,} | {residue} |"
        )
    return "\n".join(lines) + "\n"


def timings_section(timings: Timings) -> str:
    lines = [
        "| what | cold cache | warm, nothing changed (median) | note |",
        "|---|---:|---:|---|",
    ]
    for label, cold, warm, note in timings.rows:
        shown_cold = f"{cold:.1f} s" if cold is not None else "—"
        shown_warm = f"{warm:.2f} s" if warm is not None else "—"
        lines.append(f"| {label} | {shown_cold} | {shown_warm} | {note} |")
    return "\n".join(lines) + "\n"


def bases_section(variants: list[Variant]) -> str:
    rows: dict[str, tuple[str, int]] = {}
    for v in variants:
        t = v.target
        for name, base in t.artifact.bases.items():
            if v.base is not None and base.image == v.base.image and name in presets.bases():
                rows.setdefault(name, (base.image, v.base.size))
    lines = [
        "| slim's base | stands in for (official image) | stand-in used here | its size here |",
        "|---|---|---|---:|",
    ]
    for name, (image, n) in sorted(rows.items()):
        lines.append(
            f"| `{name}` | `{presets.bases()[name].image}` | `{image}` | {format_size(n)} |"
        )
    return "\n".join(lines) + "\n"


def markdown(
    variants: list[Variant], timings: Timings, flags: str, svg_link: str
) -> tuple[str, bool]:
    targets, all_met = targets_section(variants, timings)
    head = "\n".join(f"- **{k}**: {v}" for k, v in facts())
    text = f"""# Benchmarks: the seed's size table, reproduced and beaten

Generated by `python benchmarks/seed_table.py` — do not edit; run it again. One `slim bake` builds
hello.c and textstats (`examples/textstats`, about 2,600 lines of C with no dependencies) with the
`default` and the `min` size profile on every runtime slim has: {len(variants)} images.

{head}

**The bases are stand-ins.** No registry is reachable on this machine, so every base image is an
offline stand-in made from Debian packages by `scripts/standins.sh` (table at the end). Their sizes
differ from the official images the seed used (the seed's "ubuntu" row is Debian bookworm-slim here;
"alpine" is busybox with musl). The comparison that matters is the part slim controls: everything
**above the base**, which is shown for every variant, and which for `scratch` is the whole image.

![Image sizes per variant, log scale]({svg_link})

## Targets

{targets}
## The seed's table, beside ours (hello.c)

Sizes are bytes of file content over all layers, computed by `slim_bake.measure` from the layers
(the same whatever the image store; the classic store's `docker images` shows the same figure).
"ours ÷ seed" below 1 means smaller than the seed's.

{seed_section(variants)}
## Build times

{timings_section(timings)}
Cold: `docker builder prune -af` first (base images stay: nothing is pulled here); for `slim bake`
also an empty measurement cache, so every image is exported and measured (the four single-stage
images hold 332 MB each). The hello example's first run follows the big one, whose build cache it
shares. `slim bake` smoke-runs every image once (one container each) and measures it; the
`docker buildx bake` and `docker build` rows are the build alone. Wall-clock seconds, one run each
(warm: median of {timings.warm_runs}, the hello example {timings.example_runs}) on a 2-CPU machine.

## Every variant: what is above the base

Residue = image − base − program − closure − opted-in files (`/etc/passwd`, `/etc/group`) − the
debug shell (`-debug` companions) − the sources a single stage keeps. Zero means the image holds
nothing slim did not put there on purpose.

{variants_section(variants)}
## What each flag of the size profiles does

`python benchmarks/profile_flags.py` (run as part of this benchmark):

{flags}
## The stand-in bases

{bases_section(variants)}"""
    return text, all_met


# --- The chart ---------------------------------------------------------------------------------

SERIES = [  # artifact, label, colour
    ("hello", "hello.c, default", "#4e79a7"),
    ("hello-min", "hello.c, min", "#a0cbe8"),
    ("textstats", "textstats, default", "#f28e2b"),
    ("textstats-min", "textstats, min", "#ffbe7d"),
]


SEED_COLOUR = "#333333"


def svg_chart(variants: list[Variant]) -> str:
    """Horizontal bars on a log axis, one group per runtime; the seed's figure (official
    images) as a dark bar in the groups it has one for."""
    runtimes = list(dict.fromkeys(v.target.runtime for v in variants))
    seed = {runtime: n for _, n, runtime in SEED}
    built = {v.target.artifact.name for v in variants}
    series = [s for s in SERIES if s[0] in built]  # all but with --quick
    low, high = 3, 10  # 1 kB .. 10 GB
    left, right, top, bar, gap, width = 150, 60, 64, 10, 14, 900
    plot = width - left - right
    per_group = len(series) + 1
    row = bar * per_group + gap
    height = top + row * len(runtimes) + 56

    def x(n: float) -> float:
        return left + plot * (math.log10(max(n, 10**low)) - low) / (high - low)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="20" font-size="14" font-weight="bold">'
        "Image size per variant, log scale: slim vs the seed</text>",
        f'<text x="{left}" y="38" fill="#555">slim: offline stand-in bases (scratch is empty);'
        " seed: official images. See BENCHMARKS.md for the part above each base.</text>",
    ]
    for power in range(low, high + 1):
        px = x(10**power)
        out.append(
            f'<line x1="{px:.1f}" y1="{top - 6}" x2="{px:.1f}" y2="{height - 46}" stroke="#ddd"/>'
        )
        out.append(
            f'<text x="{px:.1f}" y="{height - 32}" text-anchor="middle" fill="#555">'
            f"{html.escape(format_size(10**power))}</text>"
        )
    bars: list[tuple[str, int, str, str]] = []  # runtime, bytes, colour, tooltip
    for runtime in runtimes:
        for artifact, _, colour in series:
            v = find(variants, artifact, runtime)
            bars.append((runtime, v.image.size, colour, v.target.name))
        if runtime in seed:
            bars.append((runtime, seed[runtime], SEED_COLOUR, f"seed, {runtime}"))
    for i, runtime in enumerate(runtimes):
        y0 = top + i * row
        out.append(
            f'<text x="{left - 8}" y="{y0 + bar * per_group / 2 + 4:.1f}" text-anchor="end">'
            f"{html.escape(runtime)}</text>"
        )
        mine = [b for b in bars if b[0] == runtime]
        for j, (_, n, colour, tip) in enumerate(mine):
            y = y0 + j * bar
            out.append(
                f'<rect x="{left}" y="{y}" width="{x(n) - left:.1f}" height="{bar - 1}" '
                f'fill="{colour}"><title>{html.escape(tip)}: {n:,} B</title></rect>'
            )
            weight = ' font-weight="bold"' if colour == SEED_COLOUR else ""
            out.append(
                f'<text x="{x(n) + 3:.1f}" y="{y + bar - 2}" font-size="8.5" fill="#333"{weight}>'
                f"{html.escape(format_size(n))}</text>"
            )
    legend_y = height - 12
    for j, (_, label, colour) in enumerate(
        [*series, ("", "the seed (official images)", SEED_COLOUR)]
    ):
        lx = left + j * 140
        out.append(f'<rect x="{lx}" y="{legend_y - 9}" width="12" height="10" fill="{colour}"/>')
        out.append(f'<text x="{lx + 16}" y="{legend_y}">{html.escape(label)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


# --- Main ----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="default: BENCHMARKS.md")
    parser.add_argument("--svg", type=Path, help="default: benchmarks/sizes.svg")
    parser.add_argument(
        "--keep", type=Path, help="write the project here instead of a temporary folder"
    )
    parser.add_argument("--quick", action="store_true", help="6 images, into a temporary folder")
    args = parser.parse_args()
    written = Path(tempfile.mkdtemp(prefix="slim-seed-quick-")) if args.quick else None
    args.out = args.out or (written / "BENCHMARKS.md" if written else ROOT / "BENCHMARKS.md")
    args.svg = args.svg or (written / "sizes.svg" if written else ROOT / "benchmarks" / "sizes.svg")
    with tempfile.TemporaryDirectory(prefix="slim-seed-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        config = write_project(folder, args.quick)
        plan = make_plan(load_config(config))
        cache = folder / ".measure-cache"
        timings = Timings()
        if args.quick:
            timings = Timings(warm_runs=1, example_runs=1, cold=False, enforce_time=False)
        time_slim(config, plan, cache, timings)
        time_hello_example(write_hello_example(folder, args.quick), cache, timings)
        variants = measure_all(plan, cache)
        time_buildx_bake(config, plan, timings)
        time_one_by_one(config, plan, timings)
        print("seed_table: measuring each flag of the profiles ...", file=sys.stderr)
        flags = profile_flags.report(
            profile_flags.GCC_IMAGE, profile_flags.GO_IMAGE, profile_flags.RUST_IMAGE, args.quick
        )
    svg_link = os.path.relpath(args.svg, args.out.parent)
    text, all_met = markdown(variants, timings, flags, svg_link)
    args.svg.parent.mkdir(parents=True, exist_ok=True)
    args.svg.write_text(svg_chart(variants))
    # benchmarks/real_programs.py's section (its own markers) outlives a run of this script.
    old = args.out.read_text() if args.out.exists() else ""
    real = old.find("<!-- benchmarks/real_programs.py: begin")
    args.out.write_text(text + ("\n" + old[real:] if real >= 0 else ""))
    print(f"seed_table: wrote {args.out} and {args.svg}", file=sys.stderr)
    print(seed_section(variants))
    print(timings_section(timings))
    print(targets_section(variants, timings)[0])
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
