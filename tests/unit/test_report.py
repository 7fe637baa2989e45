"""The reports people and programs read, without an engine: the Markdown report
parsed (GitHub's own cmark-gfm renders it) with hostile values in every field, the
JSON report validated against its schema, `slim report`'s output and exit codes,
and baselines that cannot be used (another version, corrupt, missing file or ref)."""

from __future__ import annotations

import io
import json
import re
import subprocess
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import cmarkgfm
import jsonschema
import pytest
from cmarkgfm.cmark import Options
from support.report_samples import COPY_BINARY, figures, hello, report, target, write

from slim_bake import presets
from slim_bake.cli import main
from slim_bake.config import Budget
from slim_bake.gitrepo import Checkout, checkout
from slim_bake.report.codec import to_json as report_to_json
from slim_bake.report.compare import compare
from slim_bake.report.markdown import render
from slim_bake.report.model import Comparison
from slim_bake.report.reading import parse_report
from slim_bake.report.terminal import format_comparison, use_color
from slim_bake.safe_text import visible
from slim_bake.units import parse_growth

NASTY = (
    "x|y `tick` ``two`` \\| <img src=x onerror=alert(1)> <details><summary>s</summary>"
    " &amp; **bold** _it_ ~~del~~ [link](https://e.vil) ![img](x) @octocat www.e.vil"
    " \"dq\" 'sq' #1 \x1b[31mred\n<script>alert(1)</script>\\"
)
GROWTH_5 = Budget(max_growth=parse_growth("5%"), spelled={"max_growth": "5%"})


# --- Parsing helpers --------------------------------------------------------------------------


def split_row(line: str) -> list[str]:
    """A GFM table row's cells: split on `|` unless escaped as `\\|` (cmark-gfm treats
    a backslash before a pipe as its escape, whatever precedes the backslash)."""
    assert line.startswith("|") and line.endswith("|"), line
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line[1:-1])]


def tables(markdown: str) -> list[list[list[str]]]:
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            current.append(split_row(line))
        elif current:
            found.append(current)
            current = []
    return found


