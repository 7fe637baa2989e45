"""The terminal output: `slim bake`'s table (target | size | compressed | layers |
budget | verdict), with baseline and Δ columns and a few lines on why each target
that grew did when there is a baseline; then one line per reason a target did not pass.

Colour only in the comparison table, when the stream is a terminal and NO_COLOR is
unset (https://no-color.org); never in a pipe or a file. Every value from slim.yaml, a
report or an image is passed through `visible` (safe_text) first, every cell of the
table included, and only then painted: a file name cannot move the cursor or
recolour the terminal."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TextIO

from slim_bake.report import explain, wording
from slim_bake.report.model import Comparison, State, Status, TargetComparison
from slim_bake.report.wording import MISSING, format_size, signed_size
from slim_bake.safe_text import visible

COLUMNS = ("target", "size", "compressed", "layers", "budget", "verdict")
COMPARISON_COLUMNS = ("target", "baseline", "size", "Δ", *COLUMNS[2:])
_RIGHT = {"baseline", "size", "Δ", "compressed", "layers"}
_LAYERS_SHOWN = 3
_FILES_SHOWN = 3
RED, GREEN, YELLOW, RESET = "\033[31m", "\033[32m", "\033[33m", "\033[0m"


def use_color(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def render(comparison: Comparison, color: bool = False) -> str:
    """The table `slim bake` and `slim report` print: with baseline columns when the
    comparison has a baseline."""
    if comparison.baseline is None:
        return format_table(comparison)
    return format_comparison(comparison, color)


def format_table(comparison: Comparison) -> str:
    """The run's own table (no baseline), what its compressed figures are, then each
    reason a target did not pass."""
    rows = [_row(t) for t in comparison.targets]
    lines = _table(COLUMNS, rows, color=False)
    lines += _compression_lines(comparison)
    lines += _reason_lines(comparison)
    return "\n".join(lines) + "\n"


def format_comparison(comparison: Comparison, color: bool = False) -> str:
    """The table, then each reason a target did not pass, then why targets grew."""
    rows = [_comparison_row(t) for t in (*comparison.targets, *comparison.missing)]
    lines = _table(COMPARISON_COLUMNS, rows, color)
    lines += _compression_lines(comparison)
    lines += _reason_lines(comparison)
    for target in comparison.missing:
        lines.append(f"{visible(target.name)}: {wording.missing_note(target)}")
    for target in comparison.targets:
        lines += why_lines(target)
    return "\n".join(lines) + "\n"


def _compression_lines(comparison: Comparison) -> list[str]:
    """One line on what the compressed column is when it is not slim's gzip estimate
    (what it has always been, and what every report before said)."""
    if not wording.stored_sizes(comparison):
        return []
    return [visible(wording.compression_text(comparison.head.compression))]


def _reason_lines(comparison: Comparison) -> list[str]:
    return [
        f"{visible(target.name)}: {visible(reason)}"
        for target in comparison.targets
        for reason in (*target.reasons, *(target.head.notes if target.head else ()))
    ]


def _row(target: TargetComparison) -> tuple[str, ...]:
    after = target.after
    return (
        target.name,
        wording.size_or(after.size if after else None),
        wording.size_or(after.compressed if after else None),
        str(len(after.layers)) if after else MISSING,
        wording.budget_text(target.head.budget) if target.head else MISSING,
        target.status,
    )


def _comparison_row(target: TargetComparison) -> tuple[str, ...]:
    before, after = target.before, target.after
    verdict = target.status if target.head else wording.state_text(target.state)
    return (
        target.name,
        wording.size_or(before.size if before and before.size_known else None),
        wording.size_or(after.size if after else None),
        wording.delta_text(target),
        wording.size_or(after.compressed if after else None),
        str(len(after.layers)) if after else MISSING,
        wording.budget_text(target.head.budget) if target.head else MISSING,
        verdict,
    )


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]], color: bool) -> list[str]:
    # Every cell through `visible` before widths and paint: a target name or a smoke
    # run's output cannot add a line, move the cursor or recolour the terminal.
    cells = [list(columns), *([visible(cell) for cell in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = []
    for n, row in enumerate(cells):
        out = []
        for i, (cell, width) in enumerate(zip(row, widths, strict=True)):
            padded = cell.rjust(width) if columns[i] in _RIGHT else cell.ljust(width)
            out.append(_paint(columns[i], cell, padded) if color and n else padded)
        lines.append("  ".join(out).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def _paint(column: str, cell: str, padded: str) -> str:
    if column == "verdict":
        quiet = (wording.state_text(State.NOT_BUILT), wording.state_text(State.REMOVED))
        tint = GREEN if cell == Status.PASS else RED if cell not in quiet else YELLOW
    elif column == "Δ" and cell.startswith("+"):
        tint = YELLOW
    elif column == "Δ" and cell.startswith("-") and cell != MISSING:
        tint = GREEN
    else:
        return padded
    return f"{tint}{padded}{RESET}"


def why_lines(target: TargetComparison) -> list[str]:
    """A few lines on why `target` grew; none when it did not."""
    explanation, delta = target.explanation, target.delta
    if target.state != State.COMPARED or explanation is None or not delta or delta < 0:
        return []
    lines = [visible(wording.change_line(target, explanation))]
    base = explanation.base
    digest_change = explain.digest_change(base)
    if digest_change is not None:
        lines.append(f"  {visible(digest_change)}: {signed_size(base.delta)}")
    elif base.changed:
        before, after = visible(base.before_image or "none"), visible(base.after_image or "none")
        lines.append(
            f"  base image changed: {before} ({_short_id(base.before_id)}) →"
            f" {after} ({_short_id(base.after_id)}): {signed_size(base.delta)}"
        )
    grown = sorted(explanation.layers, key=lambda c: -c.delta)[:_LAYERS_SHOWN]
    for change in grown:
        lines.append(
            f"  layer {change.number} {change.change} {signed_size(change.delta)}:"
            f" {visible(wording.short(change.instruction))}"
        )
    for record in explanation.files[:_FILES_SHOWN]:
        was = format_size(record.before) if record.before is not None else "unlisted"
        lines.append(
            f"  file {visible(record.path)} {record.change} {signed_size(record.delta)}"
            f" ({was} → {format_size(record.after)})"
        )
    return lines


def _short_id(image_id: str | None) -> str:
    return wording.short_id(image_id) or "no ID"
