"""Fuzz the real command line with hostile slim.yaml files and reports.

Seeded random mutations of the examples and of reports the tests make (byte flips,
truncations, control characters, deep nesting, aliases, tags, huge numbers, duplicated
keys, values of the wrong type …) run through `slim_bake.cli.main` in-process, in a
throw-away repository. Every case must end with a documented exit code (0-3; 4 is
"a bug in slim" and fails the test), print no traceback, write nothing outside the
repository and leave no temporary file behind, within a per-case deadline.

The cases are dealt into shards, each a test with its own seeded generator, so that
pytest-xdist spreads them over the cores; a few cases of each kind also run as a real
`python -m slim_bake` process (exit code, stderr) to prove the process-level path.

SLIM_FUZZ_SEED and SLIM_FUZZ_SCALE (a factor on the number of cases) change a run;
a failure names the seed, shard and case, so `SLIM_FUZZ_SEED=… pytest -k fuzz` repeats it."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import yaml
from support.report_samples import hello, report, target, write

from slim_bake.cli import main
from slim_bake.config import Budget

# A campaign of 3,200 cases (~30 s of CPU): not in the unit run (tests/unit); no engine needed.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("SLIM_FUZZ_SEED", "20261202"))
SCALE = float(os.environ.get("SLIM_FUZZ_SCALE", "1"))
YAML_CASES = int(1800 * SCALE)
REPORT_CASES = int(1400 * SCALE)
YAML_SHARDS = 8  # a shard is a test: at most a few seconds, for the workers to balance
REPORT_SHARDS = 4
RUN_BOUND = 300.0  # seconds for all the cases of a kind, with room for a busy machine
CASE_DEADLINE = 3.0  # seconds: a hang (an alias bomb) fails its case instead of the run
DOCUMENTED_EXITS = {0, 1, 2, 3}

EXTRA_CONFIG = """\
version: 1
registry: ghcr.io/acme
output: {dockerfiles: out/dockerfiles, bake: out/docker-bake.hcl}
bases:
  musl-gcc: {image: "alpine:3.20", setup: "apk add --no-cache gcc musl-dev", vars: {cc: gcc}}
profiles:
  c:
    tiny:
      vars: {cflags: [-Os], ldflags: [-Wl,--gc-sections]}
      post: ["{strip} --strip-all {out}", "ls -l {out}"]
      env: {LC_ALL: C}
defaults: &defaults
  max: 100MB
artifacts:
  hello:
    lang: c
    context: ./hello
    runtimes: [alpine, scratch-musl, scratch-closure]
    profile: {"*": default, scratch-musl: tiny}
    build: {cflags: [-Wall], sources: ["./*.c"]}
    files: {passwd: true, tmp: true, ca_certs: false, zoneinfo: false}
    closure: {extra: [libgcc_s.so.1]}
    budgets:
      "*": *defaults
      scratch-musl: {max: 32kB, max_compressed: 20kB, max_layers: 4, max_growth: 5%}
    smoke: {args: [], expect_stdout: "Hello, world!", expect_exit: 0, timeout: 30}
    labels: {org.opencontainers.image.source: "https://example.com/acme/hello"}
  tool:
    lang: custom
    context: ./hello
    runtimes: [scratch-glibc]
    build:
      glibc-static: {command: "gcc -static -o tool hello.c", output: tool, toolchain: gcc}
