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

import contextlib
import dataclasses
import io
import json
import re
import tempfile
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import cmarkgfm
import pytest
import yaml
from cmarkgfm.cmark import Options
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from support.report_samples import (
    COPY_BINARY,
    COPY_ROOTFS,
    digest,
    figures,
    hello,
    report,
    target,
    write,
)

from slim_bake import safe_text
from slim_bake.cli import main
from slim_bake.config import Budget
from slim_bake.errors import Diagnostic
from slim_bake.github import comment
from slim_bake.gitrepo import Checkout
from slim_bake.judge import STATUSES, Status, Verdict
from slim_bake.loader import format_path
from slim_bake.report import markdown
from slim_bake.report.compare import compare
from slim_bake.report.model import Comparison, SmokeRecord, TargetRecord
from slim_bake.report.terminal import format_comparison, format_table, why_lines
from slim_bake.safe_text import say, visible

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


# --- The issue's examples -------------------------------------------------------------------------


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


# --- Hostile values -------------------------------------------------------------------------------

PIECES = [
    "\n", "\r", "\r\n", "\t", "\x00", "\x07", "\x08", "\x7f", "\x1b[2J", "\x1b]0;title\x07",
    "\x1b[31m", "\x9b31m", "\x9d0;t\x9c", "\x85", "\u2028", "\u2029", "\u202e", "\u2066",
    "\u200f", "\u061c", "\udcff", " ", "\u00a0", "\u3000", "::", "::error::pwned",
    "::add-mask::x", "::stop-commands::t", "##[", "##[error]x", "|", "\\", "\\|", "`", "``",
    "<", ">", "&", "&amp;", "<script>", "</details>", "<!--", "-->", "@", "@octocat", "#1",
    "[", "]", "(", ")", "[x](https://e.vil)", "![i](x)", "!", "*", "**", "_", "~~", "www.e.vil",
    "https://e.vil", "```", "~~~", "---", "-", "%", "%0A", ",", "=", '"', "'", "$(id)",
]  # fmt: skip
hostile = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=3)), max_size=6).map("".join)
names = st.lists(hostile.filter(bool), min_size=1, max_size=3, unique=True)
SLOW = settings(
    max_examples=8,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
FAST = settings(
    max_examples=25,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)

_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_SLIM_SGR = re.compile(r"\x1b\[(?:0|31|32|33)m")  # terminal.py's own colours


def acting(text: str) -> list[str]:
    """Characters a terminal or log viewer would act on, slim's colours and \\n aside."""
    text = _SLIM_SGR.sub("", text)
    return [
        ch
        for ch in text
        if ch != "\n" and (unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") or ch in _BIDI)
    ]


@st.composite
def comparisons(draw: st.DrawFn) -> Comparison:
    """A baseline and a run whose every free-text field is hostile: target, artifact
    and runtime names, images, layer instructions, file paths, reasons, smoke output,
    spelled budgets, the baseline's source and commit; targets removed and new."""
    heads, bases = [], []
    for n, name in enumerate(draw(names)):
        path, instruction = "/" + draw(hostile), "RUN " + draw(hostile)
        base_image = (draw(hostile), digest(n + 1), 5_000)
        before = figures(
            [(100, COPY_ROOTFS), (1_000, instruction)],
            [("/etc/passwd", 100, 0), (path, 1_000, 1)],
            base=base_image,
            image=draw(hostile),
        )
        after = figures(
            [
                (100, COPY_ROOTFS),
                (3_000 + n, draw(st.sampled_from([instruction, "COPY " + draw(hostile)]))),
            ],
            [("/etc/passwd", 100, 0), (path, 2_000, 1), ("/" + draw(hostile), 1_000 + n, 1)],
            base=draw(st.sampled_from([base_image, (draw(hostile), digest(n + 9), 6_000)])),
            image=draw(hostile),
        )
        budget = Budget(max=2_000, max_growth=("percent", 5.0), spelled={"max": draw(hostile)})
        smoke = SmokeRecord(False, 1, draw(hostile), draw(hostile), draw(hostile))
        status = draw(st.sampled_from(STATUSES))
        verdict = Verdict(status, tuple(draw(st.lists(hostile, max_size=2))))
        record = TargetRecord(
            name, draw(hostile), draw(hostile), verdict,
            budget, after if status not in ("build-failed", "measure-failed") else None, smoke,
        )  # fmt: skip
        heads.append(record)
        if draw(st.booleans()):
            passed = Verdict(Status.PASS)
            bases.append(dataclasses.replace(record, figures=before, verdict=passed))
    gone = [n for n in draw(names) if n not in {t.name for t in heads}][:2]
    bases += [target(n, hello(1_000)) for n in gone]
    removed = draw(st.booleans())
    head = report(
        *heads, config_targets=tuple(t.name for t in heads) + (() if removed else tuple(gone))
    )
    base = dataclasses.replace(
        report(*bases), git=Checkout(commit=draw(hostile), branch=draw(hostile), dirty=False)
    )
    return compare(base, head, source=draw(hostile))


# --- (a) The terminal -----------------------------------------------------------------------------


def expected_lines(comparison: Comparison) -> int:
    rows = len(comparison.targets) + len(comparison.missing)
    reasons = sum(len(t.reasons) for t in comparison.targets)
    why = sum(len(why_lines(t)) for t in comparison.targets)
    return 2 + rows + reasons + len(comparison.missing) + why


@FAST
@given(comparisons(), st.booleans())
def test_the_comparison_table_shows_values_and_never_plays_them(
    comparison: Comparison, color: bool
) -> None:
    text = format_comparison(comparison, color=color)
    assert acting(text) == []
    assert text.endswith("\n") and text.count("\n") == expected_lines(comparison)
    rows = text.splitlines()[2:]
    for line, t in zip(rows, (*comparison.targets, *comparison.missing), strict=False):
        plain = _SLIM_SGR.sub("", line)
        assert plain.startswith(t.name if t.name.isprintable() else plain[:1])
        assert "\x1b" not in plain


@FAST
@given(names, st.lists(hostile, max_size=3), hostile)
def test_the_bake_table_shows_values_and_never_plays_them(
    targets: list[str], reasons: list[str], spelled: str
) -> None:
    budget = Budget(max=1_000, spelled={"max": spelled})
    failed = Verdict(Status.SMOKE_FAILED, tuple(reasons))
    records = [
        TargetRecord(t, None, None, failed, budget, figures=None, smoke=None) for t in targets
    ]
    text = format_table(compare(None, report(*records)))
    assert acting(text) == []
    assert text.count("\n") == 2 + len(targets) * (1 + len(reasons))


@FAST
@given(hostile, st.lists(st.one_of(hostile, st.integers(0, 99)), max_size=4), hostile)
def test_a_diagnostic_is_one_line_whatever_it_quotes(
    file: str, path: list[str | int], message: str
) -> None:
    shown = str(Diagnostic(file, 3, 7, format_path(tuple(path)), message))
    assert acting(shown + "\n") == [] and "\n" not in shown


@SLOW
@given(st.lists(hostile.filter(bool), min_size=1, max_size=3, unique=True), hostile)
def test_slim_validate_prints_one_line_per_problem_under_actions(
    keys: list[str], value: str
) -> None:
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as env:
        env.setenv("GITHUB_ACTIONS", "true")
        config = Path(folder) / "slim.yaml"
        data = {"version": 1, **{k: value for k in keys}, "artifacts": {"a": {k: 1 for k in keys}}}
        config.write_text(yaml.safe_dump(data, allow_unicode=False), encoding="utf-8")
        out, err = run_main(["validate", "-c", str(config)])
    assert acting(out + err) == []
    assert runner_commands(out + err) == []
    assert err and all(line.startswith(f"{config}:") for line in err.splitlines()), err


# --- (b) GitHub Actions: no command slim did not mean ---------------------------------------------


def run_main(argv: list[str]) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    assert code in (0, 1, 2, 3), err.getvalue()
    assert "Traceback" not in err.getvalue()
    return out.getvalue(), err.getvalue()


@SLOW
@given(comparisons(), st.sampled_from([[], ["--json"], ["--markdown", "report.md"]]))
def test_slim_report_under_actions_starts_no_command(
    comparison: Comparison, options: list[str]
) -> None:
    assert comparison.baseline is not None
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as env:
        env.setenv("GITHUB_ACTIONS", "true")
        env.chdir(folder)
        base = write(Path(folder) / "base.json", comparison.baseline)
        head = write(Path(folder) / "head.json", comparison.head)
        out, err = run_main(["report", str(base), str(head), *options])
    assert runner_commands(out) == [] and runner_commands(err) == []
    assert acting(out + err) == []
    if options == ["--json"] and out:  # exit 2 (a value the report schema refuses): no JSON
        names = [t["name"] for t in json.loads(out)["targets"]]
        assert names == [t.name for t in comparison.head.targets]


@FAST
@given(hostile)
def test_every_line_written_under_actions_is_defused(text: str) -> None:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GITHUB_ACTIONS", "true")
        stream = io.StringIO()
        safe_text.write(text, stream)
    assert runner_commands(stream.getvalue()) == []
    assert len(stream.getvalue().splitlines()) == len(text.splitlines())


def test_the_command_slim_means_still_reaches_the_runner(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    comment.report_outcome(comment.Outcome("summary", detail="403 ::error::x ##[error]y"))
    captured = capsys.readouterr()
    assert runner_commands(captured.out) == [
        "::notice title=slim report in the job summary::The job token cannot comment on this"
        " pull request (read-only, e.g. from a fork): the size report is in the job summary"
        " instead."
    ]
    assert runner_commands(captured.err) == []
    say("::warning::not meant")
    assert runner_commands(capsys.readouterr().out) == []


# --- (c) The Markdown report, as GitHub renders it ------------------------------------------------

_SLIM_TAGS = {
    "h3", "p", "strong", "table", "thead", "tbody", "tr", "th", "td", "code", "ul", "li",
    "pre", "details", "summary", "sub",
}  # fmt: skip


class Page(HTMLParser):
    """The tags, the tables (rows of cell texts), the prose outside code and the
    code blocks of a rendered page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.prose: list[str] = []
        self.blocks: list[tuple[str | None, str]] = []
        self._code = 0
        self._cell: list[str] | None = None
        self._pre: tuple[str | None, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._code += tag == "code"
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "pre":
            self._pre = (dict(attrs).get("lang"), [])

    def handle_endtag(self, tag: str) -> None:
        self._code -= tag == "code"
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "pre" and self._pre is not None:
            self.blocks.append((self._pre[0], "".join(self._pre[1])))
            self._pre = None

    def handle_data(self, data: str) -> None:
        if not self._code:
            self.prose.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._pre is not None:
            self._pre[1].append(data)


def rendered(document: str) -> Page:
    # UNSAFE keeps raw HTML in the output: any that came from a value would show.
    html = cmarkgfm.github_flavored_markdown_to_html(document, options=Options.CMARK_OPT_UNSAFE)
    page = Page()
    page.feed(html)
    return page


_MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9]")  # what GitHub turns into a mention
_ISSUE = re.compile(r"(?<![\w&])#[0-9]")  # and into a link to an issue


def assert_report_shape(page: Page, comparison: Comparison) -> None:
    assert set(page.tags) <= _SLIM_TAGS, set(page.tags) - _SLIM_TAGS
    main_table, *detail_tables = page.tables
    assert len(main_table) == 1 + len(comparison.targets) + len(comparison.missing)
    assert {len(row) for row in main_table} == {len(main_table[0])}
    assert all({len(row) for row in table} == {6} for table in detail_tables)
    prose = "".join(page.prose)
    assert not _MENTION.search(prose) and not _ISSUE.search(prose), prose
    charts = [text for lang, text in page.blocks if lang == "mermaid"]
    assert len(page.blocks) == len(charts)  # no other code block
    if any(t.after is not None for t in comparison.targets):
        inner = markdown.chart(comparison).splitlines()[1:-1]
        assert charts == ["\n".join(inner) + "\n"]
    else:
        assert charts == []


@FAST
@given(comparisons())
def test_the_markdown_report_keeps_its_shape_whatever_the_values(comparison: Comparison) -> None:
    page = rendered(markdown.render(comparison))
    assert_report_shape(page, comparison)
    names = [row[0].strip() for row in page.tables[0][1:]]  # GFM trims a cell's blanks
    assert names == [visible(t.name).strip() for t in (*comparison.targets, *comparison.missing)]


@SLOW
@given(comparisons(), hostile, st.one_of(st.none(), st.text("0123456789abcdef", min_size=7)))
def test_the_comment_body_keeps_its_marker_and_shape(
    comparison: Comparison, config: str, sha: str | None
) -> None:
    # A command-line path: no NUL, no lone surrogate.
    path = "".join(ch for ch in config if ch != "\x00" and not "\ud800" <= ch <= "\udfff")
    path = path or "slim.yaml"
    key = comment.config_key(path, {})
    body = comment.comment_body(markdown.render(comparison), key, sha)
    assert body.startswith(comment.marker_lines(key))
    assert_report_shape(rendered(body), comparison)


@FAST
@given(hostile)
@example(" \U00076173¹Î…").via("a failure seen in CI")
@example("   ").via("all spaces: CommonMark strips nothing")
@example("` a `")
def test_a_value_stays_in_its_cell(value: str) -> None:
    table = "\n".join(
        [
            markdown.row(["code", "text", "end"]),
            markdown.row(["---"] * 3),
            markdown.row([markdown.code(value), markdown.text(value), "end"]),
        ]
    )
    page = rendered(table)
    assert set(page.tags) <= {"table", "thead", "tbody", "tr", "th", "td", "code"}
    ((header, cells),) = page.tables
    # A code span shows the value exactly, spaces included; a table trims the spaces
    # around plain text, as GitHub does.
    assert cells[0] == (visible(value) or "(empty)") and cells[2] == "end"
    assert cells[1].replace("\u2060", "") == visible(value).strip(" ")
