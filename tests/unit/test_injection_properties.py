"""Hostile values from slim.yaml cannot change the structure of what slim writes: the
Dockerfile's instructions and stages (read with BuildKit's rules, tests/buildkit_rules.py),
the shell script of each RUN (run under sh with stub commands), the bake file (python-hcl2
and `docker buildx bake --print`) — or slim refuses the value with exit 2 at its line."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.buildkit_rules import parse, run_commands, stage_names
from support.features_helpers import REPRO_CFLAGS
from support.injection_helpers import dockerfile, render
from support.render_helpers import load_hcl

from slim_bake.cli import main
from slim_bake.errors import ConfigError

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


@pytest.mark.parametrize("image", ["build", "Runtime", "CLOSURE", "rootfs", "Files"])
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


# --- Properties: arbitrary strings in every field that reaches a file or a shell ------

# Characters that break Dockerfiles, HCL and shells, mixed with anything else.
NASTY_CHARS = list("\\ \t#\n\r\"'`$%{}()[];&|<>*?!~=,:./-_") + [
    "${", "%{", "$(", "<<", "SLIM_RUN", "SLIM_CLOSURE", "EOF", "\x00", "\x1b", "\x0b",
    "\x0c", "\u2028", "\x85", "FROM x AS runtime", "RUN ", "\\\n", "\\ \n", "a", "Z", "0",
]  # fmt: skip
TEXT = st.lists(st.sampled_from(NASTY_CHARS) | st.characters(codec="utf-8"), max_size=12).map(
    "".join
)
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def base_config() -> dict[str, Any]:
    return {
        "version": 1,
        "registry": "ghcr.io/acme",
        "platforms": ["linux/amd64"],
        "artifacts": {
            "hello": {
                "lang": "c",
                "runtimes": ["scratch-closure", "alpine", "scratch-musl-debug"],
                "args": ["--greet"],
                "labels": {"com.example.note": "x"},
                "smoke": {"args": ["--version"]},
            },
            "gohello": {"lang": "go", "runtimes": ["scratch-glibc"]},
            "rusty": {"lang": "rust", "runtimes": ["debian-slim"]},
            "tool": {
                "lang": "custom",
                "runtimes": ["scratch-glibc"],
                "build": {"glibc-static": {"command": "make", "output": "bin/tool"}},
            },
        },
    }


def put(config: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    node: Any = config
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(key, str) else node[key]
    node[path[-1]] = value


def outcome(tmp_path: Path, config: dict[str, Any]) -> dict[str, str] | ConfigError:
    try:
        return render(tmp_path, config)
    except ConfigError as error:
        return error


def assert_refused_at_a_line(error: ConfigError) -> None:
    assert error.exit_code == 2
    assert error.diagnostics
    for diagnostic in error.diagnostics:
        assert diagnostic.line > 0 and diagnostic.column > 0, str(diagnostic)


def scripts(text: str) -> list[list[str]]:
    """Each RUN heredoc's commands, one a line, as BuildKit hands them to sh -c."""
    result = []
    for ins in parse(text):
        if ins.keyword == "RUN" and ins.heredocs:
            [(name, content)] = ins.heredocs
            assert name == "SLIM_RUN" and ins.line.endswith("<<'SLIM_RUN'")
            result.append(run_commands(content))
    return result


def assert_same_shape(
    files: dict[str, str], clean: dict[str, str], ours: frozenset[str] = frozenset()
) -> None:
    """Same files, same instructions and stages, and every RUN script has the same
    number of commands with slim's own commands unchanged."""
    assert files.keys() == clean.keys()
    for name, text in files.items():
        if not name.endswith(".Dockerfile"):
            continue
        mine, theirs = parse(text), parse(clean[name])
        assert [i.keyword for i in mine] == [i.keyword for i in theirs], name
        assert stage_names(mine) == stage_names(theirs), name
        for i, j in zip(mine, theirs, strict=True):
            if i.keyword in ("WORKDIR", "USER"):
                assert i.line == j.line, name
        for got, want in zip(scripts(text), scripts(clean[name]), strict=True):
            assert len(got) == len(want), name
            for command in want:
                if command in SLIM_COMMANDS | ours:
                    assert command in got, name


SLIM_COMMANDS = frozenset({"mkdir -p /out", "cp /src/bin/tool /out/tool", "mkdir -p /rootfs/tmp"})

