"""slim.yaml validation: every problem at once, located by file:line:column and field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from slim_bake import presets
from slim_bake.cli import main
from slim_bake.config import load_config
from slim_bake.errors import ConfigError
from slim_bake.output import render_all
from slim_bake.plan import make_plan

GOOD = """\
version: 1
artifacts:
  hello:
    lang: c
    runtimes: [scratch-musl, alpine]
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "hello").mkdir(exist_ok=True)
    (tmp_path / "hello" / "hello.c").write_text("int main(void){return 0;}\n")
    path = tmp_path / "slim.yaml"
    path.write_text(text)
    return path


def errors(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(d) for d in info.value.diagnostics]


def test_a_valid_file_plans_one_target_per_artifact_and_runtime(tmp_path: Path) -> None:
    plan = make_plan(load_config(write(tmp_path, GOOD)))
    assert [t.name for t in plan.targets] == ["hello-scratch-musl", "hello-alpine"]
    assert plan.groups["default"] == ("hello-scratch-musl", "hello-alpine")
    assert plan.groups["hello"] == plan.groups["default"]
    assert plan.groups["alpine"] == ("hello-alpine",)


def test_a_typo_in_a_runtime_names_line_column_field_and_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("[scratch-musl, alpine]", "[scratch-musl, alpin]"))
    [message] = errors(path)
    assert message.endswith(
        ":5:30: artifacts.hello.runtimes[1]: 'alpin' is not a runtime; did you mean 'alpine'?"
    )


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("    lang: c\n", "    lang: c\n    colour: red\n    binary: 'a b'\n")
    messages = errors(write(tmp_path, text))
    assert len(messages) == 2
    assert any(":5:5: artifacts.hello.colour: unknown field 'colour'" in m for m in messages)
    assert any("artifacts.hello.binary: 'a b' is not valid" in m for m in messages)


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (("lang: c", "lang: cc"), "'cc' is not a language; did you mean 'c'?"),
        (("[scratch-musl, alpine]", "[]"), "artifacts.hello.runtimes: [] should be non-empty"),
        (("[scratch-musl, alpine]", "[alpine, alpine]"), "'alpine' is listed twice"),
        (("[scratch-musl, alpine]", "[alpine-debug]"), "'alpine' has a shell already"),
        (("version: 1", "version: 2"), "version: must be 1, not 2"),
        (("    lang: c\n", "    lang: c\n    context: ../..\n"), "is outside the repository"),
        (("    lang: c\n", "    lang: c\n    context: nowhere\n"), "'nowhere' is not a folder"),
        (
            ("    lang: c\n", "    lang: c\n    budgets: {scratch-mus: {max: 1kB}}\n"),
            "'scratch-mus' is not one of this artifact's runtimes; did you mean 'scratch-musl'?",
        ),
        (
            ("    lang: c\n", "    lang: c\n    budgets: {'*': {max: 20kb}}\n"),
            "budgets.*.max: '20kb' is not valid",
        ),
        (
            ("    lang: c\n", "    lang: c\n    build: {goflags: [-x]}\n"),
            "not a build setting of c",
        ),
        (("lang: c", "lang: custom"), "needs a musl-static build: add build.musl-static"),
        (
            ("version: 1\n", "version: 1\nbases: {gcc2: x}\n"),
            "'gcc2' is not a base; did you mean 'gcc'?",
        ),
        (("version: 1\n", "version: 1\nbases: {scratch: x}\n"), "cannot be replaced"),
        (("version: 1\n", "version: 1\nversion: 1\n"), "duplicate key 'version'"),
        (("runtimes: [", "runtimes: [[["), "invalid YAML"),
        (("    lang: c\n", "    lang: c\n    labels: {1: x}\n"), "a key must be a string, not 1"),
        (("version: 1\n", "version: 1\nx: &a [*a]\n"), "alias refers to itself"),
        (("  hello:\n", "  hello_:\n"), "'hello_' is not valid: lower-case letters and digits"),
        (("    lang: c\n", "    lang: c\n    binary: '..'\n"), "binary: '..' is not valid"),
        (
            ("    lang: c\n", "    lang: c\n    smoke: {expect_stdout: 5}\n"),
            "smoke.expect_stdout: expected string, got int 5",
        ),
        (
            ("version: 1\n", "version: 1\noutput: {dockerfiles: out, bake: out/x.hcl}\n"),
            "output.bake: 'out/x.hcl' must not be inside the Dockerfiles folder",
        ),
        (
            ("version: 1\n", "version: 1\noutput: {dockerfiles: hello/hello.c}\n"),
            "output.dockerfiles: hello/hello.c is a file",
        ),
        (
            ("version: 1\n", "version: 1\noutput: {bake: hello}\n"),
            "output.bake: 'hello' is a folder",
        ),
    ],
)
def test_each_kind_of_mistake_has_its_own_message(
    tmp_path: Path, edit: tuple[str, str], fragment: str
) -> None:
    text = GOOD.replace(*edit)
    assert text != GOOD
    messages = errors(write(tmp_path, text))
    assert any(fragment in m for m in messages), messages
    assert all(
        m.startswith(str(tmp_path / "slim.yaml")) or m.startswith("slim.yaml") for m in messages
    )


