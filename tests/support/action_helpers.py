"""The composite action (action.yml) run step by step under a simulated GitHub runner, and the
fixtures for it (registered in tests/conftest.py): shared by unit/test_action.py and
integration/test_action_engine.py."""

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

import pytest
import yaml

from support.github_api_standin import GitHubStandin

ROOT = Path(__file__).resolve().parents[2]


ACTION = ROOT / "action.yml"


BIN = str(Path(sys.executable).parent)  # check-jsonschema, zizmor, slim, python


def tool(name: str) -> str:
    path = shutil.which(name, path=BIN) or shutil.which(name)
    assert path, f"{name} is not installed (pip install -e '.[test]')"
    return path


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


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
