"""The composite action (action.yml) and the workflow examples.

1. The safety rules, checked by the tools CI uses (check-jsonschema with GitHub's
   schemas, zizmor) and by parsing the YAML ourselves.
2. The action's steps executed in order under a simulated runner: inputs mapped as the
   runner maps them, `${{ }}` expressions in `env:`/`working-directory:`/`if:`
   evaluated, a fresh GITHUB_OUTPUT per step, GITHUB_STEP_SUMMARY, a pull_request
   event, GITHUB_API_URL pointing at the GitHub-API stand-in, against the real engine."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.action_helpers import (
    ACTION,
    ARTIFACT,
    INPUTS,
    ROOT,
    Runner,
    load,
    parse_outputs,
    slim_yaml,
    tool,
)
from support.github_api_standin import GitHubStandin

WORKFLOWS = sorted((ROOT / "workflows-examples").glob("*.yml"))
SHA_PIN = re.compile(
    r"^\s*(?:-\s+)?uses:\s+([\w.-]+/[\w./-]+)@([0-9a-f]{40})\s+#\s+v\d+(\.\d+)*\s*$"
)


# --- 1. Safe by construction --------------------------------------------------------


def test_action_validates_against_githubs_action_schema() -> None:
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", str(ACTION)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_examples_validate_against_githubs_workflow_schema() -> None:
    assert len(WORKFLOWS) >= 3
    result = subprocess.run(
        [
            tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, WORKFLOWS),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def zizmor(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("zizmor"), "--offline", "--no-progress", "--format", "json", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_zizmor_finds_nothing_in_the_action_and_the_examples() -> None:
    result = zizmor(ACTION, *WORKFLOWS)
    findings = json.loads(result.stdout)
    assert findings == [], json.dumps(findings, indent=1)[:4000]
    assert result.returncode == 0, result.stderr
    # zizmor skips a file it cannot parse with only a log line: make sure it read them all.
    for path in (ACTION, *WORKFLOWS):
        assert f"completed {path.relative_to(ROOT)}" in result.stderr or f"completed {path}" in (
            result.stderr
        )


def test_zizmor_would_catch_an_injection(tmp_path: Path) -> None:
    """The zizmor check above is a real one: the same call flags a classic mistake."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: pull_request\npermissions: {}\njobs:\n  j:\n    runs-on: ubuntu-24.04\n"
        "    steps:\n      - shell: bash\n"
        "        run: echo ${{ github.event.pull_request.title }}\n"
    )
    findings = json.loads(zizmor(bad).stdout)
    assert "template-injection" in {f["ident"] for f in findings}


def steps_of(path: Path) -> list[dict[str, Any]]:
    data = load(path)
    if "runs" in data:
        return list(data["runs"]["steps"])
    return [step for job in data["jobs"].values() for step in job["steps"]]


@pytest.mark.parametrize("path", [ACTION, *WORKFLOWS], ids=lambda p: p.name)
def test_no_expression_inside_any_script_and_every_script_has_a_shell(path: Path) -> None:
    steps = steps_of(path)
    assert steps
    scripts = [s for s in steps if "run" in s]
    for step in scripts:
        assert "${{" not in step["run"], step.get("name")
        assert step.get("shell") == "bash", step.get("name")


@pytest.mark.parametrize("path", [ACTION, *WORKFLOWS], ids=lambda p: p.name)
def test_every_remote_action_is_pinned_to_a_commit_with_its_version(path: Path) -> None:
    lines = [line for line in path.read_text().splitlines() if re.match(r"\s*(-\s+)?uses:", line)]
    assert lines
    for line in lines:
        if re.search(r"uses:\s+\./", line):
            continue  # this repository's own action
        assert SHA_PIN.match(line), line


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_use_least_privilege(path: Path) -> None:
    data = load(path)
    triggers = data.get("on", data.get(True))  # PyYAML reads a bare `on:` as True
    assert "pull_request_target" not in triggers
    assert data["permissions"] == {}
    for name, job in data["jobs"].items():
        permissions = job["permissions"]
        assert "write-all" not in str(permissions)
        comments = any(
            s.get("uses", "").startswith("./") and str(s.get("with", {}).get("comment")) == "true"
            for s in job["steps"]
        )
        assert (permissions.get("pull-requests") == "write") == comments, name
        assert set(permissions.values()) <= {"read", "write"}
        writes = {k for k, v in permissions.items() if v == "write"}
        assert writes <= {"pull-requests", "packages"}, name


