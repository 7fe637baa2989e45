"""The command line's plumbing: a command's module is imported only when it runs (the
pre-commit hooks start without docker, the GitHub client or the report outputs), and a
reader closing slim's stdout early is one line, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
CONFIG = """version: 1
artifacts:
  hello:
    lang: c
    context: ./src
    runtimes: [debian-slim, scratch-musl]
"""
# What the hooks must never load: the engine, the GitHub client and the report outputs.
NEVER_IN_HOOKS = (
    "docker",
    "requests",
    "urllib.request",
    "http.client",
    "slim_bake.engine",
    "slim_bake.github",
    "slim_bake.measure",
    "slim_bake.report",
    "slim_bake.pipeline",
    "slim_bake.smoke",
    "slim_bake.judge",
)
# `--help` needs argparse and slim's printing, no stage of the pipeline.
HELP_ONLY = {
    "slim_bake",
    "slim_bake.cli",
    "slim_bake.errors",
    "slim_bake.failsafe",
    "slim_bake.safe_text",
}
COMMAND = {"slim_bake.commands", "slim_bake.commands._options"}
PROBE = """
import sys
from slim_bake.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:  # --help
    code = exc.code
watched = {"slim_bake", "docker", "requests"}
print(" ".join(sorted(m for m in sys.modules
                      if m.split(".")[0] in watched or m in {"urllib.request", "http.client"})))
sys.exit(code)
"""


def loaded(args: list[str], cwd: Path) -> set[str]:
    """The modules of slim (and the network's) a fresh `slim ARGS` process has loaded."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.splitlines()[-1].split())


def repository(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "slim.yaml").write_text(CONFIG)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


@pytest.mark.parametrize("args", [["check"], ["generate", "--fail-on-change"], ["validate"]])
def test_the_hook_commands_never_load_the_engine_the_github_client_or_the_report_outputs(
    tmp_path: Path, args: list[str]
) -> None:
    repo = repository(tmp_path)
    loaded(["generate"], repo)  # first run writes the files; the hooks then pass
    modules = loaded(args, repo)
    assert f"slim_bake.commands.{args[0]}" in modules  # the command did run here
    assert not {m for m in modules if m.startswith(NEVER_IN_HOOKS)}


@pytest.mark.parametrize("command", ["check", "generate", "validate", "schema", "init", "comment"])
def test_a_commands_help_loads_its_module_and_no_stage(tmp_path: Path, command: str) -> None:
    shared = COMMAND if command != "schema" else COMMAND - {"slim_bake.commands._options"}
    expected = HELP_ONLY | shared | {f"slim_bake.commands.{command}"}
    assert loaded([command, "--help"], tmp_path) == expected


def test_slims_own_help_loads_no_command(tmp_path: Path) -> None:
    assert loaded(["--help"], tmp_path) == HELP_ONLY


def test_a_reader_closing_stdout_early_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """`slim schema | head -1` when head has gone: Python raises BrokenPipeError on the
    write, and at exit again on the flush unless stdout is dropped (failsafe)."""
    read, write = os.pipe()
    os.close(read)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "slim_bake", "schema"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(SRC)},
            cwd=tmp_path,
            check=False,
        )
    finally:
        os.close(write)
    assert result.returncode == 2
    assert result.stderr == "slim: output closed early (broken pipe)\n"
