"""`slim bake` for real: the C hello (the seed's hello.c) and a Go hello, every runtime
and -debug companion, on the offline stand-in bases (tests/support/standin_bases.yaml), built
once for this module with the real engine; each test asserts on what the images hold."""

from __future__ import annotations

import io
import re
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

import pytest
from support.bake_support import (
    ALL_RUNTIMES,
    HELLO,
    STANDIN_BASES,
    c_artifact,
    elf_interpreter,
    file_from_image,
    go_artifact,
    remove_images,
    unique_registry,
    write_project,
)

from slim_bake.bake import base_image
from slim_bake.config import load_config
from slim_bake.engine import client
from slim_bake.judge import PASS
from slim_bake.measure import Measurement
from slim_bake.output import plan_changes, regenerate
from slim_bake.pipeline import TargetResult, bake_targets
from slim_bake.plan import Plan, Target, make_plan
from slim_bake.report.build import from_results
from slim_bake.report.compare import compare
from slim_bake.report.terminal import format_table
from slim_bake.units import parse_size

pytestmark = pytest.mark.docker

ARTIFACTS = ("hello", "gohello")  # C and Go


@dataclass
class Baked:
    plan: Plan
    results: dict[str, TargetResult]

    def target(self, name: str) -> Target:
        return next(t for t in self.plan.targets if t.name == name)

    def measured(self, name: str) -> Measurement:
        measurement = self.results[name].measurement
        assert measurement is not None, self.results[name].reasons
        return measurement


@pytest.fixture(scope="module")
def baked(docker_engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Baked]:
    root = tmp_path_factory.mktemp("standin")
    artifacts = {"hello": c_artifact(ALL_RUNTIMES), "gohello": go_artifact(ALL_RUNTIMES)}
    path = write_project(root, artifacts, unique_registry("standin"))
    plan = make_plan(load_config(path))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SLIM_CACHE_DIR", str(root / "measure-cache"))  # measure for real
        regenerate(plan)
        results = bake_targets(plan, list(plan.targets))
    yield Baked(plan, {r.target: r for r in results})
    remove_images(t.tags[0] for t in plan.targets)


def ldd(binary: bytes) -> set[str]:
    """The libraries glibc's ldd resolves for `binary`, in the gcc stand-in (empty: static)."""
    run = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "-i",
            "--network",
            "none",
            STANDIN_BASES["gcc"],
            "sh",
            "-c",
            "cat >/tmp/program && chmod +x /tmp/program && ldd /tmp/program",
        ],
        input=binary,
        capture_output=True,
        check=False,
    )
    paths = set()
    for line in run.stdout.decode().splitlines():
        words = line.split()
        if "=>" in words and words[words.index("=>") + 1].startswith("/"):
            paths.add(words[words.index("=>") + 1])
        elif words and words[0].startswith("/"):
            paths.add(words[0])
    return paths


def test_every_standin_variant_of_the_c_and_go_hello_builds_runs_and_passes(baked: Baked) -> None:
    assert len(baked.results) == len(ALL_RUNTIMES) * len(ARTIFACTS)
    for name, result in baked.results.items():
        assert result.status == PASS, (name, result.reasons)
        assert result.smoke is not None and result.smoke.ok, name
        assert result.smoke.stdout.rstrip() == HELLO and result.smoke.exit_code == 0, name
        assert result.measurement is not None and result.measurement.size > 0


def test_standin_scratch_musl_c_hello_is_at_most_20kB_and_scratch_glibc_at_most_800kB(
    baked: Baked,
) -> None:
    assert baked.measured("hello-scratch-musl").size <= parse_size("20kB")
    assert baked.measured("hello-scratch-glibc").size <= parse_size("800kB")


