"""Issue 14's figure: `slim measure` on a 1 GB image — time and peak memory, which must not
grow with the image's size.

Builds (once; kept under its tag) an image of about --size MB: the 332 MB toolchain
stand-in slim-standin/gcc:bookworm plus one layer of random bytes (incompressible: the
worst case for the compressed figure and for any buffer), pushes it to the local registry
and copies it into an OCI layout. Then runs `slim measure REF --json` as a user does, in
a fresh process with an empty measurement cache, for each place the image can be:

- docker://: the engine (the `--load` path: `docker save` streamed, every layer hashed,
  counted and its gzip size estimated);
- the registry (scripts/registry.sh): every blob streamed, hashed, unpacked and counted;
- oci:DIR: the same from the layout's blob files;

and the same three for a small image (slim-standin/busybox:glibc, 6.5 MB), and prints the
wall time and the process's peak resident memory (ru_maxrss of that child alone). The
script fails when a measurement fails or when the big image's peak memory is more than
MEMORY_GROWTH times the small one's (memory that grew with the image would be far past
that).

Run: python benchmarks/measure_memory.py [--size MB] [--registry HOST:PORT] [--quick]
--quick: a 48 MB random layer on the busybox stand-in (tests/integration/test_benchmarks.py
runs it so that the script cannot rot)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure_speed import REGISTRY, copy_to_layout, load, push  # noqa: E402

SLIM = [sys.executable, "-m", "slim_bake"]
BIG_BASE = "slim-standin/gcc:bookworm"
SMALL = "slim-standin/busybox:glibc"
QUICK_BASE = SMALL
MEMORY_GROWTH = 1.5  # the big image's peak RSS over the small one's, at most


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mb: float


def make_image(base: str, random_mb: int) -> str:
    """`base` plus a layer of `random_mb` MB of random bytes, tagged by its recipe."""
    name = f"slim-bench.local/measure-memory:{base.split('/')[-1].replace(':', '-')}-{random_mb}"
    found = subprocess.run(["docker", "image", "inspect", name], capture_output=True)
    if found.returncode == 0:
        return name
    # bytes, not "48M": busybox's head takes no suffix
    size = random_mb * 1024 * 1024
    dockerfile = f"FROM {base}\nRUN head -c {size} /dev/urandom > /random.bin\n"
    subprocess.run(
        ["docker", "buildx", "build", "--load", "-t", name, "-"],
        input=dockerfile.encode(),
        check=True,
        capture_output=True,
    )
    return name


def measured(reference: str) -> Run:
    """`slim measure REFERENCE --json` in a new process with an empty cache."""
    with (
        tempfile.TemporaryDirectory(prefix="slim-measure-memory-") as cache,
        tempfile.TemporaryFile() as errors,  # not a pipe: nothing reads it while it runs
    ):
        env = {**os.environ, "SLIM_CACHE_DIR": cache}
        start = time.perf_counter()
        child = subprocess.Popen(
            [*SLIM, "measure", reference, "--json"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        error = errors.read().decode(errors="replace").strip()
    if child.returncode != 0:
        sys.exit(f"slim measure {reference} failed ({child.returncode}): {error}")
    return Run(seconds, usage.ru_maxrss / 1024)  # KiB on Linux


def sizes(image: str) -> str:
    done = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Size}}", image],
        capture_output=True,
        text=True,
        check=True,
    )
    return f"{int(done.stdout) / 1e6:,.0f} MB"


def each_place(image: str, host: str, folder: Path) -> dict[str, Run]:
    reference = push(image, host)
    layout = folder / image.split(":")[-1]
    copy_to_layout(reference, layout)
    return {
        "docker:// (engine)": measured(f"docker://{image}"),
        "registry": measured(reference),
        "oci: layout": measured(f"oci:{layout}"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1024, help="the big image's size, MB")
    parser.add_argument("--registry", default=REGISTRY, help="registry to push to and read from")
    parser.add_argument("--quick", action="store_true", help="a 48 MB layer on busybox")
    args = parser.parse_args()
    base = QUICK_BASE if args.quick else BIG_BASE
    random_mb = 48 if args.quick else max(args.size - 332, 1)
    big = make_image(base, random_mb)
    print(f"big image {big}: {sizes(big)}; small image {SMALL}: {sizes(SMALL)}; {load()}")
    with tempfile.TemporaryDirectory(prefix="slim-measure-memory-layouts-") as tmp:
        small_runs = each_place(SMALL, args.registry, Path(tmp))
        big_runs = each_place(big, args.registry, Path(tmp))
    heads = ("small: s", "peak MB", "big: s", "peak MB")
    print(
        f"{'slim measure, empty cache':28} {heads[0]:>9} {heads[1]:>8} {heads[2]:>8} {heads[3]:>8}"
    )
    worst = 0.0
    for place, small in small_runs.items():
        large = big_runs[place]
        worst = max(worst, large.peak_mb / small.peak_mb)
        print(
            f"{place:28} {small.seconds:9.2f} {small.peak_mb:8.1f}"
            f" {large.seconds:8.2f} {large.peak_mb:8.1f}"
        )
    print(f"peak memory, big over small: at most {worst:.2f}x (limit {MEMORY_GROWTH}x); {load()}")
    return 0 if worst <= MEMORY_GROWTH else 1


if __name__ == "__main__":
    sys.exit(main())
