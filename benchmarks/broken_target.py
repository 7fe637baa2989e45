"""Issue 12's figure: a broken target among N is reported without re-baking every target alone.

N C artifacts on scratch + musl (one target each), one of them broken (a compile error),
the others each compiling a few hundred functions (about 2 s each at -O2 on this
machine). Time to a verdict (which targets are built, which are broken) after
`docker buildx bake` of all N fails, two ways, each from a cold build (every source new
to the build cache each round, nothing pruned: the engine is shared):

- before: what slim did up to commit 180e897 — the targets whose tag names a new
  image are built; every other one is baked alone (N-1 more bakes);
- after: slim_bake.bake.build as it is now — the broken targets named from buildx's
  rawjson progress, the other unfinished targets baked again together (one more bake).

The bakes each side ran are counted with a `docker` on PATH that logs them. Both sides
must agree on the verdict, or the script fails.

Run: python benchmarks/broken_target.py [--targets N] [--rounds R] [--quick]
--quick: 3 targets with small sources, one round (tests/integration/test_benchmarks.py runs it so
that the script cannot rot). Needs the engine and the stand-ins (scripts/engine.sh,
scripts/standins.sh)."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import yaml

from slim_bake import bake, engine
from slim_bake.config import load_config
from slim_bake.output import regenerate
from slim_bake.plan import Plan, make_plan

ROOT = Path(__file__).resolve().parent.parent
HELLO_C = (ROOT / "examples" / "hello" / "hello.c").read_text()
BROKEN_C = "int main(void) { return missing; }\n"


def source(seed: str, functions: int) -> str:
    """hello.c with `functions` functions to compile; `seed` makes it new to the cache."""
    body = "".join(
        f"int f{i}(int x) {{ int s = 0; for (int j = 0; j < x; j++) s += j * {i} ^ (s >> 3);"
        " return s; }\n"
        for i in range(functions)
    )
    return f"/* {seed} */\n{body}{HELLO_C}"


def make_project(folder: Path, count: int, registry: str) -> Path:
    bases = yaml.safe_load((ROOT / "tests" / "support" / "standin_bases.yaml").read_text())
    artifacts = {
        f"app{i}": {"lang": "c", "context": f"./app{i}", "runtimes": ["scratch-musl"]}
        for i in range(count - 1)
    }
    artifacts["broken"] = {"lang": "c", "context": "./broken", "runtimes": ["scratch-musl"]}
    config = {"version": 1, "registry": registry, "bases": bases, "artifacts": artifacts}
    path = folder / "slim.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    for name in artifacts:
        (folder / name).mkdir()
    (folder / "broken" / "broken.c").write_text(BROKEN_C)
    return path


def new_sources(plan: Plan, functions: int) -> None:
    seed = uuid.uuid4().hex
    for artifact in plan.config.artifacts:
        if artifact.name != "broken":
            folder = plan.config.directory / artifact.context
            (folder / "hello.c").write_text(source(f"{seed} {artifact.name}", functions))


@contextlib.contextmanager
def quiet_stderr(log: Path) -> Iterator[None]:
    """buildx's display and slim's notes go to `log` (fd 2 included: buildx writes there)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with log.open("a") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def before(plan: Plan) -> set[str]:
    """slim's strategy up to 180e897: one bake of all, then each unbuilt target alone."""
    tags = {t.name: t.tags[0] for t in plan.targets}
    command = ["docker", "buildx", "bake", "-f", plan.config.bake_file, "--load", "--"]
    first = subprocess.Popen([*command, *tags], cwd=plan.config.directory)
    ids = engine.image_ids(list(tags.values()))
    if first.wait() == 0:
        return set(tags)
    after = engine.image_ids(list(tags.values()))
    built = {n for n, tag in tags.items() if after[tag] not in (None, ids[tag])}
    for name in tags:
        if name not in built:
            alone = subprocess.run([*command, name], cwd=plan.config.directory, check=False)
            if alone.returncode == 0:
                built.add(name)
    return built


def now(plan: Plan) -> set[str]:
    return bake.build(plan, plan.targets, builder=None, notify=lambda _: None)


def measure(
    strategy: Callable[[Plan], set[str]], plan: Plan, functions: int, bakes: Path, log: Path
) -> tuple[float, int, set[str]]:
    new_sources(plan, functions)
    bakes.write_text("")
    start = time.perf_counter()
    with quiet_stderr(log):
        built = strategy(plan)
    elapsed = time.perf_counter() - start
    return elapsed, len(bakes.read_text().splitlines()), built


def counting_docker(folder: Path, bakes: Path) -> None:
    """A `docker` first on PATH that logs each `docker buildx bake`, then runs the real one."""
    real = shutil.which("docker")
    if real is None:
        sys.exit("no docker CLI on PATH")
    wrapper = folder / "bin" / "docker"
    wrapper.parent.mkdir()
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ "$1 $2" = "buildx bake" ]; then echo "$*" >> {shlex.quote(str(bakes))}; fi\n'
        f'exec {shlex.quote(real)} "$@"\n'
    )
    wrapper.chmod(0o755)
    os.environ["PATH"] = f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=10, help="N, the broken one included")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per side")
    parser.add_argument("--functions", type=int, default=600, help="size of each good source")
    parser.add_argument("--quick", action="store_true", help="3 small targets, one round")
    args = parser.parse_args()
    if args.quick:
        args.targets, args.rounds, args.functions = 3, 1, 150
    registry = f"slim-bench.local/broken-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="slim-bench-") as tmp:
        folder = Path(tmp)
        bakes, log = folder / "bakes.log", folder / "buildx.log"
        counting_docker(folder, bakes)
        plan = make_plan(load_config(make_project(folder, args.targets, registry)))
        regenerate(plan)
        good = {t.name for t in plan.targets} - {"broken-scratch-musl"}
        results: dict[str, list[tuple[float, int]]] = {"before": [], "after": []}
        try:
            for _ in range(args.rounds):
                for side, strategy in (("before", before), ("after", now)):
                    seconds, count, built = measure(strategy, plan, args.functions, bakes, log)
                    if built != good:
                        print(log.read_text()[-3000:], file=sys.stderr)
                        sys.exit(f"{side}: built {sorted(built)}, expected {sorted(good)}")
                    results[side].append((seconds, count))
        finally:
            tags = [t.tags[0] for t in plan.targets]
            subprocess.run(["docker", "image", "rm", "-f", *tags], capture_output=True)
        report(args, results)
    return 0


def report(args: argparse.Namespace, results: dict[str, list[tuple[float, int]]]) -> None:
    print(
        f"1 broken target of {args.targets} (each good one {args.functions} functions at -O2),"
        f" median of {args.rounds} round(s), cold build each round"
    )
    medians = {}
    for side, label in (("before", "each unbuilt target alone"), ("after", "rest together")):
        seconds = statistics.median(s for s, _ in results[side])
        counts = sorted({c for _, c in results[side]})
        medians[side] = seconds
        print(f"  {side:6} ({label}): {seconds:6.1f} s to a verdict, bakes {counts}")
    print(f"  ratio after/before: {medians['after'] / medians['before']:.2f}")


if __name__ == "__main__":
    sys.exit(main())
