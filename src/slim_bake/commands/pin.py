"""`slim pin`: resolve every base image tag the plan uses to a digest and write the pins
file (`pins:`, default bases.Dockerfile) that Renovate and Dependabot then keep current;
then bring the generated files up to date (a new line adds a named context to the bake
file; a changed digest changes no generated file)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from slim_bake.commands._options import add_config_argument
from slim_bake.errors import EXIT_FAILED, EXIT_OK
from slim_bake.safe_text import say, visible


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument(
        "--no-registry",
        action="store_true",
        help="ask only the local engine (an image's repository digest), no registry",
    )


def run(args: argparse.Namespace) -> int:
    from slim_bake import pinfile
    from slim_bake.config import load_config
    from slim_bake.output import regenerate, shown, write_atomic
    from slim_bake.pins import resolve_digest
    from slim_bake.plan import make_plan

    config = load_config(Path(args.config))
    current = make_plan(config)
    old = current.pins
    images = sorted({image for t in current.targets for image in t.images})
    taken = {pin.stage for pin in old.values()} | set(images)
    pins: list[pinfile.Pin] = []
    missing = 0
    for image in images:
        ref = pinfile.parse_reference(image)
        shown_image = visible(image)
        if ref is not None and ref.digest is not None:
            say(f"slim: {shown_image}: pinned in slim.yaml itself")
            continue
        if ref is None or ref.tag is None:
            why = "no tag: name one in slim.yaml" if ref else "not a plain image reference"
            say(f"slim: {shown_image}: not pinned: {why}", sys.stderr)
            missing += 1
            continue
        found = resolve_digest(image, registry=not args.no_registry)
        previous = old.get(image)
        digest = found.digest or (previous.digest if previous else None)
        if found.digest:
            say(f"slim: {shown_image}: {found.digest} ({found.source})")
        elif digest:
            say(f"slim: {shown_image}: kept {digest} ({visible(found.source)})", sys.stderr)
        else:
            say(f"slim: {shown_image}: not pinned: {visible(found.source)}", sys.stderr)
            missing += 1
        stage = previous.stage if previous else pinfile.stage_name(image, taken)
        taken.add(stage)
        pins.append(pinfile.Pin(image, stage, digest))
    path = config.directory / config.pins_file
    text = pinfile.render(pins, config.path.name)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        write_atomic(path, text)
        say(f"slim: wrote {visible(str(path))}")
    plan = make_plan(config, {pin.image: pin for pin in pins})
    for change in regenerate(plan):
        say(f"slim: {change.kind}d {visible(shown(plan, change.path))}")
    return EXIT_FAILED if missing else EXIT_OK