SHELL_FIELDS = {
    "setup": ("bases", "gcc", "setup"),
    "artifact setup": ("artifacts", "hello", "bases", "musl-gcc", "setup"),
    "post": ("profiles", "c", "default", "post", 1),
    "command": ("artifacts", "tool", "build", "glibc-static", "command"),
}


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    config = base_config()
    config["profiles"] = {"c": {"default": {"post": ["{strip} --strip-all {out}", "true"]}}}
    config["bases"] = {"gcc": {"setup": "true"}}
    config["artifacts"]["hello"]["bases"] = {"musl-gcc": {"setup": "true"}}
    return render(tmp_path_factory.mktemp("clean"), config)


@pytest.mark.parametrize("field", SHELL_FIELDS)
@settings(SETTINGS, max_examples=40)
@given(value=TEXT)
def test_shell_commands_stay_one_line_of_their_script(
    tmp_path: Path, clean: dict[str, str], field: str, value: str
) -> None:
    config = base_config()
    config["profiles"] = {"c": {"default": {"post": ["{strip} --strip-all {out}", "true"]}}}
    config["bases"] = {"gcc": {"setup": "true"}}
    config["artifacts"]["hello"]["bases"] = {"musl-gcc": {"setup": "true"}}
    if field == "post":
        value = value.replace("{", "{{").replace("}", "}}")  # placeholders: tested apart
    if "setup" in field and not value:
        return  # an empty setup is no setup: no RUN
    put(config, SHELL_FIELDS[field], value)
    result = outcome(tmp_path, config)
    if isinstance(result, ConfigError):
        assert_refused_at_a_line(result)
        return
    assert_same_shape(result, clean)
    # The value is exactly one line of a script, standing alone.
    expected = value.replace("{{", "{").replace("}}", "}") if field == "post" else value
    found = [
        command
        for name, text in result.items()
        if name.endswith(".Dockerfile")
        for script in scripts(text)
        for command in script
        if command == expected
    ]
    assert found, f"{expected!r} is not a line of any RUN script"


WORD_FIELDS: dict[str, tuple[tuple[str | int, ...], bool]] = {
    # field → (path, whether the value is a list item)
    "cflags": (("artifacts", "hello", "build", "cflags"), True),
    "ldflags": (("artifacts", "hello", "build", "ldflags"), True),
    "goflags": (("artifacts", "gohello", "build", "goflags"), True),
    "go ldflags": (("artifacts", "gohello", "build", "ldflags"), True),
    "tags": (("artifacts", "gohello", "build", "tags"), True),
    "package": (("artifacts", "gohello", "build", "package"), False),
    "cargo_flags": (("artifacts", "rusty", "build", "cargo_flags"), True),
    "profile vars": (("profiles", "c", "default", "vars", "cflags"), True),
    "base vars": (("bases", "musl-gcc", "vars", "cc"), False),
    "env value": (("artifacts", "hello", "build", "env", "GREETING"), False),
    "args": (("artifacts", "hello", "args"), True),
    "binary": (("artifacts", "hello", "binary"), False),
    "label value": (("artifacts", "hello", "labels", "com.example.note"), False),
    "registry": (("registry",), False),
    "platforms": (("platforms",), True),
    "image": (("bases", "alpine"), False),
    "busybox image": (("bases", "busybox-static"), False),
    "closure.extra": (("artifacts", "hello", "closure", "extra"), True),
    "smoke args": (("artifacts", "hello", "smoke", "args"), True),
    "custom output": (("artifacts", "tool", "build", "glibc-static", "output"), False),
    "syntax": (("syntax",), False),
}


Reference = tuple[dict[str, str], dict[str, Any]]


@pytest.fixture(scope="module")
def references() -> dict[str, Reference]:
    """Per field, the files and bake targets rendered with a harmless value: the shape
    every value must keep (made once per field, not once per example)."""
    return {}


def reference_for(references: dict[str, Reference], tmp_path: Path, field: str) -> Reference:
    if field not in references:
        path, listed = WORD_FIELDS[field]
        benign = {"platforms": "linux/arm64", "closure.extra": "libx.so", "syntax": "a/b:1"}
        harmless = benign.get(field, "x")
        reference_config = base_config()
        put(reference_config, path, [harmless] if listed else harmless)
        files = render(tmp_path, reference_config)
        references[field] = files, bake_targets(tmp_path, files["docker-bake.hcl"])
    return references[field]


