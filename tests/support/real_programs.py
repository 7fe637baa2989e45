"""Real programs and their hand-written reference builds (issue 12's proof on real software).

For each program (sources: tests/support/sources.py) this module knows how to build it by hand
— a multi-stage Dockerfile written the way a careful engineer would, same compiler, same flags
— into `FROM scratch` (static) and onto the debian-slim stand-in (dynamic), builds it on the
engine, smoke-runs it and measures it with slim's own measurement, so that slim's images of the
same program can be compared with them (within 5%), and with Debian's binary package.

The Dockerfiles are written to a temporary folder at run time (never committed); the build
context is the unpacked source tree.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from support.sources import download_binary, fetch

GCC_TOOLS = (
    "slim-standin/gcc:tools"  # gcc, g++, make, cmake, meson, autotools (scripts/standins.sh)
)
GOLANG = "slim-standin/golang:bookworm"
RUST = "slim-standin/rust:bookworm"
DEBIAN_SLIM = "slim-standin/debian:bookworm-slim"


@dataclass(frozen=True)
class Program:
    name: str  # also the key in sources.SOURCES and tests/data/real/<name>.slim.yaml
    binary: str  # the executable's name
    toolchain: str  # build stage image
    static_build: str  # shell commands leaving the static, stripped binary at /out/<binary>
    dynamic_build: str  # same, dynamically linked
    smoke_args: tuple[str, ...]
    smoke_expect: str  # a substring of the smoke run's stdout
    deb_package: str  # Debian's binary package of the program
    deb_path: str  # the executable inside it
    musl_build: str | None = None  # static with musl-gcc (C only: Debian has no musl C++/Rust)


_AUTOTOOLS = "./configure --prefix=/usr/local --disable-nls CFLAGS=-O2 LDFLAGS='{ld}' >/dev/null"
_CMAKE = (
    "cmake -S . -B /tmp/build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF"
    " -DCMAKE_EXE_LINKER_FLAGS='{ld}' >/dev/null"
)
_GO = (
    "CGO_ENABLED={cgo} go build -trimpath -ldflags '-s -w -X main.version=3.6.0'"
    " -o /out/shfmt ./cmd/shfmt"
)
_CARGO = (
    "CARGO_PROFILE_RELEASE_STRIP=true {flags}cargo build --release"
    " --target x86_64-unknown-linux-gnu"
    " && cp target/x86_64-unknown-linux-gnu/release/rg /out/rg"
)

PROGRAMS: dict[str, Program] = {
    p.name: p
    for p in (
        Program(
            "hello",
            "hello",
            GCC_TOOLS,
            f"{_AUTOTOOLS.format(ld='-static')} && make -j2 >/dev/null"
            " && make install DESTDIR=/install >/dev/null"
            " && strip --strip-all -o /out/hello /install/usr/local/bin/hello",
            f"{_AUTOTOOLS.format(ld='')} && make -j2 >/dev/null"
            " && make install DESTDIR=/install >/dev/null"
            " && strip --strip-all -o /out/hello /install/usr/local/bin/hello",
            ("--version",),
            "hello (GNU Hello) 2.10",
            "hello",
            "/usr/bin/hello",
            f"{_AUTOTOOLS.format(ld='-static')} CC=musl-gcc && make -j2 >/dev/null"
            " && make install DESTDIR=/install >/dev/null"
            " && strip --strip-all -o /out/hello /install/usr/local/bin/hello",
        ),
        Program(
            "lz4",
            "lz4",
            GCC_TOOLS,
            "make -j2 -C programs lz4 CC=gcc CFLAGS=-O2 LDFLAGS=-static >/dev/null"
            " && strip --strip-all -o /out/lz4 programs/lz4",
            "make -j2 -C programs lz4 CC=gcc CFLAGS=-O2 >/dev/null"
            " && strip --strip-all -o /out/lz4 programs/lz4",
            ("--version",),
            "v1.9.4",
            "lz4",
            "/usr/bin/lz4",
            "make -j2 -C programs lz4 CC=musl-gcc CFLAGS=-O2 LDFLAGS=-static >/dev/null"
            " && strip --strip-all -o /out/lz4 programs/lz4",
        ),
        Program(
            "ninja",
            "ninja",
            GCC_TOOLS,
            f"{_CMAKE.format(ld='-static')} && cmake --build /tmp/build -j2 >/dev/null"
            " && DESTDIR=/install cmake --install /tmp/build >/dev/null"
            " && strip --strip-all -o /out/ninja /install/usr/local/bin/ninja",
            f"{_CMAKE.format(ld='')} && cmake --build /tmp/build -j2 >/dev/null"
            " && DESTDIR=/install cmake --install /tmp/build >/dev/null"
            " && strip --strip-all -o /out/ninja /install/usr/local/bin/ninja",
            ("--version",),
            "1.11.1",
            "ninja-build",
            "/usr/bin/ninja",
        ),
        Program(
            "ripgrep",
            "rg",
            RUST,
            _CARGO.format(flags="RUSTFLAGS='-C target-feature=+crt-static' "),
            _CARGO.format(flags=""),
            ("--version",),
            "ripgrep 13.0.0",
            "ripgrep",
            "/usr/bin/rg",
        ),
        Program(
            "shfmt",
            "shfmt",
            GOLANG,
            _GO.format(cgo=0),
            _GO.format(cgo=1),
            ("--version",),
            "3.6.0",
            "shfmt",
            "/usr/bin/shfmt",
        ),
    )
}


def dockerfile(program: Program, static: bool, musl: bool = False) -> str:
    """The hand-written reference: build stage, then scratch (static) or debian-slim (dynamic)."""
    build = program.static_build if static else program.dynamic_build
    if musl:
        if not (static and program.musl_build):
            raise ValueError(f"{program.name}: no static musl reference")
        build = program.musl_build
    runtime = "scratch" if static else DEBIAN_SLIM
    return (
        f"FROM {program.toolchain} AS build\n"
        "WORKDIR /src\n"
        "COPY . .\n"
        f"RUN mkdir -p /out && {build}\n"
        f"FROM {runtime}\n"
        f"COPY --from=build /out/{program.binary} /usr/local/bin/{program.binary}\n"
        f'ENTRYPOINT ["/usr/local/bin/{program.binary}"]\n'
    )


@dataclass(frozen=True)
class Reference:
    program: str
    variant: str  # "static" (scratch), "static-musl" (scratch) or "dynamic" (debian-slim)
    image: str
    base: str | None
    build_seconds: float
    image_size: int  # slim's measurement: file bytes over all layers
    added_size: int  # the bytes above the base image
    binary_size: int
    smoke_stdout: str


def build_reference(
    name: str, static: bool, tag_prefix: str = "slim-reference", musl: bool = False
) -> Reference:
    """Build, smoke-run and measure the hand-written reference of program `name`."""
    from slim_bake.measure import measure

    program = PROGRAMS[name]
    variant = ("static" if static else "dynamic") + ("-musl" if musl else "")
    tag = f"{tag_prefix}/{name}:{variant}"
    context = fetch(name)
    with tempfile.TemporaryDirectory(prefix="slim-ref-") as tmp:
        path = Path(tmp) / "Dockerfile"
        path.write_text(dockerfile(program, static, musl))
        start = time.monotonic()
        subprocess.run(
            ["docker", "buildx", "build", "--load", "-q", "-t", tag, "-f", str(path), str(context)],
            check=True,
            capture_output=True,
            text=True,
        )
        seconds = time.monotonic() - start
    smoke = subprocess.run(
        ["docker", "run", "--rm", tag, *program.smoke_args],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if program.smoke_expect not in smoke.stdout:
        raise AssertionError(f"{tag}: {program.smoke_expect!r} not in {smoke.stdout!r}")
    base = None if static else DEBIAN_SLIM
    measured = measure(tag, base)
    binary = f"/usr/local/bin/{program.binary}"
    binary_size = next(f.size for f in measured.files if f.path == binary)
    base_size = measure(base, None).size if base else 0
    return Reference(
        name,
        variant,
        tag,
        base,
        seconds,
        measured.size,
        measured.size - base_size,
        binary_size,
        smoke.stdout.strip().splitlines()[0],
    )


@dataclass(frozen=True)
class DebianPackage:
    package: str
    version: str
    installed_size: int  # bytes (dpkg's Installed-Size is KiB)
    binary_size: int  # the executable's own size in the package


def debian_package(name: str) -> DebianPackage:
    """The program as Debian ships it: Installed-Size and the executable's size."""
    program = PROGRAMS[name]
    deb = download_binary(program.deb_package)
    fields = subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Version", "Installed-Size"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    values = dict(line.split(": ", 1) for line in fields.strip().splitlines())
    data = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], check=True, capture_output=True)
    with tarfile.open(fileobj=io.BytesIO(data.stdout)) as tar:
        member = tar.getmember("." + program.deb_path)
        binary_size = member.size
    return DebianPackage(
        program.deb_package, values["Version"], int(values["Installed-Size"]) * 1024, binary_size
    )


