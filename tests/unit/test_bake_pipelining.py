"""`slim bake --load` checks a target (smoke run, measurement, verdict) as soon as
buildx's progress shows its image exported and its tag names what that export wrote,
while buildx builds the others; never a stale image. Without an engine: the bake rounds,
the engine's tags, the measurements and the smoke runs are stand-ins here (the real
streams are in tests/data/rawjson, read by test_progress.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from slim_bake import bake, pipeline
from slim_bake.bake import Watch
from slim_bake.config import Smoke, load_config
from slim_bake.judge import Status
from slim_bake.measure import Measurement
from slim_bake.plan import Plan, make_plan
from slim_bake.smoke import SmokeResult

CONFIG: dict[str, Any] = {
    "version": 1,
    "registry": "slim-unit/pipelining",
    "artifacts": {
        "hello": {
            "lang": "c",
            "runtimes": ["scratch-musl", "alpine", "debian-slim"],
            "smoke": {"expect_stdout": "Hello, world!"},
        }
    },
}
MUSL, ALPINE, DEBIAN = "hello-scratch-musl", "hello-alpine", "hello-debian-slim"
OLD, NEW = "sha256:" + "0" * 64, "sha256:" + "1" * 64
WAIT = 30.0  # seconds a stand-in waits for the other thread (never reached when it works)


@pytest.fixture
def plan(project: Callable[..., Path]) -> Plan:
    return make_plan(load_config(project(CONFIG)))


class Engine:
    """The image each tag names, what was measured and smoke-run, and whether the bake
    was running then."""

    def __init__(self, plan: Plan) -> None:
        self.tags: dict[str, str | None] = {t.tags[0]: OLD for t in plan.targets}
        self.baking = False
        self.measured: list[tuple[str, str | None, bool]] = []  # tag, image, during the bake
        self.smoked: list[tuple[str, str | None, bool]] = []
        self.checked = {t.tags[0]: threading.Event() for t in plan.targets}
        self.asked = {t.tags[0]: threading.Event() for t in plan.targets}  # while baking
        self.lock = threading.Lock()

    def image_ids(self, tags: list[str]) -> dict[str, str | None]:
        with self.lock:
            for tag in tags:
                if self.baking:
                    self.asked[tag].set()
            return {tag: self.tags[tag] for tag in tags}

    def measure(self, tag: str, base: str | None, **_: object) -> Measurement:
        with self.lock:
            image = self.tags[tag]
            self.measured.append((tag, image, self.baking))
        self.checked[tag].set()
        found = Measurement(tag, image or "", base, None, 100, 50, (), ())
        return replace(found, image_config={"User": "65532:65532"})  # as slim writes them

    def smoke(self, tag: str, spec: Smoke) -> SmokeResult:
        with self.lock:
            self.smoked.append((tag, self.tags[tag], self.baking))
        return SmokeResult(True, 0, "Hello, world!\n", "", "")


@pytest.fixture
def engine(plan: Plan, monkeypatch: pytest.MonkeyPatch) -> Engine:
    stand_in = Engine(plan)
    monkeypatch.setattr(bake.engine, "image_ids", stand_in.image_ids)
    monkeypatch.setattr(pipeline, "measure", stand_in.measure)
    monkeypatch.setattr(pipeline, "smoke", stand_in.smoke)
    monkeypatch.setattr(pipeline, "_warm", lambda base: None)
    return stand_in


def tag(plan: Plan, name: str) -> str:
    return next(t.tags[0] for t in plan.targets if t.name == name)


def test_a_target_is_checked_while_the_bake_runs_and_a_stale_tag_only_after_it(
    plan: Plan, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """scratch-musl: exported and named, checked before the bake ends. alpine: exported,
    but its tag still names the old image (a load not finished): not measured then, but
    after the bake, as the new image. debian-slim: no export shown: after the bake."""

    def bake_round(
        plan: Plan, names: list[str], *args: object, watch: Watch | None = None, **_: object
    ) -> tuple[int, Any, dict[str, str | None]]:
        assert watch is not None
        snapshot = engine.image_ids([tag(plan, n) for n in names])
        engine.baking = True
        watch.started()
        engine.tags[tag(plan, MUSL)] = NEW
        watch.exported(MUSL, (NEW,))
        assert engine.checked[tag(plan, MUSL)].wait(WAIT)  # checked while buildx runs
        watch.exported(ALPINE, (NEW,))  # its tag is renamed only later
        assert engine.asked[tag(plan, ALPINE)].wait(WAIT)  # and found naming the old image
        watch.exported("not-a-target", (NEW,))
        for name in (ALPINE, DEBIAN):
            engine.tags[tag(plan, name)] = NEW
        engine.baking = False
        return 0, bake._Progress(), snapshot

    monkeypatch.setattr(bake, "_bake_round", bake_round)
    results = pipeline.bake_targets(plan, list(plan.targets))
    assert [r.target for r in results] == [t.name for t in plan.targets]  # plan order
    assert all(r.status is Status.PASS for r in results)
    assert {r.target: r.measurement.image_id for r in results if r.measurement} == {
        MUSL: NEW,
        ALPINE: NEW,
        DEBIAN: NEW,
    }
    assert sorted(engine.measured) == sorted(
        [
            (tag(plan, MUSL), NEW, True),
            (tag(plan, ALPINE), NEW, False),
            (tag(plan, DEBIAN), NEW, False),
        ]
    )
    assert all(image == NEW for _, image, _ in engine.smoked) and len(engine.smoked) == 3


def test_a_target_exported_before_another_broke_is_not_baked_again(
    plan: Plan, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bake fails (alpine broke) after scratch-musl's export: scratch-musl counts as
    built, even though its image ID did not change (nothing to rebuild), and is not
    baked again; debian-slim, cancelled, is."""
    rounds: list[list[str]] = []

    def bake_round(
        plan: Plan, names: list[str], *args: object, watch: Watch | None = None, **_: object
    ) -> tuple[int, Any, dict[str, str | None]]:
        rounds.append(list(names))
        progress = bake._Progress(watch.exported if watch else None, names)
        snapshot = engine.image_ids([t.tags[0] for t in plan.targets]) if len(rounds) == 1 else {}
        if len(rounds) > 1:
            return 0, progress, snapshot
        wrote = {"id": f"writing image {OLD}", "vertex": "e", "completed": "t"}
        records = [
            {"statuses": [wrote]},
            ended("e", f"[{MUSL}] exporting to image"),
            ended("a", f"[{ALPINE} build 2/2] RUN cc", error="exit code: 1"),
            ended("d", f"[{DEBIAN} build 2/2] RUN cc", error="context canceled"),
        ]
        for record in records:
            progress.feed(json.dumps(record))
        return 1, progress, snapshot

    monkeypatch.setattr(bake, "_bake_round", bake_round)
    results = {r.target: r for r in pipeline.bake_targets(plan, list(plan.targets))}
    assert rounds == [[MUSL, ALPINE, DEBIAN], [DEBIAN]]
    assert results[MUSL].status is Status.PASS and results[DEBIAN].status is Status.PASS
    assert results[ALPINE].status is Status.BUILD_FAILED
    assert sum(1 for t, _, _ in engine.measured if t == tag(plan, MUSL)) == 1  # checked once


