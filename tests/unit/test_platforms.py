"""Several platforms (issue 14): cross-compiling build stages, one bake of every platform
for --output registry|oci, one result and report entry per target and platform, the
smoke runs this machine cannot do said as such, and per-platform budgets."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from support.bake_support import c_artifact, go_artifact, write_project
from support.registry_standin import RegistryStandin, make_image
from support.registry_standin import index as registry_index
from support.report_samples import hello, report, target

from slim_bake import bake, pipeline, presets
from slim_bake.bake import Mode, Output
from slim_bake.config import Budget, load_config
from slim_bake.errors import BuildError, ConfigError
from slim_bake.judge import Status
from slim_bake.measure import Measurement
from slim_bake.plan import Plan, make_plan
from slim_bake.render.dockerfile import render_dockerfile
from slim_bake.report import markdown, terminal
from slim_bake.report.codec import from_json, to_json
from slim_bake.report.compare import compare
from slim_bake.report.merge import merge
from slim_bake.report.model import State
from slim_bake.report.reading import load_report, parse_report, targets_of_plan
from slim_bake.smoke import SmokeResult

TWO = ["linux/amd64", "linux/arm64"]
REGISTRY = "127.0.0.1:5000/platforms/unit"


def _plan(tmp_path: Path, artifacts: dict[str, Any], **top: Any) -> Plan:
    return make_plan(load_config(write_project(tmp_path, artifacts, REGISTRY, **top)))


def _dockerfile(plan: Plan, name: str) -> str:
    found = next(t for t in plan.targets if t.name == name)
    return render_dockerfile(found, "slim.yaml", None)


# --- Rendering -------------------------------------------------------------------------------


def test_go_on_several_platforms_cross_compiles_on_the_build_platform(tmp_path: Path) -> None:
    plan = _plan(tmp_path, {"go": go_artifact(["scratch-glibc"])}, platforms=TWO)
    text = _dockerfile(plan, "go-scratch-glibc")
    build, rest = text.split(" AS build\n", 1)
    assert build.endswith("FROM --platform=$BUILDPLATFORM slim-standin/golang:bookworm")
    assert "ARG TARGETOS TARGETARCH\nENV GOOS=$TARGETOS GOARCH=$TARGETARCH\n" in rest
    # The rootfs stage writes text files only: no emulation for it either.
    assert "FROM --platform=$BUILDPLATFORM slim-standin/golang:bookworm AS rootfs" in text
    assert "FROM scratch AS runtime" in text  # the runtime stage is the target platform's


def test_one_platform_renders_the_build_stage_as_before(tmp_path: Path) -> None:
    for platforms in ([], ["linux/arm64"]):
        plan = _plan(tmp_path, {"go": go_artifact(["scratch-glibc"])}, platforms=platforms)
        text = _dockerfile(plan, "go-scratch-glibc")
        assert "--platform" not in text and "TARGETARCH" not in text
        assert "FROM slim-standin/golang:bookworm AS build\n" in text


def test_what_cannot_cross_compile_keeps_its_native_build_stage(tmp_path: Path) -> None:
    artifacts = {
        "go": go_artifact(["single-stage", "scratch-glibc-debug", "distroless-cc"]),
        "hello": c_artifact(["scratch-musl-debug"]),
        "cxx": {"lang": "cpp", "context": "./hello", "runtimes": ["scratch-musl"]},
    }
    plan = _plan(tmp_path, artifacts, platforms=TWO)
    for t in plan.targets:  # the runtime is the build stage; busybox runs; cgo; musl C++
        assert not t.build.cross, t.name
        assert "$BUILDPLATFORM" not in render_dockerfile(t, "slim.yaml", None)


def test_cross_compiling_is_data_in_the_language_presets() -> None:
    go = presets.languages()["go"].flavours
    cross = go["glibc-static"].cross
    assert cross is not None and cross.env == {"GOOS": "TARGETOS", "GOARCH": "TARGETARCH"}
    assert not go["glibc-dynamic"].cross  # cgo needs the target's C toolchain
    # C, C++ and Rust cross-compile too: test_cross_c.py, test_cross_rust.py.


# --- Baking ----------------------------------------------------------------------------------


def _capture(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Each bake's options; every bake succeeds with a digest per target."""
    seen: list[list[str]] = []

    def fake(
        plan: Plan,
        names: list[str],
        builder: str | None,
        options: list[str],
        note: list[str],
        output: Output | None = None,
        watch: object = None,
    ) -> tuple[int, Any, dict[str, str | None]]:
        seen.append(options)
        if "--metadata-file" in options:
            metadata = Path(options[options.index("--metadata-file") + 1])
            digest = {"containerimage.digest": "sha256:" + "ab" * 32}
            metadata.write_text(json.dumps(dict.fromkeys(names, digest)))
        return 0, bake._Progress(), dict.fromkeys(note)

    monkeypatch.setattr(bake, "_bake_round", fake)
    monkeypatch.setattr(bake.engine, "image_ids", lambda tags: dict.fromkeys(tags))
    monkeypatch.setattr(bake.engine, "native_platform", lambda: "linux/amd64")
    monkeypatch.setattr(bake, "_put_back", lambda before: None)
    return seen


