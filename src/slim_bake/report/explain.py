"""Why a target grew: whether the base image changed (its image ID, or its name),
which of our own layers grew, appeared or disappeared (matched by instruction, then by
position, each with the instruction that made it), and the largest files added or
grown in the runtime stage."""

from __future__ import annotations

import difflib

from slim_bake.report.model import (
    BaseChange,
    Change,
    Explanation,
    Figures,
    FileChange,
    FileChangeKind,
    FileInfo,
    LayerChange,
)

FILES_SHOWN = 10  # largest files added or grown named per target
_BUILDKIT_SUFFIX = "# buildkit"


def explain(before: Figures, after: Figures) -> Explanation | None:
    """What changed between two measurements of a target; None when nothing did."""
    base = _base_change(before, after)
    layers = tuple(_layer_changes(before, after))
    files = tuple(_file_changes(before, after))
    if not base.changed and not layers and not files and before.size == after.size:
        return None
    return Explanation(base, layers, files)


def _base_change(before: Figures, after: Figures) -> BaseChange:
    changed = before.base_image != after.base_image or (
        before.base_id is not None and after.base_id is not None and before.base_id != after.base_id
    )
    return BaseChange(
        changed,
        before.base_image,
        before.base_id,
        before.base_size,
        after.base_image,
        after.base_id,
        after.base_size,
    )


def pinned_move(base: BaseChange) -> tuple[str, str, str] | None:
    """(image, old digest, new digest, both shortened) when the base is the same pinned
    tag at another digest (`slim pin`, a bot's update); else None."""
    if not base.changed or base.before_image is None or base.after_image is None:
        return None
    before, _, old = base.before_image.partition("@")
    after, _, new = base.after_image.partition("@")
    if before != after or not old or not new or old == new:
        return None
    return after, _short_digest(old), _short_digest(new)


def digest_change(base: BaseChange) -> str | None:
    """ "base debian:12-slim changed (digest sha256:1a2b… → sha256:3c4d…)", or None."""
    moved = pinned_move(base)
    if moved is None:
        return None
    image, old, new = moved
    return f"base {image} changed (digest {old} → {new})"


def _short_digest(digest: str) -> str:
    return digest[:19] + "…"  # sha256: and 12 hex digits, as `docker images` shows IDs


def instruction(created_by: str) -> str:
    """The Dockerfile instruction as BuildKit recorded it, without its marker."""
    text = created_by.strip()
    if text.endswith(_BUILDKIT_SUFFIX):
        text = text[: -len(_BUILDKIT_SUFFIX)].rstrip()
    return text or "(no instruction recorded)"


def _own(figures: Figures) -> list[tuple[int, str, int]]:
    return [
        (i, instruction(layer.created_by), layer.size)
        for i, layer in enumerate(figures.layers)
        if not layer.from_base
    ]


def _layer_changes(before: Figures, after: Figures) -> list[LayerChange]:
    """Our layers paired by instruction (difflib's alignment), then a changed
    instruction with the layer at the same position among the unpaired."""
    old, new = _own(before), _own(after)
    matcher = difflib.SequenceMatcher(None, [o[1] for o in old], [n[1] for n in new], False)
    changes = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        pairs = list(zip(range(i1, i2), range(j1, j2), strict=False))
        for i, j in pairs:
            (bi, binstr, bsize), (ai, ainstr, asize) = old[i], new[j]
            if bsize != asize or binstr != ainstr:
                change = Change.GREW if asize > bsize else Change.SHRANK
                change = Change.CHANGED if asize == bsize else change
                replaced = binstr if tag == "replace" else None
                changes.append(LayerChange(change, ainstr, replaced, bsize, asize, bi, ai))
        for i in range(i1 + len(pairs), i2):
            bi, binstr, bsize = old[i]
            changes.append(LayerChange(Change.REMOVED, binstr, None, bsize, None, bi, None))
        for j in range(j1 + len(pairs), j2):
            ai, ainstr, asize = new[j]
            changes.append(LayerChange(Change.ADDED, ainstr, None, None, asize, None, ai))
    return changes


def _file_changes(before: Figures, after: Figures) -> list[FileChange]:
    known = {f.path: f.size for f in before.files.largest}
    smallest_listed = min(known.values(), default=0)
    changes = []
    for record in after.files.largest:
        old = known.get(record.path)
        if old is not None:
            if record.size > old:
                changes.append(_file(record, old, FileChangeKind.GROWN, after))
        elif before.files.complete or record.size > smallest_listed:
            # Not listed although the baseline listed every file (or every file this
            # large): the file is new, or (incomplete list) new or grown.
            if before.files.complete:
                changes.append(_file(record, 0, FileChangeKind.ADDED, after))
            else:
                changes.append(_file(record, None, FileChangeKind.UNLISTED, after))
    changes.sort(key=lambda c: (-c.delta, c.path))
    return changes[:FILES_SHOWN]


def _file(
    record: FileInfo, before: int | None, change: FileChangeKind, after: Figures
) -> FileChange:
    layers = after.layers
    made = instruction(layers[record.layer].created_by) if record.layer < len(layers) else ""
    return FileChange(record.path, before, record.size, change, made)
