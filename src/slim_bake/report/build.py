"""A Report from a run: each target's result, cut to what a report keeps, with where
and with what it was made (slim.yaml's digest, the git commit, the engine)."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slim_bake import __version__
from slim_bake.gitrepo import Checkout, checkout
from slim_bake.measure import ESTIMATED, GZIP_LEVEL, STORED, Measurement
from slim_bake.pipeline import TargetResult
from slim_bake.plan import Plan
from slim_bake.report.model import (
    FILE_LIMIT,
    Figures,
    FileInfo,
    FileList,
    Report,
    SmokeRecord,
    TargetRecord,
)
from slim_bake.smoke import SmokeResult

SMOKE_OUTPUT_LIMIT = 1000  # characters of smoke stdout/stderr kept


def from_results(
    plan: Plan,
    results: Sequence[TargetResult],
    environment: dict[str, Any] | None = None,
    git: Checkout | None = None,
) -> Report:
    """The report of a run. `environment` and `git` are asked for by the caller, only
    when the report leaves the process (they cost a call to the engine and to git)."""
    by_name = {t.name: t for t in plan.targets}
    records = []
    for result in results:
        target = by_name.get(result.target)
        records.append(
            TargetRecord(
                name=result.target,
                artifact=target.artifact.name if target else None,
                runtime=target.runtime if target else None,
                verdict=result.verdict,
                budget=result.budget,
                figures=figures(result.measurement) if result.measurement else None,
                smoke=_smoke(result.smoke) if result.smoke else None,
                platform=result.platform,
                notes=result.notes,
            )
        )
    path = plan.config.path
    return Report(
        slim=__version__,
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        config_path=path.name,
        config_sha256=file_sha256(path),
        config_targets=tuple(t.name for t in plan.targets),
        git=git,
        environment=environment or {},
        compression=compression(r.figures for r in records if r.figures),
        targets=tuple(records),
    )


def compression(measured: Iterable[Figures]) -> dict[str, Any]:
    """What the run's compressed figures are (the report's `compression`): slim's gzip
    estimate (as every report before said), the blob sizes as stored and where, or both
    (a store that keeps some layers uncompressed: those are estimated)."""
    found = list(measured)
    kinds = {m.compression for m in found}
    source = ", ".join(sorted({m.store for m in found if m.store}))
    if kinds <= {ESTIMATED}:
        return {"format": "gzip", "level": GZIP_LEVEL}
    if kinds == {STORED}:
        return {"format": "blobs", "source": source}
    return {"format": "mixed", "level": GZIP_LEVEL, "source": source}


def provenance(plan: Plan, builder: str | None) -> tuple[dict[str, Any], Checkout | None]:
    """The environment and git checkout a written report records."""
    return environment(builder), checkout(plan.config.path.parent)


def figures(measurement: Measurement) -> Figures:
    return Figures(
        image=measurement.image,
        image_id=measurement.image_id,
        base_image=measurement.base_image,
        base_id=measurement.base_id,
        size=measurement.size,
        compressed=measurement.compressed,
        layers=tuple(measurement.layers),
        files=file_list(measurement.files),
        attestations=measurement.attestations,
        compression=measurement.compression,
        store=measurement.store,
    )


def file_list(files: Iterable[FileInfo], limit: int = FILE_LIMIT) -> FileList:
    final: dict[str, FileInfo] = {}
    for record in files:  # in layer order: a later layer's copy replaces an earlier one
        final[record.path] = record
    listing = "".join(f"{path}\0{final[path].size}\n" for path in sorted(final))
    digest = hashlib.sha256(listing.encode("utf-8", "surrogateescape")).hexdigest()
    largest = sorted(final.values(), key=lambda f: (-f.size, f.path))[:limit]
    total = sum(f.size for f in final.values())
    return FileList(len(final), total, f"sha256:{digest}", tuple(largest))


def _smoke(smoke: SmokeResult) -> SmokeRecord:
    return SmokeRecord(
        ok=bool(smoke.ok),
        exit_code=smoke.exit_code,
        message=smoke.message,
        stdout=_cut(smoke.stdout),
        stderr=_cut(smoke.stderr),
    )


def _cut(text: str) -> str:
    return text if len(text) <= SMOKE_OUTPUT_LIMIT else text[:SMOKE_OUTPUT_LIMIT] + "…"


def file_sha256(path: Path) -> str | None:
    try:
        return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def environment(builder: str | None = None) -> dict[str, Any]:
    """Versions of what built and measured the images; a part that cannot be asked is
    null (the report is still written)."""
    info: dict[str, Any] = {
        "engine": None,
        "api_version": None,
        "os": None,
        "arch": None,
        "storage_driver": None,
        "buildx": _buildx_version(),
        "builder": builder,
    }
    try:
        from slim_bake.engine import client

        engine = client()
        version = engine.version()
        info.update(
            engine=version.get("Version"),
            api_version=version.get("ApiVersion"),
            os=version.get("Os"),
            arch=version.get("Arch"),
            storage_driver=engine.info().get("Driver"),
        )
    except Exception:  # the images were measured already: a version is only a detail
        pass
    return info


def _buildx_version() -> str | None:
    try:
        done = subprocess.run(
            ["docker", "buildx", "version"], capture_output=True, text=True, check=False, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = done.stdout.split()  # "github.com/docker/buildx 0.13.1 <commit>"
    return words[1] if done.returncode == 0 and len(words) >= 2 else None
