"""The JSON output: the report file (`--write-report`, the baseline of a later run)
and the report on stdout (`--json`), both the codec's form of one Comparison."""

from __future__ import annotations

import json

from slim_bake.report.codec import to_json
from slim_bake.report.model import Comparison
from slim_bake.safe_text import json_text


def render(comparison: Comparison) -> str:
    """The report as a file holds it."""
    return json.dumps(to_json(comparison), indent=2) + "\n"


def render_stdout(comparison: Comparison) -> str:
    """The report for stdout: no line in it a CI runner would take for a command."""
    return json_text(to_json(comparison))
