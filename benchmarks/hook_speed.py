"""How long do the pre-commit hooks take when there is nothing to change?

Builds a throw-away git repository with 20 artifacts × 4 runtimes (80 Dockerfiles and
a bake file), generates once, then times `slim check` and `slim generate
--fail-on-change` (both must exit 0) N times each as a hook runs them: a fresh
process of the console script, wall time around the whole run. Prints the median and
the slowest imports (`python -X importtime`). Target (issue 3): median < 0.3 s.

    python benchmarks/hook_speed.py [--runs 15] [--artifacts 20] [--slim PATH] [--quick]

--quick: 3 artifacts, one run each; fails when a hook does not pass silently or `slim
check` imports docker, hcl2 or urllib.request; the budget is printed, not enforced (one
run on a shared machine). tests/integration/test_benchmarks.py runs it so that the script
cannot rot.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_SECONDS = 0.3
# A mix of languages and of runtime kinds (shell bases, scratch, debug companions).
RUNTIME_SETS = {
    "c": ["debian-slim", "alpine-static", "scratch-musl", "scratch-closure-debug"],
    "go": ["distroless-static", "scratch-glibc", "busybox-glibc", "scratch-musl"],
    "rust": ["debian-slim", "distroless-cc", "scratch-musl", "scratch-musl-debug"],
}
COMMANDS = {
    "slim check": ["check"],
    "slim generate --fail-on-change": ["generate", "--fail-on-change"],
    "slim validate -q": ["validate", "-q"],
}


def build_repo(root: Path, artifacts: int) -> None:
    lines = ["version: 1", "artifacts:"]
    langs = list(RUNTIME_SETS)
    for i in range(artifacts):
        lang = langs[i % len(langs)]
        name = f"app{i:02d}"
        (root / "src" / name).mkdir(parents=True)
        lines += [
            f"  {name}:",
            f"    lang: {lang}",
            f"    context: ./src/{name}",
            f"    runtimes: [{', '.join(RUNTIME_SETS[lang])}]",
            '    budgets: {"*": {max: 50MB}, scratch-musl: {max: 2MB, max_growth: 5%}}',
            "    smoke: {expect_stdout: ok}",
        ]
    (root / "slim.yaml").write_text("\n".join(lines) + "\n")
    subprocess.run(["git", "init", "-q", str(root)], check=True)


def time_runs(command: list[str], cwd: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        if result.returncode != 0 or result.stdout or result.stderr:
            sys.exit(f"{' '.join(command)} did not pass silently:\n{result.stdout}{result.stderr}")
    return times


def import_breakdown(slim: str, cwd: Path, top: int) -> list[tuple[int, int, str]]:
    """(cumulative µs, self µs, module) of the slowest imports of `slim check`."""
    python = _interpreter(slim)
    code = "import sys; from slim_bake.cli import main; sys.exit(main(['check']))"
    result = subprocess.run(
        [python, "-X", "importtime", "-c", code], cwd=cwd, capture_output=True, text=True
    )
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative, name = line[len("import time:") :].split("|")
        rows.append((int(cumulative), int(self_us), name.rstrip()[1:]))
    # Top-level entries only (no leading spaces) give the honest breakdown; the watched
    # packages are shown wherever they were first imported.
    top_level = [r for r in rows if not r[2].startswith(" ")]
    watched = [r for r in rows if r[2].strip() in WATCHED]
    return sorted(top_level, reverse=True)[:top] + [
        (c, s, f"(of which) {n.strip()}") for c, s, n in watched
    ]


WATCHED = ("jsonschema", "yaml", "docker", "hcl2", "urllib.request")
HEAVY = ("docker", "hcl2", "urllib.request")  # the hooks need none of them
PHASES = """
import json, subprocess, time
from pathlib import Path
marks = [("start", time.perf_counter())]
def mark(name): marks.append((name, time.perf_counter()))
from slim_bake import presets
from slim_bake.commands import check
from slim_bake.config import load_config, schema_check
from slim_bake.loader import load_yaml
from slim_bake.output import plan_changes
from slim_bake.plan import make_plan
mark("imports")
presets.runtimes(); presets.bases(); presets.languages(); presets.schema("slim")
mark("presets and schema (read once, cached)")
doc = load_yaml(Path("slim.yaml"))
mark("read slim.yaml with positions")
schema_check(doc, "slim")
mark("JSON Schema validation")
subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True)
mark("git rev-parse (repository root)")
config = load_config(Path("slim.yaml"))
mark("load_config again (all of the above but imports/presets)")
plan = make_plan(config)
mark("make_plan")
_, changes = plan_changes(plan)
mark("render all + compare with disk")
assert not changes
print(json.dumps({b[0]: b[1] - a[1] for a, b in zip(marks, marks[1:])}))
"""


def phases(slim: str, cwd: Path) -> dict[str, float]:
    """Seconds spent in each stage of `slim check`, measured inside one process."""
    result = subprocess.run(
        [_interpreter(slim), "-c", PHASES], cwd=cwd, capture_output=True, text=True, check=True
    )
    data: dict[str, float] = json.loads(result.stdout)
    return data


def _interpreter(slim: str) -> str:
    """The Python of the `slim` console script (its shebang), so imports match the runs."""
    first = Path(slim).read_text(errors="replace").splitlines()[0]
    if first.startswith("#!") and "python" in first:
        return first[2:].strip().split()[0]
    return sys.executable


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--artifacts", type=int, default=20)
    parser.add_argument("--slim", default=shutil.which("slim"), help="the slim console script")
    parser.add_argument("--quick", action="store_true", help="3 artifacts, one run each")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.artifacts = 1, 3
    if not args.slim:
        return _fail("no `slim` on PATH: pip install -e . first")
    slim = os.path.realpath(args.slim)
    with tempfile.TemporaryDirectory(prefix="slim-hook-speed-") as tmp:
        root = Path(tmp)
        build_repo(root, args.artifacts)
        subprocess.run([slim, "generate"], cwd=root, check=True, capture_output=True)
        generated = len(list((root / "dockerfiles").glob("*.Dockerfile")))
        print(f"repository: {args.artifacts} artifacts, {generated} Dockerfiles + docker-bake.hcl")
        print(f"slim: {slim}; python {sys.version.split()[0]}; {args.runs} runs each")
        medians = {}
        for label, sub in COMMANDS.items():
            times = time_runs([slim, *sub], root, args.runs)
            medians[label] = statistics.median(times)
            print(
                f"  {label:32s} median {medians[label]:.3f} s  min {min(times):.3f} s"
                f"  max {max(times):.3f} s"
            )
        print("where `slim check` spends its time (one in-process run):")
        for name, seconds in phases(slim, root).items():
            print(f"  {seconds * 1000:7.1f} ms  {name}")
        print("slowest top-level imports of `slim check` (cumulative ms / self ms):")
        imported = set()
        for cumulative, self_us, name in import_breakdown(slim, root, 10):
            print(f"  {cumulative / 1000:7.1f} {self_us / 1000:7.1f}  {name}")
            imported.add(name.removeprefix("(of which) "))
    worst = max(medians.values())
    verdict = "OK" if worst < BUDGET_SECONDS else "OVER BUDGET"
    missing = [name for name in WATCHED if name not in imported]
    print(f"not imported by `slim check`: {', '.join(missing) or 'none'}")
    print(f"worst median {worst:.3f} s; budget {BUDGET_SECONDS} s: {verdict}")
    if args.quick:
        return _quick_checks(imported)
    return 0 if worst < BUDGET_SECONDS else 1


def _quick_checks(imported: set[str]) -> int:
    """1 when `slim check` imports what a hook does not need, or when the import
    breakdown saw nothing (it did not run: its absences would prove nothing)."""
    if "yaml" not in imported:
        return _fail("`python -X importtime` of `slim check` shows no import of yaml", 1)
    heavy = sorted(imported & set(HEAVY))
    return _fail(f"`slim check` imports {', '.join(heavy)}", 1) if heavy else 0


def _fail(message: str, status: int = 2) -> int:
    print(f"hook_speed: {message}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
