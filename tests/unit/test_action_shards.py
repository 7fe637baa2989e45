"""The action's `shard`, `output` and `merge-reports` inputs, under the simulated runner
(support.action_helpers) and without an engine: the first two reach `slim bake` as
options, the third joins shard reports (`slim report merge`), compares them with the
baseline and reports, comments and judges as one bake would."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from support.action_helpers import INPUTS, Runner, slim_yaml, tool
from support.github_api_standin import GitHubStandin
from support.report_samples import hello, report, target, write

from slim_bake.config import Budget

NAMES = ("actionhello-scratch-musl", "actionhello-scratch-glibc", "other-alpine")


def _shards(folder: Path, binary: int = 10_000) -> Path:
    """Three shard reports of one run, each in its own artifact folder as
    actions/download-artifact leaves them (every file named report.json)."""
    budget = Budget(
        max=20_000, max_growth=("percent", 5.0), spelled={"max": "20kB", "max_growth": "5%"}
    )
    whole = report(*(target(name, hello(binary), budget=budget) for name in NAMES))
    for index, name in enumerate(NAMES, 1):
        part = replace(whole, targets=tuple(t for t in whole.targets if t.name == name))
        (folder / f"slim-report-shard-{index}").mkdir(parents=True)
        write(folder / f"slim-report-shard-{index}" / "report.json", part)
    return folder


def test_merge_reports_joins_the_shards_and_comments_once(
    runner: Callable[..., Runner], api: GitHubStandin, tmp_path: Path
) -> None:
    r = runner(slim_yaml("800kB"))
    shards = _shards(tmp_path / "shards")
    run = r.run({**INPUTS, "merge-reports": str(shards), "comment": "true"})
    assert run.failed_step is None, run.log
    assert run.outputs["exit-code"] == "0" and run.outputs["verdict"] == "pass"
    merged = json.loads(Path(run.outputs["report"]).read_text())
    assert [t["name"] for t in merged["targets"]] == list(NAMES)
    [comment] = api.bodies("octo/app", 7)
    assert all(name in comment for name in NAMES)
    assert all(name in run.summary for name in NAMES)


def test_merge_reports_with_a_baseline_judges_the_growth(
    runner: Callable[..., Runner], api: GitHubStandin, tmp_path: Path
) -> None:
    r = runner(slim_yaml("800kB"))
    shards = _shards(tmp_path / "shards", binary=19_000)  # grew from 10,000
    base = report(
        *(target(name, hello(10_000), budget=Budget(max_growth=("percent", 5.0))) for name in NAMES)
    )
    baseline = write(tmp_path / "baseline.json", base)
    inputs = {**INPUTS, "merge-reports": str(shards), "baseline": str(baseline)}
    run = r.run({**inputs, "comment": "false"})
    assert run.failed_step == "Verdict" and run.exit_code == 1
    merged = json.loads(Path(run.outputs["report"]).read_text())
    assert merged["baseline"]["source"] == str(baseline)
    assert all(t["baseline"]["state"] == "compared" for t in merged["targets"])
    assert all(t["baseline"]["delta"] > 0 for t in merged["targets"])
    assert all(t["status"] == "over-budget" for t in merged["targets"])


def test_merge_reports_without_any_report_is_an_error(
    runner: Callable[..., Runner], tmp_path: Path
) -> None:
    r = runner(slim_yaml("800kB"))
    (tmp_path / "empty").mkdir()
    run = r.run({**INPUTS, "merge-reports": str(tmp_path / "empty"), "comment": "false"})
    assert run.failed_step == "Verdict" and run.exit_code == 2
    assert any("no shard reports" in line for line in run.commands("error"))


def test_shard_and_output_reach_slim_bake(runner: Callable[..., Runner], tmp_path: Path) -> None:
    """A `slim` first on PATH that records a bake's arguments (and runs the real one for
    `slim check`)."""
    r = runner(slim_yaml("800kB"))
    recorded = tmp_path / "args"
    fake = tmp_path / "bin" / "slim"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/bash\n"
        f'if [[ "$1" == bake ]]; then printf "%s\\n" "$@" > {recorded}; exit 2; fi\n'
        f'exec {shutil.which("slim") or tool("slim")} "$@"\n'
    )
    fake.chmod(0o755)
    r.base_env["PATH"] = f"{fake.parent}:{r.base_env['PATH']}"
    run = r.run({**INPUTS, "shard": "2/3", "output": "registry", "comment": "false"})
    assert run.exit_code == 2
    args = recorded.read_text().splitlines()
    assert args[args.index("--shard") + 1] == "2/3"
    assert args[args.index("--output") + 1] == "registry"
    assert args[-2:] == ["--", "default"]