# ---------------------------------------------------------------------------------------------
# The same programs through `slim bake`, from the slim.yaml a user writes (tests/data/real/).

DATA = Path(__file__).resolve().parent.parent / "data" / "real"
STANDIN_BASES_FILE = Path(__file__).resolve().parent / "standin_bases.yaml"

# Every runtime slim has, in the order of the seed's table (biggest first).
RUNTIMES = (
    "single-stage",
    "ubuntu",
    "debian-slim",
    "alpine",
    "alpine-static",
    "busybox-glibc",
    "distroless-cc",
    "distroless-static",
    "scratch-closure",
    "scratch-glibc",
    "scratch-musl",
)

_NO_MUSL_CXX = "Debian's musl-tools has musl-gcc only, no musl C++ compiler or libstdc++"
_NO_MUSL_RUST = "Debian's rustc has no x86_64-unknown-linux-musl standard library"
# The runtime × program pairs this machine cannot build, or whose image cannot run, and why.
# Everything else is built and smoke-run.
NOT_BUILDABLE: dict[str, dict[str, str]] = {
    "ninja": {"alpine": _NO_MUSL_CXX, "scratch-musl": _NO_MUSL_CXX},
    "ripgrep": {"alpine": _NO_MUSL_RUST, "scratch-musl": _NO_MUSL_RUST},
}

