"""`smoke.args: []` runs the program with no arguments, not with the image's CMD."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from slim_bake.cli import main

COUNT_ARGS = '#include <stdio.h>\nint main(int c, char **v) { printf("%d\\n", c - 1); return 0; }\n'


@pytest.mark.docker
@pytest.mark.parametrize(
    ("smoke_args", "expected"), [([], "0"), (["a", "b", "c"], "3"), (None, "2")]
)
def test_smoke_args_replace_the_images_cmd(
    project: Callable[..., Path],
    docker_engine: None,
    capsys: pytest.CaptureFixture[str],
    smoke_args: list[str] | None,
    expected: str,
) -> None:
    smoke: dict[str, object] = {"expect_stdout": expected}
    if smoke_args is not None:
        smoke["args"] = smoke_args
    config = {
        "version": 1,
        "artifacts": {
            "argc": {
                "lang": "c",
                "context": "hello",
                "args": ["default", "cmd"],  # the image's CMD: two arguments
                "runtimes": ["scratch-musl"],
                "smoke": smoke,
            }
        },
    }
    path = project(config, standins=True)
    (path.parent / "hello" / "hello.c").write_text(COUNT_ARGS)
    code = main(["bake", "-c", str(path)])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert "pass" in out.out
