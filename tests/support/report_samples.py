"""Reports made in memory for the tests of comparisons and renderings that need no
engine: the same model `slim bake` fills from real measurements."""

from __future__ import annotations

from pathlib import Path

from slim_bake.config import Budget
from slim_bake.gitrepo import Checkout
from slim_bake.judge import Status, Verdict
from slim_bake.measure import FileInfo, Layer
from slim_bake.report.build import file_list
from slim_bake.report.compare import compare
from slim_bake.report.json_output import render
from slim_bake.report.model import Figures, Report, SmokeRecord, TargetRecord

BASE_LAYER = "sha256:" + "b" * 64
COPY_BINARY = "COPY /out/hello /usr/local/bin/hello # buildkit"
COPY_ROOTFS = "COPY /rootfs/ / # buildkit"


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


def figures(
    layers: list[tuple[int, str]],
    files: list[tuple[str, int, int]],
    base: tuple[str, str | None, int] | None = None,
    image: str = "hello:scratch-musl",
) -> Figures:
    """Our `layers` (size, created_by) on `base` (image, image ID, size); `files`
    (path, size, index into all layers)."""
    records = []
    if base is not None:
        records.append(Layer(BASE_LAYER, base[2], base[2] // 3, "", True))
    for n, (size, made_by) in enumerate(layers):
        records.append(Layer(digest(size * 100 + n), size, size // 2, made_by, False))
    return Figures(
        image=image,
        image_id=digest(sum(size for size, _ in layers)),
        base_image=base[0] if base else "scratch",
        base_id=base[1] if base else None,
        size=sum(r.size for r in records),
        compressed=sum(r.compressed for r in records),
        layers=tuple(records),
        files=file_list(FileInfo(p, s, i) for p, s, i in files),
    )


def target(
    name: str,
    measured: Figures | None,
    status: str = "pass",
    reasons: tuple[str, ...] = (),
    budget: Budget | None = None,
) -> TargetRecord:
    return TargetRecord(
        name=name,
        artifact=name.split("-", 1)[0],
        runtime=name.split("-", 1)[-1],
        verdict=Verdict(Status(status), reasons),
        budget=budget or Budget(),
        figures=measured,
        smoke=SmokeRecord(ok=True, exit_code=0, message="", stdout="Hello\n", stderr=""),
    )


def report(*targets: TargetRecord, config_targets: tuple[str, ...] | None = None) -> Report:
    names = tuple(t.name for t in targets)
    return Report(
        slim="0.1.0",
        created="2026-01-01T00:00:00Z",
        config_path="slim.yaml",
        config_sha256=digest(7),
        config_targets=config_targets if config_targets is not None else names,
        git=Checkout(commit="a" * 40, branch="main", dirty=False),
        environment={"engine": "26.1.5", "buildx": "0.13.1"},
        compression={"format": "gzip", "level": 6},
        targets=targets,
    )


def hello(binary: int, extra_files: tuple[tuple[str, int], ...] = ()) -> Figures:
    """hello on scratch: a rootfs layer (passwd, group, extra files) and the binary."""
    rootfs = 121 + sum(size for _, size in extra_files)
    files = [("/etc/passwd", 90, 0), ("/etc/group", 31, 0)]
    files += [(path, size, 0) for path, size in extra_files]
    files.append(("/usr/local/bin/hello", binary, 1))
    return figures([(rootfs, COPY_ROOTFS), (binary, COPY_BINARY)], files)


def write(path: Path, data: Report) -> Path:
    path.write_text(render(compare(None, data)))
    return path
