"""The pre-commit hooks of .pre-commit-hooks.yaml, run for real by pre-commit in a
throw-away consumer repository.

The hooks come from a git snapshot of the current working tree (pre-commit installs
a hook repository from a commit, and the work under test may not be committed yet).
One PRE_COMMIT_HOME is shared by the whole session, so the hook environment (a
virtualenv with slim's core dependencies, from the package index) is built once; the
tests that use it run on one pytest-xdist worker. `pre-commit try-repo` builds an
environment of its own, as it does for a user."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

# Real pre-commit, pip and git runs (a hook environment is built): seconds each, so not in
# the unit run (tests/unit); no engine needed.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
HELLO_C = (ROOT / "examples" / "hello" / "hello.c").read_text()
MANIFEST = ROOT / ".pre-commit-hooks.yaml"
SLIM_YAML = """\
version: 1
artifacts:
  hello:
    lang: c
    context: ./hello
    runtimes: [debian-slim, scratch-musl]
"""
GENERATED = [
    "dockerfiles/hello-debian-slim.Dockerfile",
    "dockerfiles/hello-scratch-musl.Dockerfile",
    "docker-bake.hcl",
]
IGNORED = shutil.ignore_patterns(
    ".git",
    "__pycache__",
    "*.pyc",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "build",
    "dist",
    "*.egg-info",
    ".venv",
)
Run = Callable[..., subprocess.CompletedProcess[str]]
# The tests that install the hooks run on one pytest-xdist worker: the session's
# PRE_COMMIT_HOME, where the hook environment is built once, is that worker's.
SHARED_HOME = pytest.mark.xdist_group("pre-commit")


@pytest.fixture(scope="session")
def session_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for git and pre-commit: a shared pre-commit home, no user git config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(
        PRE_COMMIT_HOME=str(tmp_path_factory.mktemp("pre-commit-home")),
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="slim test",
        GIT_AUTHOR_EMAIL="slim@example.invalid",
        GIT_COMMITTER_NAME="slim test",
        GIT_COMMITTER_EMAIL="slim@example.invalid",
    )
    return env


@pytest.fixture(scope="session")
def hook_repo(
    tmp_path_factory: pytest.TempPathFactory, session_env: dict[str, str]
) -> tuple[Path, str]:
    """A git repository holding one commit: a copy of the current working tree."""
    repo = tmp_path_factory.mktemp("hook-repo") / "slim"
    shutil.copytree(ROOT, repo, symlinks=True, ignore=IGNORED)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run(["git", *args], cwd=repo, env=session_env, check=True)
    rev = _run(["git", "rev-parse", "HEAD"], repo, session_env).stdout.strip()
    return repo, rev


@pytest.fixture
def consumer(
    tmp_path: Path, hook_repo: tuple[Path, str], session_env: dict[str, str]
) -> Callable[..., Path]:
    """A consumer git repository with hello.c, a slim.yaml (at `config_path`) and a
    .pre-commit-config.yaml that uses the given hooks of the snapshot."""

    def make(hooks: list[dict[str, object]], config_path: str = "slim.yaml") -> Path:
        repo_path, rev = hook_repo
        (tmp_path / "hello").mkdir()
        (tmp_path / "hello" / "hello.c").write_text(HELLO_C)
        config = tmp_path / config_path
        config.parent.mkdir(parents=True, exist_ok=True)
        context = os.path.relpath(tmp_path / "hello", config.parent)
        config.write_text(SLIM_YAML.replace("./hello", context))
        pre_commit_config = {"repos": [{"repo": str(repo_path), "rev": rev, "hooks": hooks}]}
        (tmp_path / ".pre-commit-config.yaml").write_text(yaml.safe_dump(pre_commit_config))
        _run(["git", "init", "-q"], tmp_path, session_env)
        _run(["git", "add", "-A"], tmp_path, session_env)
        return tmp_path

    return make


@pytest.fixture
def run(session_env: dict[str, str]) -> Run:
    """Run a command (pre-commit through this interpreter) in a folder; never raises."""

    def call(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        if args[0] == "pre-commit":
            args = [sys.executable, "-m", "pre_commit", *args[1:]]
        return _run(args, cwd, session_env, check=False)

    return call


def _run(
    args: list[str], cwd: Path, env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed ({result.returncode}):\n{_output(result)}")
    return result


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def _hook_status(result: subprocess.CompletedProcess[str], name_start: str) -> str:
    """ "Passed", "Failed" or "(no files to check)Skipped" for the hook line of pre-commit."""
    for line in result.stdout.splitlines():
        if line.startswith(name_start):
            return line.rstrip(".").split(".")[-1] if "..." in line else line
    raise AssertionError(f"no line for {name_start!r} in:\n{_output(result)}")


def test_manifest_is_valid_for_pre_commit(run: Run) -> None:
    result = run(["pre-commit", "validate-manifest", str(MANIFEST)], ROOT)
    assert result.returncode == 0, _output(result)
    ids = [hook["id"] for hook in yaml.safe_load(MANIFEST.read_text())]
    assert ids == ["slim-generate", "slim-check", "slim-validate"]


@SHARED_HOME
def test_first_run_generates_and_fails_then_passes(consumer: Callable[..., Path], run: Run) -> None:
    repo = consumer([{"id": "slim-generate"}, {"id": "slim-check"}])

    first = run(["pre-commit", "run", "slim-generate", "--all-files"], repo)
    assert first.returncode == 1, _output(first)
    assert _hook_status(first, "slim generate") == "Failed"
    for rel in GENERATED:
        assert f"created {rel}" in first.stdout
        assert (repo / rel).is_file()

    second = run(["pre-commit", "run", "--all-files"], repo)
    assert second.returncode == 0, _output(second)
    assert _hook_status(second, "slim generate") == "Passed"
    assert _hook_status(second, "slim check") == "Passed"
    assert "created" not in second.stdout


@SHARED_HOME
def test_hand_edit_to_generated_dockerfile_is_caught_and_repaired(
    consumer: Callable[..., Path], run: Run
) -> None:
    repo = consumer([{"id": "slim-check"}, {"id": "slim-generate"}])
    run(["pre-commit", "run", "slim-generate", "--all-files"], repo)
    run(["git", "add", "-A"], repo)
    dockerfile = repo / GENERATED[1]
    pristine = dockerfile.read_text()
    edited = pristine.replace("USER 65532:65532", "USER 0", 1)
    assert edited != pristine
    dockerfile.write_text(edited)

    # Only the Dockerfile is passed: the hooks run because `files:` matches it.
    check = run(["pre-commit", "run", "slim-check", "--files", GENERATED[1]], repo)
    assert check.returncode == 1, _output(check)
    assert f"{GENERATED[1]}: out of date or edited by hand" in check.stdout
    assert dockerfile.read_text() == edited  # the check writes nothing

    fix = run(["pre-commit", "run", "slim-generate", "--files", GENERATED[1]], repo)
    assert fix.returncode == 1, _output(fix)
    assert f"updated {GENERATED[1]}" in fix.stdout
    assert dockerfile.read_text() == pristine
    assert run(["git", "diff", "--name-only"], repo).stdout == ""  # back to what was added

    again = run(["pre-commit", "run", "--files", GENERATED[1]], repo)
    assert again.returncode == 0, _output(again)


@SHARED_HOME
def test_hooks_skip_unrelated_files(consumer: Callable[..., Path], run: Run) -> None:
    repo = consumer([{"id": "slim-generate"}, {"id": "slim-validate"}])
    result = run(["pre-commit", "run", "--files", "hello/hello.c"], repo)
    assert result.returncode == 0, _output(result)
    assert "Skipped" in _hook_status(result, "slim generate")
    assert not (repo / "docker-bake.hcl").exists()


@SHARED_HOME
def test_invalid_slim_yaml_fails_with_its_line(consumer: Callable[..., Path], run: Run) -> None:
    repo = consumer([{"id": "slim-validate"}, {"id": "slim-generate"}])
    lines = SLIM_YAML.splitlines()
    lines.append("    budgets: {scratch-musl: {max: 20 parsecs}}")  # line 7
    (repo / "slim.yaml").write_text("\n".join(lines) + "\n")

    result = run(["pre-commit", "run", "--all-files"], repo)
    assert result.returncode != 0
    assert _hook_status(result, "slim validate") == "Failed"
    assert _hook_status(result, "slim generate") == "Failed"
    found = re.findall(r"^slim\.yaml:(\d+):\d+: (\S+): '20 parsecs'", result.stdout, re.M)
    # Both hooks name the same place: line 7, the budget's `max` field.
    assert found == [("7", "artifacts.hello.budgets.scratch-musl.max")] * 2, _output(result)
    assert not (repo / "dockerfiles").exists()
    assert not (repo / "docker-bake.hcl").exists()


def test_try_repo_reports_broken_yaml(
    consumer: Callable[..., Path], hook_repo: tuple[Path, str], run: Run
) -> None:
    repo = consumer([{"id": "slim-validate"}])
    (repo / "slim.yaml").write_text(SLIM_YAML.replace("scratch-musl]", "scratch-musl"))
    hooks_path = str(hook_repo[0])
    result = run(["pre-commit", "try-repo", hooks_path, "slim-validate", "--all-files"], repo)
    assert result.returncode != 0
    assert re.search(r"^slim\.yaml:7:\d+: invalid YAML", result.stdout, re.M), _output(result)


@SHARED_HOME
def test_config_elsewhere_via_args(consumer: Callable[..., Path], run: Run) -> None:
    repo = consumer(
        [
            {"id": "slim-generate", "args": ["-c", "deploy/slim.yaml"]},
            {"id": "slim-check", "args": ["-c", "deploy/slim.yaml"]},
        ],
        config_path="deploy/slim.yaml",
    )
    first = run(["pre-commit", "run", "slim-generate", "--all-files"], repo)
    assert first.returncode == 1, _output(first)
    for rel in GENERATED:
        assert f"created deploy/{rel}" in first.stdout
        assert (repo / "deploy" / rel).is_file()
    run(["git", "add", "-A"], repo)
    bake = repo / "deploy" / "docker-bake.hcl"
    bake.write_text(bake.read_text() + '\ntarget "extra" {}\n')
    check = run(["pre-commit", "run", "slim-check", "--files", "deploy/docker-bake.hcl"], repo)
    assert check.returncode == 1, _output(check)
    assert "deploy/docker-bake.hcl: out of date or edited by hand" in check.stdout
    assert "slim generate -c deploy/slim.yaml" in check.stdout


@SHARED_HOME
def test_git_commit_refused_until_regenerated_files_are_added(
    consumer: Callable[..., Path], run: Run
) -> None:
    repo = consumer([{"id": "slim-validate"}, {"id": "slim-generate"}])
    installed = run(["pre-commit", "install"], repo)
    assert installed.returncode == 0, _output(installed)

    refused = run(["git", "commit", "-m", "add slim.yaml"], repo)
    assert refused.returncode != 0
    assert "created docker-bake.hcl" in _output(refused)
    assert run(["git", "rev-parse", "--verify", "-q", "HEAD"], repo).returncode != 0  # no commit

    run(["git", "add", "-A"], repo)
    accepted = run(["git", "commit", "-m", "add slim.yaml and generated files"], repo)
    assert accepted.returncode == 0, _output(accepted)
    committed = run(["git", "ls-files"], repo).stdout.split()
    assert set(GENERATED) <= set(committed)

    # A new runtime: the commit of slim.yaml alone is refused until its Dockerfile is added.
    slim_yaml = repo / "slim.yaml"
    slim_yaml.write_text(slim_yaml.read_text().replace("scratch-musl]", "scratch-musl, alpine]"))
    run(["git", "add", "slim.yaml"], repo)
    refused = run(["git", "commit", "-m", "add alpine"], repo)
    assert refused.returncode != 0
    assert "dockerfiles/hello-alpine.Dockerfile" in _output(refused)
    assert run(["git", "log", "--format=%s", "-1"], repo).stdout.strip() != "add alpine"

    run(["git", "add", "-A"], repo)
    accepted = run(["git", "commit", "-m", "add alpine"], repo)
    assert accepted.returncode == 0, _output(accepted)
    assert run(["git", "status", "--porcelain"], repo).stdout == ""


LEAN_RUN = """
import sys
from slim_bake.cli import main
codes = [main([command, *sys.argv[1:]]) for command in ("generate", "check", "validate")]
heavy = sorted({name.split(".")[0] for name in sys.modules} & {"docker", "hcl2", "requests"})
print(codes, heavy)
"""


def test_hook_commands_do_not_import_docker_or_hcl2(tmp_path: Path) -> None:
    """The hook environment has only the core dependencies: rendering must not need more."""
    (tmp_path / "hello").mkdir()
    (tmp_path / "slim.yaml").write_text(SLIM_YAML)
    result = subprocess.run(
        [sys.executable, "-c", LEAN_RUN, "-c", "slim.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, _output(result)
    assert result.stdout.splitlines()[-1] == "[0, 0, 0] []"
    assert (tmp_path / "docker-bake.hcl").is_file()