def ended(digest: str, name: str, **state: str) -> dict[str, Any]:
    return {"vertexes": [{"digest": digest, "name": name, "completed": "t", **state}]}


def test_an_engine_error_while_baking_leaves_the_target_to_after_the_bake(
    plan: Plan, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tag lookup of an early check fails (the engine busy, a connection reset):
    not a crash and not a failed target; it is checked after the bake."""
    asked_while_baking = threading.Event()

    def flaky(tags: list[str]) -> dict[str, str | None]:
        if engine.baking:
            asked_while_baking.set()
            raise ConnectionResetError("reset by peer")
        return engine.image_ids(tags)

    def bake_round(
        plan: Plan, names: list[str], *args: object, watch: Watch | None = None, **_: object
    ) -> tuple[int, Any, dict[str, str | None]]:
        assert watch is not None
        engine.baking = True
        watch.started()
        engine.tags[tag(plan, MUSL)] = NEW
        watch.exported(MUSL, (NEW,))
        assert asked_while_baking.wait(WAIT)
        engine.baking = False
        return 0, bake._Progress(), {}

    monkeypatch.setattr(bake.engine, "image_ids", flaky)
    monkeypatch.setattr(bake, "_bake_round", bake_round)
    results = {r.target: r for r in pipeline.bake_targets(plan, list(plan.targets))}
    assert results[MUSL].status is Status.PASS
    assert results[MUSL].measurement is not None and results[MUSL].measurement.image_id == NEW
    assert engine.measured.count((tag(plan, MUSL), NEW, False)) == 1


@pytest.mark.parametrize(
    ("mode", "warmed"),
    [(bake.Mode.LOAD, True), (bake.Mode.OCI, False), (bake.Mode.REGISTRY, False)],
)
def test_base_images_are_measured_ahead_only_for_images_loaded_into_the_engine(
    plan: Plan, monkeypatch: pytest.MonkeyPatch, mode: bake.Mode, warmed: bool
) -> None:
    """From a registry or a layout the compressed figures are blob sizes: compressing the
    engine's base layers (15-25 s for a toolchain) would serve nothing."""
    measured: list[str] = []
    monkeypatch.setattr(pipeline, "_warm", measured.append)
    monkeypatch.setattr(pipeline, "_preload", lambda mode: None)
    with pipeline.ThreadPoolExecutor(max_workers=2) as pool:
        checks = pipeline._Checks(pool, list(plan.targets), mode, True, None, None)
        checks.started()
    assert bool(measured) is warmed
    assert all(base != "scratch" for base in measured)