"""

# --- Mutations ------------------------------------------------------------------------

CONTROL = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1b[2J", "\x7f", "\x85"]
CONTROL += ["\u2028", "\ufeff", "\t", "\r", "\r\n", "\u202e", "\x9b"]
BAD_BYTES = [b"\xff", b"\xfe\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80"]
YAML_SCALARS = [
    "!!int abc",
    "!!int 0x",
    "!!float x",
    "!!bool maybe",
    "!!timestamp x",
    "!!timestamp 2001-13-45",
    "!!binary '@@@'",
    "!!binary aGVsbG8=",
    "!!null x",
    "!!str",
    "!!set {a, b}",
    "!!omap [a]",
    "!!pairs [[a, b]]",
    "!!map [1, 2]",
    "!!seq {a: 1}",
    "!!python/object/apply:os.system ['echo pwned']",
    "!!python/name:os.system",
    "!<tag:yaml.org,2002:int> 12x",
    "!custom value",
    "9" * 5000,
    "-" + "9" * 4400,
    "0x" + "f" * 4000,
    "0o" + "7" * 5000,
    "1" + "0" * 400 + ".5",
    "1e999",
    ".nan",
    "-.inf",
    "2001-12-14t21:59:43.10-05:00",
    "2026-02-30",
    "1_000_000",
    "~",
    "null",
    "yes",
    "[]",
    "{}",
    "[[[[]]]]",
    "''",
    '"\\x00"',
    '"\\e[31mred"',
    '"\\u2028::error::x"',
    '"a\\\\ \\t"',
    "'{out!x}'",
    "'{out:d}'",
    "'{out.__class__}'",
    "'{out[0]}'",
    "'{0}'",
    "'{}'",
    "'{'",
    "'}'",
    "'{out'",
    "'{{out}}'",
    "'{out:{out}}'",
    "'{out!r:>{binary}}'",
    "*undefined",
    "&anchor x",
    "<<",
    "=",
    "|\n  block\n",
    ">-\n  folded\n",
    "? complex\n: key",
    "%YAML 1.1",
    "---",
    "...",
    "@reserved",
    "`reserved",
]
JSON_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    -0.0,
    10**30,
    -(10**30),
    1e20,
    1e308,
    2**63,
    "",
    "x" * 5000,
    "\x1b[2J\x1b[31m",
    "\n::error::pwned",
    "sha256:" + "0" * 64,
    "pass",
    "over-budget",
    "percent",
    "bytes",
    [],
    {},
    [None],
    [1, 2, 3],
    {"": None},
    {"kind": "percent", "value": 5},
]


def deep_yaml(rng: random.Random) -> str:
    depth = rng.choice([50, 500, 5000, 50000])
    kind = rng.randrange(4)
    if kind == 0:
        return "[" * depth + "]" * depth
    if kind == 1:
        return "{a: " * depth + "1" + "}" * depth
    if kind == 2:
        return "".join(f"{'  ' * i}k{i}:\n" for i in range(min(depth, 3000))) + "  " * 3000 + "x"
    return "- " * min(depth, 5000) + "x"


def alias_bomb(rng: random.Random) -> str:
    levels = rng.choice([9, 12, 20, 30])
    width = rng.choice([4, 9, 10])
    kind = rng.choice(["seq", "map", "merge"])
    lines = ['a0: &a0 ["lol"]' if kind != "merge" else "a0: &a0 {k: v}"]
    for i in range(1, levels):
        prev = f"*a{i - 1}"
        if kind == "seq":
            lines.append(f"a{i}: &a{i} [{', '.join([prev] * width)}]")
        elif kind == "map":
            entries = ", ".join(f"k{j}: {prev}" for j in range(width))
            lines.append(f"a{i}: &a{i} {{{entries}}}")
        else:
            entries = ", ".join(f"k{j}: {prev}" for j in range(width))
            lines.append(f"a{i}: &a{i} {{<<: {prev}, {entries}}}")
    return "\n".join(lines) + "\n"


def mutate_text(text: str, rng: random.Random) -> bytes:
    """One or a few textual mutations of a YAML or JSON file."""
    data = text
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        data = _one_text_mutation(data, rng)
    raw = data.encode("utf-8", "surrogatepass")
    if rng.random() < 0.08:  # not UTF-8
        at = rng.randrange(len(raw) + 1)
        raw = raw[:at] + rng.choice(BAD_BYTES) + raw[at:]
    if rng.random() < 0.05 and raw:  # a byte flipped
        at = rng.randrange(len(raw))
        raw = raw[:at] + bytes([raw[at] ^ (1 << rng.randrange(8))]) + raw[at + 1 :]
    return raw


def _one_text_mutation(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    line = rng.randrange(len(lines))
    at = rng.randrange(len(text) + 1)
    choice = rng.randrange(13)
    if choice == 0:  # control character anywhere
        return text[:at] + rng.choice(CONTROL) + text[at:]
    if choice == 1:  # truncation
        return text[:at]
    if choice == 2:  # delete a range
        return text[:at] + text[at + rng.randrange(1, 40) :]
    if choice == 3:  # duplicate a line (duplicate keys, repeated items)
        return "\n".join([*lines[: line + 1], lines[line], *lines[line + 1 :]])
    if choice == 4:  # odd indentation
        lines[line] = rng.choice(["\t", " ", "   ", "\t  "]) + lines[line]
        return "\n".join(lines)
    if choice == 5:  # a value replaced by a hostile scalar
        head, sep, _ = lines[line].partition(": ")
        if sep:
            lines[line] = f"{head}: {rng.choice(YAML_SCALARS)}"
        else:
            lines[line] = lines[line] + " " + rng.choice(YAML_SCALARS)
        return "\n".join(lines)
    if choice == 6:  # deep nesting
        head, sep, _ = lines[line].partition(": ")
        lines[line] = f"{head}: {deep_yaml(rng)}" if sep else deep_yaml(rng)
        return "\n".join(lines)
    if choice == 7:  # an alias bomb
        return alias_bomb(rng) + (text if rng.random() < 0.5 else "")
    if choice == 8:  # swap two lines
        other = rng.randrange(len(lines))
        lines[line], lines[other] = lines[other], lines[line]
        return "\n".join(lines)
    if choice == 9:  # a random printable or structural character
        return text[:at] + rng.choice("{}[]:,&*!|>'\"%@`#-?\\ \n") + text[at:]
    if choice == 10:  # a hostile scalar spliced in mid-line
        return text[:at] + rng.choice(YAML_SCALARS) + text[at:]
    if choice == 11:  # repeat the whole document or a part of it
        return text + "\n" + text[: rng.randrange(len(text) + 1)]
    return (
        text[:at]
        + chr(rng.choice([0x0, 0x1F, 0x7F, 0x80, 0x9F, 0xD7FF, 0xFFFE, 0x10FFFF]))
        + text[at:]
    )


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _paths(value, (*prefix, i))


def mutate_data(data: Any, rng: random.Random, values: list[Any]) -> Any:
    """A copy of parsed `data` with one node replaced, removed, duplicated or nested."""
    data = json.loads(json.dumps(data))
    paths = list(_paths(data))
    path = rng.choice(paths[1:] or paths)
    if not path:
        return rng.choice(values)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    key = path[-1]
    choice = rng.randrange(7)
    if choice <= 2:  # a value of another type or an extreme value
        parent[key] = rng.choice(values)
    elif choice == 3 and isinstance(parent, dict):  # a required field missing
        del parent[key]
    elif choice == 3:
        parent.append(parent[key])
    elif choice == 4:  # an unknown field
        if isinstance(parent, dict):
            parent[rng.choice(["", "x", "\x1b[31m", "__proto__", "9" * 50])] = rng.choice(values)
        else:
            parent.insert(key, rng.choice(values))
    elif choice == 5:  # deep nesting
        nested: Any = parent[key]
        for _ in range(rng.choice([10, 100, 900])):  # deeper: as text, deep_yaml
            nested = [nested]
        parent[key] = nested
    else:  # a large list (bounded: a report is small)
        parent[key] = [parent[key]] * rng.choice([2, 50, 1000])
    return data


def _yaml_dump(data: Any) -> str:
    try:
        return yaml.safe_dump(data, sort_keys=False, width=10**6)
    except (yaml.YAMLError, RecursionError):
        return json.dumps(data)


# --- The harness ----------------------------------------------------------------------


class Deadline(BaseException):
    """A case ran out of time (not an Exception: slim must not catch it)."""


@dataclass
class Outcome:
    cases: int = 0
    failures: list[str] = field(default_factory=list)


@dataclass
class Sandbox:
    repo: Path
    tmp: Path
    outside: Path
    writes: list[str] = field(default_factory=list)
    active: bool = False

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.active:
            return
        target: Any = None
        if event == "open" and len(args) >= 3:
            path, mode, flags = args[0], args[1], args[2]
            writing = (
                any(c in mode for c in "wax+")
                if isinstance(mode, str)
                else bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))
            )
            target = path if writing else None
        elif event == "os.rename":
            target = args[1]
        elif event in ("os.remove", "os.mkdir", "os.rmdir", "os.chmod", "os.symlink", "os.link"):
            target = args[0] if event != "os.symlink" else args[1]
        elif event == "shutil.rmtree":
            target = args[0]
        if target is None or isinstance(target, int):
            return
        path = os.path.abspath(os.fsdecode(target))
        if "__pycache__" in path:
            return
        # The cache folder is slim's own (measured layers, schema passes), not the user's.
        inside = (str(self.repo), str(self.tmp), str(self.tmp.parent / "cache"))
        if path not in inside and not path.startswith(tuple(p + os.sep for p in inside)):
            self.writes.append(f"{event} {path}")

    def leftovers(self) -> list[str]:
        found = [p for p in self.tmp.iterdir()]
        found += [
            p
            for p in self.repo.rglob("*")
            if p.name.endswith(".tmp") or p.name.startswith((".tmp", "tmp"))
        ]
        found += list(self.outside.iterdir())
        return [str(p) for p in found]


_BOXES: list[Sandbox] = []  # the running test's sandbox, which the audit hook informs


def _audit(event: str, args: tuple[Any, ...]) -> None:
    for box in _BOXES:
        box.audit(event, args)


sys.addaudithook(_audit)  # once: a hook cannot be removed, and each one slows every event


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    repo = tmp_path / "repo"
    (repo / "hello").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "hello" / "hello.c", repo / "hello" / "hello.c")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    monkeypatch.chdir(repo)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setenv("SLIM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    # argparse asks gettext for each of its words on every main(): with a language of C
    # it looks for no catalogue on disk (none is installed), a tenth of a case's time.
    monkeypatch.setenv("LANGUAGE", "C")
    box = Sandbox(repo, tmp, outside)
    _BOXES.append(box)
    try:
        yield box
    finally:
        box.active = False
        _BOXES.remove(box)


def _on_deadline(signum: int, frame: FrameType | None) -> None:
    raise Deadline


def run_case(box: Sandbox, argv: list[str]) -> tuple[int | None, str, float]:
    """Exit code (None: an exception escaped or the deadline passed), stderr, seconds."""
    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _on_deadline)
    handlers = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    start = time.perf_counter()
    code: int | None
    box.active = True
    try:
        signal.setitimer(signal.ITIMER_REAL, CASE_DEADLINE)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except Deadline:
        code = None
        err.write(f"\n(deadline of {CASE_DEADLINE}s passed)")
    except SystemExit as exc:  # argparse; main itself returns its code
        code = exc.code if isinstance(exc.code, int) else 2
    except BaseException as exc:  # what a user would see as a traceback
        code = None
        err.write(f"\nTraceback: {type(exc).__name__}: {str(exc)[:200]!r}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        box.active = False
        signal.signal(signal.SIGALRM, previous)
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
    return code, err.getvalue(), time.perf_counter() - start


def check_case(box: Sandbox, outcome: Outcome, label: str, argv: list[str]) -> None:
    code, err, seconds = run_case(box, argv)
    outcome.cases += 1
    problems = []
    if code not in DOCUMENTED_EXITS:
        problems.append(f"exit {code}")
    if "Traceback" in err:
        problems.append("traceback")
    if box.writes:
        problems.append(f"wrote outside: {box.writes[:3]}")
        box.writes.clear()
    left = box.leftovers()
    if left:
        problems.append(f"left behind: {left[:3]}")
        for path in map(Path, left):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    if problems:
        keep = os.environ.get("SLIM_FUZZ_KEEP")  # a folder to keep the failing inputs in
        if keep:
            for name in ("slim.yaml", "bad.json"):
                if (box.repo / name).exists():
                    shutil.copy(box.repo / name, Path(keep) / f"{label.replace(' ', '-')}-{name}")
        last = err.strip().splitlines()[-1:] if err.strip() else [""]
        outcome.failures.append(
            f"{label} {' '.join(argv)}: {', '.join(problems)} ({seconds:.1f}s): {last[0][:300]!r}"
        )


def summary(outcome: Outcome, kind: str) -> str:
    lines = [f"{len(outcome.failures)} of {outcome.cases} {kind} cases failed (seed {SEED}):"]
    return "\n".join(lines + outcome.failures[:40])


def _report_line(outcome: Outcome, kind: str) -> None:
    # Printed with -s: how many ran and failed, the figure the issue asks for.
    print(
        f"\nfuzz {kind}: {outcome.cases} cases, {len(outcome.failures)} failed", file=sys.__stderr__
    )


# --- slim.yaml --------------------------------------------------------------------------


def yaml_seeds() -> list[str]:
    examples = sorted((ROOT / "examples").glob("*slim.yaml"))
    return [path.read_text(encoding="utf-8") for path in examples] + [EXTRA_CONFIG]


YAML_COMMANDS = ("validate", "generate", "check")


def yaml_case(rng: random.Random, seeds: list[str]) -> tuple[bytes, list[str]]:
    """A mutated slim.yaml and the command to run on it."""
    seed = rng.choice(seeds)
    if rng.random() < 0.7:
        raw = mutate_text(seed, rng)
    else:
        values = [*JSON_VALUES, *(f"{{{name}}}" for name in ("out!x", "out:d", "0", ""))]
        raw = _yaml_dump(mutate_data(_parsed(seed), rng, values)).encode()
    return raw, [rng.choice(YAML_COMMANDS), "-c", "slim.yaml"]


@functools.cache
def _parsed(seed: str) -> Any:
    return yaml.safe_load(seed)  # mutate_data changes a copy


def shard_cases(total: int, shards: int, shard: int) -> int:
    return total // shards + (1 if shard < total % shards else 0)


def shard_bound(cases: int, total: int) -> float:
    """A shard's share of the time bound of all the cases of its kind."""
    return RUN_BOUND * max(cases, 1) / max(total, 1)