def test_schema_and_semantic_problems_come_together(tmp_path: Path) -> None:
    text = GOOD.replace("version: 1\n", "version: 1\nplatforms: 5\n") + (
        "  other:\n    lang: c\n    context: hello\n    runtimes: [alpin]\n"
        "  broken:\n    lang: c\n    runtimes: []\n"
    )
    messages = errors(write(tmp_path, text))
    assert any("platforms: expected array, got int 5" in m for m in messages)
    assert any("'alpin' is not a runtime; did you mean 'alpine'?" in m for m in messages)
    assert any("artifacts.broken.runtimes: [] should be non-empty" in m for m in messages)
    lines = [int(m.split(":")[1]) for m in messages]
    assert lines == sorted(lines)


def test_an_artifact_the_schema_refused_still_has_its_language_and_runtimes_checked(
    tmp_path: Path,
) -> None:
    text = GOOD.replace("lang: c", "lang: cobol\n    budgets: {alpine: {max: 20kb}}").replace(
        "alpine]", "alpin]"
    )
    messages = errors(write(tmp_path, text))
    assert any("max: '20kb' is not valid" in m for m in messages)
    assert any("'cobol' is not a language" in m for m in messages)
    assert any("'alpin' is not a runtime" in m for m in messages)


def test_a_custom_build_names_an_existing_toolchain(tmp_path: Path) -> None:
    text = GOOD.replace("lang: c", "lang: custom").replace(
        "[scratch-musl, alpine]",
        "[scratch-musl]\n    build:\n"
        "      musl-static: {command: make, output: hello, toolchain: gc}",
    )
    [message] = errors(write(tmp_path, text))
    assert "build.musl-static.toolchain: 'gc' is not a base; did you mean 'gcc'?" in message


def test_a_wrong_runtime_is_reported_once(tmp_path: Path) -> None:
    messages = errors(write(tmp_path, GOOD.replace("alpine]", "alpine, alpine, alpinee]")))
    assert len(messages) == 2, messages


def test_colliding_target_and_group_names_are_refused(tmp_path: Path) -> None:
    text = GOOD + "  hello-alpine:\n    lang: c\n    context: hello\n    runtimes: [scratch-musl]\n"
    messages = errors(write(tmp_path, text))
    assert any(
        "target name 'hello-alpine' collides with the group of artifact" in m for m in messages
    )
    text = GOOD + "  alpine:\n    lang: c\n    context: hello\n    runtimes: [scratch-musl]\n"
    messages = errors(write(tmp_path, text))
    assert any(
        "artifact name 'alpine' collides with the group of runtime 'alpine'" in m for m in messages
    )


def test_budgets_merge_star_then_runtime_field_by_field(tmp_path: Path) -> None:
    text = GOOD.replace(
        "    lang: c\n",
        "    lang: c\n    budgets:\n      '*': {max: 100MB, max_layers: 3}\n"
        "      scratch-musl: {max: 32KiB, max_growth: 5%}\n",
    )
    artifact = load_config(write(tmp_path, text)).artifacts[0]
    musl, alpine = artifact.budgets["scratch-musl"], artifact.budgets["alpine"]
    assert (musl.max, musl.max_layers, musl.max_growth) == (32_768, 3, ("percent", 5.0))
    assert (alpine.max, alpine.max_layers, alpine.max_growth) == (100_000_000, 3, None)


def test_cli_reports_errors_with_exit_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, GOOD.replace("alpine]", "alpin]"))
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["generate", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert "'alpin' is not a runtime; did you mean 'alpine'?" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_no_traceback_for_a_missing_or_unreadable_file(tmp_path: Path) -> None:
    missing = subprocess.run(
        [sys.executable, "-m", "slim_bake", "validate", "-c", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2
    assert "nope.yaml: file not found" in missing.stderr
    assert "Traceback" not in missing.stderr
    binary = write(tmp_path, "")
    binary.write_bytes(b"\xff\xfe\x00garbage")
    bad = subprocess.run(
        [sys.executable, "-m", "slim_bake", "validate", "-c", str(binary)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "slim.yaml" in bad.stderr


def test_every_language_generates_for_every_runtime_of_the_presets(tmp_path: Path) -> None:
    """The preset files refer to each other by name (a runtime to a base and a flavour, a
    flavour to a toolchain base, a system to its steps): a data-file edit that breaks a
    reference fails here, not in a user's `slim generate`."""
    runtimes = list(presets.runtimes())
    runtimes += [f"{r}-debug" for r, preset in presets.runtimes().items() if not preset.shell]
    artifacts = {}
    for lang, language in presets.languages().items():
        (tmp_path / lang).mkdir()
        build = {f: {"command": "make", "output": "app"} for f in language.flavours}
        systems = language.systems or {"": None}
        for system in systems:
            name = f"{lang}-{system}".strip("-")
            artifacts[name] = {"lang": lang, "context": lang, "runtimes": runtimes}
            if lang == "custom":
                artifacts[name]["build"] = build
            elif system:
                artifacts[name]["build"] = {"system": system}
    path = tmp_path / "slim.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "artifacts": artifacts}))
    plan = make_plan(load_config(path))
    files = render_all(plan)
    assert len(plan.targets) == len(artifacts) * len(runtimes)
    for target in plan.targets:
        dockerfile = files[target.dockerfile]
        assert f"FROM {target.build.toolchain.image} AS build" in dockerfile, target.name
        if target.base is not None:
            assert f"FROM {target.base.image} AS runtime" in dockerfile, target.name
