"""Smoke runs: `smoke.args: []` runs the program with no arguments, not with the image's
CMD; everything the program prints is read, whatever the engine does with logs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from slim_bake.cli import main
from slim_bake.config import Smoke
from slim_bake.smoke import smoke

STANDIN_BUSYBOX = "slim-standin/busybox:static"
PRINTED = "".join(f"{n}\n" for n in range(1, 20001))  # 108,894 bytes: several chunks

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


class _NoLogs:
    """An engine client whose containers keep no logs (`--log-driver none`, a daemon
    default some teams set): `docker logs` has nothing to give back."""

    def __init__(self, real: Any) -> None:
        self.images = real.images
        self.containers = self
        self._real = real

    def create(self, image: str, **options: Any) -> Any:
        from docker.types import LogConfig

        return self._real.containers.create(image, log_config=LogConfig(type="none"), **options)


@pytest.mark.docker
@pytest.mark.parametrize("logs", ["kept", "none"])
def test_the_smoke_run_reads_all_the_output_even_when_the_engine_keeps_no_logs(
    docker_engine: None, monkeypatch: pytest.MonkeyPatch, logs: str
) -> None:
    from slim_bake import engine

    if logs == "none":
        real = engine.client()
        monkeypatch.setattr(engine, "client", lambda host=None: _NoLogs(real))
    script = "seq 1 20000; echo to-stderr >&2; exit 3"
    spec = Smoke(args=("sh", "-c", script), expect_stdout=PRINTED, expect_exit=3)
    result = smoke(STANDIN_BUSYBOX, spec)
    assert result.ok, result.message
    assert result.stderr == "to-stderr\n"
