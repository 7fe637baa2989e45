"""GitHub Actions plumbing: workflow commands (`::notice::`), the job summary, and the
composite action's outputs (`python -m slim_bake.github outputs REPORT EXIT_CODE`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from slim_bake.errors import UsageError


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def workflow_command(kind: str, message: str, title: str | None = None) -> str:
    """`::notice title=T::message`, escaped so that a value cannot end the command
    early or start another one on a new line."""
    props = f" title={_escape_property(title)}" if title else ""
    return f"::{kind}{props}::{_escape_data(message)}"


def append_summary(markdown: str, env: Mapping[str, str]) -> bool:
    """Append to the job summary; False when not running under Actions."""
    path = env.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(markdown if markdown.endswith("\n") else markdown + "\n")
    return True


# --- Action outputs from a report ------------------------------------------------------------


def action_outputs(report_path: Path, exit_code: int) -> dict[str, str]:
    """verdict and over-budget for the composite action, from the JSON report."""
    over = 0
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        report = None
    if isinstance(report, dict):
        over = count_over_budget(report)
    verdict = "pass" if exit_code == 0 else "fail"
    return {"verdict": verdict, "over-budget": str(over)}


def count_over_budget(report: dict[str, Any]) -> int:
    """Targets with a broken size budget, absolute or growth (schemas/report.schema.json:
    `summary.over_budget`, or each target's `over_budget`)."""
    summary = report.get("summary")
    if isinstance(summary, dict) and isinstance(summary.get("over_budget"), int):
        return int(summary["over_budget"])
    targets = report.get("targets")
    if not isinstance(targets, list):
        return 0
    return sum(1 for t in targets if isinstance(t, dict) and t.get("over_budget") is True)


def write_outputs(values: Mapping[str, str], env: Mapping[str, str]) -> None:
    path = env.get("GITHUB_OUTPUT")
    if not path:
        raise UsageError("GITHUB_OUTPUT is not set: this runs inside GitHub Actions")
    with open(path, "a", encoding="utf-8") as handle:
        for key, value in values.items():
            if "\n" in value or "\r" in value:
                raise UsageError(f"output {key}: a value must be one line")
            handle.write(f"{key}={value}\n")