class Html(HTMLParser):
    """Start tags, the text of every table cell and list item, and the prose."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.rows: list[list[str]] = []
        self.items: list[str] = []
        self.prose: list[str] = []  # text outside code spans: where GitHub finds @mentions
        self._code = 0
        self._cell: list[str] | None = None
        self._item: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._code += tag == "code"
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "li":
            self._item = []

    def handle_endtag(self, tag: str) -> None:
        self._code -= tag == "code"
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None
        elif tag == "li" and self._item is not None:
            self.items.append("".join(self._item))
            self._item = None

    def handle_data(self, data: str) -> None:
        if not self._code:
            self.prose.append(data)
        for part in (self._cell, self._item):
            if part is not None:
                part.append(data)


def rendered(markdown: str) -> Html:
    # UNSAFE keeps raw HTML in the output: any that came from a value would show.
    page = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    parser = Html()
    parser.feed(page)
    return parser


def mermaid_blocks(markdown: str) -> list[list[str]]:
    return [
        block.splitlines()
        for block in re.findall(r"^```mermaid\n(.*?)^```$", markdown, re.M | re.S)
    ]


def nasty_comparison() -> Comparison:
    name = "hello-" + NASTY
    base_figures = figures(
        [(121, "COPY /rootfs/ / # buildkit"), (17_808, "RUN " + NASTY)],
        [("/etc/passwd", 121, 0), ("/bin/" + NASTY, 17_808, 1)],
        image=NASTY,
    )
    head_figures = figures(
        [(121, "COPY /rootfs/ / # buildkit"), (57_808, "RUN " + NASTY)],
        [("/etc/passwd", 121, 0), ("/bin/" + NASTY, 57_808, 1)],
        image=NASTY,
    )
    budget = Budget(max=20_000, max_growth=(("percent", 5.0)), spelled={"max": NASTY})
    head = report(
        target(name, head_figures, "over-budget", ("size > " + NASTY,), budget),
        target("hello-new", hello(1_000)),
    )
    base = report(target(name, base_figures), target("hello-gone", hello(1_000)))
    return compare(base, head, source="git:main:" + NASTY)


# --- Markdown ---------------------------------------------------------------------------------


def test_markdown_tables_keep_their_shape_whatever_the_values() -> None:
    markdown = render(nasty_comparison())
    found = tables(markdown)
    assert len(found) == 3  # the summary, the changed layers, the files added or grown
    for table in found:
        width = len(table[0])
        assert all(len(cells) == width for cells in table), table
        assert all(re.fullmatch(r":?-+:?", cell) for cell in table[1])
    summary = found[0]
    assert [cells[0] for cells in summary[2:]][1:] == ["`hello-new`", "`hello-gone`"]


def test_markdown_values_render_as_text_never_as_html_links_or_mentions() -> None:
    comparison = nasty_comparison()
    page = rendered(render(comparison))
    # Only slim's own structure: no <img>, <script>, <a>, <em>, <del>, extra <details>.
    assert set(page.tags) <= {
        "h3", "p", "strong", "table", "thead", "tbody", "tr", "th", "td", "code",
        "ul", "li", "pre", "details", "summary",
    }  # fmt: skip
    assert page.tags.count("details") == 1  # the one "why it grew" section
    name = "hello-" + NASTY
    header, first, new, gone = page.rows[:4]
    assert header[:4] == ["target", "baseline", "size", "Δ"]
    assert first[0] == visible(name)  # the whole value, as text, in its cell
    assert first[6].replace("\u2060", "") == f"max {visible(NASTY)}, growth 5%"
    assert (new[0], new[3], gone[0], gone[-1]) == ("hello-new", "new", "hello-gone", "➖ removed")
    reasons = [item.replace("\u2060", "") for item in page.items]
    assert f"{visible(name)}: size > {visible(NASTY)}" in reasons
    prose = "".join(page.prose)
    assert "@\u2060octocat" in prose and "@octocat" not in prose  # no mention, no ping


def test_why_it_grew_names_the_layer_and_file_in_the_details() -> None:
    markdown = render(nasty_comparison())
    start = markdown.index("\n<details><summary>") + 1
    details = markdown[start : markdown.index("\n</details>", start)] + "\n</details>\n"
    page = rendered(details)
    instruction = visible("RUN " + NASTY)
    layer_rows = [row for row in page.rows if instruction in row]
    assert layer_rows and layer_rows[0][1] == "grew" and layer_rows[0][-1] == "+40kB"
    file_rows = [row for row in page.rows if row and row[0] == visible("/bin/" + NASTY)]
    assert file_rows and file_rows[0][1] == "grown"
    summary = details.splitlines()[0]
    assert summary.startswith("<details><summary>hello-x|y `tick`")
    assert summary.endswith("</summary>") and summary.count("<") == 3  # only slim's tags


def test_the_mermaid_chart_is_one_well_formed_xychart() -> None:
    comparison = nasty_comparison()
    [chart] = mermaid_blocks(render(comparison))
    assert chart[0] == "xychart-beta"
    fields = dict(line.strip().split(" ", 1) for line in chart[1:])
    assert set(fields) == {"title", "x-axis", "y-axis", "bar", "line"}
    labels = re.fullmatch(r"\[(.*)\]", fields["x-axis"])
    assert labels
    names = re.findall(r'"([^"]*)"', labels.group(1))
    assert labels.group(1) == ", ".join(f'"{n}"' for n in names)  # every label quoted
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", n) for n in names)
    assert len(names) == len(comparison.targets)
    for series in ("bar", "line"):
        values = fields[series].strip("[]").split(", ")
        assert len(values) == len(names) and all(float(v) >= 0 for v in values)
    assert re.fullmatch(r'"[^"]*"', fields["title"])


# --- JSON -------------------------------------------------------------------------------------


def test_the_json_report_validates_against_its_schema_and_reads_back(tmp_path: Path) -> None:
    comparison = nasty_comparison()
    data = report_to_json(comparison)
    jsonschema.Draft202012Validator(presets.schema("report")).validate(data)
    states = {t["name"]: t["baseline"]["state"] for t in data["targets"]}
    assert states == {"hello-" + NASTY: "compared", "hello-new": "new"}
    assert data["missing"] == [
        {"name": "hello-gone", "state": "removed", "status": "pass", "size": 1_121}
    ]
    assert data["summary"]["over_budget"] == 1 and data["exit_code"] == 1
    # A written report is a baseline for the next run: it reads back to the same figures.
    path = tmp_path / "head.json"
    path.write_text(json.dumps(data))
    assert main(["report", str(path), str(path), "--json"]) == 1
    again = json.loads(capture_stdout_of(["report", str(path), str(path), "--json"]))
    assert [t["measurement"] for t in again["targets"]] == [
        t["measurement"] for t in data["targets"]
    ]
    assert {t["baseline"]["delta"] for t in again["targets"]} == {0}


def capture_stdout_of(argv: list[str]) -> str:
    done = subprocess.run(["slim", *argv], capture_output=True, text=True, check=False)
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


# Written by slim before the report package (main at 7ec3c5f): the run's report (no
# baseline), a comparison report, and what `slim report` printed and wrote for the two.
REPORT_V1 = Path(__file__).resolve().parents[1] / "data" / "report-v1"


def test_a_report_written_before_the_report_package_reads_back_unchanged() -> None:
    for name in ("v1-main-run.json", "v1-main-comparison.json"):
        text = (REPORT_V1 / name).read_text()
        data = json.loads(text)
        read = parse_report(text, name)
        if data["baseline"] is None:  # the run's own report is its comparison with nothing
            assert report_to_json(compare(None, read)) == data
        assert [t.name for t in read.targets] == [t["name"] for t in data["targets"]]
        assert [t.status for t in read.targets] == [t["checks"]["status"] for t in data["targets"]]


def test_slim_report_on_reports_written_before_prints_and_writes_the_same(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The table, the JSON and the Markdown of one comparison, byte for byte as slim
    printed and wrote them before the report package."""
    monkeypatch.chdir(REPORT_V1)
    markdown_file = tmp_path / "report.md"
    args = ["v1-main-run.json", "v1-main-comparison.json", "--markdown", str(markdown_file)]
    assert main(["report", *args, "--json"]) == 3  # a measurement failed in HEAD
    out, err = capsys.readouterr()
    assert out == (REPORT_V1 / "expected-report.json").read_text()
    assert err == (REPORT_V1 / "expected-table.txt").read_text()
    assert markdown_file.read_text() == (REPORT_V1 / "expected-report.md").read_text()


