"""The Markdown report (`--markdown FILE`): what a pull request shows.

A table (baseline → size, Δ, budget, verdict), a mermaid `xychart-beta` chart of the
sizes per target (GitHub renders it), and a `<details>` section per target that grew
or shrank saying why.

Nothing from slim.yaml or from an image can change the document's structure:
- technical values (target names, images, instructions, file paths) are code spans
  whose fence is longer than any backtick run inside, with `|` escaped for the table
  and control characters written as escapes: no HTML, link, emphasis or mention;
- prose values (reasons, budgets) escape every ASCII punctuation character, `<>&` as
  entities, and break `@mentions` and `#123` issue links with a word joiner;
- chart labels keep only [A-Za-z0-9._-]; the only raw HTML is slim's own
  <details>/<summary>, whose text is HTML-escaped."""

from __future__ import annotations

import html
import re
import string

from slim_bake.report import explain, wording
from slim_bake.report.model import Comparison, Explanation, State, Status, TargetComparison
from slim_bake.report.wording import delta_text, format_size, signed_size
from slim_bake.safe_text import visible

TITLE = "slim: image sizes"
_PUNCTUATION = frozenset(string.punctuation)
_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
_WORD_JOINER = "\u2060"
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_UNITS = (("GB", 1000**3), ("MB", 1000**2), ("kB", 1000), ("B", 1))
_ICONS = {Status.PASS: "✅"}


# --- Escaping ------------------------------------------------------------------------------------