def test_registry_output_bakes_every_platform_and_load_only_the_native_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _capture(monkeypatch)
    plan = _plan(tmp_path, {"go": go_artifact(["scratch-glibc"])}, platforms=TWO)
    targets = list(plan.targets)
    found = bake.export(plan, targets, Output(Mode.REGISTRY), builder=None, notify=print)
    assert found == {"go-scratch-glibc": f"{REGISTRY}/go@sha256:{'ab' * 32}"}
    assert not any("platform" in option for option in seen[-1])  # the bake file's list
    bake.build(plan, targets, builder=None, notify=print)
    assert "*.platform=linux/amd64" in seen[-1]


def test_a_target_that_cannot_cross_compile_is_refused_at_the_platforms_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _capture(monkeypatch)
    artifacts = {"go": go_artifact(["scratch-glibc"]), "hello": c_artifact(["single-stage"])}
    plan = _plan(tmp_path, artifacts, platforms=TWO)
    with pytest.raises(ConfigError) as caught:
        bake.export(plan, list(plan.targets), Output(Mode.REGISTRY), builder=None, notify=print)
    assert caught.value.exit_code == 2 and not seen  # nothing was built
    (problem,) = caught.value.diagnostics
    lines = plan.config.path.read_text().splitlines()
    assert lines[problem.line - 1] == "platforms:"
    assert "lang c needs a cross toolchain" in problem.message
    assert "hello-single-stage" in problem.message and "a -debug or single-stage" in problem.message


# --- One result per platform -----------------------------------------------------------------


def _measurement(platform: str | None) -> Measurement:
    size = 2_000_000 if platform == "linux/arm64" else 1_500_000
    found = Measurement(f"img-{platform}", f"sha256:{platform}", "scratch", None, size, 9, (), ())
    # As slim writes scratch images: nonroot (the runtime's default assertion).
    return replace(found, image_config={"User": "65532:65532"})


def test_each_platform_is_measured_and_only_the_native_one_smoke_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    budgets = {"scratch-glibc": {"max": "1.8MB", "platforms": {"linux/arm64": {"max": "3MB"}}}}
    artifacts = {"go": go_artifact(["scratch-glibc"], budgets=budgets)}
    plan = _plan(tmp_path, artifacts, platforms=TWO)
    ran: list[tuple[str, str | None]] = []
    monkeypatch.setattr(pipeline, "export", lambda *a, **k: {"go-scratch-glibc": "oci:/l"})
    monkeypatch.setattr(pipeline.engine, "native_platform", lambda: "linux/amd64")
    monkeypatch.setattr(
        pipeline, "measure_reference", lambda ref, base, platform=None, **_: _measurement(platform)
    )

    class Staged:
        def __init__(
            self, reference: str, platform: str | None = None, base: str | None = None
        ) -> None:
            ran.append((reference, platform))

        def __enter__(self) -> str:
            return "slim-smoke:x"

        def __exit__(self, *exc: object) -> None:
            return None

    monkeypatch.setattr(pipeline, "staged", Staged)
    monkeypatch.setattr(pipeline, "smoke", lambda name, spec: SmokeResult(True, 0, "Hi\n", "", ""))
    results = pipeline.bake_targets(plan, list(plan.targets), output=Output(Mode.OCI, tmp_path))
    assert [(r.target, r.platform) for r in results] == [
        ("go-scratch-glibc", "linux/amd64"),
        ("go-scratch-glibc", "linux/arm64"),
    ]
    amd64, arm64 = results
    assert ran == [("oci:/l", "linux/amd64")]  # arm64 is not run here: no emulation
    assert amd64.smoke is not None and amd64.notes == ()
    assert arm64.smoke is None and "linux/arm64 is not this engine's platform" in arm64.notes[0]
    # Each platform against its own budget: 1.5 MB ≤ 1.8 MB, 2 MB ≤ 3 MB (not 1.8 MB).
    assert (amd64.budget.max, arm64.budget.max) == (1_800_000, 3_000_000)
    assert amd64.status == arm64.status == Status.PASS


