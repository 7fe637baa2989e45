"""`--baseline registry:PATTERN`: each target's image in a registry as the baseline,
read from its manifest and config only, against a stand-in registry (no engine)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.registry_standin import RegistryStandin, make_image
from support.report_samples import report, write

from slim_bake import cli
from slim_bake.config import Budget
from slim_bake.errors import UsageError
from slim_bake.imageref import measure_reference
from slim_bake.judge import Status, Verdict
from slim_bake.report.build import figures
from slim_bake.report.compare import compare
from slim_bake.report.model import State, TargetRecord
from slim_bake.report.reading import BaselineTarget, load_report, targets_of_report

BASE_FILES = {"bin/busybox": b"B" * 40_000}
GROWTH = Budget(max_growth=("percent", 5.0), spelled={"max_growth": "5%"})


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RegistryStandin]:
    monkeypatch.setenv("SLIM_CACHE_DIR", str(tmp_path / "cache"))
    server = RegistryStandin().start()
    server.push("acme/base", "1", make_image([BASE_FILES]))
    server.push(
        "acme/hello", "main-scratch", make_image([BASE_FILES, {"app/hello": b"h" * 10_000}])
    )
    server.push("acme/hello", "pr-scratch", make_image([BASE_FILES, {"app/hello": b"H" * 30_000}]))
    yield server
    server.stop()


def _head(standin: RegistryStandin, *names: str) -> list[TargetRecord]:
    base = f"{standin.host}/acme/base:1"  # the base in the same registry
    measured = measure_reference(f"{standin.host}/acme/hello:pr-scratch", base)
    records = []
    for name in names:
        artifact, runtime = name.split("-", 1)
        verdict = Verdict(Status.PASS)
        records.append(
            TargetRecord(name, artifact, runtime, verdict, GROWTH, figures(measured), None)
        )
    return records


def _targets(*names: str) -> list[BaselineTarget]:
    return [BaselineTarget(n, *n.split("-", 1), None) for n in names]


def test_a_baseline_never_measured_here_compares_compressed_sizes_only(
    standin: RegistryStandin, capsys: pytest.CaptureFixture[str]
) -> None:
    head = report(*_head(standin, "hello-scratch", "hello-alpine"))
    spec = f"registry:{standin.host}/acme/{{artifact}}:main-{{runtime}}"
    standin.log.clear()
    base = load_report(spec, Path.cwd(), _targets("hello-scratch", "hello-alpine"))
    assert all("/blobs/" not in p or p.endswith(_config_digest(standin)) for p in standin.paths())
    assert "the content size of hello-scratch is unknown" in capsys.readouterr().err
    (record,) = base.targets  # hello-alpine is not in the registry
    assert record.figures is not None and not record.figures.size_known
    manifest = json.loads(standin.manifests[("acme/hello", "main-scratch")][0])
    assert record.figures.compressed == sum(d["size"] for d in manifest["layers"])
    comparison = compare(base, head, source=spec)
    scratch, alpine = comparison.targets
    assert alpine.state == State.NEW
    assert scratch.state == State.COMPARED and scratch.delta is None and scratch.explanation is None
    assert scratch.growth_reasons and scratch.growth_reasons[0].startswith("compressed grew")
    assert scratch.status == Status.OVER_BUDGET


def _config_digest(standin: RegistryStandin) -> str:
    manifest = json.loads(standin.manifests[("acme/hello", "main-scratch")][0])
    return str(manifest["config"]["digest"])


def test_a_baseline_measured_before_compares_sizes_layers_and_files(
    standin: RegistryStandin,
) -> None:
    head = report(*_head(standin, "hello-scratch"))
    before = measure_reference(f"{standin.host}/acme/hello:main-scratch")  # fills the cache
    spec = f"registry:{standin.host}/acme/hello:main-{{runtime}}"
    targets = targets_of_report(head)
    base = load_report(spec, Path.cwd(), targets)
    (record,) = base.targets
    assert record.figures is not None and record.figures.size_known
    assert record.figures.size == before.size
    assert [layer.from_base for layer in record.figures.layers] == [True, False]
    assert [(f.path, f.size) for f in record.figures.files.largest] == [("/app/hello", 10_000)]
    (scratch,) = compare(base, head, source=spec).targets
    assert scratch.delta == 20_000
    assert scratch.explanation is not None
    (file_change,) = scratch.explanation.files
    assert (file_change.path, file_change.before, file_change.after) == (
        "/app/hello",
        10_000,
        30_000,
    )


def test_slim_report_reads_a_registry_baseline(
    standin: RegistryStandin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head = write(tmp_path / "head.json", report(*_head(standin, "hello-scratch")))
    measure_reference(f"{standin.host}/acme/hello:main-scratch")
    code = cli.main(["report", f"registry:{standin.host}/acme/hello:main-{{runtime}}", str(head)])
    out = capsys.readouterr().out
    assert code == 1, out  # grew 20 kB of 50 kB: more than 5%
    assert "grew +20kB" in out and "50kB" in out


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("127.0.0.1:5000/acme/app:main", "name each target's image"),
        ("127.0.0.1:5000/acme/{artifact}:main", "would share the image"),
        ("127.0.0.1:5000/acme/{name}:{target}", "not {name}"),
        ("acme/{target}:main", "names no registry host"),
    ],
)
def test_a_bad_pattern_is_a_usage_error(pattern: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        load_report(f"registry:{pattern}", Path.cwd(), _targets("hello-scratch", "hello-alpine"))