@pytest.mark.parametrize("field", WORD_FIELDS)
@settings(SETTINGS, max_examples=15)
@given(value=TEXT)
def test_words_and_values_cannot_change_the_files_structure(
    tmp_path: Path, references: dict[str, Reference], field: str, value: str
) -> None:
    path, listed = WORD_FIELDS[field]
    config = base_config()
    put(config, path, [value] if listed else value)
    result = outcome(tmp_path, config)
    if isinstance(result, ConfigError):
        assert_refused_at_a_line(result)
        return
    reference, reference_targets = reference_for(references, tmp_path, field)
    if field == "syntax":
        result = {
            k: v.split("\n", 1)[1] if k.endswith("Dockerfile") else v for k, v in result.items()
        }
    if field == "custom output":
        slim = shlex.quote(value if value.startswith("/") else f"/src/{value}")
        reference = {k: v.replace("cp /src/bin/tool ", f"cp {slim} ") for k, v in reference.items()}
    assert_same_shape(result, reference)
    for name, text in result.items():
        if not name.endswith(".Dockerfile"):
            continue
        instructions = parse(text)
        assert stage_names(instructions)[-1] == "runtime"
        for ins in instructions:
            if ins.keyword in ("CMD", "ENTRYPOINT"):
                words = json.loads(ins.line.split(None, 1)[1])
                assert isinstance(words, list)
                if field == "args" and ins.keyword == "CMD":
                    assert words == [value]
    targets = bake_targets(tmp_path, result["docker-bake.hcl"])
    assert set(targets) == set(reference_targets)
    note = targets["hello-alpine"]["labels"]["com.example.note"]
    assert note == (value if field == "label value" else "x")
    if field == "platforms":
        assert targets["hello-alpine"]["platforms"] == [value]
    if field == "registry":
        assert targets["hello-alpine"]["tags"] == [f"{value}/hello:alpine"]


_TARGETS: dict[str, dict[str, Any]] = {}  # by bake file: most fields never reach it


def bake_targets(tmp_path: Path, text: str) -> dict[str, Any]:
    """The targets as python-hcl2 reads them; where it cannot (it stumbles on `$${"`,
    which HCL allows, and leaves backslashes escaped after `$${`), as bake itself does
    (`docker buildx bake --print`)."""
    if text not in _TARGETS:
        _TARGETS[text] = _read_targets(tmp_path, text)
    return _TARGETS[text]


def _read_targets(tmp_path: Path, text: str) -> dict[str, Any]:
    try:
        if "$${" in text:  # python-hcl2 keeps `\\` raw after `$${` (bake reads `${\}`)
            raise ValueError("escaped template")
        hcl = load_hcl(text)
        return {k: v for block in hcl["target"] for k, v in block.items()}
    except Exception:  # noqa: BLE001 - python-hcl2's lark errors: ask the real parser
        (tmp_path / "bake.hcl").write_text(text)
        out = subprocess.run(
            ["docker", "buildx", "bake", "-f", "bake.hcl", "--print", "default"],
            cwd=tmp_path, capture_output=True, text=True, check=True,
        )  # fmt: skip
        targets: dict[str, Any] = json.loads(out.stdout)["target"]
        return {"docker-metadata-action": {}, **targets}


ARGV_STUB = 'for a in "$@"; do printf "%s\\0" "$a"; done\n'


@SETTINGS
@given(cflags=st.lists(TEXT, max_size=3), ldflags=st.lists(TEXT, max_size=2))
def test_flags_reach_the_compiler_as_exactly_these_words(
    tmp_path: Path, cflags: list[str], ldflags: list[str]
) -> None:
    """The compile line, run by sh with a stub compiler that prints its argv."""
    config = base_config()
    config["artifacts"]["hello"]["build"] = {"cflags": cflags, "ldflags": ldflags}
    result = outcome(tmp_path, config)
    if isinstance(result, ConfigError):
        assert_refused_at_a_line(result)
        return
    [_, build, *_] = scripts(result["dockerfiles/hello-alpine.Dockerfile"])
    compile_line = build[1]
    stub = tmp_path / "bin"
    stub.mkdir(exist_ok=True)
    (stub / "gcc").write_text("#!/bin/sh\n" + ARGV_STUB)
    (stub / "gcc").chmod(0o755)
    out = subprocess.run(
        ["/bin/sh", "-c", "set -e\n" + compile_line],
        env={"PATH": str(stub)}, cwd=tmp_path, capture_output=True, check=True,
    )  # fmt: skip
    argv = out.stdout.decode("utf-8", "surrogateescape").split("\0")[:-1]
    first = [*REPRO_CFLAGS.split(), "-O2", *cflags, "-o"]  # the reproducible-build flags first
    assert argv[: len(first)] == first
    assert argv[-len(ldflags) or len(argv) :] == ldflags


# --- The real engine: slim's own commands still run after hostile ones ---------------
