"""`python -m slim_bake.github outputs REPORT EXIT_CODE`: the composite action's outputs
step (verdict and over-budget into GITHUB_OUTPUT)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from slim_bake import failsafe
from slim_bake.errors import EXIT_OK, EXIT_USAGE
from slim_bake.github.actions import action_outputs, write_outputs
from slim_bake.safe_text import say


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 3 or args[0] != "outputs" or not args[2].lstrip("-").isdigit():
        say("usage: python -m slim_bake.github outputs REPORT EXIT_CODE", sys.stderr)
        return EXIT_USAGE
    return failsafe.guarded(lambda: _outputs(Path(args[1]), int(args[2])))


def _outputs(report: Path, exit_code: int) -> int:
    write_outputs(action_outputs(report, exit_code), os.environ)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
