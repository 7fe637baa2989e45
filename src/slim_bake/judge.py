"""A target's verdict: its build, smoke check and measurement against its absolute
budgets (max, max_compressed, max_layers). Growth against a baseline is judged elsewhere.

Fail closed: anything that could not be checked is a failure, never a pass."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from slim_bake.config import Budget
from slim_bake.errors import EXIT_BUILD, EXIT_FAILED, EXIT_OK
from slim_bake.measure import Measurement
from slim_bake.plan import Target
from slim_bake.smoke import SmokeResult
from slim_bake.units import format_size

PASS = "pass"
OVER_BUDGET = "over-budget"
SMOKE_FAILED = "smoke-failed"
BUILD_FAILED = "build-failed"
MEASURE_FAILED = "measure-failed"
STATUSES = (PASS, OVER_BUDGET, SMOKE_FAILED, BUILD_FAILED, MEASURE_FAILED)
EXIT_CODES = {  # status -> exit code, worst wins
    PASS: EXIT_OK,
    OVER_BUDGET: EXIT_FAILED,
    SMOKE_FAILED: EXIT_FAILED,
    BUILD_FAILED: EXIT_BUILD,
    MEASURE_FAILED: EXIT_BUILD,
}


@dataclass(frozen=True)
class TargetResult:
    target: str
    status: str  # one of STATUSES
    reasons: tuple[str, ...]  # why it did not pass; empty when it passed
    measurement: Measurement | None
    smoke: SmokeResult | None  # None: not run (--no-smoke, no smoke spec, or no image)
    budget: Budget


def judge(
    target: Target, measurement: Measurement | None, smoke: SmokeResult | None
) -> TargetResult:
    """The verdict of a built target. A failed smoke check outranks a broken budget
    (both are named in `reasons`); no measurement is a measurement failure."""
    if measurement is None:
        return failed(target, MEASURE_FAILED, "the image was not measured", smoke)
    smoke_reasons = [] if smoke is None or smoke.ok else [f"smoke check: {smoke.message}"]
    budget_reasons = list(over_budget(target.budget, measurement))
    status = SMOKE_FAILED if smoke_reasons else OVER_BUDGET if budget_reasons else PASS
    return TargetResult(
        target.name,
        status,
        tuple(smoke_reasons + budget_reasons),
        measurement,
        smoke,
        target.budget,
    )


def failed(
    target: Target, status: str, reason: str, smoke: SmokeResult | None = None
) -> TargetResult:
    """A target that could not be built or measured."""
    return TargetResult(target.name, status, (reason,), None, smoke, target.budget)


def over_budget(budget: Budget, measurement: Measurement) -> Iterable[str]:
    if budget.max is not None and measurement.size > budget.max:
        yield _exceeds("size", measurement.size, budget.max, budget.spelled.get("max"))
    if budget.max_compressed is not None and measurement.compressed > budget.max_compressed:
        yield _exceeds(
            "compressed size",
            measurement.compressed,
            budget.max_compressed,
            budget.spelled.get("max_compressed"),
        )
    layers = len(measurement.layers)
    if budget.max_layers is not None and layers > budget.max_layers:
        yield f"{layers} layers > max_layers {budget.max_layers}"


def _exceeds(what: str, value: int, limit: int, spelled: str | None) -> str:
    shown = spelled or format_size(limit)
    return (
        f"{what} {format_size(value)} ({value:,} B) > {shown} ({limit:,} B) by {value - limit:,} B"
    )


def exit_code(results: Iterable[TargetResult]) -> int:
    """3 if anything failed to build or measure, else 1 if a check failed, else 0."""
    return max((EXIT_CODES[r.status] for r in results), default=EXIT_OK)
