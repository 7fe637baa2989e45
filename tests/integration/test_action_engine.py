"""The composite action on the real engine: within budget, over budget (with and without
fail-on-budget), a fork's pull request."""

from __future__ import annotations

import json
import subprocess
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from support.action_helpers import (
    ARTIFACT,
    INPUTS,
    ROOT,
    Run,
    Runner,
    slim_yaml,
    tool,
)
from support.github_api_standin import GitHubStandin


def report_of(run: Run) -> dict[str, Any]:
    data = json.loads(Path(run.outputs["report"]).read_text())
    assert isinstance(data, dict)
    return data


@pytest.mark.docker
def test_all_within_budget(
    docker_engine: None, runner: Callable[..., Runner], api: GitHubStandin
) -> None:
    run = runner(slim_yaml("800kB")).run({**INPUTS, "baseline": "main/report.json"})
    assert run.failed_step is None, run.log
    [warning] = run.commands("warning")  # the first run: no baseline published yet
    assert "main/report.json not found" in warning
    assert run.outputs["verdict"] == "pass"
    assert run.outputs["over-budget"] == "0"
    assert run.outputs["exit-code"] == "0"
    report = report_of(run)
    schema = json.loads(
        subprocess.run([tool("slim"), "schema", "report"], capture_output=True, check=True).stdout
    )
    jsonschema.validate(report, schema)
    targets = {t["name"]: t for t in report["targets"]}
    assert set(targets) == {f"{ARTIFACT}-scratch-musl", f"{ARTIFACT}-scratch-glibc"}
    assert f"{ARTIFACT}-scratch-glibc" in run.summary
    [comment] = api.bodies("octo/app", 7)
    assert comment.startswith("<!-- slim-bake-report -->")
    assert f"{ARTIFACT}-scratch-musl" in comment
    assert run.commands("error") == []


@pytest.mark.docker
def test_one_over_budget_fails_the_job_and_updates_the_comment(
    docker_engine: None, runner: Callable[..., Runner], api: GitHubStandin
) -> None:
    first = runner(slim_yaml("800kB")).run(INPUTS)
    assert first.failed_step is None, first.log
    baseline = Path(first.outputs["report"])
    run = runner(slim_yaml("100kB")).run({**INPUTS, "baseline": str(baseline)})
    assert run.failed_step == "Verdict"
    assert run.exit_code == 1
    assert (
        "Build, measure and judge the images" in run.ran
        and "Comment on the pull request" in run.ran
    )
    [error] = run.commands("error")
    assert "1 target(s) over budget" in error
    assert run.outputs["verdict"] == "fail"
    assert run.outputs["over-budget"] == "1"
    assert run.outputs["exit-code"] == "1"
    markdown = Path(run.outputs["markdown"]).read_text()
    assert markdown in run.summary
    assert "| baseline |" in markdown and "Δ" in markdown  # --baseline reached slim bake
    [comment] = api.bodies("octo/app", 7)  # updated in place, not a second comment
    assert markdown.strip() in comment
    assert [w.method for w in api.writes()] == ["POST", "PATCH"]


@pytest.mark.docker
def test_budget_failure_is_a_warning_when_fail_on_budget_is_off(
    docker_engine: None, runner: Callable[..., Runner], api: GitHubStandin
) -> None:
    run = runner(slim_yaml("100kB")).run({**INPUTS, "fail-on-budget": "false", "comment": False})
    assert run.failed_step is None, run.log
    assert run.outputs["verdict"] == "fail"
    assert run.outputs["over-budget"] == "1"
    assert any("over budget" in w for w in run.commands("warning"))
    assert api.log == []  # comment: false


@pytest.mark.docker
def test_fork_pull_request_reports_in_the_summary_with_a_notice(
    docker_engine: None, runner: Callable[..., Runner], api: GitHubStandin
) -> None:
    api.read_only = True
    run = runner(slim_yaml("800kB")).run(INPUTS)
    assert run.failed_step is None, run.log
    assert run.outputs["verdict"] == "pass"
    assert api.bodies("octo/app", 7) == []
    [notice] = [n for n in run.commands("notice") if "job summary" in n]
    assert "read-only" in notice
    markdown = Path(run.outputs["markdown"]).read_text()
    assert run.summary.count(markdown) == 1  # once: the fallback does not write it again


@pytest.mark.docker
def test_a_remote_builder_pushes_with_a_cache_per_target(
    docker_engine: None, runner: Callable[..., Runner], api: GitHubStandin
) -> None:
    """`builder`, `output: registry` and `cache: registry` reach `slim bake`: the images
    and each target's build cache are pushed by a builder that is not the engine's own."""
    registry = _setup("registry.sh", "SLIM_TEST_REGISTRY")
    builder = _setup("remote-builder.sh", "SLIM_TEST_REMOTE_BUILDER")
    prefix = f"{registry}/action/t{uuid.uuid4().hex[:10]}"
    inputs = {**INPUTS, "builder": builder, "output": "registry", "cache": "registry"}
    run = runner({**slim_yaml("800kB"), "registry": prefix}).run(inputs)
    assert run.failed_step is None, run.log
    assert run.outputs["verdict"] == "pass"
    for runtime in ("scratch-musl", "scratch-glibc"):
        for tag in (runtime, f"{runtime}-buildcache"):
            url = f"http://{registry}/v2/{prefix.split('/', 1)[1]}/{ARTIFACT}/manifests/{tag}"
            request = urllib.request.Request(url, method="HEAD", headers={"Accept": MEDIA_TYPES})
            with urllib.request.urlopen(request, timeout=30) as answer:
                assert answer.status == 200, url


MEDIA_TYPES = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json"


def _setup(script: str, variable: str) -> str:
    done = subprocess.run(
        [str(ROOT / "scripts" / script)], capture_output=True, text=True, check=False
    )
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines and lines[-1].startswith(f"{variable}="), done
    return lines[-1].removeprefix(f"{variable}=")