@pytest.mark.parametrize("artifact", ARTIFACTS)
def test_standin_scratch_closure_runs_the_dynamic_binary_with_exactly_its_closure(
    baked: Baked, artifact: str
) -> None:
    """The C program is dynamic: the image holds the loader it names and what ldd
    resolves (+ libgcc_s, which glibc dlopens). The Go one is static: no library."""
    name = f"{artifact}-scratch-closure"
    image = baked.target(name).tags[0]
    binary = file_from_image(image, "/usr/local/bin/hello")
    needed = ldd(binary)
    closure = {f.path for f in baked.measured(name).files} - {
        "/usr/local/bin/hello",
        "/etc/passwd",
        "/etc/group",
    }
    interpreter = elf_interpreter(binary)
    if artifact == "hello":
        assert interpreter is not None and interpreter in needed, (
            "the C hello is dynamically linked"
        )
        libdir = next(
            str(PurePosixPath(p).parent) for p in needed if PurePosixPath(p).name == "libc.so.6"
        )
        assert closure == needed | {f"{libdir}/libgcc_s.so.1"}
    else:
        assert interpreter is None and needed == set(), "the Go hello is statically linked"
        assert closure == set()
    assert (
        baked.results[name].smoke is not None and baked.results[name].smoke.stdout.rstrip() == HELLO
    )


@pytest.mark.parametrize(
    "runtime", ["scratch-musl", "scratch-glibc", "distroless-static", "alpine-static"]
)
def test_standin_static_variants_carry_a_static_binary(baked: Baked, runtime: str) -> None:
    for artifact in ARTIFACTS:
        binary = file_from_image(
            baked.target(f"{artifact}-{runtime}").tags[0], "/usr/local/bin/hello"
        )
        assert elf_interpreter(binary) is None, f"{artifact}-{runtime}"


def expected_files(target: Target, closure: set[str]) -> set[str]:
    """What a runtime stage may add to its base: the program, the switched-on files
    (passwd, group) for scratch, the closure, busybox for a -debug companion."""
    files = {f"/usr/local/bin/{target.artifact.binary}"}
    if target.rootfs:
        files |= {"/etc/passwd", "/etc/group"}
    if target.closure:
        files |= closure
    if target.debug:
        files.add("/busybox/busybox")
    return files


def test_no_standin_runtime_stage_carries_a_byte_beyond_base_artifact_closure_and_switched_on_files(
    baked: Baked,
) -> None:
    for target in baked.plan.targets:
        measured = baked.measured(target.name)
        base = base_image(target)
        base_layers = (
            [] if base == "scratch" else client().images.get(base).attrs["RootFS"]["Layers"]
        )
        assert [layer.diff_id for layer in measured.layers if layer.from_base] == base_layers, (
            target.name
        )
        added = {f.path for f in measured.files}
        if (
            target.base is None
        ):  # single-stage: the toolchain image plus the sources and the program
            context = baked.plan.config.directory / target.artifact.context
            assert added == {f"/src/{p.name}" for p in context.iterdir()} | {"/out/hello"}, (
                target.name
            )
            continue
        closure = {p for p in added if re.search(r"/lib[^/]*/.*\.so(\.\d+)*$", p)}
        assert added == expected_files(target, closure), target.name
        own = sum(layer.size for layer in measured.layers if not layer.from_base)
        assert own == sum(f.size for f in measured.files), target.name


def test_standin_variants_of_one_flavour_carry_the_same_program(baked: Baked) -> None:
    for artifact in ARTIFACTS:
        sizes: dict[str, set[int]] = {}
        for target in baked.plan.targets:
            if target.artifact.name != artifact or target.base is None:
                continue
            program = {
                f.size
                for f in baked.measured(target.name).files
                if f.path == "/usr/local/bin/hello"
            }
            sizes.setdefault(target.build.flavour, set()).update(program)
        assert all(len(found) == 1 for found in sizes.values()), sizes
        assert len(sizes) >= 3