@pytest.mark.parametrize("shard", range(YAML_SHARDS))
def test_fuzz_slim_yaml(sandbox: Sandbox, shard: int) -> None:
    rng = random.Random(f"{SEED}/slim.yaml/{shard}")
    seeds = yaml_seeds()
    config = sandbox.repo / "slim.yaml"
    config.write_text(seeds[0])
    assert main(["validate", "-q"]) == 0  # warm up: the imports are not part of a case
    cases = shard_cases(YAML_CASES, YAML_SHARDS, shard)
    outcome = Outcome()
    started = time.perf_counter()
    for case in range(cases):
        raw, argv = yaml_case(rng, seeds)
        config.write_bytes(raw)
        check_case(sandbox, outcome, f"shard {shard} yaml case {case}", argv)
    _report_line(outcome, f"slim.yaml shard {shard}")
    assert outcome.cases >= cases
    assert not outcome.failures, summary(outcome, "slim.yaml")
    assert time.perf_counter() - started < shard_bound(cases, YAML_CASES)


# --- Reports ------------------------------------------------------------------------------


def report_seeds(directory: Path) -> list[str]:
    budget = Budget(max=20_000, max_growth=("percent", 5.0), spelled={"max": "20kB"})
    samples = [
        report(target("hello-scratch-musl", hello(17_000), budget=budget)),
        report(
            target("hello-scratch-musl", hello(19_000, (("/etc/ssl/cert.pem", 5000),))),
            target("hello-alpine", None, status="build-failed", reasons=("build failed",)),
        ),
    ]
    texts = []
    for n, sample in enumerate(samples):
        texts.append(write(directory / f"seed{n}.json", sample).read_text(encoding="utf-8"))
    return texts


