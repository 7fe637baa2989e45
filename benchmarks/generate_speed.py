"""Issue 2's target: generating 100 artifacts × 8 runtimes takes under 0.5 s.

Run: python benchmarks/generate_speed.py [--quick]
Measures `slim generate` end to end in a fresh process (start-up included) on a
cold folder and then `slim check` on the result, five times each; prints medians.
--quick: 5 artifacts, one round; fails unless every Dockerfile was written (the
target is printed, not enforced: one round on a shared machine).
(tests/integration/test_benchmarks.py runs it so that the script cannot rot.)"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

RUNTIMES = [
    "debian-slim", "alpine", "busybox-glibc", "distroless-cc",
    "scratch-glibc", "scratch-musl", "scratch-closure", "scratch-musl-debug",
]  # fmt: skip
ARTIFACTS = 100


def make_repo(folder: Path, count: int = ARTIFACTS) -> Path:
    artifacts = {}
    for i in range(count):
        (folder / f"app{i}").mkdir()
        (folder / f"app{i}" / "main.c").write_text("int main(void){return 0;}\n")
        artifacts[f"app{i}"] = {"lang": "c", "runtimes": RUNTIMES, "budgets": {"*": {"max": "1MB"}}}
    path = folder / "slim.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "artifacts": artifacts}))
    return path


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def render_only(path: Path) -> float:
    """The generator's own work: load, validate, plan and render, no file written."""
    from slim_bake.config import load_config
    from slim_bake.output import render_all
    from slim_bake.plan import make_plan

    start = time.perf_counter()
    render_all(make_plan(load_config(path)))
    return time.perf_counter() - start


def create_floor(folder: Path, count: int) -> float:
    """What this disk takes to create `count` small files the atomic way (temporary
    file, then rename), whatever program writes them."""
    floor = folder / "floor"
    floor.mkdir()
    start = time.perf_counter()
    for i in range(count):
        (floor / f".f{i}.tmp").write_text("x" * 1000)
        (floor / f".f{i}.tmp").replace(floor / f"f{i}")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 artifacts, one round")
    args = parser.parse_args()
    count, rounds = (5, 1) if args.quick else (ARTIFACTS, 5)
    generate, check, render, floor = [], [], [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            path = make_repo(Path(tmp), count)
            slim = [sys.executable, "-m", "slim_bake"]
            render.append(render_only(path))
            generate.append(timed([*slim, "generate", "-c", str(path)]))
            check.append(timed([*slim, "check", "-c", str(path)]))
            written = list((Path(tmp) / "dockerfiles").iterdir())
            dockerfiles = sum(f.name.endswith(".Dockerfile") for f in written)
            files = len(written) + 1  # and each one's .dockerignore, and the bake file
            floor.append(create_floor(Path(tmp), files))
    median = statistics.median
    print(
        f"{count} artifacts x {len(RUNTIMES)} runtimes = {dockerfiles} Dockerfiles"
        f" (+ {files - 1 - dockerfiles} .dockerignore) + 1 bake file"
    )
    print(f"load + validate + plan + render (in process): median {median(render):.3f} s")
    print(f"slim generate (cold folder, process start):    median {median(generate):.3f} s")
    print(f"  this disk's floor to create {files} files:     median {median(floor):.3f} s")
    print(f"slim check (nothing to change):               median {median(check):.3f} s")
    for what, seconds in (("end to end", median(generate)), ("generation work", median(render))):
        print(f"target: slim generate < 0.5 s, {what}: {'met' if seconds < 0.5 else 'NOT met'}")
    if dockerfiles != count * len(RUNTIMES):
        print(f"generate_speed: expected {count * len(RUNTIMES)} Dockerfiles", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
