"""`slim bake --shard I/N`: which of the selected targets shard I of N builds.

Every target lands in exactly one shard. Without weights a target's shard is a digest of
its name modulo N: it depends on the name and N alone, so adding or removing a target
never moves another one between shards (the shards may be uneven for a few targets).
With weights (the baseline's sizes) the targets are dealt greedily, heaviest first (ties
by name), each to the lightest shard so far: better balanced, and deterministic for the
same targets and baseline, but a target's shard then depends on the others — every shard
job must use the same slim.yaml and the same baseline."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence

from slim_bake.errors import UsageError

_SPEC = re.compile(r"([0-9]{1,6})/([0-9]{1,6})")


def parse_shard(spec: str) -> tuple[int, int]:
    """`I/N` as (I, N), 1 ≤ I ≤ N; anything else is a usage error (exit 2)."""
    match = _SPEC.fullmatch(spec.strip())
    if match is None:
        raise UsageError(f"--shard {spec!r}: expected I/N, e.g. 2/4 for the second of four shards")
    index, count = int(match[1]), int(match[2])
    if count < 1 or not 1 <= index <= count:
        raise UsageError(f"--shard {spec!r}: in I/N, I must be 1 to N and N at least 1")
    return index, count


def shard_of(name: str, count: int) -> int:
    """The shard (1-based) of `name` among `count`, from its name alone."""
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def assign(
    names: Sequence[str], count: int, weights: Mapping[str, int] | None = None
) -> dict[str, int]:
    """Each of `names` with its shard (1-based). Names without a weight weigh the mean of
    the known ones, so a new target does not all land in one shard."""
    if not weights:
        return {name: shard_of(name, count) for name in names}
    known = [weights[n] for n in names if n in weights]
    default = sum(known) // len(known) if known else 1
    load = [0] * count
    shards: dict[str, int] = {}
    for name in sorted(set(names), key=lambda n: (-weights.get(n, default), n)):
        lightest = min(range(count), key=lambda i: (load[i], i))
        load[lightest] += max(weights.get(name, default), 1)
        shards[name] = lightest + 1
    return shards


def select_shard(
    names: Sequence[str], index: int, count: int, weights: Mapping[str, int] | None = None
) -> list[str]:
    """The names shard `index` of `count` builds, in their given order."""
    shards = assign(names, count, weights)
    return [name for name in names if shards[name] == index]
