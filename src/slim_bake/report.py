"""Results for people (the terminal table) and for programs (JSON-ready dicts).

The table: target | size | compressed | layers | budget | verdict, then one line per
reason a target did not pass. Sizes are decimal (kB = 1000 B), as `docker images`
prints them."""

from __future__ import annotations

from collections.abc import Sequence

from slim_bake.config import Budget
from slim_bake.judge import TargetResult
from slim_bake.safe_text import visible
from slim_bake.units import format_size

COLUMNS = ("target", "size", "compressed", "layers", "budget", "verdict")
_RIGHT = {"size", "compressed", "layers"}
_MISSING = "-"


def format_table(results: Sequence[TargetResult]) -> str:
    # Every cell and reason through `visible`: a target name or a smoke run's output
    # cannot add a line, move the cursor or recolour the terminal.
    rows = [COLUMNS, *([visible(cell) for cell in _row(r)] for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [_line(row, widths) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for result in results:
        lines += [f"{visible(result.target)}: {visible(reason)}" for reason in result.reasons]
    return "\n".join(lines) + "\n"


def _line(row: Sequence[str], widths: list[int]) -> str:
    cells = [
        cell.rjust(width) if COLUMNS[i] in _RIGHT else cell.ljust(width)
        for i, (cell, width) in enumerate(zip(row, widths, strict=True))
    ]
    return "  ".join(cells).rstrip()


def _row(result: TargetResult) -> tuple[str, ...]:
    measured = result.measurement
    if measured is None:
        size = compressed = layers = _MISSING
    else:
        size, compressed = format_size(measured.size), format_size(measured.compressed)
        layers = str(len(measured.layers))
    return (result.target, size, compressed, layers, budget_text(result.budget), result.status)


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
        kind, value = budget.max_growth
        default = f"{value:g}%" if kind == "percent" else format_size(value)
        parts.append(f"growth {budget.spelled.get('max_growth') or default}")
    return ", ".join(parts) or _MISSING


# --- JSON -------------------------------------------------------------------------------
