"""Hostile values from slim.yaml cannot change the structure of what slim writes: the
Dockerfile's instructions and stages (read with BuildKit's rules, tests/buildkit_rules.py),
the shell script of each RUN (run under sh with stub commands), the bake file (python-hcl2
and `docker buildx bake --print`) — or slim refuses the value with exit 2 at its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from buildkit_rules import parse

from slim_bake.cli import main
from slim_bake.config import load_config
from slim_bake.errors import ConfigError
from slim_bake.output import render_all
from slim_bake.plan import make_plan

SCRATCH = "scratch-glibc"


def custom_config(command: str = "make", setup: str | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {
        "version": 1,
        "artifacts": {
            "tool": {
                "lang": "custom",
                "runtimes": [SCRATCH, "single-stage"],
                "build": {
                    "glibc-static": {"command": command, "output": "bin/tool"},
                    "glibc-dynamic": {"command": command, "output": "bin/tool"},
                },
            },
            "hello": {"lang": "c", "runtimes": ["alpine", "scratch-closure"]},
        },
    }
    if setup is not None:
        config["bases"] = {"gcc": {"setup": setup}, "musl-gcc": {"setup": setup}}
    return config


def render(tmp_path: Path, config: dict[str, Any]) -> dict[str, str]:
    for name in ("tool", "hello"):
        (tmp_path / name).mkdir(exist_ok=True)
    path = tmp_path / "slim.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return render_all(make_plan(load_config(path)))


def dockerfile(files: dict[str, str], target: str) -> str:
    return files[f"dockerfiles/{target}.Dockerfile"]


def structure(text: str) -> list[tuple[str, ...]]:
    """The instruction keywords with stage names: what a value must not change."""
    return [
        (i.keyword, *i.line.split()[2:]) if i.keyword == "FROM" else (i.keyword,)
        for i in parse(text)
    ]


# --- The escapes of issue 11, class 1 -------------------------------------------------


@pytest.mark.parametrize("blanks", ["", " ", "\t", " \t "])
def test_backslash_and_blanks_cannot_join_the_next_instruction(tmp_path: Path, blanks: str) -> None:
    clean = render(tmp_path, custom_config())
    for where in ("command", "setup"):
        value = "make \\" + blanks
        config = (
            custom_config(**{where: value}) if where == "command" else custom_config(setup=value)
        )
        try:
            files = render(tmp_path, config)
        except ConfigError as error:
            assert "backslash" in str(error)
            continue
        for name, text in files.items():
            if name.endswith(".Dockerfile"):
                assert structure(text) == structure(clean[name]), name


def test_a_hash_in_a_custom_command_cannot_comment_out_the_copy_of_the_output(
    tmp_path: Path,
) -> None:
    files = render(tmp_path, custom_config(command="make # build it"))
    runs = [i for i in parse(dockerfile(files, f"tool-{SCRATCH}")) if i.keyword == "RUN"]
    scripts = [content for run in runs for _, content in run.heredocs]
    build = next(s for s in scripts if "make # build it" in s)
    assert "\nmake # build it\ncp /src/bin/tool /out/tool\n" in build


@pytest.mark.parametrize("image", ["build", "Runtime", "CLOSURE", "rootfs"])
@pytest.mark.parametrize("spelled", ["string", "mapping"])
def test_a_base_image_named_like_a_stage_is_refused_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], image: str, spelled: str
) -> None:
    """`FROM build AS runtime` would make the runtime image the toolchain."""
    for name in ("tool", "hello"):
        (tmp_path / name).mkdir()
    base = image if spelled == "string" else f"{{image: {image}}}"
    path = tmp_path / "slim.yaml"
    path.write_text(
        "version: 1\n"
        "artifacts:\n"
        "  hello:\n"
        "    lang: c\n"
        "    runtimes: [debian-slim]\n"
        f"    bases: {{debian-slim: {base}}}\n"
    )
    assert main(["validate", "-c", str(path)]) == 2
    column = 26 if spelled == "string" else 34
    err = capsys.readouterr().err
    assert f"slim.yaml:6:{column}: artifacts.hello.bases.debian-slim" in err
    assert "name of a stage" in err
    assert not (tmp_path / "dockerfiles").exists()


@pytest.mark.parametrize(
    "field",
    ["bases.gcc.setup", "profiles.c.tiny.post[0]", "artifacts.tool.build.glibc-static.command"],
)
def test_every_shell_command_field_refuses_through_one_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str
) -> None:
    for name in ("tool",):
        (tmp_path / name).mkdir()
    value = '"make \\\\ \\t"'  # YAML for: make, backslash, blank, tab
    lines = {
        "bases.gcc.setup": f"bases: {{gcc: {{setup: {value}}}}}",
        "profiles.c.tiny.post[0]": f"profiles: {{c: {{tiny: {{post: [{value}]}}}}}}",
        "artifacts.tool.build.glibc-static.command": "",
    }
    command = value if field.endswith("command") else "make"
    path = tmp_path / "slim.yaml"
    path.write_text(
        "version: 1\n"
        f"{lines[field]}\n"
        "artifacts:\n"
        "  tool:\n"
        "    lang: custom\n"
        "    runtimes: [scratch-glibc]\n"
        f"    build: {{glibc-static: {{command: {command}, output: tool}}}}\n"
    )
    assert main(["generate", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    line = 7 if field.endswith("command") else 2
    assert f"slim.yaml:{line}:" in err and f"{field}: " in err, err
    assert "must not end in a backslash" in err
    assert not (tmp_path / "dockerfiles").exists()
