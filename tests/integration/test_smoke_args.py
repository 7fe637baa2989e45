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


class _Engine:
    """An engine client whose containers lose their output one way: `none` keeps no logs
    (`--log-driver none`, a daemon default some teams set: `docker logs` has nothing to
    give back); `late` answers the attach with an empty stream, as an engine does that
    joins the attach to the streams only after the program has printed."""

    def __init__(self, real: Any, loses: str) -> None:
        self.images = real.images
        self.containers = self
        self._real = real
        self._loses = loses

    def create(self, image: str, **options: Any) -> Any:
        from docker.types import LogConfig

        if self._loses == "none":
            options["log_config"] = LogConfig(type="none")
        container = self._real.containers.create(image, **options)
        if self._loses == "late":
            container.attach = lambda **_: iter(())
        return container


@pytest.mark.docker
@pytest.mark.parametrize("loses", ["nothing", "none", "late"])
def test_the_smoke_run_reads_all_the_output_whichever_way_the_engine_loses_it(
    docker_engine: None, monkeypatch: pytest.MonkeyPatch, loses: str
) -> None:
    from slim_bake import engine

    real = engine.client()
    monkeypatch.setattr(engine, "client", lambda host=None: _Engine(real, loses))
    script = "seq 1 20000; echo to-stderr >&2; exit 3"
    spec = Smoke(args=("sh", "-c", script), expect_stdout=PRINTED, expect_exit=3)
    result = smoke(STANDIN_BUSYBOX, spec)
    assert result.ok, result.message
    assert result.stderr == "to-stderr\n"
