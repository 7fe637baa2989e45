"""The benchmarks' quick modes, run for real so that the scripts cannot rot."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def quick(script: str, timeout: int, *args: str) -> subprocess.CompletedProcess[str]:
    """benchmarks/<script>.py --quick [args], which must succeed (each script checks its
    own figures)."""
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / f"{script}.py"), "--quick", *args],
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
    for source in ("registry", "OCI layout"):  # by manifest: warm reads no layer
        by_manifest = re.search(rf"{source} warm: +[\d.]+ s +target <= 1 s: met", run.stdout)
        assert by_manifest and f"{source} cold:" in run.stdout, run.stdout


@pytest.mark.docker
def test_measure_memory_quick_mode_states_time_and_peak_memory_in_every_place(
    docker_engine: None,
) -> None:
    """The script fails when a measurement fails or when memory grew with the image; each
    place (engine, registry, OCI layout) has its time and peak memory for both images."""
    run = quick("measure_memory", timeout=300)
    rows = re.findall(
        r"^(docker:// \(engine\)|registry|oci: layout) +([\d.]+) +([\d.]+) +([\d.]+) +([\d.]+)$",
        run.stdout,
        re.MULTILINE,
    )
    assert [row[0] for row in rows] == ["docker:// (engine)", "registry", "oci: layout"], run.stdout
    for _, *figures in rows:
        assert all(float(figure) > 0 for figure in figures)
    assert re.search(r"big over small: at most [\d.]+x", run.stdout), run.stdout


@pytest.mark.slow
def test_generate_speed_quick_mode_counts_every_dockerfile_and_times_each_step() -> None:
    """5 artifacts × 8 runtimes: 40 Dockerfiles written (the script fails otherwise), each
    timing printed as a positive figure, and the target's verdict on both readings."""
    run = quick("generate_speed", timeout=120)
    assert "5 artifacts x 8 runtimes = 40 Dockerfiles (+ 40 .dockerignore) + 1 bake file" in (
        run.stdout
    ), run.stdout
    figures = {
        label: float(m.group(1))
        for label in ("load + validate", "slim generate (", "disk's floor", "slim check (")
        if (m := re.search(rf"^.*{re.escape(label)}.*median ([\d.]+) s$", run.stdout, re.M))
    }
    assert len(figures) == 4, run.stdout
    assert figures["slim generate ("] > 0 and figures["slim check ("] > 0, run.stdout
    verdicts = re.findall(r"^target: slim generate < 0.5 s, .*: (met|NOT met)$", run.stdout, re.M)
    assert len(verdicts) == 2, run.stdout


@pytest.mark.slow
def test_hook_speed_quick_mode_times_each_hook_without_heavy_imports() -> None:
    """Each hook passes silently and is timed; `slim check` imports neither the docker
    SDK nor hcl2 nor urllib (the script fails otherwise, and prints them as absent)."""
    run = quick("hook_speed", timeout=120)
    assert "repository: 3 artifacts, 12 Dockerfiles + docker-bake.hcl" in run.stdout, run.stdout
    for hook in ("slim check", "slim generate --fail-on-change", "slim validate -q"):
        figure = re.search(rf"^  {re.escape(hook)} +median ([\d.]+) s", run.stdout, re.M)
        assert figure and float(figure.group(1)) > 0, (hook, run.stdout)
    assert "ms  JSON Schema validation" in run.stdout, run.stdout
    absent = re.search(r"^not imported by `slim check`: (.*)$", run.stdout, re.M)
    assert absent, run.stdout
    assert {"docker", "hcl2", "urllib.request"} <= set(absent.group(1).split(", ")), run.stdout
    assert re.search(r"^worst median [\d.]+ s; budget 0.3 s: (OK|OVER BUDGET)$", run.stdout, re.M)


