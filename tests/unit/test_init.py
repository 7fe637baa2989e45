"""`slim init`: what it recognises in a repository of each kind, the slim.yaml it
writes (accepted by `slim validate`), that it never overwrites, and on the real
engine: init --bake on a tiny C repository, then `slim bake` passes."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from support.bake_support import (
    HELLO_C,
    run_slim,
)
from support.init_helpers import repo

from slim_bake.detect import Detection, detect
from slim_bake.output import write_new
from slim_bake.scaffold import budget_size
from slim_bake.units import parse_size

GO_MAIN = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hi") }\n'


def found(root: Path, files: dict[str, str]) -> Detection:
    detection = detect(repo(root, files))
    assert detection is not None
    return detection


# --- What it recognises ------------------------------------------------------------------


def test_go_module_names_the_binary_after_the_module_path(tmp_path: Path) -> None:
    d = found(tmp_path, {"go.mod": "module github.com/acme/tool/v2\n\ngo 1.19\n", "m.go": GO_MAIN})
    assert (d.lang, d.system, d.binary, d.found) == ("go", "go", "tool", "go.mod")
    assert d.artifact() == {
        "lang": "go",
        "context": ".",
        "runtimes": ["scratch-glibc", "distroless-static", "debian-slim"],
    }


def test_go_module_with_its_program_under_cmd(tmp_path: Path) -> None:
    d = found(
        tmp_path,
        {
            "go.mod": "module example.com/lib\n",
            "lib.go": "package lib\n",
            "cmd/srv/main.go": GO_MAIN,
        },
    )
    assert d.binary == "srv"
    assert d.build == {"package": "./cmd/srv"}


def test_cargo_bin_section_wins_over_the_package_name(tmp_path: Path) -> None:
    manifest = '[package]\nname = "my-crate"\nversion = "0.1.0"\n\n[[bin]]\nname = "mc"\n'
    d = found(tmp_path, {"Cargo.toml": manifest, "src/main.rs": "fn main() {}\n"})
    assert (d.lang, d.binary) == ("rust", "mc")
    only_package = found(tmp_path / "p", {"Cargo.toml": '[package]\nname = "my-crate"\n'})
    assert (only_package.binary, only_package.name) == ("my-crate", "my-crate")
    assert only_package.runtimes[0] == "scratch-glibc"


def test_c_sources_name_the_file_with_main(tmp_path: Path) -> None:
    d = found(tmp_path, {"util.c": "int twice(int x) { return 2 * x; }\n", "tool.c": HELLO_C})
    assert (d.lang, d.system, d.binary, d.build) == ("c", "sources", "tool", {})
    assert d.runtimes[0] == "scratch-musl"  # static-friendly first


def test_cpp_sources(tmp_path: Path) -> None:
    d = found(tmp_path, {"app.cpp": "int main() { return 0; }\n"})
    assert (d.lang, d.system, d.binary) == ("cpp", "sources", "app")
    assert d.build == {"sources": ["./*.cpp"]}
    assert "scratch-musl" not in d.runtimes  # no musl C++ compiler


def test_makefile_program_from_the_all_target(tmp_path: Path) -> None:
    makefile = (
        "CC ?= cc\n.PHONY: all clean\nall: frob docs\n\nfrob: frob.o util.o\n\t$(CC) -o $@ $^\n"
    )
    d = found(tmp_path, {"Makefile": makefile, "frob.c": HELLO_C})
    assert (d.lang, d.system, d.binary) == ("c", "make", "frob")
    assert d.artifact()["build"] == {"system": "make"}


def test_makefile_without_all_takes_its_first_program_rule(tmp_path: Path) -> None:
    d = found(tmp_path, {"makefile": "clean:\n\trm -f x\nzap: zap.c\n\tcc -o zap zap.c\n"})
    assert d.binary == "zap"


def test_cmake_executable_and_where_it_is_taken_from(tmp_path: Path) -> None:
    text = "project(Widget CXX)\nadd_executable(${PROJECT_NAME} main.cpp)\n"
    d = found(tmp_path, {"CMakeLists.txt": text, "main.cpp": "int main() {}\n"})
    assert (d.lang, d.system, d.binary, d.name) == ("cpp", "cmake", "Widget", "widget")
    # no install() rule: the program is taken from CMake's build folder
    assert d.build == {
        "system": "cmake",
        "install": False,
        "outputs": {"Widget": "/tmp/build/Widget"},
    }
    assert d.artifact()["binary"] == "Widget"
    installed = found(
        tmp_path / "i",
        {"CMakeLists.txt": "add_executable(tool a.c)\ninstall(TARGETS tool)\n", "a.c": HELLO_C},
    )
    assert (installed.lang, installed.binary, installed.build) == ("c", "tool", {"system": "cmake"})


def test_meson_executable(tmp_path: Path) -> None:
    d = found(tmp_path, {"meson.build": "project('x', 'c')\nexecutable('mtool', 'a.c')\n"})
    assert (d.system, d.binary, d.build) == ("meson", "mtool", {"system": "meson"})


def test_autotools_program_from_makefile_am_else_ac_init(tmp_path: Path) -> None:
    d = found(
        tmp_path,
        {
            "configure.ac": "AC_INIT([GNU Hello], [2.10])\n",
            "Makefile.am": "bin_PROGRAMS = hello\n",
            "Makefile": "all:\n",  # a generated Makefile does not make it a make project
        },
    )
    assert (d.system, d.binary, d.build) == ("autotools", "hello", {"system": "autotools"})
    fallback = found(tmp_path / "f", {"configure.ac": "AC_INIT([frob], [1.0])\n"})
    assert fallback.binary == "frob"


def test_a_go_module_wins_over_a_makefile_beside_it(tmp_path: Path) -> None:
    d = found(tmp_path, {"Makefile": "all: x\n", "go.mod": "module a/b\n", "m.go": GO_MAIN})
    assert d.lang == "go"


def test_nothing_recognisable(tmp_path: Path) -> None:
    assert detect(repo(tmp_path, {"README.md": "# hi\n", "main.py": "print()\n"})) is None


# --- What it writes ----------------------------------------------------------------------


def init(root: Path, *args: str) -> tuple[int, str, str]:
    run = run_slim("init", *args, cwd=root)
    return run.returncode, run.stdout, run.stderr


@pytest.mark.parametrize(
    "files",
    [
        {"hello.c": HELLO_C},
        {"go.mod": "module example.com/hello\n", "main.go": GO_MAIN},
        {"Cargo.toml": '[package]\nname = "hello"\nversion = "0.1.0"\n'},
    ],
    ids=["c", "go", "rust"],
)
def test_init_writes_a_slim_yaml_that_validates(tmp_path: Path, files: dict[str, str]) -> None:
    code, out, err = init(repo(tmp_path, files))
    assert code == 0, err
    assert out.startswith("slim: wrote slim.yaml: hello")
    config = yaml.safe_load((tmp_path / "slim.yaml").read_text())
    assert list(config["artifacts"]) == ["hello"]
    valid = run_slim("validate", cwd=tmp_path)
    assert valid.returncode == 0, valid.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file


def test_init_never_overwrites(tmp_path: Path) -> None:
    repo(tmp_path, {"hello.c": HELLO_C, "slim.yaml": "mine\n"})
    code, out, err = init(tmp_path)
    assert code == 2
    assert "slim.yaml exists: slim init never overwrites it (nothing written)" in err
    assert (tmp_path / "slim.yaml").read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hello.c", "slim.yaml"]


def test_write_new_refuses_a_file_that_appeared_and_leaves_no_temporary_file(
    tmp_path: Path,
) -> None:
    target = tmp_path / "slim.yaml"
    write_new(target, "first\n")
    with pytest.raises(FileExistsError):
        write_new(target, "second\n")
    assert target.read_text() == "first\n"
    assert os.listdir(tmp_path) == ["slim.yaml"]


def test_init_in_an_unrecognised_repository_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    code, _, err = init(repo(tmp_path, {"notes.txt": "x\n"}))
    assert code == 2
    assert "nothing slim init recognises" in err
    assert os.listdir(tmp_path) == ["notes.txt"]


def test_a_bad_bases_file_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    repo(tmp_path, {"hello.c": HELLO_C, "bases.yaml": "gcc: {image: 42}\n"})
    code, _, err = init(tmp_path, "--bases", "bases.yaml")
    assert code == 2
    assert "(not written)" in err and "bases.gcc" in err
    assert not (tmp_path / "slim.yaml").exists()


# --- Budgets from a first measurement ----------------------------------------------------


@pytest.mark.parametrize(
    ("size", "budget"),
    [
        (17_908, "20kB"),
        (683_000, "760kB"),
        (2_280_000, "2.6MB"),
        (74_500_000, "82MB"),
        (500, "550"),
    ],
)
def test_budget_is_the_size_plus_ten_percent_rounded_up(size: int, budget: str) -> None:
    assert budget_size(size, 0.10) == budget


@given(st.integers(min_value=0, max_value=10**13))
def test_a_budget_holds_the_headroom_and_not_much_more(size: int) -> None:
    limit = parse_size(budget_size(size, 0.10))
    assert limit >= size * 1.1 - 1e-6 * size
    assert limit <= math.ceil(size * 1.1 * 1.1) + 1  # two significant digits: <10% more


# --- On the real engine ------------------------------------------------------------------
