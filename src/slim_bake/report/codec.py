"""The report's JSON form (schemas/report.schema.json, format version VERSION), both
ways: `to_json` writes a Comparison (the run, each target's final verdict and its
comparison), `from_json` reads back the run it records (a later run's baseline).

Reading takes JSON already validated against the schema (slim_bake.report.reading)."""

from __future__ import annotations

from typing import Any

from slim_bake.errors import EXIT_OK
from slim_bake.report import wording
from slim_bake.report.model import (
    Budget,
    Check,
    Checkout,
    Comparison,
    Explanation,
    Figures,
    FileInfo,
    FileList,
    Layer,
    Report,
    SmokeRecord,
    State,
    Status,
    TargetComparison,
    TargetRecord,
    Verdict,
)

FORMAT = "slim-bake-report"
VERSION = 1


# --- Writing ------------------------------------------------------------------------------------


def to_json(comparison: Comparison) -> dict[str, Any]:
    """The whole report: the run, each target's final verdict and its comparison."""
    data = _header(comparison.head)
    data["status"] = "pass" if comparison.exit_code == EXIT_OK else "fail"
    data["exit_code"] = comparison.exit_code
    data["summary"] = _summary(comparison)
    data["baseline"] = _baseline_header(comparison)
    data["targets"] = [_target_json(t) for t in comparison.targets]
    data["missing"] = [
        {
            "name": t.base.name if t.base else t.name,
            **_platform_json(t.base),
            "state": t.state,
            "status": t.base.status if t.base else None,
            "size": t.before.size if t.before else None,
        }
        for t in comparison.missing
    ]
    return data


def _header(report: Report) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "slim": report.slim,
        "created": report.created,
        "config": {
            "path": report.config_path,
            "sha256": report.config_sha256,
            "targets": list(report.config_targets),
        },
        "git": _checkout_json(report.git),
        "environment": report.environment,
        "compression": report.compression,
    }


def _checkout_json(git: Checkout | None) -> dict[str, Any] | None:
    if git is None:
        return None
    return {"commit": git.commit, "branch": git.branch, "dirty": git.dirty}


def _target_json(comparison: TargetComparison) -> dict[str, Any]:
    record = comparison.head
    assert record is not None  # this run's targets all have a record
    return {
        "name": record.name,
        **_platform_json(record),
        "artifact": record.artifact,
        "runtime": record.runtime,
        "status": comparison.status,
        "reasons": list(comparison.reasons),
        "over_budget": comparison.over_budget,
        "checks": _checks_json(record.verdict),
        "budget": _budget_json(record.budget),
        "measurement": _figures_json(record.figures) if record.figures else None,
        "smoke": _smoke_json(record.smoke) if record.smoke else None,
        "baseline": _comparison_json(comparison),
    }


def _checks_json(verdict: Verdict) -> dict[str, Any]:
    data: dict[str, Any] = {"status": verdict.status, "reasons": list(verdict.reasons)}
    if verdict.checks:  # a verdict without them (an older report's) is written as it was
        data["results"] = [
            {"name": c.name, "ok": c.ok, "failures": list(c.failures)} for c in verdict.checks
        ]
    return data


def _platform_json(record: TargetRecord | None) -> dict[str, Any]:
    """`platform` and `notes` only when there are: a one-platform report stays as before."""
    if record is None:
        return {}
    found: dict[str, Any] = {"platform": record.platform} if record.platform else {}
    return {**found, "notes": list(record.notes)} if record.notes else found


def _budget_json(budget: Budget) -> dict[str, Any]:
    growth = None
    if budget.max_growth is not None:
        kind, value = budget.max_growth
        growth = {"kind": kind, "value": value}
    return {
        "max": budget.max,
        "max_compressed": budget.max_compressed,
        "max_layers": budget.max_layers,
        "max_growth": growth,
        "spelled": dict(budget.spelled),
    }


def _figures_json(figures: Figures) -> dict[str, Any]:
    return {
        "image": figures.image,
        "image_id": figures.image_id,
        "base_image": figures.base_image,
        "base_id": figures.base_id,
        "size": figures.size,
        "compressed": figures.compressed,
        "base_size": figures.base_size,
        "layers": [
            {
                "diff_id": layer.diff_id,
                "size": layer.size,
                "compressed": layer.compressed,
                "created_by": layer.created_by,
                "from_base": layer.from_base,
            }
            for layer in figures.layers
        ],
        "files": {
            "count": figures.files.count,
            "total": figures.files.total,
            "sha256": figures.files.sha256,
            "complete": figures.files.complete,
            "largest": [
                {"path": f.path, "size": f.size, "layer": f.layer} for f in figures.files.largest
            ],
        },
        # Only when there are: a report without attestations is written as before.
        **({"attestations": list(figures.attestations)} if figures.attestations else {}),
    }


def _smoke_json(smoke: SmokeRecord) -> dict[str, Any]:
    return {
        "ok": smoke.ok,
        "exit_code": smoke.exit_code,
        "message": smoke.message,
        "stdout": smoke.stdout,
        "stderr": smoke.stderr,
    }


