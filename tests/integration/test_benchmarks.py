"""The benchmarks' quick modes, run for real so that the scripts cannot rot."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def quick(script: str, timeout: int) -> subprocess.CompletedProcess[str]:
    """benchmarks/<script>.py --quick, which must succeed (each script checks its own figures)."""
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / f"{script}.py"), "--quick"],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    assert run.returncode == 0, run.stderr
    return run


@pytest.mark.docker
def test_broken_target_quick_mode_names_the_broken_target_with_fewer_bakes(
    docker_engine: None,
) -> None:
    """Both strategies reach the same verdict (the script fails otherwise); the new one
    needs at most two bakes (one when every good target was done before the failure),
    never more than the old one (one more per unbuilt target)."""
    run = quick("broken_target", timeout=600)
    before = re.search(r"before .*: +[\d.]+ s to a verdict, bakes \[(\d+)\]", run.stdout)
    after = re.search(r"after .*: +[\d.]+ s to a verdict, bakes \[(\d+)\]", run.stdout)
    assert before and after, run.stdout
    assert int(after.group(1)) <= min(2, int(before.group(1)))


@pytest.mark.docker
def test_real_programs_quick_mode_tables_every_runtime_of_gnu_hello(docker_engine: None) -> None:
    """The quick mode bakes GNU hello from its user slim.yaml on every runtime buildable here
    and prints the size of each beside Debian's package; the seed's steps get smaller from the
    single stage down to scratch."""
    run = quick("real_programs", timeout=1200)
    sizes = {
        m.group(1): int(m.group(2).replace(",", ""))
        for m in re.finditer(r"^\| `([a-z-]+)` \| [^|]*\(([\d,]+) B\) \|$", run.stdout, re.M)
    }
    assert len(sizes) == 11, run.stdout  # hello (C) builds on every runtime
    assert re.search(r"^\| Debian's package: the executable \| [^|]*\([\d,]+ B\) \|$",
                     run.stdout, re.M), run.stdout  # fmt: skip
    assert sizes["scratch-musl"] < sizes["scratch-glibc"] < sizes["debian-slim"]
    assert sizes["debian-slim"] < sizes["single-stage"]


@pytest.mark.docker
def test_measure_speed_quick_mode_times_save_cold_and_warm(docker_engine: None) -> None:
    """The script fails when the chunked figure leaves GZIP_TOLERANCE of one gzip stream;
    a warm measurement (nothing exported) is faster than the cold one."""
    run = quick("measure_speed", timeout=300)
    cold = re.search(r"cold measure: +([\d.]+) s +[\d.]+ MB/s +[\d.]+x save", run.stdout)
    warm = re.search(r"warm measure: +([\d.]+) s", run.stdout)
    assert cold and warm and "one zlib-ng stream" in run.stdout, run.stdout
    assert float(warm.group(1)) < float(cold.group(1))
