"""`slim report merge`: the reports of `slim bake --shard I/N` jobs joined into the one
report a single run over all their targets would have written.

Shards of one run are made from the same slim.yaml at the same commit: reports whose
slim.yaml digest or commit differ are refused, and so is a target two shards both built
(a matrix that was not split by --shard). The targets are in slim.yaml's order, as one
run writes them; the rest (slim's version, engine, compression) is the first report's,
`created` the latest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from slim_bake.errors import UsageError
from slim_bake.report.model import Report, TargetRecord


def merge(reports: list[Report]) -> Report:
    """One report with every target of `reports`; UsageError (exit 2) for a mismatch."""
    if not reports:
        raise UsageError("slim report merge: name the shard reports to merge")
    first = reports[0]
    _same(reports, "slim.yaml digest", lambda r: r.config_sha256)
    _same(reports, "commit", lambda r: r.git.commit if r.git else None)
    targets = _targets(reports)
    order = {name: n for n, name in enumerate(first.config_targets)}
    ranked = sorted(targets, key=lambda t: (order.get(t.name, len(order)), t.name))
    return replace(
        first,
        created=max(r.created for r in reports),
        targets=tuple(ranked),
        source=", ".join(r.source for r in reports),
    )


def _same(reports: list[Report], what: str, key: Callable[[Report], str | None]) -> None:
    values = {key(r) for r in reports}
    if len(values) > 1:
        named = "; ".join(f"{r.source or '?'}: {key(r) or 'none'}" for r in reports)
        raise UsageError(f"slim report merge: the reports are of different runs ({what}: {named})")


def _targets(reports: list[Report]) -> list[TargetRecord]:
    seen: dict[str, str] = {}
    targets: list[TargetRecord] = []
    for report in reports:
        for target in report.targets:
            key = target.label  # a target has an entry per platform when a run built several
            if key in seen:
                raise UsageError(
                    f"slim report merge: target {key!r} is in both {seen[key]}"
                    f" and {report.source or '?'}: shards must not overlap"
                )
            seen[key] = report.source or "?"
            targets.append(target)
    return targets
