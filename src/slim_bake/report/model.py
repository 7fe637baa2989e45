"""The report's records: one type per thing, filled from a run (build) or from JSON
(codec), compared (compare), and rendered by every output.

A report is what a later run compares against (the baseline), so it keeps what "why
it grew" needs: every layer with the instruction that made it, the base image, and
the runtime stage's own files. The file list is cut to the FILE_LIMIT largest files
(with the count, total and a digest of the full list): enough to name the largest
files added or grown while keeping a report small for any image."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from slim_bake.config import Budget
from slim_bake.gitrepo import Checkout
from slim_bake.judge import Check, Status, Verdict, exit_code
from slim_bake.measure import ESTIMATED, FileInfo, Layer

__all__ = [
    "Budget",
    "Check",
    "Checkout",
    "FileInfo",
    "Layer",
    "Status",
    "Verdict",
]

FILE_LIMIT = 100  # files listed per target (the largest); the rest only in the digest


class State(StrEnum):
    """A target of either side, against the baseline: nothing passes silently."""

    COMPARED = "compared"  # both sides measured
    NEW = "new"  # not in the baseline
    BASELINE_FAILED = "baseline-failed"  # the baseline has no figures for it
    FAILED = "failed"  # this run has none
    REMOVED = "removed"  # in the baseline, no longer in slim.yaml
    NOT_BUILT = "not-built"  # in the baseline and slim.yaml, not selected in this run
    NO_BASELINE = "no-baseline"  # a run without a baseline


class Change(StrEnum):
    """How one of our layers changed."""

    GREW = "grew"
    SHRANK = "shrank"
    CHANGED = "changed"  # its instruction, not its size
    ADDED = "added"
    REMOVED = "removed"


class FileChangeKind(StrEnum):
    ADDED = "added"
    GROWN = "grown"
    UNLISTED = "unlisted"  # the baseline listed only its largest files: new or grown


class Cause(StrEnum):
    BOTH = "base image changed and our layers changed"
    BASE = "base image changed, our layers did not"
    OURS = "our layers changed, base image unchanged"
    NOTHING = "nothing changed"


# --- A run, as a report records it ------------------------------------------------------------


@dataclass(frozen=True)
class FileList:
    """The runtime stage's own regular files (not the base's), as the image ends up
    with them: a path written by several layers counts once, from the last."""

    count: int
    total: int
    sha256: str  # of the full sorted list: "path\\0size\\n" per file
    largest: tuple[FileInfo, ...]  # the FILE_LIMIT largest, largest first

    @property
    def complete(self) -> bool:
        return len(self.largest) == self.count


@dataclass(frozen=True)
class Figures:
    """A target's measurement, as recorded."""

    image: str
    image_id: str
    base_image: str | None
    base_id: str | None
    size: int
    compressed: int
    layers: tuple[Layer, ...]
    files: FileList
    size_known: bool = True  # False: a registry baseline whose layers slim never measured
    attestations: tuple[str, ...] = ()  # in-toto predicate types stored beside the image
    # What `compressed` is (measure.ESTIMATED, STORED, MIXED) and where the blobs were:
    # the report states it once for the run (Report.compression), not per target.
    compression: str = ESTIMATED
    store: str = ""

    @property
    def base_size(self) -> int:
        return sum(layer.size for layer in self.layers if layer.from_base)


@dataclass(frozen=True)
class SmokeRecord:
    ok: bool
    exit_code: int | None  # None: the container did not run to its end
    message: str
    stdout: str  # cut to SMOKE_OUTPUT_LIMIT characters
    stderr: str


@dataclass(frozen=True)
class TargetRecord:
    """One target of a run: its own verdict (build, smoke, absolute budgets; no
    baseline), its budget, and what was measured."""

    name: str
    artifact: str | None
    runtime: str | None
    verdict: Verdict
    budget: Budget
    figures: Figures | None
    smoke: SmokeRecord | None
    platform: str | None = None  # one of several platforms built; None: the only one
    notes: tuple[str, ...] = ()  # left out, not failed (a platform's smoke run not run)

    @property
    def status(self) -> Status:
        return self.verdict.status

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.verdict.reasons

    @property
    def label(self) -> str:
        """The name outputs show: with its platform when a run built several."""
        return platform_label(self.name, self.platform)


def platform_label(name: str, platform: str | None) -> str:
    return f"{name} [{platform}]" if platform else name


@dataclass(frozen=True)
class Report:
    slim: str
    created: str
    config_path: str | None
    config_sha256: str | None
    config_targets: tuple[str, ...]  # every target slim.yaml defines, built or not
    git: Checkout | None
    environment: dict[str, Any]
    compression: dict[str, Any]
    targets: tuple[TargetRecord, ...]
    source: str = ""  # where it was read from (for messages); not serialised

    def target(self, name: str, platform: str | None = None) -> TargetRecord | None:
        """A target's entry; of one platform when the report has one per platform."""
        return next((t for t in self.targets if (t.name, t.platform) == (name, platform)), None)


# --- Why it grew ---------------------------------------------------------------------------


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
    change: Change
    instruction: str  # this run's (the baseline's for a removed layer)
    before_instruction: str | None  # when a changed instruction replaced it
    before: int | None
    after: int | None
    index_before: int | None  # into each side's layers
    index_after: int | None

    @property
    def delta(self) -> int:
        return (self.after or 0) - (self.before or 0)

    @property
    def number(self) -> int:
        """1-based, as `docker history` lists layers (newest last here); JSON keeps indexes."""
        index = self.index_after if self.index_after is not None else self.index_before
        return (index or 0) + 1


@dataclass(frozen=True)
class FileChange:
    path: str
    before: int | None  # None: not in the baseline's list of its largest files
    after: int
    change: FileChangeKind
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
    def cause(self) -> Cause:
        ours = bool(self.layers)
        if self.base.changed:
            return Cause.BOTH if ours else Cause.BASE
        return Cause.OURS if ours else Cause.NOTHING


# --- The comparison ------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetComparison:
    """A target against its baseline entry (or without one: State.NO_BASELINE)."""

    name: str
    state: State
    head: TargetRecord | None  # None: removed or not built in this run
    base: TargetRecord | None
    status: Status  # the final verdict: the run's own, over-budget when growth broke a budget
    reasons: tuple[str, ...]
    growth_reasons: tuple[str, ...]
    explanation: Explanation | None
    over_budget: bool = False  # a size budget (absolute or growth) is broken

    @property
    def before(self) -> Figures | None:
        return self.base.figures if self.base else None

    @property
    def after(self) -> Figures | None:
        return self.head.figures if self.head else None

    @property
    def delta(self) -> int | None:
        before, after = self.before, self.after
        if self.state != State.COMPARED or before is None or after is None:
            return None
        return after.size - before.size if before.size_known else None

    @property
    def percent(self) -> float | None:
        delta, before = self.delta, self.before
        if delta is None or before is None or before.size == 0:
            return None
        return 100.0 * delta / before.size


@dataclass(frozen=True)
class Comparison:
    """What every output renders: this run, judged against its baseline if any."""

    head: Report
    baseline: Report | None
    baseline_source: str | None
    targets: tuple[TargetComparison, ...]  # this run's targets, in its order
    missing: tuple[TargetComparison, ...]  # the baseline's targets this run did not build

    @property
    def exit_code(self) -> int:
        return exit_code([t.status for t in self.targets])

    @property
    def source(self) -> str | None:
        """Where the baseline was read from, for messages."""
        if self.baseline is None:
            return None
        return self.baseline_source or self.baseline.source
