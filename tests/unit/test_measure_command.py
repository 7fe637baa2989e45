"""`slim measure REF…` against a stand-in registry and an OCI layout (no engine): the
figures, the budgets from flags or slim.yaml, and the exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.registry_standin import RegistryStandin, make_image

from slim_bake import cli

CONFIG = {
    "version": 1,
    "artifacts": {
        "hello": {
            "lang": "c",
            "runtimes": ["scratch-musl"],
            "budgets": {"scratch-musl": {"max": "20kB", "max_layers": 2}},
        }
    },
}


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RegistryStandin]:
    monkeypatch.setenv("SLIM_CACHE_DIR", str(tmp_path / "cache"))
    server = RegistryStandin().start()
    # 30,000 B of content in two layers; the compressed size is what gzip makes of it
    server.push(
        "acme/app", "1", make_image([{"bin/app": b"\x01" * 25_000}, {"etc/app.conf": b"c" * 5_000}])
    )
    yield server
    server.stop()


def _measure(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["measure", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_within_budget_prints_the_figures_and_exits_0(
    standin: RegistryStandin, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = f"{standin.host}/acme/app:1"
    code, out, _ = _measure(capsys, ref, "--max", "30kB", "--max-layers", "2")
    assert code == 0, out
    assert "30kB" in out and "pass" in out and "/bin/app" in out


def test_over_budget_exits_1_with_the_reason(
    standin: RegistryStandin, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = f"{standin.host}/acme/app:1"
    code, out, _ = _measure(capsys, ref, "--max", "29999", "--json")
    assert code == 1
    (target,) = json.loads(out)["targets"]
    assert target["status"] == "over-budget"
    assert target["reasons"] == ["size 30kB (30,000 B) > 29999 (29,999 B) by 1 B"]
    manifest = json.loads(standin.manifests[("acme/app", "1")][0])
    assert target["measurement"]["compressed"] == sum(d["size"] for d in manifest["layers"])
    assert _measure(capsys, ref, "--max-compressed", "100B")[0] == 1
    assert _measure(capsys, ref, "--max-layers", "1")[0] == 1


def test_a_slim_yaml_targets_budget_applies_and_a_flag_replaces_its_field(
    standin: RegistryStandin,
    capsys: pytest.CaptureFixture[str],
    project: Callable[..., Path],
) -> None:
    config = str(project(CONFIG))
    ref = f"{standin.host}/acme/app:1"
    code, out, _ = _measure(capsys, ref, "-c", config, "--target", "hello-scratch-musl")
    assert code == 1 and "> 20kB" in out  # slim.yaml's max: 20kB
    code, out, _ = _measure(
        capsys, ref, "-c", config, "--target", "hello-scratch-musl", "--max", "1MB"
    )
    assert code == 0, out
    code, _, err = _measure(capsys, ref, "-c", config, "--target", "nope")
    assert code == 2 and "hello-scratch-musl" in err


@pytest.mark.parametrize(
    "args",
    [
        ["127.0.0.1:5000/Acme/app:1"],
        ["bad//name"],
        ["docker://"],
        ["oci:"],
        ["127.0.0.1:5000/acme/app:1", "--max", "20 kb"],
        ["127.0.0.1:5000/acme/app:1", "--max-layers", "-1"],
    ],
)
def test_a_bad_reference_or_flag_exits_2(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _measure(capsys, *args)[0] == 2


def test_an_unreachable_or_missing_image_exits_3(
    standin: RegistryStandin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _measure(
        capsys, f"{standin.host}/acme/app:2", f"oci:{tmp_path}/none", "127.0.0.1:1/a/b:1"
    )
    assert code == 3
    assert out.count("measure-failed") == 3 and "not found" in out
