"""A first slim.yaml for a repository (`slim init`): the artifact detect.py found, and
with a first build, budgets from its measurement and a smoke run that passes.

Only what was built and measured is written: runtimes that did not build are left
out (with a note), budgets are the measured size plus the headroom of
presets/init.yaml rounded up to two significant digits, and the smoke run is the
first of `--version`, `--help` that exits 0 on every image built."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from slim_bake import presets
from slim_bake.config import Smoke, parse_config
from slim_bake.detect import Detection
from slim_bake.errors import BuildError, ConfigError, Diagnostic
from slim_bake.loader import parse_yaml
from slim_bake.output import regenerate
from slim_bake.plan import Plan, make_plan

Notify = Callable[[str], None]
_UNITS = (("GB", 1000**3), ("MB", 1000**2), ("kB", 1000))


def draft(
    detection: Detection, bases: dict[str, Any] | None, registry: str | None = None
) -> dict[str, Any]:
    """slim.yaml as a document: version, the registry and the stand-in or mirror
    `bases:` if given, and the one artifact."""
    config: dict[str, Any] = {"version": 1}
    if registry:
        config["registry"] = registry
    if bases:
        config["bases"] = bases
    config["artifacts"] = {detection.name: detection.artifact()}
    return config


def to_yaml(config: dict[str, Any], detection: Detection) -> str:
    header = (
        f"# Written by `slim init` from {detection.found} ({detection.lang},"
        f" {detection.system}); edit freely.\n"
        "# `slim validate` checks it, `slim bake` builds, runs and measures every runtime.\n"
    )
    body: str = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    return header + body


def budget_size(size: int, headroom: float) -> str:
    """`size` plus `headroom`, rounded up to two significant digits in kB, MB or GB."""
    wanted = size * (1 + headroom)
    for unit, factor in _UNITS:
        if wanted >= factor:
            value = wanted / factor
            scale = 10 ** (1 - math.floor(math.log10(value)))
            rounded = math.ceil(round(value * scale, 9)) / scale
            return f"{rounded:g}{unit}"
    return str(math.ceil(wanted))


def first_build(
    path: Path,
    config: dict[str, Any],
    detection: Detection,
    builder: str | None,
    notify: Notify,
) -> dict[str, Any]:
    """`config` after one `slim bake` of it: the runtimes that built, each with a `max`
    budget, and a smoke run if one passes. Nothing is left behind when none builds."""
    from slim_bake.pipeline import bake_targets
    from slim_bake.smoke import smoke

    planned = plan(path, config, detection)
    created = [c.path for c in regenerate(planned) if c.kind == "create"]
    results = bake_targets(
        planned, list(planned.targets), builder=builder, run_smoke=False, notify=notify
    )
    measured = {
        t.runtime: (t, r.measurement)
        for t, r in zip(planned.targets, results, strict=True)
        if r.measurement is not None
    }
    if not measured:
        for rel in created:
            (planned.config.directory / rel).unlink(missing_ok=True)
        raise BuildError("no runtime built (see the build output above); nothing written")
    headroom = presets.detection().headroom
    artifact = config["artifacts"][detection.name]
    for runtime in artifact["runtimes"]:
        if runtime not in measured:
            notify(f"slim: {runtime} did not build here: left out of slim.yaml")
    artifact["runtimes"] = [r for r in artifact["runtimes"] if r in measured]
    artifact["budgets"] = {
        runtime: {"max": budget_size(m.size, headroom)} for runtime, (_, m) in measured.items()
    }
    tags = [target.tags[0] for target, _ in measured.values()]
    artifact["smoke"] = False
    for args in presets.detection().smoke:
        if all(smoke(tag, Smoke(args=args)).ok for tag in tags):
            artifact["smoke"] = {"args": list(args)}
            break
    return config


def plan(path: Path, config: dict[str, Any], detection: Detection) -> Plan:
    """The plan of `config` as it would be written at `path`; ConfigError (exit 2, every
    problem) when slim would refuse it, e.g. a bad `--bases` file."""
    doc = parse_yaml(to_yaml(config, detection), path.name)
    try:
        return make_plan(parse_config(doc, path))
    except ConfigError as exc:
        note = Diagnostic(path.name, 0, 0, "", "(not written) slim init's draft does not validate:")
        raise ConfigError([note, *exc.diagnostics]) from exc
