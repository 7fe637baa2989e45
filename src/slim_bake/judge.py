"""A target's verdict: its build, smoke check, `assert:` checks (contents.py) and
measurement against its absolute budgets (max, max_compressed, max_layers). Growth
against a baseline is judged by the report (slim_bake.report.compare),
which only ever turns a pass into over-budget.

Fail closed: anything that could not be checked is a failure, never a pass."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from slim_bake.config import Assertions, Budget
from slim_bake.contents import judge_assertions
from slim_bake.errors import EXIT_BUILD, EXIT_FAILED, EXIT_OK
from slim_bake.measure import Measurement
from slim_bake.smoke import SmokeResult
from slim_bake.units import format_size


class Status(StrEnum):
    """A target's verdict, as the table, the JSON report and the exit code name it."""

    PASS = "pass"
    OVER_BUDGET = "over-budget"
    SMOKE_FAILED = "smoke-failed"
    ASSERT_FAILED = "assert-failed"
    BUILD_FAILED = "build-failed"
    MEASURE_FAILED = "measure-failed"


PASS = Status.PASS
OVER_BUDGET = Status.OVER_BUDGET
SMOKE_FAILED = Status.SMOKE_FAILED
ASSERT_FAILED = Status.ASSERT_FAILED
BUILD_FAILED = Status.BUILD_FAILED
MEASURE_FAILED = Status.MEASURE_FAILED
STATUSES = tuple(Status)
EXIT_CODES: dict[Status, int] = {  # status -> exit code, worst wins
    Status.PASS: EXIT_OK,
    Status.OVER_BUDGET: EXIT_FAILED,
    Status.SMOKE_FAILED: EXIT_FAILED,
    Status.ASSERT_FAILED: EXIT_FAILED,
    Status.BUILD_FAILED: EXIT_BUILD,
    Status.MEASURE_FAILED: EXIT_BUILD,
}


@dataclass(frozen=True)
class Check:
    """One check of a target (a budget, the smoke run, an assertion) and how it went."""

    name: str  # "budget.max", "smoke", "assert.absent", …
    failures: tuple[str, ...] = ()  # empty: it held

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class Verdict:
    status: Status
    reasons: tuple[str, ...] = ()  # why it did not pass; empty when it passed
    checks: tuple[Check, ...] = ()  # every check that ran (none recorded: an older report)


def judge(
    budget: Budget,
    measurement: Measurement | None,
    smoke: SmokeResult | None,
    asserts: Assertions | None = None,
) -> Verdict:
    """The verdict of a built target. A failed smoke check outranks a failed assertion,
    which outranks a broken budget (all are named in `reasons`); no measurement is a
    measurement failure."""
    if measurement is None:
        return failed(Status.MEASURE_FAILED, "the image was not measured")
    checks = [] if smoke is None else [Check("smoke", () if smoke.ok else (smoke.message,))]
    smoke_reasons = [f"smoke check: {m}" for c in checks for m in c.failures]
    asserted = [Check(n, f) for n, f in judge_assertions(asserts or Assertions(), measurement)]
    budgets = list(budget_checks(budget, measurement))
    checks += asserted + budgets
    assert_reasons = [m for c in asserted for m in c.failures]
    budget_reasons = [m for c in budgets for m in c.failures]
    status = (
        Status.SMOKE_FAILED
        if smoke_reasons
        else Status.ASSERT_FAILED
        if assert_reasons
        else Status.OVER_BUDGET
        if budget_reasons
        else Status.PASS
    )
    return Verdict(status, tuple(smoke_reasons + assert_reasons + budget_reasons), tuple(checks))


def failed(status: Status, reason: str) -> Verdict:
    """A target that could not be built or measured."""
    return Verdict(status, (reason,))


def budget_checks(budget: Budget, measurement: Measurement) -> Iterable[Check]:
    """One Check per absolute budget the target has."""
    spelled = budget.spelled
    for name, only in (
        ("max", Budget(max=budget.max, spelled=spelled)),
        ("max_compressed", Budget(max_compressed=budget.max_compressed, spelled=spelled)),
        ("max_layers", Budget(max_layers=budget.max_layers, spelled=spelled)),
    ):
        if getattr(budget, name) is not None:
            yield Check(f"budget.{name}", tuple(over_budget(only, measurement)))


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


def exit_code(statuses: Iterable[Status]) -> int:
    """3 if anything failed to build or measure, else 1 if a check failed, else 0."""
    return max((EXIT_CODES[s] for s in statuses), default=EXIT_OK)
