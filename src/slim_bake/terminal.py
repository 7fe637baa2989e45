"""The comparison for a terminal: the `slim bake` table with baseline and Δ columns,
the reasons, and a few lines on why each target that grew did.

Colour only when the stream is a terminal and NO_COLOR is unset (https://no-color.org);
never in a pipe or a file. Every value from slim.yaml, a report or an image is passed
through `visible` (safe_text) first, every cell of the table included, and only then
painted: a file name cannot move the cursor or recolour the terminal."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TextIO

from slim_bake import report
from slim_bake.compare import (
    COMPARED,
    Comparison,
    LayerChange,
    TargetComparison,
    delta_text,
    short,
    signed_size,
)
from slim_bake.config import Budget
from slim_bake.judge import PASS
from slim_bake.safe_text import visible
from slim_bake.units import format_size

COLUMNS = ("target", "baseline", "size", "Δ", "compressed", "layers", "budget", "verdict")
_RIGHT = {"baseline", "size", "Δ", "compressed", "layers"}
_MISSING = "-"
_LAYERS_SHOWN = 3
_FILES_SHOWN = 3
RED, GREEN, YELLOW, RESET = "\033[31m", "\033[32m", "\033[33m", "\033[0m"


def use_color(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def budget_text(budget: Budget) -> str:
    return visible(report.budget_text(budget))


def format_comparison(comparison: Comparison, color: bool = False) -> str:
    """The table, then each reason a target did not pass, then why targets grew."""
    rows = [_row(t) for t in (*comparison.targets, *comparison.missing)]
    lines = _table([COLUMNS, *rows], color)
    for target in comparison.targets:
        lines += [f"{visible(target.name)}: {visible(reason)}" for reason in target.reasons]
    for target in comparison.missing:
        lines.append(f"{visible(target.name)}: {_missing_note(target)}")
    for target in comparison.targets:
        lines += why_lines(target)
    return "\n".join(lines) + "\n"


def _row(target: TargetComparison) -> tuple[str, ...]:
    before, after = target.before, target.after
    verdict = target.status if target.head else target.state.replace("-", " ")
    return (
        target.name,
        format_size(before.size) if before else _MISSING,
        format_size(after.size) if after else _MISSING,
        delta_text(target),
        format_size(after.compressed) if after else _MISSING,
        str(len(after.layers)) if after else _MISSING,
        budget_text(target.head.budget) if target.head else _MISSING,
        verdict,
    )


def _table(rows: Sequence[Sequence[str]], color: bool) -> list[str]:
    rows = [[visible(cell) for cell in row] for row in rows]  # before widths and paint
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = []
    for n, row in enumerate(rows):
        cells = []
        for i, (cell, width) in enumerate(zip(row, widths, strict=True)):
            padded = cell.rjust(width) if COLUMNS[i] in _RIGHT else cell.ljust(width)
            cells.append(_paint(COLUMNS[i], cell, padded) if color and n else padded)
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def _paint(column: str, cell: str, padded: str) -> str:
    if column == "verdict":
        tint = GREEN if cell == PASS else RED if cell not in ("not built", "removed") else YELLOW
    elif column == "Δ" and cell.startswith("+"):
        tint = YELLOW
    elif column == "Δ" and cell.startswith("-") and cell != _MISSING:
        tint = GREEN
    else:
        return padded
    return f"{tint}{padded}{RESET}"


def _missing_note(target: TargetComparison) -> str:
    if target.state == "removed":
        return "in the baseline, no longer in slim.yaml (removed)"
    return "in the baseline and slim.yaml, not built in this run: not compared"


def why_lines(target: TargetComparison) -> list[str]:
    """A few lines on why `target` grew; none when it did not."""
    explanation, delta = target.explanation, target.delta
    if target.state != COMPARED or explanation is None or not delta or delta < 0:
        return []
    percent = f" ({target.percent:+.1f}%)" if target.percent is not None else ""
    name = visible(target.name)
    lines = [f"{name} grew {signed_size(delta)}{percent}: {visible(explanation.cause)}"]
    base = explanation.base
    if base.changed:
        before, after = visible(base.before_image or "none"), visible(base.after_image or "none")
        lines.append(
            f"  base image changed: {before} ({_short_id(base.before_id)}) →"
            f" {after} ({_short_id(base.after_id)}): {signed_size(base.delta)}"
        )
    grown = sorted(explanation.layers, key=lambda c: -c.delta)[:_LAYERS_SHOWN]
    for change in grown:
        lines.append(
            f"  layer {layer_number(change)} {change.change} {signed_size(change.delta)}:"
            f" {visible(short(change.instruction))}"
        )
    for record in explanation.files[:_FILES_SHOWN]:
        was = format_size(record.before) if record.before is not None else "unlisted"
        lines.append(
            f"  file {visible(record.path)} {record.change} {signed_size(record.delta)}"
            f" ({was} → {format_size(record.after)})"
        )
    return lines


def layer_number(change: LayerChange) -> int:
    """1-based, as `docker history` lists layers (newest last here); JSON keeps indexes."""
    index = change.index_after if change.index_after is not None else change.index_before
    return (index or 0) + 1


def _short_id(image_id: str | None) -> str:
    if not image_id:
        return "no ID"
    return image_id.removeprefix("sha256:")[:12]
