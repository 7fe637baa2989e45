"""The words and figures every output shares: sizes, deltas, budgets, growth reasons
and why a target grew. Plain text: each output escapes it its own way (the terminal
through safe_text.visible, the Markdown as literal text or code spans).

Sizes are decimal (kB = 1000 B), as `docker images` prints them."""

from __future__ import annotations

from typing import Any

from slim_bake.config import Budget
from slim_bake.report.model import Comparison, Explanation, State, TargetComparison
from slim_bake.units import format_size

__all__ = ["format_size"]

MISSING = "-"


def compression_text(compression: dict[str, Any]) -> str:
    """What the compressed column is, as the report's `compression` says: slim's gzip
    estimate, the blobs' sizes as stored (and where), or both."""
    level = compression.get("level")
    source = str(compression.get("source") or "")
    where = f" in the {source}" if source else ""
    if compression.get("format") == "blobs":
        return f"compressed: the layer blobs' sizes as stored{where} (what a pull downloads)"
    if compression.get("format") == "mixed":
        return (
            f"compressed: the blobs' sizes as stored{where} for the layers stored compressed,"
            f" slim's gzip level {level} estimate for the others"
        )
    return f"compressed: slim's estimate, each layer gzip'd at level {level} (as a push would)"


def stored_sizes(comparison: Comparison) -> bool:
    """Whether some compressed figure of this run is a stored blob's size, not slim's
    gzip estimate: the outputs then say what the column is."""
    measured = any(t.after is not None for t in comparison.targets)
    return measured and comparison.head.compression.get("format", "gzip") != "gzip"


def signed(n: int) -> str:
    return ("+" if n > 0 else "") + format_size(n)


def signed_size(n: int | None) -> str:
    return MISSING if n is None else "±0B" if n == 0 else signed(n)


def percent(delta: int, before: int) -> str:
    return f"{100.0 * delta / before:+.1f}%" if before else "new"


def budget_text(budget: Budget) -> str:
    """The budgets as the user wrote them: `max 20kB, gz 10kB, 3 layers, growth 5%`."""
    parts = []
    if budget.max is not None:
        parts.append(f"max {budget.spelled.get('max') or format_size(budget.max)}")
    if budget.max_compressed is not None:
        spelled = budget.spelled.get("max_compressed") or format_size(budget.max_compressed)
        parts.append(f"gz {spelled}")
    if budget.max_layers is not None:
        parts.append(f"{budget.max_layers} layers")
    if budget.max_growth is not None:
        parts.append(f"growth {growth_spelled(budget)}")
    return ", ".join(parts) or MISSING


def growth_spelled(budget: Budget) -> str:
    assert budget.max_growth is not None
    kind, value = budget.max_growth
    default = f"{value:g}%" if kind == "percent" else format_size(value)
    return budget.spelled.get("max_growth") or default


def growth_reason(budget: Budget, before: int, after: int, allowed: float) -> str:
    """Why `before` → `after` broke max_growth, which allowed `allowed` bytes."""
    delta = after - before
    return (
        f"grew {signed(delta)} ({delta:+,} B, {percent(delta, before)}) from the baseline's"
        f" {format_size(before)} > max_growth {growth_spelled(budget)} ({allowed:,.0f} B)"
    )


def delta_text(target: TargetComparison) -> str:
    """Δ as shown in tables: +12.3kB (+69.1%), new, removed, baseline failed…"""
    delta = target.delta
    if delta is not None:
        before = target.before
        shown = percent(delta, before.size) if before else ""
        return signed_size(delta) + (f" ({shown})" if delta and before and before.size else "")
    return {
        State.NEW: "new",
        State.FAILED: MISSING,
        State.BASELINE_FAILED: "baseline " + (target.base.status if target.base else "failed"),
        State.REMOVED: "removed",
        State.NOT_BUILT: "not built",
        State.NO_BASELINE: MISSING,
        State.COMPARED: MISSING,  # not reached: a compared target has a delta
    }[target.state]


def state_text(state: State) -> str:
    """A state as a verdict cell: "not built", "removed"."""
    return state.replace("-", " ")


def missing_note(target: TargetComparison) -> str:
    if target.state == State.REMOVED:
        return "in the baseline, no longer in slim.yaml (removed)"
    return "in the baseline and slim.yaml, not built in this run: not compared"


def change_line(target: TargetComparison, explanation: Explanation) -> str:
    """`NAME grew +1kB (+5.0%): CAUSE` (shrank, changed)."""
    delta = target.delta or 0
    verb = "grew" if delta > 0 else "shrank" if delta < 0 else "changed"
    shown = f" ({target.percent:+.1f}%)" if target.percent is not None and delta else ""
    return f"{target.name} {verb} {signed_size(delta)}{shown}: {explanation.cause}"


def summary(explanation: Explanation) -> str:
    """One line: the cause, and the base, layer and file that moved most."""
    parts: list[str] = [explanation.cause]
    if explanation.base.changed:
        parts.append(f"base {signed(explanation.base.delta)}")
    grown = sorted(explanation.layers, key=lambda c: -c.delta)
    if grown and grown[0].delta > 0:
        parts.append(f"layer {short(grown[0].instruction)!r} {signed(grown[0].delta)}")
    if explanation.files:
        parts.append(f"file {explanation.files[0].path} {signed(explanation.files[0].delta)}")
    return "; ".join(parts)


def short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_id(image_id: str | None) -> str:
    """An image ID as `docker images` shortens it (12 hex digits)."""
    return image_id.removeprefix("sha256:")[:12] if image_id else ""


def size_or(n: int | None, missing: str = MISSING) -> str:
    return format_size(n) if n is not None else missing