def test_load_keeps_one_result_per_target(tmp_path: Path) -> None:
    plan = _plan(tmp_path, {"go": go_artifact(["scratch-glibc"])}, platforms=TWO)
    assert pipeline.result_platforms(plan, Output()) == [None]
    assert pipeline.result_platforms(plan, Output(Mode.REGISTRY)) == TWO


def test_a_budget_in_a_platform_with_a_bad_size_is_refused_at_its_line(tmp_path: Path) -> None:
    budgets = {"*": {"platforms": {"linux/arm64": {"max": "3 potatoes"}}}}
    path = write_project(
        tmp_path, {"go": go_artifact(["scratch-glibc"], budgets=budgets)}, REGISTRY, platforms=TWO
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (problem,) = caught.value.diagnostics
    assert problem.path == "artifacts.go.budgets.*.platforms.linux/arm64.max" and problem.line


# --- Report entries keyed by target and platform ---------------------------------------------


def _two(arm64_size: int) -> tuple[Any, Any]:
    amd64 = replace(target("go-scratch", hello(1_000)), platform="linux/amd64")
    arm64 = replace(
        target("go-scratch", hello(arm64_size)),
        platform="linux/arm64",
        smoke=None,
        notes=("smoke run not run: linux/arm64 is not this engine's platform",),
    )
    return amd64, arm64


def test_a_report_has_one_entry_per_platform_and_reads_back() -> None:
    data = to_json(compare(None, report(*_two(1_200), config_targets=("go-scratch",))))
    assert [(t["name"], t["platform"]) for t in data["targets"]] == [
        ("go-scratch", "linux/amd64"),
        ("go-scratch", "linux/arm64"),
    ]
    assert "notes" not in data["targets"][0] and data["targets"][1]["notes"]
    again = parse_report(json.dumps(data), "head.json")  # valid against the schema
    assert [(t.platform, t.notes) for t in again.targets] == [
        (t.platform, t.notes) for t in _two(1_200)
    ]


def test_one_platform_reports_are_written_as_before() -> None:
    data = to_json(compare(None, report(target("hello-scratch", hello(1_000)))))
    assert "platform" not in data["targets"][0] and data["version"] == 1
    assert from_json(data, "x").targets[0].platform is None


def test_each_platform_is_compared_with_the_same_platform_of_the_baseline() -> None:
    base = report(*_two(1_200), config_targets=("go-scratch",))
    head = report(*_two(1_500), config_targets=("go-scratch",))
    comparison = compare(base, head)
    assert [(t.name, t.delta) for t in comparison.targets] == [
        ("go-scratch [linux/amd64]", 0),
        ("go-scratch [linux/arm64]", 300),
    ]
    only_amd64 = compare(base, report(_two(1_500)[0], config_targets=("go-scratch",)))
    (missing,) = only_amd64.missing
    assert missing.state == State.NOT_BUILT and missing.name == "go-scratch [linux/arm64]"
    assert to_json(only_amd64)["missing"][0]["platform"] == "linux/arm64"


def test_a_one_platform_baseline_is_new_for_a_run_of_several() -> None:
    old = report(target("go-scratch", hello(1_000)))
    states = {t.name: t.state for t in compare(old, report(*_two(1_200))).targets}
    assert set(states.values()) == {State.NEW}


def test_the_outputs_name_the_platform_and_the_smoke_run_not_run() -> None:
    comparison = compare(None, report(*_two(1_200)))
    shown = terminal.format_table(comparison)
    assert "go-scratch [linux/arm64]" in shown and "go-scratch [linux/amd64]" in shown
    assert "linux/arm64 is not this engine's platform" in shown
    page = markdown.render(comparison)
    assert "`go-scratch [linux/arm64]`: smoke run not run" in page  # the note, escaped


def test_shards_of_several_platforms_merge_without_overlap() -> None:
    amd64, arm64 = _two(1_200)
    merged = merge([report(amd64, arm64)])
    assert [t.platform for t in merged.targets] == ["linux/amd64", "linux/arm64"]


def test_a_budget_without_platforms_applies_to_every_platform() -> None:
    budget = Budget(max=5, platforms={"linux/arm64": Budget(max=7)})
    assert budget.for_platform("linux/amd64") is budget
    assert budget.for_platform("linux/arm64").max == 7
    assert budget.for_platform(None) is budget


# --- A registry baseline of several platforms -----------------------------------------------


def test_a_registry_baseline_reads_each_platform_of_the_pushed_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLIM_CACHE_DIR", str(tmp_path / "cache"))
    images = {
        "linux/amd64": make_image([{"app/hello": b"a" * 1_000}]),
        "linux/arm64": make_image([{"app/hello": b"b" * 3_000}]),
    }
    server = RegistryStandin().start()
    try:
        entries = []
        for platform, image in images.items():
            server.push("acme/go", f"only-{platform[6:]}", image)
            os_, arch = platform.split("/")
            entries.append(image.descriptor(platform={"os": os_, "architecture": arch}))
        server.put_index("acme/go", "main-scratch-glibc", registry_index(entries))
        plan = _plan(tmp_path, {"go": go_artifact(["scratch-glibc"])}, platforms=TWO)
        spec = f"registry:{server.host}/acme/{{artifact}}:main-{{runtime}}"
        wanted = targets_of_plan(list(plan.targets), TWO)
        base = load_report(spec, tmp_path, wanted)
    finally:
        server.stop()
    assert [(t.platform, t.figures.compressed if t.figures else None) for t in base.targets] == [
        (p, sum(layer["size"] for layer in json.loads(images[p].manifest)["layers"])) for p in TWO
    ]
    head = report(
        *(replace(t, name="go-scratch-glibc") for t in _two(1_000)),
        config_targets=("go-scratch-glibc",),
    )
    states = [(t.name, t.state) for t in compare(base, head).targets]
    assert states == [(f"go-scratch-glibc [{p}]", State.COMPARED) for p in TWO]


def test_a_multi_platform_bake_the_docker_driver_refuses_says_what_would_build_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*args: Any, **kwargs: Any) -> tuple[int, Any, dict[str, str | None]]:
        progress = bake._Progress()
        progress.feed("ERROR: Multi-platform build is not supported for the docker driver.")
        return 1, progress, {}

    _capture(monkeypatch)
    monkeypatch.setattr(bake, "_bake_round", refused)
    monkeypatch.setattr(bake, "_diagnose", lambda builder: None)
    plan = _plan(tmp_path, {"go": go_artifact(["scratch-glibc"])}, platforms=TWO)
    with pytest.raises(BuildError) as caught:
        bake.export(plan, list(plan.targets), Output(Mode.REGISTRY), builder=None, notify=print)
    assert caught.value.exit_code == 3
    assert "a multi-platform build needs an engine with the containerd image store" in str(
        caught.value
    )


