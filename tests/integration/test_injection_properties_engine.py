"""A real BuildKit build runs slim's own commands after hostile ones."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from support.injection_helpers import render


@pytest.mark.docker
def test_a_real_build_runs_slims_commands_after_hostile_ones(
    tmp_path: Path, docker_engine: None
) -> None:
    """BuildKit itself parses the Dockerfile and sh runs the scripts: a `#` in the custom
    command and in setup comments out nothing of slim's (the `mkdir -p /out` before and
    the `cp` of the output after), and the quoted heredoc expands no `${...}`."""
    (tmp_path / "tool").mkdir()
    command = "printf '%s\\n' 'kept: ${NOPE} $HOME' > made # a comment; rm made"
    config = {
        "version": 1,
        "bases": {
            "gcc": {
                "image": "slim-standin/gcc:bookworm",
                "setup": "echo 'setup ${X}' > /setup.txt # and a comment",
            }
        },
        "artifacts": {
            "tool": {
                "lang": "custom",
                "runtimes": ["scratch-glibc"],
                "files": {"passwd": False, "tmp": False},
                "build": {"glibc-static": {"command": command, "output": "made"}},
            }
        },
    }
    files = render(tmp_path, config)
    dockerfile = tmp_path / "tool.Dockerfile"
    dockerfile.write_text(files["dockerfiles/tool-scratch-glibc.Dockerfile"])
    out = tmp_path / "out"
    subprocess.run(
        ["docker", "buildx", "build", "-q", "--target", "runtime", "-f", str(dockerfile),
         "--output", f"type=local,dest={out}", str(tmp_path / "tool")],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    # The runtime holds the program only because slim's `cp` to /out ran after `make`.
    assert (out / "usr/local/bin/tool").read_text() == "kept: ${NOPE} $HOME\n"