def report_case(rng: random.Random, seeds: list[str]) -> tuple[bytes, list[str]]:
    """A mutated report (bad.json, beside the good good.json) and the command to run."""
    seed = rng.choice(seeds)
    if rng.random() < 0.35:
        raw = mutate_text(seed, rng)
    else:
        raw = json.dumps(mutate_data(json.loads(seed), rng, JSON_VALUES)).encode()
    pair = ["bad.json", "good.json"] if rng.random() < 0.5 else ["good.json", "bad.json"]
    extra = rng.choice([[], ["--json"], ["--markdown", "out.md", "--write-report", "out.json"]])
    return raw, ["report", *pair, *extra]


def report_sandbox(sandbox: Sandbox, directory: Path) -> list[str]:
    seeds = report_seeds(directory)
    (sandbox.repo / "good.json").write_text(seeds[0])
    (sandbox.repo / "bad.json").write_text(seeds[1])
    return seeds


@pytest.mark.parametrize("shard", range(REPORT_SHARDS))
def test_fuzz_reports(sandbox: Sandbox, tmp_path: Path, shard: int) -> None:
    rng = random.Random(f"{SEED}/report/{shard}")
    seeds = report_sandbox(sandbox, tmp_path)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        # warm up (a build failed: exit 3)
        assert main(["report", "good.json", "bad.json", "--json"]) == 3
    cases = shard_cases(REPORT_CASES, REPORT_SHARDS, shard)
    outcome = Outcome()
    started = time.perf_counter()
    for case in range(cases):
        raw, argv = report_case(rng, seeds)
        (sandbox.repo / "bad.json").write_bytes(raw)
        check_case(sandbox, outcome, f"shard {shard} report case {case}", argv)
    _report_line(outcome, f"report shard {shard}")
    assert outcome.cases >= cases
    assert not outcome.failures, summary(outcome, "report")
    assert time.perf_counter() - started < shard_bound(cases, REPORT_CASES)


