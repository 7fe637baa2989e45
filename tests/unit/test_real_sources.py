"""The real-program infrastructure: pinned Debian sources, Go vendoring, reference builds."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import sources
from support.real_programs import (
    NOT_BUILDABLE,
    PROGRAMS,
    RUNTIMES,
    buildable,
    dockerfile,
    user_config,
)

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
    data = Path(__file__).resolve().parents[1] / "data" / "real"
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


def test_every_user_slim_yaml_names_every_runtime_buildable_here() -> None:
    """A user's slim.yaml asks for every runtime this machine can build; the ones left out
    are exactly those with a stated reason (no musl C++ compiler, no Rust musl target)."""
    for name in PROGRAMS:
        runtimes = user_config(name)["artifacts"][name]["runtimes"]
        assert sorted(runtimes) == sorted(buildable(name)), name
        assert set(RUNTIMES) - set(runtimes) == set(NOT_BUILDABLE.get(name, {})), name
    assert len(RUNTIMES) == 11
