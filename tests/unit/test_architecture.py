"""The shape of the code: the pipeline's stages import downward only, no report output
imports another (issue 13). The contracts live in pyproject.toml ([tool.importlinter])
and are checked by import-linter on the source as it is, and on a copy made to break."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def lint_imports(src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_import_goes_downward() -> None:
    result = lint_imports(ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "upward", "contract"),
    [
        ("config/model.py", "from slim_bake.plan import Plan", "stages import downward"),
        ("bake.py", "from slim_bake.judge import judge", "stages import downward"),
        ("report/markdown.py", "from slim_bake.report import terminal", "never on each other"),
        ("github/client.py", "from slim_bake.github import comment", "knows nothing of comments"),
    ],
)
def test_an_upward_import_breaks_a_contract(
    tmp_path: Path, module: str, upward: str, contract: str
) -> None:
    shutil.copytree(ROOT / "src" / "slim_bake", tmp_path / "slim_bake")
    path = tmp_path / "slim_bake" / module
    # Inside a function, as a lazy import would be: import-linter sees those too.
    path.write_text(path.read_text() + f"\n\ndef _upward() -> None:\n    {upward}  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(contract in line for line in broken), result.stdout