# The C and C++ programs need the build-system stand-in (make, cmake, autotools, g++).
TOOLS_BASES: dict[str, object] = {
    "gcc": GCC_TOOLS,
    "musl-gcc": {"image": GCC_TOOLS, "setup": None, "vars": {"cc": "musl-gcc"}},
}


def buildable(name: str) -> list[str]:
    """The runtimes program `name` builds on here, in RUNTIMES' order."""
    return [r for r in RUNTIMES if r not in NOT_BUILDABLE.get(name, {})]


def user_config(name: str) -> dict[str, Any]:
    """tests/data/real/<name>.slim.yaml as the user wrote it."""
    config: dict[str, Any] = yaml.safe_load((DATA / f"{name}.slim.yaml").read_text())
    return config


def write_project(name: str, root: Path, registry: str, leave_out: Collection[str] = ()) -> Path:
    """The source tree in root/<name> and the user's slim.yaml with the offline stand-in bases
    and `registry` (without the runtimes `leave_out`); returns slim.yaml. The same for the tests
    and the benchmark, so that one warms BuildKit's cache for the other."""
    shutil.copytree(fetch(name), root / name, symlinks=True)
    bases = yaml.safe_load(STANDIN_BASES_FILE.read_text())
    config = {**user_config(name), "registry": registry, "bases": {**bases, **TOOLS_BASES}}
    artifact = config["artifacts"][name]
    artifact["runtimes"] = [r for r in artifact["runtimes"] if r not in leave_out]
    artifact["budgets"] = {k: v for k, v in artifact["budgets"].items() if k not in leave_out}
    path = root / "slim.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@dataclass(frozen=True)
class Baked:
    """One image `slim bake` made of a real program, from its JSON report."""

    runtime: str
    image: str
    size: int
    base_size: int
    binary_size: int
    smoke_ok: bool
    status: str


def bake(name: str, slim_yaml: Path, timeout: float = 3600) -> tuple[list[Baked], float, str]:
    """`slim bake` of every runtime in slim_yaml: the images, wall seconds, slim's output."""
    report = slim_yaml.parent / "slim-report.json"
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "slim_bake", "bake", "-c", str(slim_yaml),
         "--write-report", str(report)],
        cwd=slim_yaml.parent, capture_output=True, text=True, check=False, timeout=timeout,
    )  # fmt: skip
    seconds = time.monotonic() - start
    output = done.stdout + done.stderr
    if done.returncode != 0 or not report.exists():
        raise AssertionError(f"slim bake of {name} exited {done.returncode}:\n{output}")
    binary = f"/usr/local/bin/{PROGRAMS[name].binary}"
    baked = []
    for target in json.loads(report.read_text())["targets"]:
        m = target["measurement"]
        files = {f["path"]: f["size"] for f in m["files"]["largest"]}
        # single-stage keeps the program where the build put it
        size = files.get(binary, files.get(f"/out/{PROGRAMS[name].binary}", 0))
        smoke = target["smoke"]
        baked.append(
            Baked(
                target["runtime"],
                m["image"],
                m["size"],
                m["base_size"] or 0,
                size,
                bool(smoke and smoke["ok"]),
                target["status"],
            )  # fmt: skip
        )
    return baked, seconds, output
