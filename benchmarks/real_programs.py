"""Hand-written reference builds of real programs, measured (issue 12).

For each real program (tests/support/real_programs.py: GNU hello with autotools, lz4 with its
Makefile, ninja (C++) with CMake, ripgrep (Rust, Debian's crates offline), shfmt (Go, modules
vendored from Debian's golang-*-dev)) this fetches the Debian source package, builds the
hand-written multi-stage Dockerfile statically into scratch and dynamically onto debian-slim,
smoke-runs it, measures it with slim's measurement, and prints a Markdown table beside the size
of the program in Debian's binary package. slim's images of the same programs must come within
5% of these.

    python benchmarks/real_programs.py [--quick] [--json FILE] [PROGRAM...]

--quick builds only the static variant of the C programs (hello, lz4). Needs the engine and the
stand-ins (scripts/engine.sh, scripts/standins.sh) and Debian's mirror for the sources.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support.real_programs import PROGRAMS, Reference, build_reference, debian_package  # noqa: E402

QUICK = ("hello", "lz4")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("programs", nargs="*", metavar="PROGRAM", help=", ".join(PROGRAMS))
    parser.add_argument("--quick", action="store_true", help="static hello and lz4 only")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    names = args.programs or (list(QUICK) if args.quick else list(PROGRAMS))
    unknown = sorted(set(names) - set(PROGRAMS))
    if unknown:
        parser.error(f"unknown program(s): {', '.join(unknown)}")
    variants = (True,) if args.quick else (True, False)
    rows: list[dict[str, object]] = []
    print("| program | variant | build s | image B | above base B | binary B | Debian pkg | "
          "Debian installed B | Debian binary B |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---|---:|---:|")
    for name in names:
        deb = debian_package(name)
        for static in variants:
            ref: Reference = build_reference(name, static)
            print(
                f"| {name} | {ref.variant} | {ref.build_seconds:.0f} | {ref.image_size:,} | "
                f"{ref.added_size:,} | {ref.binary_size:,} | {deb.package} {deb.version} | "
                f"{deb.installed_size:,} | {deb.binary_size:,} |",
                flush=True,
            )
            rows.append({**dataclasses.asdict(ref), "debian": dataclasses.asdict(deb)})
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
