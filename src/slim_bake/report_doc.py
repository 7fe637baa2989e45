"""The JSON report of a run (`slim bake --write-report`): its typed model, how it is
made from a run's results, and its JSON form (schemas/report.schema.json).

A report is what a later run compares against (the baseline), so it keeps what "why
it grew" needs: every layer with the instruction that made it, the base image, and
the runtime stage's own files. The file list is cut to the FILE_LIMIT largest files
(with the count, total and a digest of the full list): enough to name the largest
files added or grown while keeping a report small for any image."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slim_bake import __version__
from slim_bake.config import Budget
from slim_bake.measure import FileInfo, Layer

if TYPE_CHECKING:
    from slim_bake.judge import TargetResult
    from slim_bake.measure import Measurement
    from slim_bake.plan import Plan
    from slim_bake.smoke import SmokeResult

FORMAT = "slim-bake-report"
VERSION = 1
FILE_LIMIT = 100  # files listed per target (the largest); the rest only in the digest
SMOKE_OUTPUT_LIMIT = 1000  # characters of smoke stdout/stderr kept


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
    image: str
    image_id: str
    base_image: str | None
    base_id: str | None
    size: int
    compressed: int
    layers: tuple[Layer, ...]
    files: FileList

    @property
    def base_size(self) -> int:
        return sum(layer.size for layer in self.layers if layer.from_base)


@dataclass(frozen=True)
class TargetRecord:
    name: str
    artifact: str | None
    runtime: str | None
    status: str  # the run's own verdict (build, smoke, absolute budgets), no baseline
    reasons: tuple[str, ...]
    budget: Budget
    figures: Figures | None
    smoke: dict[str, Any] | None


@dataclass(frozen=True)
class Report:
    slim: str
    created: str
    config_path: str | None
    config_sha256: str | None
    config_targets: tuple[str, ...]  # every target slim.yaml defines, built or not
    git: dict[str, Any] | None
    environment: dict[str, Any]
    compression: dict[str, Any]
    targets: tuple[TargetRecord, ...]
    source: str = ""  # where it was read from (for messages); not serialised

    def target(self, name: str) -> TargetRecord | None:
        return next((t for t in self.targets if t.name == name), None)


# --- From a run ------------------------------------------------------------------------


def from_results(
    plan: Plan, results: Sequence[TargetResult], environment: dict[str, Any]
) -> Report:
    from slim_bake.measure import GZIP_LEVEL

    by_name = {t.name: t for t in plan.targets}
    records = []
    for result in results:
        target = by_name.get(result.target)
        records.append(
            TargetRecord(
                name=result.target,
                artifact=target.artifact.name if target else None,
                runtime=target.runtime if target else None,
                status=result.status,
                reasons=tuple(result.reasons),
                budget=result.budget,
                figures=_figures(result.measurement) if result.measurement else None,
                smoke=_smoke(result.smoke) if result.smoke else None,
            )
        )
    path = plan.config.path
    return Report(
        slim=__version__,
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        config_path=path.name,
        config_sha256=file_sha256(path),
        config_targets=tuple(t.name for t in plan.targets),
        git=git_state(path.parent),
        environment=environment,
        compression={"format": "gzip", "level": GZIP_LEVEL},
        targets=tuple(records),
    )


def _figures(measurement: Measurement) -> Figures:
    layers = tuple(layer for layer in measurement.layers)
    files = [FileInfo(f.path, f.size, f.layer) for f in measurement.files]
    return Figures(
        image=measurement.image,
        image_id=measurement.image_id,
        base_image=measurement.base_image,
        base_id=measurement.base_id,
        size=measurement.size,
        compressed=measurement.compressed,
        layers=layers,
        files=file_list(files),
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


def _smoke(smoke: SmokeResult) -> dict[str, Any]:
    return {
        "ok": bool(smoke.ok),
        "exit_code": smoke.exit_code,
        "message": smoke.message,
        "stdout": _cut(smoke.stdout),
        "stderr": _cut(smoke.stderr),
    }


def _cut(text: str) -> str:
    return text if len(text) <= SMOKE_OUTPUT_LIMIT else text[:SMOKE_OUTPUT_LIMIT] + "…"


def file_sha256(path: Path) -> str | None:
    try:
        return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def git_state(directory: Path) -> dict[str, Any] | None:
    """The commit checked out where slim.yaml is, and whether the tree has changes;
    None outside a git repository (or without git)."""
    commit = _git(directory, "rev-parse", "HEAD")
    if commit is None:
        return None
    status = _git(directory, "status", "--porcelain", "--untracked-files=no")
    branch = _git(directory, "rev-parse", "--abbrev-ref", "HEAD")
    return {
        "commit": commit,
        "branch": branch if branch and branch != "HEAD" else None,
        "dirty": bool(status) if status is not None else None,
    }


def _git(directory: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=directory, capture_output=True, text=True, check=False, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


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


# --- JSON -------------------------------------------------------------------------------


def budget_to_json(budget: Budget) -> dict[str, Any]:
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


def budget_from_json(data: dict[str, Any]) -> Budget:
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


def figures_to_json(figures: Figures) -> dict[str, Any]:
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
    }


def figures_from_json(data: dict[str, Any]) -> Figures:
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
    )


def target_to_json(record: TargetRecord) -> dict[str, Any]:
    """A target's own part; the comparison adds status, reasons and baseline."""
    return {
        "name": record.name,
        "artifact": record.artifact,
        "runtime": record.runtime,
        "checks": {"status": record.status, "reasons": list(record.reasons)},
        "budget": budget_to_json(record.budget),
        "measurement": figures_to_json(record.figures) if record.figures else None,
        "smoke": record.smoke,
    }


def target_from_json(data: dict[str, Any]) -> TargetRecord:
    measurement = data.get("measurement")
    return TargetRecord(
        name=data["name"],
        artifact=data.get("artifact"),
        runtime=data.get("runtime"),
        status=data["checks"]["status"],
        reasons=tuple(data["checks"]["reasons"]),
        budget=budget_from_json(data["budget"]),
        figures=figures_from_json(measurement) if measurement else None,
        smoke=data.get("smoke"),
    )


def header_to_json(report: Report) -> dict[str, Any]:
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
        "git": report.git,
        "environment": report.environment,
        "compression": report.compression,
    }


def report_from_json(data: dict[str, Any], source: str) -> Report:
    """A Report from JSON already validated against the schema."""
    config = data["config"]
    return Report(
        slim=data["slim"],
        created=data["created"],
        config_path=config.get("path"),
        config_sha256=config.get("sha256"),
        config_targets=tuple(config.get("targets", ())),
        git=data.get("git"),
        environment=data.get("environment", {}),
        compression=data["compression"],
        targets=tuple(target_from_json(t) for t in data["targets"]),
        source=source,
    )