def test_slim_schema_report_prints_a_valid_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "report"]) == 0
    schema = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["version"] == presets.schema("report")["properties"]["version"]


# --- slim report --------------------------------------------------------------------------------


def reports(tmp_path: Path, after: int) -> tuple[str, str]:
    base = write(tmp_path / "base.json", report(target("hello-scratch-musl", hello(17_808))))
    head_report = report(target("hello-scratch-musl", hello(after), budget=GROWTH_5))
    return str(base), str(write(tmp_path / "head.json", head_report))


def test_slim_report_fails_a_broken_growth_budget_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, head = reports(tmp_path, 57_808)
    markdown = tmp_path / "report.md"
    assert main(["report", base, head, "--markdown", str(markdown)]) == 1
    out = capsys.readouterr().out
    assert "\033[" not in out  # not a terminal: no colour
    header, rule, line, *rest = out.splitlines()
    assert header.split() == [
        "target", "baseline", "size", "Δ", "compressed", "layers", "budget", "verdict"
    ]  # fmt: skip
    assert line.split()[:4] == ["hello-scratch-musl", "17.9kB", "57.9kB", "+40kB"]
    assert line.endswith("over-budget")
    assert any("max_growth 5%" in r for r in rest)
    assert "  layer 2 grew +40kB: COPY /out/hello /usr/local/bin/hello" in rest
    assert any(r.startswith("  file /usr/local/bin/hello grown +40kB") for r in rest)
    assert "❌ over-budget" in markdown.read_text()


def test_slim_report_passes_growth_within_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, head = reports(tmp_path, 18_000)
    assert main(["report", base, head]) == 0
    assert capsys.readouterr().out.splitlines()[2].endswith("pass")


