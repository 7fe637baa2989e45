"""`slim bake --shard I/N` and `slim report merge` (issue 14): shards partition the
selected targets, a target's shard without a baseline depends on its name and N alone,
and the shard reports merge into the report one run over all targets writes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from support.report_samples import hello, report, target, write

from slim_bake.cli import main
from slim_bake.commands.bake import in_shard, select
from slim_bake.config import load_config
from slim_bake.errors import UsageError
from slim_bake.gitrepo import Checkout
from slim_bake.plan import make_plan
from slim_bake.report.merge import merge
from slim_bake.report.model import Report
from slim_bake.shards import assign, parse_shard, select_shard

NAMES = [f"{artifact}-{runtime}" for artifact in "abcdefg" for runtime in ("scratch", "alpine")]


# --- the partition -------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("weighted", [False, True])
def test_every_target_is_in_exactly_one_shard(count: int, weighted: bool) -> None:
    weights = {name: 1000 * (n % 5) + n for n, name in enumerate(NAMES)} if weighted else None
    shards = [select_shard(NAMES, i, count, weights) for i in range(1, count + 1)]
    built = [name for shard in shards for name in shard]
    assert sorted(built) == sorted(NAMES)
    assert len(built) == len(set(built))
    for shard in shards:  # each in plan order
        assert shard == [n for n in NAMES if n in shard]


@pytest.mark.parametrize("count", [2, 3, 4, 5])
def test_without_a_baseline_adding_or_reordering_targets_moves_no_other(count: int) -> None:
    before = assign(NAMES, count)
    after = assign([*reversed(NAMES), "z-new", "a-distroless"], count)
    assert {name: after[name] for name in NAMES} == before


def test_without_a_baseline_many_targets_spread_over_every_shard() -> None:
    names = [f"app{n}-scratch" for n in range(60)]
    sizes = [len(select_shard(names, i, 4)) for i in range(1, 5)]
    assert sum(sizes) == 60
    assert min(sizes) >= 5


def test_the_baseline_sizes_balance_the_shards() -> None:
    weights = {"big": 900, "mid": 500, "small1": 300, "small2": 100, "tiny": 50}
    names = list(weights)
    shards = [select_shard(names, i, 2, weights) for i in (1, 2)]
    loads = sorted(sum(weights[n] for n in shard) for shard in shards)
    assert loads == [900, 950]  # big alone; the rest together
    # Same targets, other order: same shards (every job computes the same split).
    assert assign(list(reversed(names)), 2, weights) == assign(names, 2, weights)


def test_a_target_missing_from_the_baseline_weighs_the_mean() -> None:
    weights = {"a": 100, "b": 100}
    shards = assign(["a", "b", "new1", "new2"], 2, weights)
    assert sorted(shards.values()) == [1, 1, 2, 2]


@pytest.mark.parametrize("spec", ["0/3", "4/3", "a/b", "1/0", "3", "-1/3", "1/3/4", "", " / "])
def test_a_bad_shard_is_a_usage_error(spec: str) -> None:
    with pytest.raises(UsageError, match="--shard"):
        parse_shard(spec)


def test_good_shards_parse() -> None:
    assert parse_shard("1/1") == (1, 1)
    assert parse_shard("3/4") == (3, 4)


@pytest.mark.parametrize("spec", ["0/3", "4/3", "a/b"])
def test_slim_bake_refuses_a_bad_shard_with_exit_2(
    spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Refused before slim.yaml is even read: the message is about --shard.
    assert main(["bake", "--shard", spec, "--config", str(tmp_path / "slim.yaml")]) == 2
    err = capsys.readouterr().err
    assert "--shard" in err and "I/N" in err, err
    assert "Traceback" not in err


CONFIG = {
    "version": 1,
    "artifacts": {
        "hello": {"lang": "c", "runtimes": ["scratch-musl", "alpine", "debian-slim"]},
    },
}


def test_bake_shards_split_the_selected_targets_by_the_baseline_sizes(
    project: Callable[..., Path],
) -> None:
    plan = make_plan(load_config(project(CONFIG)))
    selected = select(plan, [])
    plain = [[t.name for t in in_shard(selected, (i, 3), None)] for i in (1, 2, 3)]
    assert sorted(n for shard in plain for n in shard) == sorted(t.name for t in selected)
    # The baseline's debian-slim image outweighs the two others together: alone in its shard.
    sizes = {"hello-debian-slim": 80_000, "hello-alpine": 9_000}
    baseline = report(*(target(name, hello(size)) for name, size in sizes.items()))
    weighed = [[t.name for t in in_shard(selected, (i, 2), baseline)] for i in (1, 2)]
    assert weighed == [
        ["hello-debian-slim"],
        ["hello-scratch-musl", "hello-alpine"],
    ]


# --- merging shard reports -----------------------------------------------------------------------

WHOLE_NAMES = ("hello-scratch-musl", "hello-alpine", "tool-scratch", "tool-debian")


def whole() -> Report:
    targets = [target(name, hello(10_000 + 1000 * n)) for n, name in enumerate(WHOLE_NAMES)]
    targets[2] = target("tool-scratch", hello(12_000), status="over-budget", reasons=("size",))
    return report(*targets)


def part(full: Report, names: set[str], created: str | None = None) -> Report:
    return replace(
        full,
        targets=tuple(t for t in full.targets if t.name in names),
        created=created or full.created,
    )


def test_two_halves_merge_to_the_whole() -> None:
    full = whole()
    # Shard order need not follow slim.yaml; the merge does.
    merged = merge(
        [
            part(full, {"tool-scratch", "hello-scratch-musl"}),
            part(full, {"hello-alpine", "tool-debian"}),
        ]
    )
    assert replace(merged, source="") == full


def test_slim_report_merge_writes_what_one_run_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full = whole()
    one = write(tmp_path / "one.json", part(full, {"hello-alpine", "tool-scratch"}))
    two = write(tmp_path / "two.json", part(full, {"hello-scratch-musl"}))
    three = write(tmp_path / "three.json", part(full, {"tool-debian"}))
    out = tmp_path / "merged.json"
    args = ["report", "merge", str(one), str(two), str(three), "--write-report", str(out)]
    assert main(args) == 1  # tool-scratch is over budget: the merged run is judged
    assert out.read_text() == write(tmp_path / "whole.json", full).read_text()
    table = capsys.readouterr().out
    assert all(name in table for name in WHOLE_NAMES)


def test_slim_report_merge_of_passing_shards_passes(tmp_path: Path) -> None:
    full = report(*(target(name, hello(10_000)) for name in WHOLE_NAMES))
    one = write(tmp_path / "one.json", part(full, set(WHOLE_NAMES[:2])))
    two = write(tmp_path / "two.json", part(full, set(WHOLE_NAMES[2:])))
    assert main(["report", "merge", str(one), str(two)]) == 0


def test_merge_keeps_the_latest_creation_time() -> None:
    full = whole()
    merged = merge(
        [part(full, {"hello-alpine"}, "2026-01-02T00:00:00Z"), part(full, {"tool-debian"})]
    )
    assert merged.created == "2026-01-02T00:00:00Z"


def test_a_target_in_two_shards_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full = whole()
    one = write(tmp_path / "one.json", part(full, {"hello-alpine", "tool-scratch"}))
    two = write(tmp_path / "two.json", part(full, {"tool-scratch", "tool-debian"}))
    assert main(["report", "merge", str(one), str(two)]) == 2
    err = capsys.readouterr().err
    assert "tool-scratch" in err and "one.json" in err and "two.json" in err, err


@pytest.mark.parametrize(
    "other",
    [
        {"config_sha256": "sha256:" + "9" * 64},
        {"git": Checkout(commit="c" * 40, branch="main", dirty=False)},
    ],
)
def test_reports_of_different_runs_are_refused(
    other: dict[str, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full = whole()
    one = write(tmp_path / "one.json", part(full, {"hello-alpine"}))
    two = write(tmp_path / "two.json", replace(part(full, {"tool-debian"}), **other))  # type: ignore[arg-type]
    assert main(["report", "merge", str(one), str(two)]) == 2
    err = capsys.readouterr().err
    assert "different runs" in err and "one.json" in err and "two.json" in err, err


def test_merge_without_reports_and_report_with_one_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "merge"]) == 2
    assert "name the shard reports" in capsys.readouterr().err
    one = write(tmp_path / "one.json", whole())
    assert main(["report", str(one)]) == 2
    assert "BASE HEAD" in capsys.readouterr().err


def test_an_empty_shard_merges_to_nothing_added() -> None:
    # More shards than targets: some jobs build nothing and write a report without targets.
    full = whole()
    merged = merge([part(full, set()), part(full, set(WHOLE_NAMES)), part(full, set())])
    assert replace(merged, source="") == full
