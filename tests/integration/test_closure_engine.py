"""The scratch closure on the engine: a library the build image finds only through its
ld.so.cache (installed in /usr/local/lib, as gcc:14 keeps libstdc++ in /usr/local/lib64)
still loads in scratch, which has no cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from slim_bake.cli import main

GREET_C = '#include <stdio.h>\nvoid greet(void) { puts("Hello from /usr/local/lib"); }\n'
MAIN_C = "void greet(void);\nint main(void) { greet(); return 0; }\n"
# The library built and installed in the build stage, ldconfig run as a user's build would.
COMMAND = (
    "gcc -shared -fPIC -o /usr/local/lib/libgreet.so greet.c && ldconfig"
    " && gcc -o greeter main.c -lgreet"
)


@pytest.mark.docker
def test_a_library_found_through_the_build_images_cache_loads_in_scratch(
    project: Callable[..., Path], docker_engine: None, capsys: pytest.CaptureFixture[str]
) -> None:
    config = {
        "version": 1,
        "artifacts": {
            "greeter": {
                "lang": "custom",
                "context": "hello",
                "runtimes": ["scratch-closure"],
                "build": {"glibc-dynamic": {"command": COMMAND, "output": "greeter"}},
                "smoke": {"expect_stdout": "Hello from /usr/local/lib"},
            }
        },
    }
    path = project(config, standins=True)
    (path.parent / "hello" / "greet.c").write_text(GREET_C)
    (path.parent / "hello" / "main.c").write_text(MAIN_C)
    code = main(["bake", "-c", str(path)])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert "pass" in out.out
