"""Issue 4's and issue 14's targets for `slim bake`, on the hello example and the offline
stand-ins, for each `--output`.

(a) cold cache, `--output load`: every variant of the hello artifact through `slim bake`
    (build, smoke run, measure, judge) against the same Dockerfiles built one by one with
    `docker buildx build --load`, `docker builder prune -af` before each side, in the
    same run. Goal (issue 4): ratio <= 0.5 (shared build stages are built once).
(b) warm cache: `slim bake --no-smoke` (regeneration check, build, measuring and the
    verdicts included) against bare `docker buildx bake --load` of the same targets;
    medians of alternating runs. Goal: ratio <= 1.15. `slim bake` with its smoke runs
    (one container per target, which bare bake does not do) is printed beside it.
(c) `--output oci` (on the containerd-store engine: the classic one refuses the OCI
    exporter) and `--output registry` (a push to the local registry, scripts/registry.sh):
    `slim bake --output MODE` against bare `docker buildx bake` given the same output
    options slim gives it (slim_bake.bake.Output.options, each target's
    SOURCE_DATE_EPOCH), cold (pruned build cache; empty measurement cache, then one
    holding the base layers) and warm. Goals (issue 14): cold <= 1.3x, warm with
    measuring <= 1.15x bare bake.

`load-containerd` is (c)'s comparison for `--load` into the containerd-store engine;
`load-remote`, `registry-remote` and `oci-remote` are (c) through a builder that is not
the engine's own (scripts/remote-builder.sh: buildx's `remote` driver on the
containerd-store engine's BuildKit), both sides with `--builder slim-remote`, the images
measured and smoke-run on the classic engine.

Run: python benchmarks/bake_vs_build.py
        [--output load|load-containerd|oci|registry|registry-containerd|load-remote|
                  registry-remote|oci-remote|all]
        [--rounds N] [--cold-rounds N] [--keep-measure-cache] [--quick]
--quick: hello on scratch-musl and alpine, C and Go hello on scratch-musl, one round, the
build cache NOT pruned (the engine is shared with the tests that run it so that the script
cannot rot: tests/integration/test_benchmarks.py); `--output load` and `registry` (classic
engine) unless --output says; fails when a build or bake fails.
Needs the engines and the stand-ins (scripts/engine.sh [--containerd-store],
scripts/standins.sh) and, for `registry`, the local registry (started by scripts/registry.sh
when it does not answer). It prunes the build cache of the engine each mode uses. The
measurement cache starts empty (a first run on a new machine) unless --keep-measure-cache
is given."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from slim_bake.bake import Mode, Output
from slim_bake.config import load_config
from slim_bake.plan import make_plan, source_date_epochs

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "offline.slim.yaml"
SLIM = [sys.executable, "-m", "slim_bake"]
REGISTRY = "slim-bench.local/bake-vs-build"
PUSH_PREFIX = "benchoci/bake-vs-build"  # the local registry's repositories this script pushes
CONTAINERD = "unix:///run/slim-containerd/docker.sock"
QUICK_RUNTIMES = ["scratch-musl", "alpine"]  # --quick: one musl build stage, two runtimes
REMOTE = "slim-remote"  # scripts/remote-builder.sh


@dataclass(frozen=True)
class Way:
    """One `--output` of slim bake on one engine."""

    mode: Mode
    host: str | None  # DOCKER_HOST; None: the environment's engine (the classic one here)
    builder: str | None = None  # --builder for both sides; None: the engine's own

    @property
    def label(self) -> str:
        engine = f"{'containerd-store' if self.host else 'classic'} engine"
        if self.builder:
            engine += f", builder {self.builder} (remote driver, not the engine's own)"
        return f"--output {self.mode}, {engine}"

    @property
    def builder_options(self) -> list[str]:
        return ["--builder", self.builder] if self.builder else []


WAYS = {
    "load": Way(Mode.LOAD, None),
    # Docker Engine 29's default store for new installs: `docker save` writes the stored
    # blobs, so a loaded image's compressed figure is their size and nothing is compressed.
    "load-containerd": Way(Mode.LOAD, CONTAINERD),
    "oci": Way(Mode.OCI, CONTAINERD),  # the classic store refuses the OCI exporter
    "registry": Way(Mode.REGISTRY, None),
    "registry-containerd": Way(Mode.REGISTRY, CONTAINERD),
    # scripts/remote-builder.sh: the containerd-store engine's BuildKit as a `remote`
    # builder; the images are measured and smoke-run on the classic engine.
    "load-remote": Way(Mode.LOAD, None, REMOTE),
    "registry-remote": Way(Mode.REGISTRY, None, REMOTE),
    "oci-remote": Way(Mode.OCI, None, REMOTE),
}
ALL = ["load", "load-containerd", "oci", "registry"]
QUICK = ["load", "registry"]


def make_project(folder: Path, runtimes: list[str] | None = None, registry: str = REGISTRY) -> Path:
    """The offline hello example (only `runtimes` of it if given), tagged under
    `registry`."""
    shutil.copytree(ROOT / "examples" / "hello", folder / "hello")
    config = yaml.safe_load(EXAMPLE.read_text())
    config["registry"] = registry
    if runtimes:
        hello = config["artifacts"]["hello"]
        hello["runtimes"] = runtimes
        hello["budgets"] = {k: v for k, v in hello["budgets"].items() if k in ["*", *runtimes]}
    config["output"] = {"dockerfiles": "dockerfiles", "bake": "docker-bake.hcl"}
    return write(folder, config)


def make_large_project(folder: Path, runtimes: list[str] | None = None) -> Path:
    """The C hello and the Go hello, every runtime and -debug companion (or `runtimes`):
    32 targets."""
    shutil.copytree(ROOT / "examples" / "hello", folder / "hello")
    shutil.copytree(ROOT / "tests" / "data" / "go-hello", folder / "gohello")
    bases = yaml.safe_load((ROOT / "tests" / "support" / "standin_bases.yaml").read_text())
    if not runtimes:
        runtimes = [*yaml.safe_load(EXAMPLE.read_text())["artifacts"]["hello"]["runtimes"]]
        runtimes += ["ubuntu", "distroless-static-debug", "distroless-cc-debug"]
        runtimes += ["scratch-glibc-debug", "scratch-closure-debug"]
    smoke = {"expect_stdout": "Hello, world!"}
    artifacts = {
        "hello": {"lang": "c", "context": "./hello", "runtimes": runtimes, "smoke": smoke},
        "gohello": {
            "lang": "go",
            "context": "./gohello",
            "binary": "hello",
            "runtimes": runtimes,
            "smoke": smoke,
        },
    }
    return write(
        folder,
        {"version": 1, "registry": REGISTRY + "-large", "bases": bases, "artifacts": artifacts},
    )


def write(folder: Path, config: dict[str, object]) -> Path:
    path = folder / "slim.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    subprocess.run([*SLIM, "generate", "-c", str(path)], check=True, stdout=subprocess.DEVNULL)
    return path


def targets(path: Path) -> list[dict[str, str]]:
    """Each target's name, Dockerfile, context and tag, as bake itself resolves them."""
    printed = subprocess.run(
        ["docker", "buildx", "bake", "-f", "docker-bake.hcl", "--print", "default"],
        cwd=path.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    spec = yaml.safe_load(printed.stdout)["target"]
    return [
        {"name": name, "context": t["context"], "dockerfile": t["dockerfile"], "tag": t["tags"][0]}
        for name, t in spec.items()
    ]


def engine_env(env: dict[str, str], way: Way) -> dict[str, str]:
    return {**env, "DOCKER_HOST": way.host} if way.host else env


def timed(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(args)}")
    return elapsed


def prune(env: dict[str, str] | None = None, way: Way | None = None) -> None:
    """The build cache of the engine `env` names (DOCKER_HOST), or of the way's builder."""
    builder = way.builder_options if way else []
    command = ["docker", "buildx", "prune", *builder] if builder else ["docker", "builder", "prune"]
    subprocess.run(
        [*command, "-af"],
        check=True,
        stdout=subprocess.DEVNULL,
        env=env,
    )


def one_by_one(path: Path, specs: list[dict[str, str]]) -> float:
    total = 0.0
    for spec in specs:
        context = path.parent / spec["context"]
        dockerfile = context / spec["dockerfile"]
        total += timed(
            ["docker", "buildx", "build", "--load", "-f", str(dockerfile), "--target", "runtime",
             "-t", spec["tag"] + "-single", str(context)],
            cwd=path.parent,
        )  # fmt: skip
    return total


def bare_bake(path: Path, names: list[str], way: Way, oci_dir: Path) -> list[str]:
    """Bare `docker buildx bake` of `names` doing what slim's bake does: `--load`, or the
    output options slim passes (Output.options: the OCI layout per target, tar=false,
    rewrite-timestamp) with each target's SOURCE_DATE_EPOCH and a metadata file (where
    a user of bare bake reads the digests pushed)."""
    command = ["docker", "buildx", "bake", "-f", "docker-bake.hcl", *way.builder_options]
    if way.mode is Mode.LOAD:
        return [*command, "--load", *names]
    plan = make_plan(load_config(path))
    chosen = [t for t in plan.targets if t.name in names]
    epochs = source_date_epochs(plan, chosen)
    output = Output(way.mode, oci_dir if way.mode is Mode.OCI else None)
    return [
        *command,
        *output.options(names),
        *(f"--set={name}.args.SOURCE_DATE_EPOCH={epoch}" for name, epoch in epochs.items()),
        "--metadata-file",
        str(oci_dir.parent / "bare-metadata.json"),
        "--",
        *names,
    ]


def slim_bake(path: Path, way: Way, oci_dir: Path, *extra: str) -> list[str]:
    output = ["--output", str(way.mode)]
    output += ["--oci-dir", str(oci_dir)] if way.mode is Mode.OCI else []
    return [*SLIM, "bake", "-c", str(path), *output, *way.builder_options, *extra]


def seeded(cache: Path, bases: Path) -> None:
    """`cache` holds the base layers' figures only (slim measured the base images before),
    whatever an earlier side left in it."""
    shutil.rmtree(cache, ignore_errors=True)
    shutil.copytree(bases, cache)


def measure_bases(path: Path, env: dict[str, str], into: Path) -> None:
    """The measurement cache `into` with every local base image of the project measured."""
    plan = make_plan(load_config(path))
    images = sorted({t.runtime_base for t in plan.targets} - {"scratch"})
    timed([*SLIM, "measure", *images], path.parent, {**env, "SLIM_CACHE_DIR": str(into)})


def cold(
    path: Path,
    specs: list[dict[str, str]],
    way: Way,
    env: dict[str, str],
    quick: bool = False,
    rounds: int = 1,
) -> dict[str, float]:
    """Each side on a pruned build cache (not `quick`: the engine is shared): bare bake;
    slim with an empty measurement cache (a new machine; the user's own with
    --keep-measure-cache), then with one holding the base layers only (smoke runs, and
    --no-smoke; `quick` with --output oci or registry: only the latter). `--output load`
    also builds one by one. Medians of `rounds` alternating rounds."""
    names = [s["name"] for s in specs]
    folder = path.parent
    env = engine_env(env, way)
    bases, measured = folder / "bases-cache", folder / "measured-cache"
    measure_bases(path, env, bases)
    bare, mine = folder / "oci-bare", folder / "oci-slim"
    seeded_env = {**env, "SLIM_CACHE_DIR": str(measured)}
    sides = {
        "bake": lambda: timed(bare_bake(path, names, way, bare), folder, env),
        "slim": lambda: timed(slim_bake(path, way, mine), folder, env),
        "slim-measured": lambda: timed(slim_bake(path, way, mine), folder, seeded_env),
        "slim-no-smoke": lambda: timed(
            slim_bake(path, way, mine, "--no-smoke"), folder, seeded_env
        ),
    }
    if way.mode is Mode.LOAD and way.host is None:
        sides = {"single": lambda: one_by_one(path, specs), **sides}
    elif quick:
        del sides["slim-measured"]
    tags = [s["tag"] for s in specs] + [s["tag"] + "-single" for s in specs]
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, side in sides.items():
            if name == "slim" and "SLIM_CACHE_DIR" in env:  # this script's own, emptied
                shutil.rmtree(env["SLIM_CACHE_DIR"], ignore_errors=True)
            seeded(measured, bases)
            for layouts in (bare, mine):
                shutil.rmtree(layouts, ignore_errors=True)
            if not quick:
                prune(env, way)
            times[name].append(side())
            remove(tags, env)  # the next side's images replace none: no dangling images
    return {name: statistics.median(figures) for name, figures in times.items()}


def remove(tags: list[str], env: dict[str, str] | None = None) -> None:
    subprocess.run(
        ["docker", "image", "rm", "-f", *tags], capture_output=True, check=False, env=env
    )


def warm(
    path: Path,
    names: list[str],
    way: Way,
    env: dict[str, str],
    rounds: int,
    warmed: bool = False,
) -> tuple[float, float, float]:
    """Medians of alternating bare bake, slim --no-smoke, slim. With --output oci or
    registry every side starts with none of the tags in the engine (what slim leaves
    there, and a fresh CI runner); `warmed`: no warm-up round (a cold one just ran)."""
    env = engine_env(env, way)
    bare_layouts = path.parent / "oci-bare"
    mine = path.parent / "oci-slim"
    bare_args = bare_bake(path, names, way, bare_layouts)
    slim_args = slim_bake(path, way, mine, "--no-smoke", *names)
    full_args = slim_bake(path, way, mine, *names)
    tags = [s["tag"] for s in targets(path) if s["name"] in names]

    def run(args: list[str]) -> float:
        if way.mode is not Mode.LOAD:
            remove(tags, env)
        return timed(args, path.parent, env)

    if not warmed:
        for args in (bare_args, slim_args, full_args):  # warm-up: caches, page cache, images
            run(args)
    bare, slim, full = [], [], []
    for _ in range(rounds):
        bare.append(run(bare_args))
        slim.append(run(slim_args))
        full.append(run(full_args))
    if way.mode is not Mode.LOAD:
        remove(tags, env)
    return statistics.median(bare), statistics.median(slim), statistics.median(full)


def registry_address() -> str:
    """The local registry's HOST:PORT (scripts/registry.sh starts it when it does not
    answer)."""
    done = subprocess.run(
        [str(ROOT / "scripts" / "registry.sh")], capture_output=True, text=True, check=False
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not lines[-1].startswith("SLIM_TEST_REGISTRY="):
        sys.exit(f"no local registry (scripts/registry.sh): {done.stderr.strip()}")
    return lines[-1].removeprefix("SLIM_TEST_REGISTRY=")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cold-rounds", type=int, default=1, help="(a)'s rounds (median)")
    parser.add_argument("--keep-measure-cache", action="store_true")
    parser.add_argument("--quick", action="store_true", help="4 targets, one round, no prune")
    parser.add_argument(
        "--output",
        choices=[*WAYS, "all"],
        help=f"the --output to compare (all: {', '.join(ALL)}; --quick: {', '.join(QUICK)})",
    )
    args = parser.parse_args()
    chosen = args.output or ("all" if not args.quick else None)
    ways = ALL if chosen == "all" else [chosen] if chosen else QUICK
    runtimes = QUICK_RUNTIMES if args.quick else None
    if args.quick:
        args.rounds = args.cold_rounds = 1
    with tempfile.TemporaryDirectory(prefix="slim-bench-") as tmp:
        env = dict(os.environ)
        # slim's modules compiled once, as an installed slim's are (not in the source tree)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        for key in ways:
            folder = Path(tmp) / key
            folder.mkdir()
            if not args.keep_measure_cache:
                env["SLIM_CACHE_DIR"] = str(folder / "measure-cache")
            if key == "load":
                report_load(folder, runtimes, env, (args.cold_rounds, args.rounds), args.quick)
            else:
                report_export(
                    folder, WAYS[key], runtimes, env, (args.cold_rounds, args.rounds), args.quick
                )


def report_load(
    folder: Path,
    runtimes: list[str] | None,
    env: dict[str, str],
    all_rounds: tuple[int, int],
    quick: bool,
) -> None:
    cold_rounds, rounds = all_rounds
    way = WAYS["load"]
    path = make_project(folder, runtimes)
    specs = targets(path)
    names = [s["name"] for s in specs]
    print(f"== {way.label} ==")
    print(f"{len(specs)} variants of hello: {', '.join(names)}")

    times = cold(path, specs, way, env, quick, cold_rounds)
    single = times["single"]
    print_cold(way, quick, cold_rounds)
    print(f"    docker buildx build, one by one:          {single:6.1f} s")
    for key, label in (
        ("bake", "docker buildx bake (build only)"),
        ("slim", "slim bake, empty measurement cache"),
        ("slim-measured", "slim bake, base layers measured before"),
    ):
        print(f"    {label + ':':41} {times[key]:6.1f} s   ratio {times[key] / single:.2f}")
    print("    goal: slim bake / one by one <= 0.5")
    bake = times["bake"]
    print(
        f"    against bare bake (issue 14, goal <= 1.3): {times['slim'] / bake:.2f},"
        f" base layers measured {times['slim-measured'] / bake:.2f}, the same --no-smoke"
        f" ({times['slim-no-smoke']:.1f} s) {times['slim-no-smoke'] / bake:.2f}"
    )

    report_warm("(b) warm build cache", path, names, way, env, rounds)
    floor = statistics.median(
        timed([*SLIM, "validate", "-q", "-c", str(path)], path.parent, env) for _ in range(rounds)
    )
    print(f"    (slim's start-up and slim.yaml validation alone, `slim validate`: {floor:.2f} s)")

    large = make_large_project(folder / "large", runtimes[:1] if runtimes else None)
    large_specs = targets(large)
    label = f"(b') the same, C and Go hello, {len(large_specs)} targets"
    report_warm(label, large, [s["name"] for s in large_specs], way, env, rounds)

    remove([s["tag"] for s in specs] + [s["tag"] for s in large_specs])


def print_cold(way: Way, quick: bool, rounds: int) -> None:
    median = f", median of {rounds} alternating rounds" if rounds > 1 else ""
    if quick:
        print(f"(a) {way.mode}: build cache NOT pruned (--quick: the engine is shared)")
    else:
        print(f"(a) {way.mode}: cold build cache (builder's cache pruned before each side){median}")


def report_export(
    folder: Path,
    way: Way,
    runtimes: list[str] | None,
    env: dict[str, str],
    all_rounds: tuple[int, int],
    quick: bool,
) -> None:
    """(c) --output oci or registry against bare bake with the same output: cold and warm."""
    cold_rounds, rounds = all_rounds
    registry = f"{registry_address()}/{PUSH_PREFIX}" if way.mode is Mode.REGISTRY else REGISTRY
    path = make_project(folder, runtimes, registry)
    specs = targets(path)
    names = [s["name"] for s in specs]
    print(f"== {way.label} ==")
    print(f"{len(specs)} variants of hello: {', '.join(names)}")
    times = cold(path, specs, way, env, quick, cold_rounds)
    print_cold(way, quick, cold_rounds)
    bake = times["bake"]
    print(f"    docker buildx bake, the same output:         {bake:6.1f} s")
    for key, label in (
        ("slim", "slim bake, empty measurement cache"),
        ("slim-measured", "slim bake, base layers measured before"),
        ("slim-no-smoke", "slim bake --no-smoke, base layers measured"),
    ):
        if key in times:
            print(f"    {label + ':':45} {times[key]:6.1f} s   ratio {times[key] / bake:.2f}")
    print("    goal: slim bake / bare bake <= 1.3")
    report_warm(f"(b) {way.mode}: warm build cache", path, names, way, env, rounds, quick)


def report_warm(
    label: str,
    path: Path,
    names: list[str],
    way: Way,
    env: dict[str, str],
    rounds: int,
    warmed: bool = False,
) -> None:
    bare, slim, full = warm(path, names, way, env, rounds, warmed)
    what = "--load:" if way.mode is Mode.LOAD else "(same output):"
    print(f"{label}, median of {rounds} alternating runs")
    print(f"    docker buildx bake {what:17} {bare:6.2f} s")
    print(
        f"    slim bake --no-smoke (measuring in): {slim:6.2f} s   ratio {slim / bare:.2f}", end=""
    )
    print(" (goal <= 1.15)")
    print(f"    slim bake with smoke runs:           {full:6.2f} s   ratio {full / bare:.2f}")


if __name__ == "__main__":
    main()
