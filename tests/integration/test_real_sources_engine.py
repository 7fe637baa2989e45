"""Real programs from Debian source packages, built by hand and through slim on every
runtime buildable here."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from support import sources
from support.bake_support import remove_images, unique_registry
from support.real_programs import (
    PROGRAMS,
    bake,
    build_reference,
    buildable,
    debian_package,
    write_project,
)


@pytest.mark.docker
def test_lz4_fetched_built_by_hand_into_scratch_and_measured(docker_engine: None) -> None:
    """The whole chain on real software: Debian source → hand-written scratch build → smoke →
    slim's measurement, beside Debian's own binary package."""
    tree = sources.fetch("lz4")
    assert (tree / "programs" / "lz4cli.c").exists()
    ref = build_reference("lz4", static=True, tag_prefix="slim-test-reference")
    try:
        assert "v1.9.4" in ref.smoke_stdout
        # scratch holds the static binary and nothing else
        assert ref.image_size == ref.binary_size == ref.added_size
        assert 200_000 < ref.binary_size < 2_000_000
        deb = debian_package("lz4")
        assert deb.version.startswith("1.9.4")
        assert deb.binary_size > 0
    finally:
        subprocess.run(["docker", "rmi", "-f", ref.image], capture_output=True, check=False)


def _assert_sizes_in_order(name: str, size: dict[str, int]) -> None:
    """What a user choosing a runtime sees: the smaller the base, the smaller the image."""
    chains = [
        ["scratch-glibc", "distroless-static", "alpine-static", "debian-slim", "single-stage"],
        ["scratch-closure", "distroless-cc", "debian-slim"],
        ["alpine", "busybox-glibc", "debian-slim"],
    ]
    for chain in chains:
        present = [r for r in chain if r in size]
        for small, big in zip(present, present[1:], strict=False):
            assert size[small] < size[big], (name, small, size[small], big, size[big])
    if "scratch-musl" in size:  # musl's static libc is smaller (Go: the same binary)
        assert size["scratch-musl"] <= size["scratch-glibc"], (name, size)


# The CI run leaves out one image the benchmark (benchmarks/real_programs.py) still builds:
# the single stage of the Rust and Go programs is their ~0.8 GB toolchain image plus the build
# tree, whose measurement (sizes, compressed size) costs about a minute each on 2 cores, for a
# figure nobody budgets. The C and C++ single stages share one toolchain base: measured once.
CI_LEAVES_OUT = {"ripgrep": ("single-stage",), "shfmt": ("single-stage",)}


@pytest.mark.docker
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_real_program_on_every_runtime_buildable_here(
    docker_engine: None, tmp_path: Path, name: str
) -> None:
    """GNU hello (autotools), lz4 (its own Makefile), ninja (C++, CMake), ripgrep (Rust, ~35
    crates from Debian's librust-*-dev offline) and shfmt (Go, modules vendored from Debian's
    golang-*-dev), each baked once by `slim bake` from the slim.yaml a user writes on every
    runtime buildable here (but CI_LEAVES_OUT), smoke-run by slim with a real invocation, its
    sizes in the order a user expects, and its scratch variants within 5% of the hand-written
    multi-stage build with the same flags."""
    registry = unique_registry(f"real-{name}")
    leave_out = CI_LEAVES_OUT.get(name, ())
    slim_yaml = write_project(name, tmp_path, registry, leave_out)
    refs = [build_reference(name, static=True, tag_prefix="slim-test-reference")]
    if PROGRAMS[name].musl_build:
        refs.append(build_reference(name, True, tag_prefix="slim-test-reference", musl=True))
    images: list[str] = []
    try:
        baked, _, output = bake(name, slim_yaml)
        images = [b.image for b in baked]
        by = {b.runtime: b for b in baked}
        assert sorted(by) == sorted(set(buildable(name)) - set(leave_out))
        assert all(b.smoke_ok and b.status == "pass" for b in baked), output
        # The glibc-dynamic runtimes share one build stage: the same program everywhere.
        dynamic = [
            r
            for r in ("ubuntu", "debian-slim", "busybox-glibc", "distroless-cc", "scratch-closure")
            if r in by
        ]
        assert len({by[r].binary_size for r in dynamic}) == 1, [by[r] for r in dynamic]
        _assert_sizes_in_order(name, {r: b.size for r, b in by.items()})
        for ref in refs:
            ours = by["scratch-musl" if ref.variant == "static-musl" else "scratch-glibc"]
            assert ref.image_size * 0.95 <= ours.size <= ref.image_size * 1.05, (ours, ref)
            if name == "shfmt":  # same flags, same Go binary
                assert ours.binary_size == by["scratch-musl"].binary_size == ref.binary_size
    finally:
        remove_images([*images, *(ref.image for ref in refs)])