def test_a_budget_for_a_platform_slim_yaml_does_not_list_is_refused(tmp_path: Path) -> None:
    budgets = {"scratch-glibc": {"platforms": {"linux/riscv64": {"max": "3MB"}}}}
    artifacts = {"go": go_artifact(["scratch-glibc"], budgets=budgets)}
    with pytest.raises(ConfigError) as caught:
        load_config(write_project(tmp_path, artifacts, REGISTRY, platforms=TWO))
    (problem,) = caught.value.diagnostics
    assert problem.path == "artifacts.go.budgets.scratch-glibc.platforms.linux/riscv64"
    assert "not one of slim.yaml's platforms (linux/amd64, linux/arm64)" in problem.message


def test_a_loaded_image_is_judged_by_the_budget_of_the_platform_it_was_built_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    budgets = {"scratch-glibc": {"max": "1MB", "platforms": {"linux/arm64": {"max": "3MB"}}}}
    artifacts = {"go": go_artifact(["scratch-glibc"], budgets=budgets)}
    plan = _plan(tmp_path, artifacts, platforms=["linux/arm64", "linux/riscv64"])
    monkeypatch.setattr(pipeline, "build", lambda *a, **k: {"go-scratch-glibc"})
    monkeypatch.setattr(bake.engine, "native_platform", lambda: "linux/arm64")
    monkeypatch.setattr(pipeline, "measure", lambda ref, base, **_: _measurement("linux/arm64"))
    monkeypatch.setattr(pipeline, "smoke", lambda name, spec: SmokeResult(True, 0, "Hi\n", "", ""))
    (loaded,) = pipeline.bake_targets(plan, list(plan.targets))
    assert loaded.platform is None  # one image: its report entry is as before
    assert loaded.budget.max == 3_000_000 and loaded.status == Status.PASS
