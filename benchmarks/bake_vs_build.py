"""Issue 4's targets for `slim bake`, on the hello example and the offline stand-ins.

(a) cold cache: every variant of the hello artifact through `slim bake` (build, smoke
    run, measure, judge) against the same Dockerfiles built one by one with
    `docker buildx build --load`, `docker builder prune -af` before each side, in the
    same run. Goal: ratio <= 0.5 (shared build stages are built once).
(b) warm cache: `slim bake --no-smoke` (regeneration check, build, measuring and the
    verdicts included) against bare `docker buildx bake --load` of the same targets;
    medians of alternating runs. Goal: ratio <= 1.15. `slim bake` with its smoke runs
    (one container per target, which bare bake does not do) is printed beside it.

Run: python benchmarks/bake_vs_build.py [--rounds N] [--keep-measure-cache] [--quick]
--quick: hello on scratch-musl and alpine, C and Go hello on scratch-musl, one round, the
build cache NOT pruned (the engine is shared with the tests that run it so that the script
cannot rot: tests/integration/test_benchmarks.py); fails when a build or bake fails.
Needs the engine and the stand-ins (scripts/engine.sh, scripts/standins.sh). It prunes
the build cache of the engine it uses. The measurement cache starts empty (a first
run on a new machine) unless --keep-measure-cache is given."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "offline.slim.yaml"
SLIM = [sys.executable, "-m", "slim_bake"]
REGISTRY = "slim-bench.local/bake-vs-build"
QUICK_RUNTIMES = ["scratch-musl", "alpine"]  # --quick: one musl build stage, two runtimes


def make_project(folder: Path, runtimes: list[str] | None = None) -> Path:
    """The offline hello example (only `runtimes` of it if given), tagged under a
    registry of its own."""
    shutil.copytree(ROOT / "examples" / "hello", folder / "hello")
    config = yaml.safe_load(EXAMPLE.read_text())
    config["registry"] = REGISTRY
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


def timed(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(args)}")
    return elapsed


def prune() -> None:
    subprocess.run(["docker", "builder", "prune", "-af"], check=True, stdout=subprocess.DEVNULL)


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


def cold(
    path: Path, specs: list[dict[str, str]], env: dict[str, str], pruned: bool = True
) -> dict[str, float]:
    """Each side on a pruned build cache (unless not `pruned`); slim twice: with an empty
    measurement cache (a new machine) and with the one the first run left (base layers
    measured)."""
    names = [s["name"] for s in specs]
    sides = {
        "single": lambda: one_by_one(path, specs),
        "bake": lambda: timed(
            ["docker", "buildx", "bake", "-f", "docker-bake.hcl", "--load", *names], path.parent
        ),
        "slim": lambda: timed([*SLIM, "bake", "-c", str(path)], path.parent, env),
        "slim-measured": lambda: timed([*SLIM, "bake", "-c", str(path)], path.parent, env),
    }
    tags = [s["tag"] for s in specs] + [s["tag"] + "-single" for s in specs]
    times = {}
    for name, side in sides.items():
        if pruned:
            prune()
        times[name] = side()
        remove(tags)  # the next side's images replace none: no dangling images left behind
    return times


def remove(tags: list[str]) -> None:
    subprocess.run(["docker", "image", "rm", "-f", *tags], capture_output=True, check=False)


def warm(
    path: Path, names: list[str], env: dict[str, str], rounds: int
) -> tuple[float, float, float]:
    bare_args = ["docker", "buildx", "bake", "-f", "docker-bake.hcl", "--load", *names]
    slim_args = [*SLIM, "bake", "-c", str(path), "--no-smoke", *names]
    full_args = [*SLIM, "bake", "-c", str(path), *names]
    for args in (bare_args, slim_args, full_args):  # warm-up: caches, page cache, images
        timed(args, path.parent, env)
    bare, slim, full = [], [], []
    for _ in range(rounds):
        bare.append(timed(bare_args, path.parent, env))
        slim.append(timed(slim_args, path.parent, env))
        full.append(timed(full_args, path.parent, env))
    return statistics.median(bare), statistics.median(slim), statistics.median(full)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--keep-measure-cache", action="store_true")
    parser.add_argument("--quick", action="store_true", help="4 targets, one round, no prune")
    args = parser.parse_args()
    runtimes = QUICK_RUNTIMES if args.quick else None
    if args.quick:
        args.rounds = 1
    with tempfile.TemporaryDirectory(prefix="slim-bench-") as tmp:
        folder = Path(tmp)
        path = make_project(folder, runtimes)
        specs = targets(path)
        env = dict(os.environ)
        if not args.keep_measure_cache:
            env["SLIM_CACHE_DIR"] = str(folder / "measure-cache")
        names = [s["name"] for s in specs]
        print(f"{len(specs)} variants of hello: {', '.join(names)}")

        times = cold(path, specs, env, pruned=not args.quick)
        single = times["single"]
        if args.quick:
            print("(a) build cache NOT pruned (--quick: the engine is shared)")
        else:
            print("(a) cold build cache (docker builder prune -af before each side)")
        print(f"    docker buildx build, one by one:          {single:6.1f} s")
        for key, label in (
            ("bake", "docker buildx bake (build only)"),
            ("slim", "slim bake, empty measurement cache"),
            ("slim-measured", "slim bake, base layers measured before"),
        ):
            print(f"    {label + ':':41} {times[key]:6.1f} s   ratio {times[key] / single:.2f}")
        print("    goal: slim bake / one by one <= 0.5")

        report_warm("(b) warm build cache", path, names, env, args.rounds)
        floor = statistics.median(
            timed([*SLIM, "validate", "-q", "-c", str(path)], path.parent)
            for _ in range(args.rounds)
        )
        print(
            f"    (slim's start-up and slim.yaml validation alone, `slim validate`: {floor:.2f} s)"
        )

        large = make_large_project(folder / "large", runtimes[:1] if runtimes else None)
        large_specs = targets(large)
        label = f"(b') the same, C and Go hello, {len(large_specs)} targets"
        report_warm(label, large, [s["name"] for s in large_specs], env, args.rounds)

        remove([s["tag"] for s in specs] + [s["tag"] for s in large_specs])


def report_warm(label: str, path: Path, names: list[str], env: dict[str, str], rounds: int) -> None:
    bare, slim, full = warm(path, names, env, rounds)
    print(f"{label}, median of {rounds} alternating runs")
    print(f"    docker buildx bake --load:           {bare:6.2f} s")
    print(
        f"    slim bake --no-smoke (measuring in): {slim:6.2f} s   ratio {slim / bare:.2f}", end=""
    )
    print(" (goal <= 1.15)")
    print(f"    slim bake with smoke runs:           {full:6.2f} s   ratio {full / bare:.2f}")


if __name__ == "__main__":
    main()