def test_slim_report_json_goes_to_stdout_and_the_table_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, head = reports(tmp_path, 57_808)
    assert main(["report", base, head, "--json"]) == 1
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    jsonschema.Draft202012Validator(presets.schema("report")).validate(data)
    assert data["targets"][0]["status"] == "over-budget"
    assert data["baseline"]["source"] == base
    assert "hello-scratch-musl" in captured.err


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_color(Terminal()) and not use_color(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(Terminal())
    comparison = compare(
        report(target("hello-scratch-musl", hello(17_808))),
        report(target("hello-scratch-musl", hello(57_808), budget=GROWTH_5)),
    )
    assert "\033[31m" in format_comparison(comparison, color=True)
    assert "\033[" not in format_comparison(comparison, color=False)


def test_terminal_output_shows_control_characters_as_escapes() -> None:
    evil = "/bin/\x1b[2Jhello\nmore"
    measured = figures([(100, COPY_BINARY)], [(evil, 100, 0)])
    grown = figures([(200, COPY_BINARY)], [(evil, 200, 0)])
    text = format_comparison(compare(report(target("t-x", measured)), report(target("t-x", grown))))
    assert "\x1b" not in text
    assert "/bin/\\x1b[2Jhello\\nmore" in text


# --- Baselines that cannot be used --------------------------------------------------------------


def base_report(tmp_path: Path) -> dict[str, object]:
    path = write(tmp_path / "good.json", report(target("hello-scratch-musl", hello(17_808))))
    data: dict[str, object] = json.loads(path.read_text())
    return data


def fails_with(argv: list[str], capsys: pytest.CaptureFixture[str], *needles: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    for needle in needles:
        assert needle in err, err
    assert "Traceback" not in err


def test_a_report_of_another_version_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = base_report(tmp_path)
    data["version"] = 2
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(data))
    fails_with(
        ["report", str(path), str(tmp_path / "good.json")],
        capsys,
        f"{path}: version: report format version 2",
        "reads version 1",
    )


def test_a_corrupt_report_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.json"
    base_report(tmp_path)
    cut = tmp_path / "cut.json"
    cut.write_text(good.read_text()[:300])
    fails_with(["report", str(cut), str(good)], capsys, f"{cut}:", "invalid JSON")
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    fails_with(["report", str(other), str(good)], capsys, "not a slim report")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00")
    fails_with(["report", str(binary), str(good)], capsys, "not UTF-8")


def test_a_report_with_a_wrong_field_names_the_field_and_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = base_report(tmp_path)
    data["targets"][0]["measurement"]["size"] = "big"  # type: ignore[index]
    path = tmp_path / "bad.json"
    text = json.dumps(data, indent=2)
    path.write_text(text)
    line = text[: text.index('"big"')].count("\n") + 1
    fails_with(
        ["report", str(path), str(tmp_path / "good.json")],
        capsys,
        f"{path}:{line}:",
        "targets[0].measurement.size",
    )


def test_a_missing_report_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base_report(tmp_path)
    missing = tmp_path / "nope.json"
    fails_with(["report", str(missing), str(tmp_path / "good.json")], capsys, "no such report file")


def git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=folder,
        check=True,
        capture_output=True,
    )


def test_a_baseline_from_git_ref_and_its_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    head = str(write(outside / "head.json", report(target("hello-scratch-musl", hello(17_808)))))
    write(repo / "app" / "slim-report.json", report(target("hello-scratch-musl", hello(9_000))))
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "report")
    monkeypatch.chdir(repo / "app")
    # Default path: slim-report.json in the current folder (slim.yaml's).
    assert main(["report", "git:HEAD", head]) == 0
    assert "+8.81kB" in capsys.readouterr().out
    assert main(["report", "git:HEAD:app/slim-report.json", head]) == 0  # from the top
    capsys.readouterr()
    fails_with(["report", "git:nope", head], capsys, "no commit 'nope'", "fetch-depth: 0")
    fails_with(["report", "git:HEAD:missing.json", head], capsys, "HEAD has no file missing.json")
    fails_with(["report", "git:--output=x", head], capsys, "cannot start with '-'")
    fails_with(["report", "git:", head], capsys, "name a ref")
    monkeypatch.chdir(outside)
    fails_with(["report", "git:HEAD", head], capsys, "is not inside a git repository")


def test_a_report_records_the_commit_branch_and_changes_of_slim_yamls_folder(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    assert checkout(repo) is None  # not a repository (yet): the report says null
    (repo / "slim.yaml").write_text("version: 1\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "config")
    clean = checkout(repo)
    assert clean is not None and re.fullmatch(r"[0-9a-f]{40}", clean.commit)
    assert (clean.branch, clean.dirty) == ("main", False)
    (repo / "slim.yaml").write_text("version: 1\nartifacts: {}\n")
    git(repo, "checkout", "-q", "--detach")
    assert checkout(repo) == Checkout(clean.commit, None, True)  # detached, edited


def test_slim_bake_refuses_a_bad_baseline_before_building_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], project: Callable[..., Path]
) -> None:
    path = project(
        {"version": 1, "artifacts": {"hello": {"lang": "c", "runtimes": ["scratch-musl"]}}}
    )
    data = base_report(tmp_path)
    data["version"] = 3
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data))
    fails_with(["bake", "-c", str(path), "--baseline", str(old)], capsys, "report format version 3")
    assert not (path.parent / "docker-bake.hcl").exists()  # nothing generated, nothing built