def code(value: str, cell: bool = True) -> str:
    """`value` as an inline code span; in a table `cell`, its pipes are escaped (the
    table's own escape, undone before the span is read; elsewhere it would show)."""
    text = visible(value)
    if cell:
        text = text.replace("|", "\\|")
    if not text:
        return "(empty)"
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    # CommonMark strips one space from each end of a span unless it is all spaces: pad
    # exactly when it would strip, so the span shows the value as it is.
    edges = text[0] in "` " or text[-1] in "` "
    pad = " " if edges and text.strip(" ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def text(value: str) -> str:
    """`value` as literal Markdown text (inline, table-safe)."""
    out = []
    for ch in visible(value):
        if ch in _ENTITIES:
            out.append(_ENTITIES[ch])
        elif ch in "@#":  # a word joiner after them: no @mention, no #123 issue link
            out.append("\\" + ch + _WORD_JOINER)
        elif ch in _PUNCTUATION:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _no_mention(value: str) -> str:
    return value.replace("@", "@" + _WORD_JOINER).replace("#", "#" + _WORD_JOINER)


def label(value: str) -> str:
    """A mermaid chart label: quoted, with anything but [A-Za-z0-9._-] replaced."""
    return '"' + _LABEL_UNSAFE.sub("_", value) + '"'


def row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


# --- The report ----------------------------------------------------------------------------------


def render(comparison: Comparison, title: str = TITLE) -> str:
    """The whole report; `title` is slim's own text (not escaped)."""
    parts = [f"### {title}", _headline(comparison), _table(comparison)]
    if wording.stored_sizes(comparison):  # else slim's gzip estimate, as always
        parts.append(text(wording.compression_text(comparison.head.compression)))
    reasons = _reasons(comparison)
    if reasons:
        parts.append(reasons)
    if any(t.after is not None for t in comparison.targets):  # mermaid refuses an empty axis
        parts.append(chart(comparison))
    parts += [_details(t) for t in comparison.targets if _explained(t)]
    return "\n\n".join(parts) + "\n"


def _headline(comparison: Comparison) -> str:
    targets = comparison.targets
    failing = sum(1 for t in targets if t.status != Status.PASS)
    over = sum(1 for t in targets if t.over_budget)
    grew = sum(1 for t in targets if (t.delta or 0) > 0)
    verdict = "✅ all within budget" if not failing else f"❌ {failing} of {len(targets)} failing"
    words = [f"**{verdict}**", f"{len(targets)} targets", f"{over} over budget"]
    if comparison.baseline is not None:
        source = comparison.source or ""
        git = comparison.baseline.git
        at = f" at {code(git.commit[:12], cell=False)}" if git and git.commit else ""
        words += [f"{grew} grew", f"baseline {code(source, cell=False)}{at}"]
    else:
        words.append("no baseline")
    return " · ".join(words)


def _table(comparison: Comparison) -> str:
    with_base = comparison.baseline is not None
    header = ["target", *(["baseline"] if with_base else []), "size"]
    header += [*(["Δ"] if with_base else []), "compressed", "layers", "budget", "verdict"]
    align = ["---", *(["---:"] * (len(header) - 3)), "---", "---"]
    lines = [row(header), row(align)]
    for target in (*comparison.targets, *comparison.missing):
        lines.append(row(_cells(target, with_base)))
    return "\n".join(lines)


def _cells(target: TargetComparison, with_base: bool) -> list[str]:
    before, after = target.before, target.after
    cells = [code(target.name)]
    if with_base:
        cells.append(format_size(before.size) if before and before.size_known else "–")
    cells.append(format_size(after.size) if after else "–")
    if with_base:
        cells.append(delta_text(target))  # slim's own words and figures
    cells += [
        format_size(after.compressed) if after else "–",
        str(len(after.layers)) if after else "–",
        _budget(target),
        _verdict(target),
    ]
    return cells


def _budget(target: TargetComparison) -> str:
    spelled = wording.budget_text(target.head.budget) if target.head else wording.MISSING
    return "–" if spelled == wording.MISSING else text(spelled)


def _verdict(target: TargetComparison) -> str:
    if target.head is None:
        return "➖ " + wording.state_text(target.state)
    return f"{_ICONS.get(target.status, '❌')} {target.status}"


def _reasons(comparison: Comparison) -> str:
    lines = [
        f"- {code(t.name, cell=False)}: {text(reason)}"
        for t in comparison.targets
        for reason in (*t.reasons, *(t.head.notes if t.head else ()))
    ]
    return "\n".join(lines)


# --- The chart -----------------------------------------------------------------------------------


def chart(comparison: Comparison) -> str:
    """Sizes per target: bars for this run, a line for the baseline."""
    targets = [t for t in comparison.targets if t.after is not None]
    heads = [t.after.size for t in targets if t.after is not None]
    bases = [t.before.size if t.before is not None and t.before.size_known else 0 for t in targets]
    with_base = comparison.baseline is not None
    unit, factor = next((u, f) for u, f in _UNITS if max([*heads, *bases, 0]) >= f or f == 1)
    legend = "bars: this run, line: baseline" if with_base else "this run"
    lines = [
        "```mermaid",
        "xychart-beta",
        f'    title "Image size per target in {unit} ({legend})"',
        f"    x-axis [{', '.join(label(t.name) for t in targets)}]",
        f'    y-axis "size ({unit})"',
        f"    bar [{', '.join(_number(v, factor) for v in heads)}]",
    ]
    if with_base:
        lines.append(f"    line [{', '.join(_number(v, factor) for v in bases)}]")
    lines.append("```")
    return "\n".join(lines)


def _number(value: int, factor: int) -> str:
    return f"{value / factor:.4g}" if factor > 1 else str(value)


# --- Why it grew ---------------------------------------------------------------------------------


def _explained(target: TargetComparison) -> bool:
    return target.state == State.COMPARED and target.explanation is not None


def _details(target: TargetComparison) -> str:
    explanation = target.explanation
    assert explanation is not None
    summary = wording.change_line(target, explanation)
    body = [_base_line(explanation), *_layer_table(explanation), *_file_table(explanation)]
    return (
        f"<details><summary>{_no_mention(html.escape(visible(summary)))}</summary>\n\n"
        + "\n\n".join(body)
        + "\n\n</details>"
    )


def _base_line(explanation: Explanation) -> str:
    base = explanation.base
    if not base.changed:
        image = code(base.after_image, cell=False) if base.after_image else "none"
        return (
            f"**Base image unchanged:** {image}{_id(base.after_id)}, {format_size(base.after_size)}"
        )
    moved = explain.pinned_move(base)
    if moved is not None:  # the same pinned tag, another digest: say which, shortly
        image, old, new = (code(part, cell=False) for part in moved)
        return (
            f"**Base image changed:** {image} digest {old} → {new}:"
            f" {format_size(base.before_size)} → {format_size(base.after_size)}"
            f" ({signed_size(base.delta)})"
        )
    before = code(base.before_image, cell=False) if base.before_image else "none"
    after = code(base.after_image, cell=False) if base.after_image else "none"
    return (
        f"**Base image changed:** {before}{_id(base.before_id)} → {after}{_id(base.after_id)}:"
        f" {format_size(base.before_size)} → {format_size(base.after_size)}"
        f" ({signed_size(base.delta)})"
    )


def _id(image_id: str | None) -> str:
    return f" ({code(wording.short_id(image_id), cell=False)})" if image_id else ""


def _layer_table(explanation: Explanation) -> list[str]:
    if not explanation.layers:
        return ["**Our layers:** unchanged"]
    lines = [
        row(["layer", "change", "instruction", "baseline", "size", "Δ"]),
        row(["---:", "---", "---", "---:", "---:", "---:"]),
    ]
    for change in sorted(explanation.layers, key=lambda c: -c.delta):
        instruction = code(change.instruction)
        if change.before_instruction is not None:
            instruction += f" (was {code(change.before_instruction)})"
        lines.append(
            row(
                [
                    str(change.number),
                    change.change,
                    instruction,
                    format_size(change.before) if change.before is not None else "–",
                    format_size(change.after) if change.after is not None else "–",
                    signed_size(change.delta),
                ]
            )
        )
    return ["**Our layers that changed**", "\n".join(lines)]


def _file_table(explanation: Explanation) -> list[str]:
    if not explanation.files:
        return []
    lines = [
        row(["file", "change", "baseline", "size", "Δ", "added by"]),
        row(["---", "---", "---:", "---:", "---:", "---"]),
    ]
    for record in explanation.files:
        lines.append(
            row(
                [
                    code(record.path),
                    record.change,
                    format_size(record.before) if record.before is not None else "–",
                    format_size(record.after),
                    signed_size(record.delta),
                    code(record.instruction),
                ]
            )
        )
    return ["**Largest files added or grown**", "\n".join(lines)]
