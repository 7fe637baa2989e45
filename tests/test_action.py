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
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from github_api_standin import GitHubStandin

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
WORKFLOWS = sorted((ROOT / "workflows-examples").glob("*.yml"))
BIN = str(Path(sys.executable).parent)  # check-jsonschema, zizmor, slim, python
SHA_PIN = re.compile(
    r"^\s*(?:-\s+)?uses:\s+([\w.-]+/[\w./-]+)@([0-9a-f]{40})\s+#\s+v\d+(\.\d+)*\s*$"
)


def tool(name: str) -> str:
    path = shutil.which(name, path=BIN) or shutil.which(name)
    assert path, f"{name} is not installed (pip install -e '.[test]')"
    return path


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


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


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

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def parse_outputs(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT's two forms: `name=value` and `name<<DELIM` … `DELIM`."""
    values: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            for item in lines:
                if item == delimiter:
                    break
                body.append(item)
            values[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values


@dataclass
class Run:
    """What one execution of the action left behind."""

    failed_step: str | None
    exit_code: int
    outputs: dict[str, str]
    summary: str
    log: str  # stdout and stderr of every step, in order
    ran: list[str] = field(default_factory=list)

    def commands(self, kind: str) -> list[str]:
        return [line for line in self.log.splitlines() if line.startswith(f"::{kind}")]


class Runner:
    """Just enough of the Actions runner to execute a composite action's `run:` steps."""

    def __init__(self, workspace: Path, temp: Path, api_url: str, token: str, event: Path) -> None:
        self.workspace, self.temp = workspace, temp
        self.github = {
            "token": token,
            "action_path": str(ROOT),
            "workspace": str(workspace),
            "event_name": "pull_request",
            "repository": "octo/app",
        }
        self.base_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))},
            "PATH": f"{BIN}:{os.environ['PATH']}",
            "GITHUB_ACTIONS": "true",
            "CI": "true",
            "GITHUB_ACTION_PATH": str(ROOT),
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": "octo/app",
            "GITHUB_API_URL": api_url,
            "RUNNER_TEMP": str(temp),
        }

    def run(self, inputs: dict[str, Any]) -> Run:
        action = load(ACTION)
        self.inputs = self._inputs(action["inputs"], inputs)
        self.steps: dict[str, dict[str, str]] = {}
        summary, log, ran = "", "", []
        for index, step in enumerate(action["runs"]["steps"]):
            name = step.get("name", f"step {index}")
            if "uses" in step or not self._condition(step.get("if")):
                continue  # actions/setup-python: the test's own Python stands in for it
            code, out, step_summary, outputs = self._execute(step, index)
            ran.append(name)
            log += out
            summary += step_summary
            if "id" in step:
                self.steps[step["id"]] = outputs
            if code != 0:  # a failed step ends the action; outputs set so far remain
                return Run(name, code, self._outputs(action), summary, log, ran)
        return Run(None, 0, self._outputs(action), summary, log, ran)

    def _outputs(self, action: dict[str, Any]) -> dict[str, str]:
        return {k: self.evaluate(v["value"]) for k, v in action["outputs"].items()}

    def _inputs(self, declared: dict[str, Any], given: dict[str, Any]) -> dict[str, str]:
        unknown = set(given) - set(declared)
        assert not unknown, f"inputs not declared in action.yml: {unknown}"
        values = {}
        for name, spec in declared.items():
            value = given.get(name, spec.get("default", ""))
            if isinstance(value, bool):  # `comment: true` in YAML arrives as "true"
                value = str(value).lower()
            values[name] = self.evaluate(str(value), inputs={})
        return values

    def evaluate(self, text: str, inputs: dict[str, str] | None = None) -> str:
        return _EXPRESSION.sub(lambda m: self._value(m.group(1), inputs), text)

    def _value(self, expression: str, inputs: dict[str, str] | None = None) -> str:
        parts = expression.split(".")
        if parts[0] == "inputs" and len(parts) == 2:
            return (self.inputs if inputs is None else inputs)[parts[1]]
        if parts[0] == "github" and len(parts) == 2:
            return self.github[parts[1]]
        if parts[0] == "steps" and len(parts) == 4 and parts[2] == "outputs":
            return self.steps.get(parts[1], {}).get(parts[3], "")
        raise AssertionError(f"expression not supported by the test runner: {expression}")

    def _condition(self, condition: str | None) -> bool:
        if condition is None:
            return True
        match = re.fullmatch(r"\s*([\w.-]+)\s*(==|!=)\s*'([^']*)'\s*", condition)
        assert match, f"condition not supported by the test runner: {condition}"
        left = self._value(match.group(1))
        return (left == match.group(3)) == (match.group(2) == "==")

    def _execute(self, step: dict[str, Any], index: int) -> tuple[int, str, str, dict[str, str]]:
        assert step.get("shell") == "bash"
        files = self.temp / f"step-{index}"
        files.mkdir(parents=True, exist_ok=True)
        output, summary = files / "output", files / "summary"
        output.write_text("")
        summary.write_text("")
        env = {**self.base_env, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
        env.update({k: self.evaluate(str(v)) for k, v in step.get("env", {}).items()})
        cwd = self.workspace / self.evaluate(step.get("working-directory", "."))
        script = files / "script.sh"
        script.write_text(step["run"])
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        return (
            result.returncode,
            result.stdout,
            summary.read_text(),
            parse_outputs(output.read_text()),
        )


# --- 3. The four cases against the real engine --------------------------------------------

ARTIFACT = "actionhello"  # its own image names: other tests may build `hello` meanwhile


def slim_yaml(glibc_budget: str) -> dict[str, Any]:
    return {
        "version": 1,
        "artifacts": {
            ARTIFACT: {
                "lang": "c",
                "context": "./hello",
                "runtimes": ["scratch-musl", "scratch-glibc"],
                "budgets": {
                    "scratch-musl": {"max": "20kB"},
                    "scratch-glibc": {"max": glibc_budget},
                },
                "smoke": {"expect_stdout": "Hello, world!"},
            }
        },
    }


@pytest.fixture
def api() -> Iterator[GitHubStandin]:
    standin = GitHubStandin().start()
    yield standin
    standin.stop()


@pytest.fixture
def runner(
    tmp_path: Path, project: Callable[..., Path], api: GitHubStandin
) -> Callable[[dict[str, Any]], Runner]:
    """A workspace with slim.yaml and its generated files committed (as `slim check`
    wants), and a runner for a pull_request event on PR #7."""

    def make(config: dict[str, Any]) -> Runner:
        path = project(config, standins=True)
        subprocess.run([tool("slim"), "generate", "-c", str(path)], check=True, capture_output=True)
        event = tmp_path.parent / f"{tmp_path.name}-event.json"
        event.write_text(
            json.dumps(
                {
                    "number": 7,
                    "pull_request": {"number": 7, "head": {"sha": "89abcdef" * 5}},
                    "repository": {"full_name": "octo/app"},
                }
            )
        )
        temp = tmp_path.parent / f"{tmp_path.name}-runner-temp"
        temp.mkdir(exist_ok=True)
        return Runner(path.parent, temp, api.url, api.token, event)

    return make


INPUTS = {"python-version": "", "install": "false", "targets": "default"}


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
