"""A run against its baseline, or against none: `compare(None, head)` gives the
Comparison every output renders, whether there is a baseline or not.

Every target of either side gets a state (model.State), so that nothing passes
silently. Growth is judged only when both sides were measured; a target whose
baseline failed is shown as such but not failed for it, so that the change that
repairs a broken main branch can pass."""

from __future__ import annotations

from slim_bake.report import wording
from slim_bake.report.explain import explain
from slim_bake.report.model import (
    Budget,
    Comparison,
    Figures,
    Report,
    State,
    Status,
    TargetComparison,
    TargetRecord,
)


def compare(baseline: Report | None, head: Report, source: str | None = None) -> Comparison:
    """`head` judged against `baseline` (None: no baseline, only the run's own verdicts)."""
    targets = tuple(_compare_target(baseline, record) for record in head.targets)
    missing: tuple[TargetComparison, ...] = ()
    if baseline is not None:
        built = {(t.name, t.platform) for t in head.targets}
        missing = tuple(
            _missing(record, head)
            for record in baseline.targets
            if (record.name, record.platform) not in built
        )
    return Comparison(head, baseline, source, targets, missing)


def _state(baseline: Report | None, base: TargetRecord | None, head: TargetRecord) -> State:
    if baseline is None:
        return State.NO_BASELINE
    if base is None:
        return State.NEW
    if head.figures is None:
        return State.FAILED
    if base.figures is None:
        return State.BASELINE_FAILED
    return State.COMPARED


def _compare_target(baseline: Report | None, head: TargetRecord) -> TargetComparison:
    base = baseline.target(head.name, head.platform) if baseline else None
    state = _state(baseline, base, head)
    growth: tuple[str, ...] = ()
    explanation = None
    if state == State.COMPARED and base is not None and base.figures and head.figures:
        if base.figures.size_known:
            growth = tuple(growth_reasons(head.budget, base.figures.size, head.figures.size))
            explanation = explain(base.figures, head.figures)
        else:  # a registry baseline never measured here: its compressed size is all it has
            before, after = base.figures.compressed, head.figures.compressed
            growth = tuple(f"compressed {r}" for r in growth_reasons(head.budget, before, after))
    status = head.status
    if growth and status == Status.PASS:
        status = Status.OVER_BUDGET
    over = bool(growth) or absolute_over(head.budget, head.figures)
    return TargetComparison(
        head.label,
        state,
        head,
        base,
        status,
        (*head.reasons, *growth),
        growth,
        explanation,
        over,
    )


def _missing(base: TargetRecord, head: Report) -> TargetComparison:
    state = State.NOT_BUILT if base.name in head.config_targets else State.REMOVED
    return TargetComparison(base.label, state, None, base, base.status, (), (), None)


def growth_reasons(budget: Budget, before: int, after: int) -> list[str]:
    """Why `before` → `after` breaks max_growth ([] when it holds or there is none)."""
    if budget.max_growth is None or after <= before:
        return []
    kind, limit = budget.max_growth
    delta = after - before
    if kind == "percent":
        if before > 0 and 100.0 * delta / before <= limit:
            return []
        allowed = before * limit / 100
    else:
        if delta <= limit:
            return []
        allowed = limit
    return [wording.growth_reason(budget, before, after, allowed)]


def absolute_over(budget: Budget, figures: Figures | None) -> bool:
    if figures is None:
        return False
    return (
        (budget.max is not None and figures.size > budget.max)
        or (budget.max_compressed is not None and figures.compressed > budget.max_compressed)
        or (budget.max_layers is not None and len(figures.layers) > budget.max_layers)
    )
