"""The real-program infrastructure: pinned Debian sources, Go vendoring, reference builds."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from bake_support import remove_images, run_slim, unique_registry
from support import sources
from support.real_programs import PROGRAMS, build_reference, debian_package, dockerfile

from slim_bake.measure import measure

GO_MOD = """module example.com/prog/v3

go 1.18

require (
\tgolang.org/x/term v0.3.0
\tgithub.com/pkg/diff v0.0.0-20210226163009-20ebb0f2a09e // a comment
)

require golang.org/x/sys v0.3.0 // indirect
"""


def test_go_requirements_reads_blocks_and_single_lines() -> None:
    assert sources._go_requirements(GO_MOD) == [
        ("golang.org/x/term", "v0.3.0"),
        ("github.com/pkg/diff", "v0.0.0-20210226163009-20ebb0f2a09e"),
        ("golang.org/x/sys", "v0.3.0"),
    ]


def test_go_packages_lists_non_test_packages_only(tmp_path: Path) -> None:
    for rel, name in [
        ("a.go", "a.go"),
        ("sub/b.go", "b.go"),
        ("onlytests/c_test.go", "c_test.go"),
        ("testdata/d.go", "d.go"),
        ("_example/e.go", "e.go"),
    ]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(f"package {name[0]}\n")
    assert sources._go_packages(tmp_path, "example.com/m") == ["example.com/m", "example.com/m/sub"]


def test_cache_keys_name_the_pin_and_every_change_to_the_tree() -> None:
    keys = {s.key for s in sources.SOURCES.values()}
    assert len(keys) == len(sources.SOURCES)
    assert sources.SOURCES["lz4"].key.endswith("-upstream")
    assert "1.11.1-2_deb12u1" in sources.SOURCES["ninja"].key  # no `~` in a folder name
    assert sources.SOURCES["ripgrep"].key.endswith("-no-Cargo.lock-edited")


def test_every_program_has_a_user_slim_yaml_and_a_reference() -> None:
    data = Path(__file__).parent / "data" / "real"
    assert set(PROGRAMS) == set(sources.SOURCES)
    for name, program in PROGRAMS.items():
        assert (data / f"{name}.slim.yaml").exists()
        static = dockerfile(program, static=True)
        assert "\nFROM scratch\n" in static
        assert f"/usr/local/bin/{program.binary}" in static


def test_fetch_of_a_cached_pin_takes_no_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = sources.SOURCES["hello"]
    tree = tmp_path / "trees" / source.key
    tree.mkdir(parents=True)
    (tree / "configure").write_text("#!/bin/sh\n")

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("apt-get was called for a cached source")

    monkeypatch.setattr(sources.Apt, "run", no_network)
    assert sources.fetch("hello", tmp_path) == tree


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


@pytest.mark.docker
def test_shfmt_through_slim_matches_the_hand_written_build(
    docker_engine: None, tmp_path: Path
) -> None:
    """shfmt (Go, modules vendored from Debian's golang-*-dev) built from the slim.yaml a user
    writes: smoke-run by slim, and on scratch within 5% of the hand-written multi-stage build
    (in fact the same binary plus /etc/passwd and /etc/group)."""
    shutil.copytree(sources.fetch("shfmt"), tmp_path / "shfmt", symlinks=True)
    config = yaml.safe_load(
        (Path(__file__).parent / "data" / "real" / "shfmt.slim.yaml").read_text()
    )
    registry = unique_registry("real-shfmt")
    config = {
        **config,
        "registry": registry,
        "bases": yaml.safe_load((Path(__file__).parent / "standin_bases.yaml").read_text()),
    }
    config["artifacts"]["shfmt"]["runtimes"] = ["scratch-musl"]
    (tmp_path / "slim.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    ref = build_reference("shfmt", static=True, tag_prefix="slim-test-reference")
    tag = f"{registry}/shfmt:scratch-musl"
    try:
        done = run_slim("bake", "-c", str(tmp_path / "slim.yaml"), cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        ours = measure(tag, None)
        binary = next(f.size for f in ours.files if f.path == "/usr/local/bin/shfmt")
        assert binary == ref.binary_size  # same flags, same binary size
        assert ref.image_size <= ours.size <= ref.image_size * 1.05
    finally:
        remove_images([ref.image, tag])


# The C and C++ programs need the build-system stand-in (make, cmake, autotools, g++).
TOOLS_BASES = {
    "gcc": "slim-standin/gcc:tools",
    "musl-gcc": {"image": "slim-standin/gcc:tools", "setup": None, "vars": {"cc": "musl-gcc"}},
}


@pytest.mark.docker
@pytest.mark.parametrize("name", ["hello", "lz4", "ninja", "ripgrep"])
def test_real_programs_through_slim_match_the_hand_written_build(
    docker_engine: None, tmp_path: Path, name: str
) -> None:
    """GNU hello (autotools), lz4 (its own Makefile), ninja (C++, CMake) and ripgrep (Rust,
    ~35 crates from Debian's librust-*-dev offline), built by `slim bake` from the slim.yaml a
    user writes, smoke-run by slim, and on scratch (static glibc) within 5% of the hand-written
    multi-stage build with the same flags."""
    shutil.copytree(sources.fetch(name), tmp_path / name, symlinks=True)
    config = yaml.safe_load(
        (Path(__file__).parent / "data" / "real" / f"{name}.slim.yaml").read_text()
    )
    registry = unique_registry(f"real-{name}")
    bases = yaml.safe_load((Path(__file__).parent / "standin_bases.yaml").read_text())
    artifact = config["artifacts"][name]
    artifact["runtimes"] = ["scratch-glibc"]  # one build per program keeps CI's time bounded
    artifact["budgets"] = {
        k: v for k, v in artifact.get("budgets", {}).items() if k in ("*", "scratch-glibc")
    }
    config = {**config, "registry": registry, "bases": {**bases, **TOOLS_BASES}}
    (tmp_path / "slim.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    ref = build_reference(name, static=True, tag_prefix="slim-test-reference")
    tag = f"{registry}/{name}:scratch-glibc"
    try:
        done = run_slim("bake", "-c", str(tmp_path / "slim.yaml"), cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        ours = measure(tag, None)
        binary = PROGRAMS[name].binary
        assert any(f.path == f"/usr/local/bin/{binary}" for f in ours.files)
        assert ref.image_size * 0.95 <= ours.size <= ref.image_size * 1.05, (
            ours.size,
            ref.image_size,
        )
    finally:
        remove_images([ref.image, tag])
