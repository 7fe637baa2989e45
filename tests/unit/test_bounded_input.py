"""Hostile files end in exit 2 with file:line:column, in bounded time and memory; a bug
ends in exit 4 with one line; SIGTERM and Ctrl-C remove temporary files."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import pytest
from support.report_samples import hello, report, target, write

from slim_bake.cli import main

ROOT = Path(__file__).resolve().parents[2]
VALID = "version: 1\nartifacts:\n  hello: {lang: c, context: ./hello, runtimes: [scratch-musl]}\n"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "hello").mkdir()
    (tmp_path / "hello" / "hello.c").write_text("int main(void){return 0;}\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ('version: 1\nregistry: "a\x00b"\n', "slim.yaml:2:13:", "U+0000"),
        ("version: 1\nregistry: a\x1bb\n", "slim.yaml:2:12:", "U+001B"),
        ("version: !!int abc\n", "slim.yaml:1:10:", "'abc' is not a valid !!int"),
        ("version: !!timestamp x\n", "slim.yaml:1:10:", "not a valid !!timestamp"),
        ("version: 2026-02-30\n", "slim.yaml:1:10:", "not a valid !!timestamp"),
        ("version: !!float x\n", "slim.yaml:1:10:", "not a valid !!float"),
        (f"version: {'9' * 5000}\n", "slim.yaml:1:10:", "digits"),
        (f"version: 0x{'f' * 5000}\n", "slim.yaml:1:10:", "digits"),
        ("!!bool maybe: 1\n", "slim.yaml:1:1:", "'maybe' is not a valid !!bool"),
        ("version: !!binary aGVsbG8=\n", "slim.yaml:1:10:", "tag !!binary is not supported"),
        ("version: !!python/name:os.system\n", "slim.yaml:1:10:", "!!python/name:os.system"),
        ("version: !!set {a}\n", "slim.yaml:1:10:", "tag !!set"),
        ("version: " + "[" * 5000 + "]" * 5000 + "\n", "slim.yaml:1:41:", "32 levels"),
        ("a:\n" + "".join(f"{'  ' * i}k{i}:\n" for i in range(1, 60)), "slim.yaml:", "32 levels"),
        ("version: 1\n\tartifacts: {}\n", "slim.yaml:2:1:", "'\\t'"),
        ("? [a]\n: b\n", "slim.yaml:1:3:", "a key must be a string"),
        ("version: 1\nversion: 1\n", "slim.yaml:2:1:", "duplicate key"),
    ],
    ids=lambda value: repr(value)[:24],
)
def test_bad_yaml_is_a_located_error(
    repo: Path, capsys: pytest.CaptureFixture[str], text: str, where: str, words: str
) -> None:
    (repo / "slim.yaml").write_text(text, encoding="utf-8")
    code, err = run(["validate"], capsys)
    assert code == 2
    assert err.startswith(where), err
    assert words in err
    assert len(err.splitlines()) <= 3


def alias_bomb(levels: int = 20, width: int = 9) -> str:
    lines = ['a0: &a0 ["lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("bomb", [alias_bomb(), alias_bomb(9, 10)])
def test_an_alias_bomb_is_refused_in_bounded_time_and_memory(
    repo: Path, capsys: pytest.CaptureFixture[str], bomb: str
) -> None:
    (repo / "slim.yaml").write_text(bomb)
    tracemalloc.start()
    start = time.process_time()
    try:
        code, err = run(["validate"], capsys)
        seconds = time.process_time() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 2
    assert "aliases are expanded" in err
    assert seconds < 2.0  # CPU time, under tracemalloc (which doubles it): < 1 s without
    assert peak < 100_000_000


@pytest.mark.parametrize("opening", ["[", "{", "[{"])
def test_deep_flow_nesting_is_refused_in_bounded_time(
    repo: Path, capsys: pytest.CaptureFixture[str], opening: str
) -> None:
    """PyYAML's scanner, as it comes, spends 0.2 s of CPU on a line of `[[[[…`: the
    fuzz test, a few hundred such files, was a third slower for it."""
    # Against a line of the same length without nesting, measured the same way right
    # before (imports warm): a ratio, not a figure a loaded machine can break.
    (repo / "slim.yaml").write_text("version: " + "a" * (100_000 * len(opening)) + "\n")
    run(["validate"], capsys)
    start = time.process_time()
    run(["validate"], capsys)
    flat = time.process_time() - start
    (repo / "slim.yaml").write_text("version: " + opening * 100_000 + "\n")
    start = time.process_time()
    code, err = run(["validate"], capsys)
    seconds = time.process_time() - start
    assert code == 2
    assert "nested more than 32 levels deep" in err
    assert seconds < 4 * flat + 0.02  # CPU time: 0.01 s for both here, 0.2 s unbounded


def test_files_that_are_not_regular_files_are_refused(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.mkfifo(repo / "fifo.yaml")  # opening it for reading would wait for a writer
    os.symlink("loop2.yaml", repo / "loop1.yaml")
    os.symlink("loop1.yaml", repo / "loop2.yaml")
    (repo / "folder.yaml").mkdir()
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(repo / "sock.yaml"))
    (repo / "big.yaml").write_text("version: 1\n" + "#" * (1 << 20))
    cases = {
        "fifo.yaml": "a FIFO",
        "loop1.yaml": "a loop of symbolic links",
        "folder.yaml": "a directory",
        "/dev/zero": "a character device",
        "sock.yaml": "socket",
        "big.yaml": "larger than 1024 KiB",
        "missing.yaml": "file not found",
    }
    try:
        for name, words in cases.items():
            code, err = run(["validate", "-c", name], capsys)
            assert code == 2, name
            assert err.startswith(f"{name}: ") and words in err, err
    finally:
        listener.close()


def test_malformed_post_placeholders_are_refused(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for step in ["{out!x}", "{out:d}", "{out!r}", "{out:>{binary}}"]:
        (repo / "slim.yaml").write_text(
            f"version: 1\nprofiles:\n  c:\n    tiny: {{post: [{json.dumps(step)}]}}\n"
            "artifacts:\n  hello: {lang: c, runtimes: [scratch-musl], profile: tiny}\n"
        )
        for command in ("validate", "generate"):
            code, err = run([command], capsys)
            assert code == 2
            assert "slim.yaml:4:19: profiles.c.tiny.post[0]: a placeholder is {name}" in err


# --- Reports ---------------------------------------------------------------------------


@pytest.fixture
def good(repo: Path) -> Path:
    return write(repo / "good.json", report(target("hello-scratch-musl", hello(17_000))))


def _edit(good: Path, path: list[str | int], value: object) -> str:
    data = json.loads(good.read_text())
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda g: "[" * 100_000 + "]" * 100_000, "nested more than 32 levels"),
        (
            lambda g: _edit(
                g,
                ["environment", "engine"],
                [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
            ),
            "nested more than 32",
        ),
        (lambda g: g.read_text().replace('"level": 6', '"level": ' + "9" * 5000), "5000 digits"),
        (lambda g: g.read_text().replace('"level": 6', '"level": NaN'), "NaN is not a number"),
        (lambda g: _edit(g, ["targets", 0, "measurement", "size"], "12"), "targets[0].measurement"),
        (lambda g: _edit(g, ["targets", 0, "measurement", "size"], 1.5), "targets[0].measurement"),
        (lambda g: _edit(g, ["targets", 0, "checks"], None), "targets[0].checks"),
        (lambda g: _edit(g, ["targets", 0, "budget", "max"], -1), "targets[0].budget.max"),
        (lambda g: g.read_text() + " " * (16 << 20), "larger than 16384 KiB"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_bad_reports_are_refused_naming_the_field(
    repo: Path, good: Path, capsys: pytest.CaptureFixture[str], make: object, words: str
) -> None:
    bad = repo / "bad.json"
    bad.write_text(make(good))  # type: ignore[operator]
    for argv in (["report", "bad.json", "good.json"], ["report", "good.json", "bad.json"]):
        code, err = run(argv, capsys)
        assert code == 2
        assert err.startswith("bad.json"), err
        assert words in err, err


def test_a_float_that_is_an_integer_decodes(
    repo: Path, good: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # JSON Schema's "integer" accepts 17000.0: the decoder must then read it too.
    (repo / "head.json").write_text(_edit(good, ["targets", 0, "measurement", "size"], 1e20))
    (repo / "head.json").write_text(_edit(repo / "head.json", ["targets", 0, "budget", "max"], 2e4))
    code, err = run(["report", "good.json", "head.json", "--markdown", "out.md"], capsys)
    assert code in (0, 1)  # judged, not refused (2) nor a crash (4)
    assert (repo / "out.md").is_file()


# --- Exit 4, SIGTERM, Ctrl-C -------------------------------------------------------------


def test_a_bug_exits_4_with_one_line_and_the_traceback_in_a_file(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from slim_bake.commands import validate

    def broken(args: object) -> int:
        raise ZeroDivisionError("boom\n::error::not a workflow command")

    monkeypatch.setattr(validate, "run", broken)
    monkeypatch.setenv("SLIM_CACHE_DIR", str(repo / "cache"))
    code, err = run(["validate"], capsys)
    assert code == 4
    lines = err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("slim: internal error (a bug in slim): ZeroDivisionError: boom\\n")
    path = Path(lines[0].rsplit("traceback in ", 1)[1])
    assert path.parent == repo / "cache" / "crashes"
    assert "Traceback (most recent call last)" in path.read_text()
    assert "ZeroDivisionError" in path.read_text()


def _slim(script: str, cwd: Path, **extra: str) -> subprocess.Popen[str]:
    path = os.pathsep.join([str(ROOT / "src"), *sys.path])
    env = {**os.environ, "PYTHONPATH": path, **extra}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize(
    ("signum", "code", "word"),
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")],
)
def test_a_signal_while_writing_removes_the_temporary_file(
    repo: Path, signum: int, code: int, word: str
) -> None:
    (repo / "slim.yaml").write_text(VALID)
    # os.replace blocks, as a slow disk would, once the temporary file exists.
    child = _slim(
        """
        import os, sys, time
        real = os.replace
        def slow(src, dst):
            print("writing", flush=True)
            time.sleep(60)
        os.replace = slow
        from slim_bake.cli import main
        sys.exit(main(["generate"]))
        """,
        repo,
    )
    assert child.stdout is not None
    assert child.stdout.readline() == "writing\n"
    assert list(repo.rglob("*.tmp"))  # the temporary file is there
    child.send_signal(signum)
    _, err = child.communicate(timeout=30)
    assert child.returncode == code
    assert err.strip() == f"slim: {word}"
    assert not list(repo.rglob("*.tmp"))


@pytest.mark.parametrize("module", ["argparse", "jsonschema"])
def test_ctrl_c_during_start_up_is_quiet(repo: Path, module: str) -> None:
    (repo / "slim.yaml").write_text(VALID)
    child = _slim(
        f"""
        import sys
        sys.modules.pop({module!r}, None)
        class CtrlC:
            def find_spec(self, name, path=None, target=None):
                if name == {module!r}:
                    raise KeyboardInterrupt
        sys.meta_path.insert(0, CtrlC())
        from slim_bake.cli import main
        sys.exit(main(["validate"]))
        """,
        repo,
        SLIM_CACHE_DIR=str(repo.parent / "empty-cache"),  # no schema verdict: jsonschema loads
    )
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130
    assert "Traceback" not in err