@pytest.mark.docker
def test_bake_vs_build_quick_mode_prints_each_side_and_its_ratio(docker_engine: None) -> None:
    """hello's 2 quick variants and the C and Go hello on scratch-musl with `--output load`,
    hello's 2 with `--output registry`: every side is timed (the script fails when a build
    or bake fails), each ratio is the side's time over the baseline's (one by one for load,
    bare bake with the same output for registry), and positive."""
    run = quick("bake_vs_build", timeout=300)
    sections = re.split(r"^== ", run.stdout, flags=re.M)
    load = next(s for s in sections if s.startswith("--output load, classic engine =="))
    assert "2 variants of hello: hello-alpine, hello-scratch-musl" in load, run.stdout
    assert "(b') the same, C and Go hello, 2 targets" in load, run.stdout
    single = re.search(r"one by one: +([\d.]+) s$", load, re.M)
    sides = re.findall(r"^    (docker buildx bake \(|slim bake, ).*: +([\d.]+) s   ratio ([\d.]+)$",
                       load, re.M)  # fmt: skip
    assert single and len(sides) == 3, run.stdout
    for _, seconds, ratio in sides:
        assert float(ratio) > 0
        assert float(ratio) == pytest.approx(float(seconds) / float(single.group(1)), rel=0.25)
    warm = re.findall(r"^    slim bake .*: +([\d.]+) s   ratio ([\d.]+)", load, re.M)
    assert len(warm) == 4 and all(float(r) > 0 for _, r in warm), run.stdout
    assert re.search(r"^    against bare bake \(issue 14, goal <= 1.3\): [\d.]+, ", load, re.M)

    pushed = next(s for s in sections if s.startswith("--output registry, classic engine =="))
    assert "2 variants of hello: hello-alpine, hello-scratch-musl" in pushed, run.stdout
    bare = re.search(r"^    docker buildx bake, the same output: +([\d.]+) s$", pushed, re.M)
    slim = re.findall(r"^    slim bake.*: +([\d.]+) s   ratio ([\d.]+)", pushed, re.M)
    assert bare and len(slim) == 4, run.stdout  # 2 cold (no smoke run in one), 2 warm
    for seconds, ratio in slim[:2]:
        assert float(ratio) == pytest.approx(float(seconds) / float(bare.group(1)), rel=0.25)
    assert re.search(r"^    docker buildx bake \(same output\): +[\d.]+ s$", pushed, re.M)
    assert all(float(r) > 0 for _, r in slim), run.stdout


@pytest.mark.docker
def test_profile_flags_quick_mode_tables_hello_musl_and_go(docker_engine: None) -> None:
    """hello with musl: `min` links, is smaller than `default` and prints the same (the
    script fails otherwise); the output check catches the flag that breaks the binary;
    every Go build is tabled with hello's greeting."""
    run = quick("profile_flags", timeout=300)
    assert "**hello, musl static**" in run.stdout and "glibc static" not in run.stdout
    size = {
        m.group(1): int(m.group(2).replace(",", ""))
        for m in re.finditer(r"^\| \w+ \| ([^|]+?) \| ([\d,]+) \|", run.stdout, re.M)
    }
    assert 0 < size["min (from the preset)"] < size["default"] < size["default without strip"]
    assert re.search(r"^\| left out \| min \+ -Wl,-N .*\| \*\*no\*\* \|$", run.stdout, re.M)
    go = re.findall(
        r"^\| `CGO_ENABLED=.*` \| ([\d,]+) \| .* \| Hello, world! \|$", run.stdout, re.M
    )
    assert len(go) == 6, run.stdout


@pytest.mark.docker
def test_seed_table_quick_mode_writes_the_table_and_chart_outside_the_repo(
    docker_engine: None,
) -> None:
    """hello (`default`, `min`) on 3 runtimes: the size targets are met and every image is
    its base plus what slim put there (the script fails otherwise); BENCHMARKS.md and the
    chart go to a temporary folder, never the repository's, and hold each variant."""
    tracked = {
        p: p.stat().st_mtime for p in (ROOT / "BENCHMARKS.md", ROOT / "benchmarks" / "sizes.svg")
    }
    run = quick("seed_table", timeout=600)
    wrote = re.search(r"^seed_table: wrote (\S+) and (\S+)$", run.stderr, re.M)
    assert wrote, run.stderr
    markdown, svg = Path(wrote.group(1)), Path(wrote.group(2))
    try:
        assert ROOT not in markdown.parents and ROOT not in svg.parents
        assert {p: p.stat().st_mtime for p in tracked} == tracked
        text = markdown.read_text()
        for runtime in ("alpine", "scratch-glibc", "scratch-musl"):
            assert re.search(rf"^\| [^|]+ \| `{runtime}` \| .* \| 0\.\d+ \|", text, re.M), text
        assert "| 0 B | 0 B for all 6 | yes |" in text
        assert len(re.findall(r"^\| hello on `scratch-\w+`, .* \| yes \|$", text, re.M)) == 3
        titles = re.findall(r"<title>(hello[\w-]*): ([\d,]+) B</title>", svg.read_text())
        assert len(titles) == 6 and all(int(n.replace(",", "")) > 0 for _, n in titles)
        assert "| `slim bake`: build, smoke-run and measure all 6 targets" in run.stdout
    finally:
        shutil.rmtree(markdown.parent, ignore_errors=True)
