"""The run of `slim bake` (and of `slim init`'s first build), stage after stage:
bake (buildx) → smoke run → measure → judge, one `TargetResult` per target.

This module sits above the stages it calls; none of them imports it. The report
(slim_bake.report) is made from its results, by the command."""

from __future__ import annotations

import contextlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from slim_bake.bake import Notify, base_image, build
from slim_bake.config import Budget
from slim_bake.errors import BuildError
from slim_bake.judge import Status, Verdict, failed, judge
from slim_bake.measure import Measurement, measure
from slim_bake.plan import Plan, Target
from slim_bake.safe_text import warn
from slim_bake.smoke import SmokeResult, smoke

WORKERS = 4  # smoke runs and measurements in flight at once (the engine does the work)


@dataclass(frozen=True)
class TargetResult:
    """What running one target produced: the whole measurement and smoke run (the
    report keeps a cut of them) and its verdict."""

    target: str
    verdict: Verdict
    measurement: Measurement | None
    smoke: SmokeResult | None  # None: not run (--no-smoke, no smoke spec, or no image)
    budget: Budget

    @property
    def status(self) -> Status:
        return self.verdict.status

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.verdict.reasons


def bake_targets(
    plan: Plan,
    targets: list[Target],
    *,
    builder: str | None = None,
    run_smoke: bool = True,
    notify: Notify = warn,
) -> list[TargetResult]:
    """Build, smoke-run, measure and judge `targets`; one result each, in plan order."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        # Measure the local base images while BuildKit builds: their layers (hundreds of
        # MB for a toolchain image) are compressed once, during the build, and skipped
        # when the images that carry them are measured.
        bases = {base_image(t) for t in targets} - {"scratch"}
        warming = {base: pool.submit(_warm, base) for base in sorted(bases)}
        built = build(plan, targets, builder=builder, notify=notify)
        futures = [
            pool.submit(_check, target, run_smoke, warming.get(base_image(target)))
            if target.name in built
            else None
            for target in targets
        ]
        return [
            future.result()
            if future is not None
            else result(
                target,
                failed(Status.BUILD_FAILED, "the build failed (see the build output above)"),
            )
            for target, future in zip(targets, futures, strict=True)
        ]


def result(
    target: Target,
    verdict: Verdict,
    measurement: Measurement | None = None,
    smoked: SmokeResult | None = None,
) -> TargetResult:
    return TargetResult(target.name, verdict, measurement, smoked, target.budget)


def _warm(base: str) -> None:
    # Only a head start: whatever fails here (a base BuildKit pulled but the image store
    # lacks) is met again, and reported, when the target itself is measured.
    # Measured as its own base, so that no file list is loaded for it.
    with contextlib.suppress(Exception):
        measure(base, base)


def _check(target: Target, run_smoke: bool, base_measured: Future[None] | None) -> TargetResult:
    """Smoke-run, measure and judge one built target. Fail closed: an unexpected error
    (the engine going away mid-run) fails this target with its message, not the run."""
    tag = target.tags[0]
    smoked: SmokeResult | None = None
    if run_smoke and target.smoke is not None:
        try:
            smoked = smoke(tag, target.smoke)
        except Exception as exc:
            smoked = SmokeResult(False, None, "", "", f"the smoke run failed: {_describe(exc)}")
    if base_measured is not None:
        base_measured.result()  # its layers are then in the cache, not compressed twice
    try:
        measured: Measurement = measure(
            tag, base_image(target), contents=target.asserts.needs_contents
        )
    except BuildError as exc:
        return result(target, _unmeasured(f"measurement failed: {exc}"), None, smoked)
    except Exception as exc:
        return result(target, _unmeasured(f"measurement failed: {_describe(exc)}"), None, smoked)
    return result(
        target, judge(target.budget, measured, smoked, target.asserts), measured, smoked
    )


def _unmeasured(reason: str) -> Verdict:
    return failed(Status.MEASURE_FAILED, reason)


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}".strip()[:300]