def test_standin_each_layer_names_the_instruction_that_made_it(baked: Baked) -> None:
    for name in (
        "hello-scratch-musl",
        "gohello-debian-slim",
        "hello-single-stage",
        "gohello-single-stage",
    ):
        measured = baked.measured(name)
        program = next(f for f in measured.files if f.path.endswith("/hello"))
        made_by = measured.layers[program.layer].created_by
        if name.endswith("single-stage"):
            assert program.path in made_by, measured.layers
        else:  # the files stage's tree, stamped with SOURCE_DATE_EPOCH (reproducible)
            assert made_by == "COPY /files/ / # buildkit", measured.layers
        assert all(layer.created_by for layer in measured.layers if not layer.from_base)


def flattened_size(image: str) -> int:
    """Regular-file bytes of the image's file system as `docker export` flattens it."""
    container = client().containers.create(image)
    try:
        data = b"".join(container.export())
    finally:
        container.remove(force=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return sum(
            m.size
            for m in tar
            if m.isfile() and not m.name.startswith((".dockerenv", "./.dockerenv"))
        )


@pytest.mark.parametrize(
    "runtime", ["scratch-musl", "scratch-glibc", "scratch-closure", "scratch-musl-debug"]
)
def test_standin_size_equals_the_flattened_file_system(baked: Baked, runtime: str) -> None:
    for artifact in ARTIFACTS:
        target = baked.target(f"{artifact}-{runtime}")
        assert baked.measured(target.name).size == flattened_size(target.tags[0])


def symlink_bytes(image: str) -> int:
    """Bytes of symlink targets over the image's layer tars: the classic store adds
    them to `.Size` for layers it unpacks natively; slim counts file content only."""
    data = b"".join(client().images.get(image).save())
    total = 0
    with tarfile.open(fileobj=io.BytesIO(data)) as outer:
        for member in outer:
            handle = (
                outer.extractfile(member)
                if member.isfile() and member.name.startswith("blobs/")
                else None
            )
            if handle is None:
                continue
            try:
                with tarfile.open(fileobj=io.BytesIO(handle.read())) as layer:
                    total += sum(len(m.linkname) for m in layer if m.issym())
            except tarfile.ReadError:
                continue  # a JSON blob
    return total


def disl(image: str, limit: int) -> int:
    return subprocess.run(["disl", image, str(limit)], capture_output=True, check=False).returncode


def test_standin_size_agrees_with_disl_on_the_classic_store(baked: Baked) -> None:
    drivers = str(client().info().get("DriverStatus"))
    assert "containerd" not in drivers, "this comparison needs the classic image store"
    for artifact in ARTIFACTS:
        for runtime in ("scratch-musl", "scratch-glibc", "scratch-closure"):
            target = baked.target(f"{artifact}-{runtime}")
            size = baked.measured(target.name).size
            assert disl(target.tags[0], size) == 0, target.name  # within its own size
            assert disl(target.tags[0], size - 1) == 1, target.name  # and not one byte less
        for runtime in (
            "debian-slim",
            "alpine",
            "busybox-glibc",
            "distroless-cc",
            "scratch-musl-debug",
        ):
            target = baked.target(f"{artifact}-{runtime}")
            image, size = target.tags[0], baked.measured(target.name).size
            assert disl(image, size - 1) == 1, target.name
            assert disl(image, size + symlink_bytes(image)) == 0, target.name


def test_standin_table_shows_every_target_with_its_figures(baked: Baked) -> None:
    results = list(baked.results.values())
    lines = format_table(compare(None, from_results(baked.plan, results))).splitlines()
    assert len(lines) == 2 + len(results)
    for line, result in zip(lines[2:], results, strict=True):
        cells = re.split(r"\s{2,}", line)
        assert cells[0] == result.target and cells[-1] == PASS
        assert cells[3] == str(len(baked.measured(result.target).layers))


def test_standin_bake_wrote_the_generated_files_first(baked: Baked) -> None:
    _, changes = plan_changes(baked.plan)
    assert changes == []
    assert (baked.plan.config.directory / baked.plan.config.bake_file).is_file()