def test_bake_action_example_uses_the_generated_file_and_a_cache_scope_per_target(
    tmp_path: Path,
) -> None:
    [workflow] = [p for p in WORKFLOWS if "bake-action@" in p.read_text()]
    steps = steps_of(workflow)
    [bake] = [s for s in steps if s.get("uses", "").startswith("docker/bake-action@")]
    assert bake["with"]["source"] == "."
    files = bake["with"]["files"].split()
    assert files[0] == "./docker-bake.hcl"
    assert any("steps.meta.outputs.bake-file" in f for f in files[1:])
    # The scopes step writes one cache-from and one cache-to line per target.
    [scopes] = [s for s in steps if s.get("id") == "cache"]
    lines = _run_cache_scope_script(scopes["run"], tmp_path)
    assert lines == [
        "a-x.cache-from=type=gha,scope=a-x",
        "a-x.cache-to=type=gha,scope=a-x,mode=max",
        "a-y.cache-from=type=gha,scope=a-y",
        "a-y.cache-to=type=gha,scope=a-y,mode=max",
    ]


def _run_cache_scope_script(script: str, folder: Path) -> list[str]:
    """Run the step with a `docker` on PATH that prints what `bake --print` prints."""
    printed = json.dumps(
        {"group": {"default": {"targets": ["a-x", "a-y"]}}, "target": {"a-x": {}, "a-y": {}}}
    )
    fake = folder / "docker"
    fake.write_text(f"#!/bin/sh\ncat <<'EOF'\n{printed}\nEOF\n")
    fake.chmod(0o755)
    output = folder / "output"
    output.write_text("")
    env = {
        **os.environ,
        "PATH": f"{folder}:{os.environ['PATH']}",
        "GITHUB_OUTPUT": str(output),
        "BAKE_FILE": "docker-bake.hcl",
        "BAKE_TARGETS": "default",
    }
    subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], env=env, check=True
    )
    return parse_outputs(output.read_text())["set"].splitlines()


# --- 2. A simulated runner ---------------------------------------------------------------


# --- 3. The four cases against the real engine --------------------------------------------


def test_stale_generated_files_fail_at_the_check_with_the_command_to_run(
    runner: Callable[..., Runner], api: GitHubStandin
) -> None:
    """No engine needed: the job stops before anything is built."""
    r = runner(slim_yaml("800kB"))
    config = yaml.safe_load((r.workspace / "slim.yaml").read_text())
    config["artifacts"][ARTIFACT]["runtimes"].append("scratch-closure")
    (r.workspace / "slim.yaml").write_text(yaml.safe_dump(config))
    run = r.run(INPUTS)
    assert run.failed_step == "Check that the generated files are up to date"
    assert run.exit_code == 1
    [error] = run.commands("error")
    assert "Run `slim generate -c slim.yaml` and commit the result." in error
    assert "scratch-closure.Dockerfile: missing" in run.log
    assert run.ran == ["Check that the generated files are up to date"]
    assert run.summary == "" and api.log == []


def test_config_error_fails_at_the_check_with_its_exit_code(
    runner: Callable[..., Runner], api: GitHubStandin
) -> None:
    r = runner(slim_yaml("800kB"))
    run = r.run({**INPUTS, "config": "missing.yaml"})
    assert run.failed_step == "Check that the generated files are up to date"
    assert run.exit_code == 2
    assert "missing.yaml: see the messages above" in run.commands("error")[0]