def _comparison_json(comparison: TargetComparison) -> dict[str, Any] | None:
    if comparison.state == State.NO_BASELINE:
        return None
    before, after = comparison.before, comparison.after
    budget = comparison.head.budget if comparison.head else None
    growth = None
    if budget is not None and budget.max_growth is not None:
        growth = {
            "kind": budget.max_growth[0],
            "value": budget.max_growth[1],
            "spelled": budget.spelled.get("max_growth"),
            "ok": not comparison.growth_reasons if comparison.state == State.COMPARED else None,
        }
    compared = comparison.state == State.COMPARED and before and after
    return {
        "state": comparison.state,
        "status": comparison.base.status if comparison.base else None,
        "size": before.size if before and before.size_known else None,
        "compressed": before.compressed if before else None,
        "layers": len(before.layers) if before else None,
        "delta": comparison.delta,
        "delta_compressed": after.compressed - before.compressed
        if compared and before and after
        else None,
        "percent": round(comparison.percent, 3) if comparison.percent is not None else None,
        "max_growth": growth,
        "reasons": list(comparison.growth_reasons),
        "explanation": _explanation_json(comparison.explanation)
        if comparison.explanation
        else None,
    }


def _explanation_json(explanation: Explanation) -> dict[str, Any]:
    base = explanation.base
    return {
        "cause": explanation.cause,
        "summary": wording.summary(explanation),
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


def _summary(comparison: Comparison) -> dict[str, Any]:
    targets = comparison.targets
    statuses = {str(s): sum(1 for t in targets if t.status == s) for s in Status}
    if not statuses[Status.ASSERT_FAILED]:  # newer than the format: listed only when used
        del statuses[Status.ASSERT_FAILED]
    states = {str(s): 0 for s in State}
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
        "source": comparison.source,
        "slim": base.slim,
        "created": base.created,
        "config_sha256": base.config_sha256,
        "git": _checkout_json(base.git),
    }


# --- Reading ------------------------------------------------------------------------------------


def from_json(data: dict[str, Any], source: str) -> Report:
    """A Report from JSON already validated against the schema."""
    config = data["config"]
    git = data.get("git")
    return Report(
        slim=data["slim"],
        created=data["created"],
        config_path=config.get("path"),
        config_sha256=config.get("sha256"),
        config_targets=tuple(config.get("targets", ())),
        git=Checkout(git["commit"], git.get("branch"), git.get("dirty")) if git else None,
        environment=data.get("environment", {}),
        compression=data["compression"],
        targets=tuple(_target(t) for t in data["targets"]),
        source=source,
    )


def _target(data: dict[str, Any]) -> TargetRecord:
    measurement = data.get("measurement")
    smoke = data.get("smoke")
    checks = data["checks"]
    return TargetRecord(
        name=data["name"],
        artifact=data.get("artifact"),
        runtime=data.get("runtime"),
        verdict=Verdict(
            Status(checks["status"]),
            tuple(checks["reasons"]),
            tuple(
                Check(str(c["name"]), tuple(map(str, c["failures"])))
                for c in checks.get("results", ())  # none in older reports
            ),
        ),
        budget=_budget(data["budget"]),
        figures=_figures(measurement) if measurement else None,
        smoke=SmokeRecord(
            ok=bool(smoke["ok"]),
            exit_code=_int(smoke["exit_code"]),
            message=str(smoke["message"]),
            stdout=str(smoke["stdout"]),
            stderr=str(smoke["stderr"]),
        )
        if smoke
        else None,
        platform=data.get("platform"),
        notes=tuple(str(n) for n in data.get("notes", ())),
    )


def _budget(data: dict[str, Any]) -> Budget:
    growth = data.get("max_growth")
    return Budget(
        max=_int(data.get("max")),
        max_compressed=_int(data.get("max_compressed")),
        max_layers=_int(data.get("max_layers")),
        max_growth=(str(growth["kind"]), float(growth["value"])) if growth else None,
        spelled={str(k): str(v) for k, v in data.get("spelled", {}).items()},
    )


def _int(value: Any) -> int | None:
    """JSON Schema's "integer" accepts 2e4 (a float that is whole): read it as an int."""
    return None if value is None else int(value)


def _figures(data: dict[str, Any]) -> Figures:
    files = data["files"]
    return Figures(
        image=data["image"],
        image_id=data["image_id"],
        base_image=data.get("base_image"),
        base_id=data.get("base_id"),
        size=int(data["size"]),
        compressed=int(data["compressed"]),
        layers=tuple(
            Layer(
                str(layer["diff_id"]),
                int(layer["size"]),
                int(layer["compressed"]),
                str(layer["created_by"]),
                bool(layer["from_base"]),
            )
            for layer in data["layers"]
        ),
        files=FileList(
            count=int(files["count"]),
            total=int(files["total"]),
            sha256=str(files["sha256"]),
            largest=tuple(
                FileInfo(str(f["path"]), int(f["size"]), int(f["layer"])) for f in files["largest"]
            ),
        ),
        attestations=tuple(str(a) for a in data.get("attestations", ())),
    )