# --- The same, as a process -----------------------------------------------------------------

# A few cases run as `python -m slim_bake`: the exit code and stderr a user sees, with the
# interpreter's own handling of what escapes main() (the in-process cases call main()).
Case = Callable[[random.Random, list[str]], tuple[bytes, list[str]]]
PROCESS_CASES: dict[str, Case] = {
    "yaml alias bomb": lambda rng, seeds: (alias_bomb(rng).encode(), ["validate"]),
    "yaml deep nesting": lambda rng, seeds: (f"version: {deep_yaml(rng)}\n".encode(), ["generate"]),
    "yaml mutated": yaml_case,
    "report mutated": report_case,
}


@pytest.mark.parametrize("kind", PROCESS_CASES)
def test_fuzz_cases_as_a_process(sandbox: Sandbox, tmp_path: Path, kind: str) -> None:
    rng = random.Random(f"{SEED}/process/{kind}")
    if kind.startswith("report"):
        seeds, name = report_sandbox(sandbox, tmp_path), "bad.json"
    else:
        seeds, name = yaml_seeds(), "slim.yaml"
    for case in range(3):
        raw, argv = PROCESS_CASES[kind](rng, seeds)
        (sandbox.repo / name).write_bytes(raw)
        result = subprocess.run(
            [sys.executable, "-m", "slim_bake", *argv],
            cwd=sandbox.repo,
            env={**os.environ, "TMPDIR": str(sandbox.tmp)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        where = f"{kind} case {case} (seed {SEED}): slim {' '.join(argv)}"
        assert result.returncode in DOCUMENTED_EXITS, f"{where}: exit {result.returncode}"
        assert "Traceback" not in result.stderr, f"{where}: {result.stderr[-2000:]}"
        if kind in ("yaml alias bomb", "yaml deep nesting"):  # refused, at a place
            assert result.returncode == 2, where
            assert re.search(r"^slim\.yaml:\d+:\d+: ", result.stderr, re.M), result.stderr
        assert not sandbox.leftovers(), where
