"""Verdicts, exit codes, the table and the JSON of `slim bake`, and target selection,
on measurements made up here (no engine: the integration tests use real ones)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from slim_bake.commands.bake import select
from slim_bake.config import Budget, load_config
from slim_bake.errors import UsageError
from slim_bake.judge import (
    BUILD_FAILED,
    MEASURE_FAILED,
    OVER_BUDGET,
    PASS,
    SMOKE_FAILED,
    Verdict,
    exit_code,
    failed,
    judge,
)
from slim_bake.measure import FileInfo, Layer, Measurement
from slim_bake.pipeline import result
from slim_bake.plan import Plan, Target, make_plan
from slim_bake.report.build import from_results
from slim_bake.report.compare import compare
from slim_bake.report.terminal import COLUMNS, format_table
from slim_bake.smoke import SmokeResult

CONFIG = {
    "version": 1,
    "artifacts": {
        "hello": {
            "lang": "c",
            "runtimes": ["scratch-musl", "alpine", "debian-slim"],
            "budgets": {
                "scratch-musl": {"max": "20kB", "max_compressed": "8kB", "max_layers": 2},
                "alpine": {"max": "3MB"},
            },
        }
    },
}


@pytest.fixture
def plan(project: Callable[..., Path]) -> Plan:
    return make_plan(load_config(project(CONFIG)))


def target(plan: Plan, name: str) -> Target:
    return next(t for t in plan.targets if t.name == name)


def budget(plan: Plan, name: str) -> Budget:
    return target(plan, name).budget


def measured(size: int, compressed: int, layers: int = 2) -> Measurement:
    each = [
        Layer(f"sha256:{i}", size // layers, compressed // layers, f"COPY {i}", False)
        for i in range(layers)
    ]
    return Measurement(
        image="hello:x",
        image_id="sha256:id",
        base_image=None,
        base_id=None,
        size=size,
        compressed=compressed,
        layers=tuple(each),
        files=(FileInfo("/usr/local/bin/hello", size, layers - 1),),
    )


OK_SMOKE = SmokeResult(True, 0, "Hello, world!\n", "", "")
BAD_SMOKE = SmokeResult(False, 0, "Goodbye\n", "", "stdout 'Goodbye', expected 'Hello, world!'")


def test_within_every_budget_passes(plan: Plan) -> None:
    result = judge(budget(plan, "hello-scratch-musl"), measured(20_000, 8_000), OK_SMOKE)
    assert (result.status, result.reasons) == (PASS, ())


@pytest.mark.parametrize(
    ("size", "compressed", "layers", "named"),
    [
        (20_001, 100, 2, "size 20kB (20,001 B) > 20kB (20,000 B) by 1 B"),
        (100, 8_001, 2, "compressed size 8kB (8,001 B) > 8kB (8,000 B) by 1 B"),
        (100, 100, 3, "3 layers > max_layers 2"),
    ],
)
def test_one_byte_or_one_layer_over_a_budget_fails_and_says_which(
    plan: Plan, size: int, compressed: int, layers: int, named: str
) -> None:
    result = judge(budget(plan, "hello-scratch-musl"), measured(size, compressed, layers), None)
    assert result.status == OVER_BUDGET
    assert result.reasons == (named,)


def test_a_failed_smoke_check_outranks_a_broken_budget_and_both_are_named(plan: Plan) -> None:
    result = judge(budget(plan, "hello-alpine"), measured(4_000_000, 10), BAD_SMOKE)
    assert result.status == SMOKE_FAILED
    assert result.reasons[0].startswith("smoke check: stdout 'Goodbye'")
    assert result.reasons[1].startswith("size 4MB (4,000,000 B) > 3MB")


def test_a_target_without_budgets_passes_any_size(plan: Plan) -> None:
    result = judge(budget(plan, "hello-debian-slim"), measured(10**12, 10**12, 99), None)
    assert result.status == PASS


def test_no_measurement_fails_closed(plan: Plan) -> None:
    result = judge(budget(plan, "hello-alpine"), None, OK_SMOKE)
    assert result.status == MEASURE_FAILED


def test_exit_code_is_the_worst_outcome(plan: Plan) -> None:
    musl = target(plan, "hello-scratch-musl")
    passed = judge(musl.budget, measured(1, 1), None)
    over = judge(musl.budget, measured(10**9, 1), None)
    smoke_failed = judge(musl.budget, measured(1, 1), BAD_SMOKE)
    build_failed = failed(BUILD_FAILED, "the build failed")
    measure_failed = failed(MEASURE_FAILED, "cannot export")

    def worst(*verdicts: Verdict) -> int:
        return exit_code(v.status for v in verdicts)

    assert worst() == 0
    assert worst(passed, passed) == 0
    assert worst(passed, over) == 1
    assert worst(smoke_failed, passed) == 1
    assert worst(over, build_failed, passed) == 3
    assert worst(measure_failed, smoke_failed) == 3


def test_the_table_has_one_row_per_target_and_a_line_per_reason(plan: Plan) -> None:
    musl, alpine = measured(17_929, 4_076), measured(4_000_000, 1_500_000)
    musl_target, alpine_target = target(plan, "hello-scratch-musl"), target(plan, "hello-alpine")
    results = [
        result(musl_target, judge(musl_target.budget, musl, OK_SMOKE), musl, OK_SMOKE),
        result(alpine_target, judge(alpine_target.budget, alpine, BAD_SMOKE), alpine, BAD_SMOKE),
        result(target(plan, "hello-debian-slim"), failed(BUILD_FAILED, "the build failed")),
    ]
    lines = format_table(compare(None, from_results(plan, results))).splitlines()
    cells = [re.split(r"\s{2,}", line) for line in lines]
    assert cells[0] == list(COLUMNS)
    assert cells[2] == [
        "hello-scratch-musl",
        "17.9kB",
        "4.08kB",
        "2",
        "max 20kB, gz 8kB, 2 layers",
        PASS,
    ]
    assert cells[3] == ["hello-alpine", "4MB", "1.5MB", "2", "max 3MB", SMOKE_FAILED]
    assert cells[4] == ["hello-debian-slim", "-", "-", "-", "-", BUILD_FAILED]
    reasons = lines[5:]
    assert reasons == [
        "hello-alpine: " + results[1].reasons[0],
        "hello-alpine: " + results[1].reasons[1],
        "hello-debian-slim: the build failed",
    ]


def test_select_expands_groups_and_keeps_plan_order(plan: Plan) -> None:
    assert [t.name for t in select(plan, [])] == [
        "hello-scratch-musl",
        "hello-alpine",
        "hello-debian-slim",
    ]
    assert [t.name for t in select(plan, ["alpine", "hello-scratch-musl"])] == [
        "hello-scratch-musl",
        "hello-alpine",
    ]


def test_an_unknown_target_lists_the_valid_targets_and_groups(plan: Plan) -> None:
    with pytest.raises(UsageError) as caught:
        select(plan, ["hello-scratch-mussl"])
    message = str(caught.value)
    assert "'hello-scratch-mussl'" in message
    assert "targets: hello-scratch-musl, hello-alpine, hello-debian-slim" in message
    assert "groups: default, hello, scratch-musl, alpine, debian-slim" in message
