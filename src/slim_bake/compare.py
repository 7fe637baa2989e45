"""A run against its baseline: growth budgets (`max_growth`) and why a target grew.

Every target of either side gets a state, so that nothing passes silently:
compared (both sides measured), new (not in the baseline), baseline-failed (the
baseline has no figures for it), failed (this run has none), removed (in the
baseline, no longer in slim.yaml) and not-built (in the baseline and slim.yaml, not
selected in this run). Growth is judged only when both sides were measured; a
target whose baseline failed is shown as such but not failed for it, so that the
change that repairs a broken main branch can pass.

Why it grew: whether the base image changed (its image ID, or its name), which of our
own layers grew, appeared or disappeared (matched by instruction, then by position,
each with the instruction that made it), and the largest files added or grown in the
runtime stage."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from slim_bake.config import Budget
from slim_bake.errors import EXIT_OK
from slim_bake.judge import (
    EXIT_CODES,
    OVER_BUDGET,
    PASS,
)
from slim_bake.measure import FileInfo
from slim_bake.report_doc import (
    Figures,
    Report,
    TargetRecord,
    header_to_json,
    target_to_json,
)
from slim_bake.units import format_size

COMPARED = "compared"
NEW = "new"
BASELINE_FAILED = "baseline-failed"
FAILED = "failed"
REMOVED = "removed"
NOT_BUILT = "not-built"
NO_BASELINE = "no-baseline"
STATES = (COMPARED, NEW, BASELINE_FAILED, FAILED, REMOVED, NOT_BUILT, NO_BASELINE)
FILES_SHOWN = 10  # largest files added or grown named per target
_BUILDKIT_SUFFIX = " # buildkit"


@dataclass(frozen=True)
class BaseChange:
    changed: bool
    before_image: str | None
    before_id: str | None
    before_size: int
    after_image: str | None
    after_id: str | None
    after_size: int

    @property
    def delta(self) -> int:
        return self.after_size - self.before_size


@dataclass(frozen=True)
class LayerChange:
    change: str  # grew, shrank, added, removed
    instruction: str  # this run's (the baseline's for a removed layer)
    before_instruction: str | None  # when a changed instruction replaced it
    before: int | None
    after: int | None
    index_before: int | None  # into each side's layers
    index_after: int | None

    @property
    def delta(self) -> int:
        return (self.after or 0) - (self.before or 0)


@dataclass(frozen=True)
class FileChange:
    path: str
    before: int | None  # None: not in the baseline's list of its largest files
    after: int
    change: str  # added, grown, or "unlisted" (the baseline listed only its largest files)
    instruction: str  # of the layer that put this run's copy there

    @property
    def delta(self) -> int:
        return self.after - (self.before or 0)


@dataclass(frozen=True)
class Explanation:
    base: BaseChange
    layers: tuple[LayerChange, ...]  # only layers that changed
    files: tuple[FileChange, ...]  # the largest files added or grown

    @property
    def cause(self) -> str:
        ours = bool(self.layers)
        if self.base.changed and ours:
            return "base image changed and our layers changed"
        if self.base.changed:
            return "base image changed, our layers did not"
        return "our layers changed, base image unchanged" if ours else "nothing changed"

    def summary(self) -> str:
        parts = [self.cause]
        if self.base.changed:
            parts.append(f"base {_signed(self.base.delta)}")
        grown = sorted(self.layers, key=lambda c: -c.delta)
        if grown and grown[0].delta > 0:
            parts.append(f"layer {short(grown[0].instruction)!r} {_signed(grown[0].delta)}")
        if self.files:
            parts.append(f"file {self.files[0].path} {_signed(self.files[0].delta)}")
        return "; ".join(parts)


@dataclass(frozen=True)
class TargetComparison:
    name: str
    state: str  # one of STATES
    head: TargetRecord | None  # None: removed or not built in this run
    base: TargetRecord | None
    status: str  # the final verdict: the run's own, over-budget when growth broke a budget
    reasons: tuple[str, ...]
    growth_reasons: tuple[str, ...]
    explanation: Explanation | None

    @property
    def before(self) -> Figures | None:
        return self.base.figures if self.base else None

    @property
    def after(self) -> Figures | None:
        return self.head.figures if self.head else None

    @property
    def delta(self) -> int | None:
        before, after = self.before, self.after
        if self.state != COMPARED or before is None or after is None:
            return None
        return after.size - before.size

    @property
    def percent(self) -> float | None:
        delta, before = self.delta, self.before
        if delta is None or before is None or before.size == 0:
            return None
        return 100.0 * delta / before.size

    @property
    def over_budget(self) -> bool:
        """A size budget (absolute or growth) is broken, whatever else failed."""
        return bool(self.growth_reasons) or (
            self.head is not None and absolute_over(self.head.budget, self.after)
        )


@dataclass(frozen=True)
class Comparison:
    head: Report
    baseline: Report | None
    baseline_source: str | None
    targets: tuple[TargetComparison, ...]  # this run's targets, in its order
    missing: tuple[TargetComparison, ...]  # the baseline's targets this run did not build

    @property
    def exit_code(self) -> int:
        return max((EXIT_CODES[t.status] for t in self.targets), default=EXIT_OK)


def compare(baseline: Report | None, head: Report, source: str | None = None) -> Comparison:
    """`head` judged against `baseline` (None: no baseline, only the run's own verdicts)."""
    targets = tuple(_compare_target(baseline, record) for record in head.targets)
    missing: tuple[TargetComparison, ...] = ()
    if baseline is not None:
        built = {t.name for t in head.targets}
        missing = tuple(
            _missing(record, head) for record in baseline.targets if record.name not in built
        )
    return Comparison(head, baseline, source, targets, missing)


def _compare_target(baseline: Report | None, head: TargetRecord) -> TargetComparison:
    base = baseline.target(head.name) if baseline else None
    if baseline is None:
        state = NO_BASELINE
    elif base is None:
        state = NEW
    elif head.figures is None:
        state = FAILED
    elif base.figures is None:
        state = BASELINE_FAILED
    else:
        state = COMPARED
    growth: list[str] = []
    explanation = None
    if state == COMPARED and base is not None and base.figures and head.figures:
        growth = list(growth_reasons(head.budget, base.figures.size, head.figures.size))
        explanation = explain(base.figures, head.figures)
    status = head.status
    if growth and status == PASS:
        status = OVER_BUDGET
    return TargetComparison(
        head.name, state, head, base, status, (*head.reasons, *growth), tuple(growth), explanation
    )


def _missing(base: TargetRecord, head: Report) -> TargetComparison:
    state = NOT_BUILT if base.name in head.config_targets else REMOVED
    return TargetComparison(base.name, state, None, base, base.status, (), (), None)


# --- Growth budgets ------------------------------------------------------------------------


def growth_reasons(budget: Budget, before: int, after: int) -> list[str]:
    """Why `before` → `after` breaks max_growth ([] when it holds or there is none)."""
    if budget.max_growth is None or after <= before:
        return []
    kind, limit = budget.max_growth
    delta = after - before
    spelled = budget.spelled.get("max_growth") or (
        f"{limit:g}%" if kind == "percent" else format_size(limit)
    )
    if kind == "percent":
        if before > 0 and 100.0 * delta / before <= limit:
            return []
        allowed = f"{before * limit / 100:,.0f} B"
    else:
        if delta <= limit:
            return []
        allowed = f"{limit:,.0f} B"
    return [
        f"grew {_signed(delta)} ({delta:+,} B, {_percent(delta, before)}) from the baseline's"
        f" {format_size(before)} > max_growth {spelled} ({allowed})"
    ]


def absolute_over(budget: Budget, figures: Figures | None) -> bool:
    if figures is None:
        return False
    return (
        (budget.max is not None and figures.size > budget.max)
        or (budget.max_compressed is not None and figures.compressed > budget.max_compressed)
        or (budget.max_layers is not None and len(figures.layers) > budget.max_layers)
    )


# --- Why it grew -------------------------------------------------------------------------------


def explain(before: Figures, after: Figures) -> Explanation | None:
    """What changed between two measurements of a target; None when nothing did."""
    base = _base_change(before, after)
    layers = tuple(_layer_changes(before, after))
    files = tuple(_file_changes(before, after))
    if not base.changed and not layers and not files and before.size == after.size:
        return None
    return Explanation(base, layers, files)


def _base_change(before: Figures, after: Figures) -> BaseChange:
    changed = before.base_image != after.base_image or (
        before.base_id is not None and after.base_id is not None and before.base_id != after.base_id
    )
    return BaseChange(
        changed,
        before.base_image,
        before.base_id,
        before.base_size,
        after.base_image,
        after.base_id,
        after.base_size,
    )


def instruction(created_by: str) -> str:
    """The Dockerfile instruction as BuildKit recorded it, without its marker."""
    text = created_by.strip()
    if text.endswith(_BUILDKIT_SUFFIX.strip()):
        text = text[: -len(_BUILDKIT_SUFFIX.strip())].rstrip()
    return text or "(no instruction recorded)"


def short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _own(figures: Figures) -> list[tuple[int, str, int]]:
    return [
        (i, instruction(layer.created_by), layer.size)
        for i, layer in enumerate(figures.layers)
        if not layer.from_base
    ]


def _layer_changes(before: Figures, after: Figures) -> list[LayerChange]:
    """Our layers paired by instruction (difflib's alignment), then a changed
    instruction with the layer at the same position among the unpaired."""
    old, new = _own(before), _own(after)
    matcher = difflib.SequenceMatcher(None, [o[1] for o in old], [n[1] for n in new], False)
    changes = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        pairs = list(zip(range(i1, i2), range(j1, j2), strict=False))
        for i, j in pairs:
            (bi, binstr, bsize), (ai, ainstr, asize) = old[i], new[j]
            if bsize != asize or binstr != ainstr:
                change = "grew" if asize > bsize else "shrank" if asize < bsize else "changed"
                replaced = binstr if tag == "replace" else None
                changes.append(LayerChange(change, ainstr, replaced, bsize, asize, bi, ai))
        for i in range(i1 + len(pairs), i2):
            bi, binstr, bsize = old[i]
            changes.append(LayerChange("removed", binstr, None, bsize, None, bi, None))
        for j in range(j1 + len(pairs), j2):
            ai, ainstr, asize = new[j]
            changes.append(LayerChange("added", ainstr, None, None, asize, None, ai))
    return changes


def _file_changes(before: Figures, after: Figures) -> list[FileChange]:
    known = {f.path: f.size for f in before.files.largest}
    smallest_listed = min(known.values(), default=0)
    changes = []
    for record in after.files.largest:
        old = known.get(record.path)
        if old is not None:
            if record.size > old:
                changes.append(_file(record, old, "grown", after))
        elif before.files.complete or record.size > smallest_listed:
            # Not listed although the baseline listed every file (or every file this
            # large): the file is new, or (incomplete list) new or grown.
            change = "added" if before.files.complete else "unlisted"
            changes.append(_file(record, 0 if before.files.complete else None, change, after))
    changes.sort(key=lambda c: (-c.delta, c.path))
    return changes[:FILES_SHOWN]


def _file(record: FileInfo, before: int | None, change: str, after: Figures) -> FileChange:
    layers = after.layers
    made = instruction(layers[record.layer].created_by) if record.layer < len(layers) else ""
    return FileChange(record.path, before, record.size, change, made)


def _signed(n: int) -> str:
    return ("+" if n > 0 else "") + format_size(n)


def _percent(delta: int, before: int) -> str:
    return f"{100.0 * delta / before:+.1f}%" if before else "new"


def signed_size(n: int | None) -> str:
    return "-" if n is None else "±0B" if n == 0 else _signed(n)


def delta_text(comparison: TargetComparison) -> str:
    """Δ as shown in tables: +12.3kB (+69.1%), new, removed, baseline failed…"""
    delta = comparison.delta
    if delta is not None:
        before = comparison.before
        percent = _percent(delta, before.size) if before else ""
        return signed_size(delta) + (f" ({percent})" if delta and before and before.size else "")
    return {
        NEW: "new",
        FAILED: "-",
        BASELINE_FAILED: "baseline " + (comparison.base.status if comparison.base else "failed"),
        REMOVED: "removed",
        NOT_BUILT: "not built",
        NO_BASELINE: "-",
    }[comparison.state]


# --- JSON -------------------------------------------------------------------------------------


def comparison_to_json(comparison: TargetComparison) -> dict[str, Any] | None:
    if comparison.state == NO_BASELINE:
        return None
    before, after = comparison.before, comparison.after
    budget = comparison.head.budget if comparison.head else None
    growth = None
    if budget is not None and budget.max_growth is not None:
        growth = {
            "kind": budget.max_growth[0],
            "value": budget.max_growth[1],
            "spelled": budget.spelled.get("max_growth"),
            "ok": not comparison.growth_reasons if comparison.state == COMPARED else None,
        }
    return {
        "state": comparison.state,
        "status": comparison.base.status if comparison.base else None,
        "size": before.size if before else None,
        "compressed": before.compressed if before else None,
        "layers": len(before.layers) if before else None,
        "delta": comparison.delta,
        "delta_compressed": after.compressed - before.compressed
        if comparison.state == COMPARED and before and after
        else None,
        "percent": round(comparison.percent, 3) if comparison.percent is not None else None,
        "max_growth": growth,
        "reasons": list(comparison.growth_reasons),
        "explanation": explanation_to_json(comparison.explanation)
        if comparison.explanation
        else None,
    }


def explanation_to_json(explanation: Explanation) -> dict[str, Any]:
    base = explanation.base
    return {
        "cause": explanation.cause,
        "summary": explanation.summary(),
        "base_image": {
            "changed": base.changed,
            "before": {"image": base.before_image, "id": base.before_id, "size": base.before_size},
            "after": {"image": base.after_image, "id": base.after_id, "size": base.after_size},
            "delta": base.delta,
        },
        "layers": [
            {
                "change": c.change,
                "instruction": c.instruction,
                "before_instruction": c.before_instruction,
                "index_before": c.index_before,
                "index_after": c.index_after,
                "before": c.before,
                "after": c.after,
                "delta": c.delta,
            }
            for c in explanation.layers
        ],
        "files": [
            {
                "path": f.path,
                "change": f.change,
                "before": f.before,
                "after": f.after,
                "delta": f.delta,
                "instruction": f.instruction,
            }
            for f in explanation.files
        ],
    }


def report_to_json(comparison: Comparison) -> dict[str, Any]:
    """The whole report: the run, each target's final verdict and its comparison."""
    data = header_to_json(comparison.head)
    data["status"] = "pass" if comparison.exit_code == EXIT_OK else "fail"
    data["exit_code"] = comparison.exit_code
    data["summary"] = _summary(comparison)
    data["baseline"] = _baseline_header(comparison)
    data["targets"] = [_target_json(t) for t in comparison.targets]
    data["missing"] = [
        {
            "name": t.name,
            "state": t.state,
            "status": t.base.status if t.base else None,
            "size": t.before.size if t.before else None,
        }
        for t in comparison.missing
    ]
    return data


def _target_json(comparison: TargetComparison) -> dict[str, Any]:
    assert comparison.head is not None
    own = target_to_json(comparison.head)
    return {
        "name": own.pop("name"),
        "artifact": own.pop("artifact"),
        "runtime": own.pop("runtime"),
        "status": comparison.status,
        "reasons": list(comparison.reasons),
        "over_budget": comparison.over_budget,
        **own,
        "baseline": comparison_to_json(comparison),
    }


def _summary(comparison: Comparison) -> dict[str, Any]:
    targets = comparison.targets
    statuses = {s: sum(1 for t in targets if t.status == s) for s in EXIT_CODES}
    states = {s: 0 for s in STATES}
    for t in (*targets, *comparison.missing):
        states[t.state] += 1
    return {
        "targets": len(targets),
        "over_budget": sum(1 for t in targets if t.over_budget),
        "grew": sum(1 for t in targets if (t.delta or 0) > 0),
        "shrank": sum(1 for t in targets if (t.delta or 0) < 0),
        "statuses": statuses,
        "states": states,
    }


def _baseline_header(comparison: Comparison) -> dict[str, Any] | None:
    base = comparison.baseline
    if base is None:
        return None
    return {
        "source": comparison.baseline_source or base.source,
        "slim": base.slim,
        "created": base.created,
        "config_sha256": base.config_sha256,
        "git": base.git,
    }
