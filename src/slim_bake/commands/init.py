"""`slim init`: write a first slim.yaml for the repository it sits in (detect.py), with
`--bake` built once for budgets and a smoke run (scaffold.py). Never overwrites."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from slim_bake.commands._options import add_config_argument
from slim_bake.errors import EXIT_OK, UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument(
        "--bake",
        action="store_true",
        help="build once: keep the runtimes that build, budgets from the measured sizes"
        " (+10%%), a smoke run (--version or --help) if one exits 0",
    )
    parser.add_argument(
        "--bases",
        metavar="FILE",
        help="a YAML `bases:` mapping to write into slim.yaml (mirrored or pinned images)",
    )
    parser.add_argument(
        "--registry",
        metavar="PREFIX",
        help="slim.yaml's `registry:` (tags <PREFIX>/<artifact>:<runtime>)",
    )
    parser.add_argument(
        "--builder", metavar="NAME", help="buildx builder for --bake (as for slim bake)"
    )


def run(args: argparse.Namespace) -> int:
    from slim_bake import scaffold
    from slim_bake.config import load_config
    from slim_bake.detect import detect
    from slim_bake.output import regenerate, write_new
    from slim_bake.plan import make_plan

    path = Path(args.config)
    if path.exists() or path.is_symlink():
        raise UsageError(f"{args.config} exists: slim init never overwrites it (nothing written)")
    root = path.parent
    detection = detect(root)
    if detection is None:
        raise UsageError(
            f"nothing slim init recognises in {root.resolve()}: no go.mod, Cargo.toml,"
            " configure, CMakeLists.txt, meson.build, Makefile or C/C++ sources at its top"
        )
    config = scaffold.draft(detection, _bases(args.bases), args.registry)
    scaffold.plan(path, config, detection)  # what it writes, `slim validate` accepts
    if args.bake:
        config = scaffold.first_build(path, config, detection, args.builder, _note)
    try:
        write_new(path, scaffold.to_yaml(config, detection))
    except FileExistsError as exc:
        raise UsageError(f"{args.config} appeared meanwhile: not overwritten") from exc
    if args.bake:
        regenerate(make_plan(load_config(path)))  # drop the files of runtimes left out
    artifact = config["artifacts"][detection.name]
    print(
        f"slim: wrote {args.config}: {detection.name} ({detection.lang}, {detection.system},"
        f" from {detection.found}) on {', '.join(artifact['runtimes'])}"
    )
    return EXIT_OK


def _bases(name: str | None) -> dict[str, Any] | None:
    if name is None:
        return None
    import yaml

    try:
        data = yaml.safe_load(Path(name).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"{name}: cannot read a bases mapping: {exc}") from exc
    if not isinstance(data, dict):
        raise UsageError(f"{name}: expected a mapping of base names to images")
    return data


def _note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
