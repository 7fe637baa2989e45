"""Real programs baked by slim on every runtime, beside Debian's packages (issue 12).

For each real program (tests/support/real_programs.py: GNU hello with autotools, lz4 with its
Makefile, ninja (C++) with CMake, ripgrep (Rust, Debian's crates offline), shfmt (Go, modules
vendored from Debian's golang-*-dev)) this fetches the pinned Debian source package, runs one
`slim bake` of the user's slim.yaml (tests/data/real/<program>.slim.yaml) on every runtime
buildable here (slim smoke-runs each image), builds the hand-written multi-stage reference
(static, FROM scratch), and prints Markdown:

1. program × runtime: the image size of each, beside the program's executable and Installed-Size
   in Debian's binary package;
2. per program, the seed's table: single stage on the toolchain → multi-stage on an Ubuntu-like
   base → … → scratch with a static binary.

    python benchmarks/real_programs.py [--quick] [--write BENCHMARKS.md] [--json FILE] [PROGRAM...]

--quick: GNU hello only (the tests run it). --write replaces the section between this script's
markers in the file (appends it the first time). Needs the engine, the stand-ins
(scripts/engine.sh, scripts/standins.sh) and Debian's mirror for the sources (cached). The slim.yaml
and the build are the tests' own (tests/integration/test_real_sources_engine.py): BuildKit's
cache serves both.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import platform
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))
from support.real_programs import (  # noqa: E402
    NOT_BUILDABLE,
    PROGRAMS,
    RUNTIMES,
    Baked,
    DebianPackage,
    Reference,
    bake,
    build_reference,
    debian_package,
    write_project,
)

from slim_bake.units import format_size  # noqa: E402

QUICK = ("hello",)
BEGIN = "<!-- benchmarks/real_programs.py: begin (generated; run it again to update) -->"
END = "<!-- benchmarks/real_programs.py: end -->"

# The seed's steps, biggest first: which runtime stands for each, and what it is.
STEPS: dict[str, str] = {
    "single-stage": "single stage on the full toolchain image",
    "ubuntu": "multi-stage on an Ubuntu-like base",
    "debian-slim": "multi-stage on debian-slim",
    "alpine": "Alpine-like base (busybox + musl), dynamic musl",
    "alpine-static": "Alpine-like base, static glibc",
    "busybox-glibc": "busybox:glibc, dynamic",
    "distroless-cc": "distroless/cc, dynamic",
    "distroless-static": "distroless/static, static glibc",
    "scratch-closure": "scratch + the shared-library closure",
    "scratch-glibc": "scratch + static glibc",
    "scratch-musl": "scratch + static musl",
}


@dataclass(frozen=True)
class Result:
    program: str
    images: list[Baked]
    bake_seconds: float
    reference: Reference
    debian: DebianPackage


def size(n: int) -> str:
    """`830kB (830,312 B)`: the unit a reader compares, and the exact bytes."""
    return f"{format_size(n)} ({n:,} B)"


def run(name: str, folder: Path) -> Result:
    registry = f"slim-bench.local/real-{name}-{uuid.uuid4().hex[:8]}"
    print(f"real_programs: {name}: slim bake on every runtime ...", file=sys.stderr, flush=True)
    images, seconds, _ = bake(name, write_project(name, folder, registry))
    ref = build_reference(name, static=True, tag_prefix="slim-bench-reference")
    subprocess.run(
        ["docker", "image", "rm", "-f", ref.image, *(b.image for b in images)],
        capture_output=True,
        check=False,
    )
    return Result(name, images, seconds, ref, debian_package(name))


def matrix(results: list[Result]) -> str:
    """Runtimes down, programs across; Debian's package first."""
    head = "| runtime | " + " | ".join(f"{r.program}" for r in results) + " |"
    lines = [head, "|---|" + "---:|" * len(results)]
    lines.append(
        "| Debian's package: the executable | "
        + " | ".join(size(r.debian.binary_size) for r in results)
        + " |"
    )
    lines.append(
        "| Debian's package: Installed-Size | "
        + " | ".join(size(r.debian.installed_size) for r in results)
        + " |"
    )
    lines.append(
        "| hand-written multi-stage, static, `FROM scratch` | "
        + " | ".join(size(r.reference.image_size) for r in results)
        + " |"
    )
    for runtime in RUNTIMES:
        cells = []
        for r in results:
            found = [b for b in r.images if b.runtime == runtime]
            if found:
                cells.append(size(found[0].size))
            else:
                cells.append("not buildable here" if runtime in NOT_BUILDABLE.get(r.program, {})
                             else "—")  # fmt: skip
        lines.append(f"| `{runtime}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def seed_table(result: Result) -> str:
    """The seed's steps for one program: single stage → scratch, with what each step saves."""
    by = {b.runtime: b for b in result.images}
    first = by["single-stage"].size
    deb = result.debian
    lines = [
        f"**{result.program}** (Debian `{deb.package}` {deb.version}: its executable "
        f"{deb.binary_size:,} B, installed {deb.installed_size:,} B; `slim bake` of "
        f"{len(by)} images in {result.bake_seconds:.0f} s with BuildKit's cache as it was)",
        "",
        "| step | runtime | image | above the base | program | ÷ single stage |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for runtime, step in STEPS.items():
        if runtime not in by:
            reason = NOT_BUILDABLE.get(result.program, {}).get(runtime, "not in slim.yaml")
            lines.append(f"| {step} | `{runtime}` | not buildable here: {reason} | | | |")
            continue
        b = by[runtime]
        program = f"{b.binary_size:,}" if b.binary_size else "(in the build tree)"
        lines.append(
            f"| {step} | `{runtime}` | {size(b.size)} | {b.size - b.base_size:,} | {program} | "
            f"{b.size / first:.3g} |"
        )
    ref = result.reference
    lines.append(
        f"| hand-written multi-stage, static glibc | `FROM scratch` | {size(ref.image_size)} | "
        f"{ref.added_size:,} | {ref.binary_size:,} | {ref.image_size / first:.3g} |"
    )
    return "\n".join(lines)


def environment() -> str:
    engine = subprocess.run(
        ["docker", "version", "-f", "{{.Server.Version}}"], capture_output=True, text=True
    ).stdout.strip()
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{now}, commit {commit or '?'}, dockerd {engine or '?'}, {platform.machine()}"


def markdown(results: list[Result], command: str) -> str:
    gaps = []
    for result in results:
        reasons: dict[str, list[str]] = {}
        for runtime, why in NOT_BUILDABLE.get(result.program, {}).items():
            reasons.setdefault(why, []).append(f"`{runtime}`")
        gaps += [f"{result.program} on {', '.join(rs)}: {why}" for why, rs in reasons.items()]
    parts = [
        BEGIN,
        "## Real programs on every runtime",
        "",
        f"`{command}` ({environment()}). One `slim bake` per program of the user's slim.yaml "
        "(`tests/data/real/`) on every runtime buildable here, each image smoke-run by slim; "
        "sizes are file bytes over all layers (`slim_bake.measure`), on the offline stand-in "
        "bases (table above). Not buildable or not runnable here: "
        + ("; ".join(gaps) or "none")
        + ".",
        "",
        matrix(results),
        "",
        "### Per program, the seed's steps",
        "",
    ]
    for result in results:
        parts += [seed_table(result), ""]
    parts.append(END)
    return "\n".join(parts) + "\n"


def write_section(path: Path, section: str) -> None:
    """Replace this script's section of `path` (append it when absent)."""
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + section.rstrip("\n") + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("programs", nargs="*", metavar="PROGRAM", help=", ".join(PROGRAMS))
    parser.add_argument("--quick", action="store_true", help="GNU hello only")
    parser.add_argument("--write", type=Path, help="put the tables into this Markdown file")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    names = args.programs or (list(QUICK) if args.quick else list(PROGRAMS))
    unknown = sorted(set(names) - set(PROGRAMS))
    if unknown:
        parser.error(f"unknown program(s): {', '.join(unknown)}")
    with tempfile.TemporaryDirectory(prefix="slim-real-") as tmp:
        results = [run(name, Path(tmp) / name) for name in names]
    command = "python benchmarks/real_programs.py" + (" --quick" if args.quick else "")
    text = markdown(results, command + (" " + " ".join(args.programs) if args.programs else ""))
    print(text)
    if args.write:
        write_section(args.write, text)
    if args.json:
        args.json.write_text(json.dumps([dataclasses.asdict(r) for r in results], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
