"""What slim prints and writes cannot be steered by the values it quotes.

Values from slim.yaml or a report (target names, keys, file paths, instructions, smoke
output, reasons) are attacker-controlled in a pull request. Whatever they contain:
- the terminal text has no control character but slim's own colour codes and the
  newlines between its lines, and as many lines as slim meant;
- under GitHub Actions no line is a workflow command slim did not mean, by the
  runner's own rules (actions/runner ActionCommand.cs: `TryParseV2` takes `::name` at
  the start of a line after `TrimStart()`; the legacy `TryParse` takes `##[name`
  anywhere in a line);
- the Markdown report, rendered by cmark-gfm (GitHub's renderer), keeps its tables'
  shape, has no HTML, link or mention from a value, and one mermaid block."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from report_samples import COPY_BINARY, figures, hello, report, target, write

from slim_bake.cli import main

# --- The runner's rules ---------------------------------------------------------------------------

# .NET Char.IsWhiteSpace, which String.TrimStart() strips: Zs, Zl, Zp, U+0009-U+000D, U+0085.
_DOTNET_SPACE = re.compile(
    "^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*"
)


def runner_commands(output: str) -> list[str]:
    """The lines of `output` the Actions runner would take for a command (any name: the
    set of registered ones grows, and `stop-commands` takes any token)."""
    found = []
    for line in re.split(r"\r\n|\r|\n", output):  # StreamReader.ReadLine's line breaks
        trimmed = _DOTNET_SPACE.sub("", line)
        v2 = trimmed.startswith("::") and trimmed.find("::", 2) >= 0
        legacy = "##[" in line and line.find("]", line.index("##[")) >= 0
        if v2 or legacy:
            found.append(line)
    return found


# --- The examples -------------------------------------------------------------------------


def test_an_unknown_key_with_escape_sequences_is_quoted_not_played(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "slim.yaml"
    config.write_text('version: 1\n"bad\\e[2J\\e]0;pwned\\a\\n::error::x": 1\nartifacts: {}\n')
    assert main(["validate", "-c", str(config)]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert "bad\\x1b[2J\\x1b]0;pwned\\x07\\n::error::x" in err
    assert all(line.startswith(str(config)) for line in err.splitlines()), err


def hostile_reports(tmp_path: Path, name: str) -> tuple[str, str]:
    grown = figures([(200, COPY_BINARY)], [("/bin/" + name, 200, 0)])
    base = write(tmp_path / "base.json", report(target(name, hello(100))))
    head = report(target(name, grown, "over-budget", ("size > " + name,)))
    return str(base), str(write(tmp_path / "head.json", head))


@pytest.mark.parametrize("json_output", [False, True])
def test_a_target_name_in_a_report_cannot_start_a_workflow_command(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    json_output: bool,
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    name = "x\n::error::pwned ##[add-mask]secret"
    base, head = hostile_reports(tmp_path, name)
    assert main(["report", base, head, *(["--json"] if json_output else [])]) in (0, 1)
    captured = capsys.readouterr()
    assert runner_commands(captured.out) == []
    assert runner_commands(captured.err) == []
    table = captured.err if json_output else captured.out
    assert "x\\n::error::pwned" in table
    if json_output:  # the JSON still says exactly what the report said
        assert json.loads(captured.out)["targets"][0]["name"] == name


def test_a_name_first_on_its_line_cannot_be_a_command_either(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    base, head = hostile_reports(tmp_path, " ::warning title=x::pwned")
    assert main(["report", base, head]) in (0, 1)
    out = capsys.readouterr().out
    assert runner_commands(out) == []
    assert "::warning title=x::pwned" in out.replace("\\x3a", ":")


def test_outside_actions_a_name_is_printed_as_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    base, head = hostile_reports(tmp_path, "::warning::fine ##[x]")
    assert main(["report", base, head]) in (0, 1)
    assert "\n::warning::fine ##[x]" in capsys.readouterr().out
