"""Read a report to compare against: a file, `git:REF[:PATH]` (a report committed
at REF, read with git itself, without checking anything out), or `registry:PATTERN`
(the images a registry holds, e.g. registry:127.0.0.1:5000/acme/{artifact}:main-{runtime}).

PATH follows git's own rule: from the repository's top, or from slim.yaml's folder
when it starts with ./ or ../; the default is ./slim-report.json, the report beside
slim.yaml. A report of another format version, a corrupt one, a missing file, ref or
path is a usage or configuration error (exit 2) whose message says what to do.

A report is read only from a regular file of at most REPORT_LIMIT bytes, nested at most
MAX_DEPTH deep, with integers of at most 30 digits and no NaN or Infinity: so that any
report the schema accepts is one slim can compare, in bounded time and memory."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slim_bake import __version__, gitrepo, presets
from slim_bake.errors import ConfigError, Diagnostic, UsageError
from slim_bake.loader import MAX_DEPTH, Document, decode_utf8, locate_json, read_limited
from slim_bake.report.codec import FORMAT, VERSION, from_json
from slim_bake.report.model import (
    FILE_LIMIT,
    Budget,
    Figures,
    FileList,
    Layer,
    Report,
    Status,
    TargetRecord,
    Verdict,
)
from slim_bake.safe_text import warn

if TYPE_CHECKING:
    import jsonschema

    from slim_bake.imageref import ImageInfo
    from slim_bake.plan import Target

DEFAULT_REPORT = "slim-report.json"
GIT_PREFIX = "git:"
REGISTRY_PREFIX = "registry:"
REPORT_LIMIT = 16 << 20  # bytes: a report of 100 targets is about 2 MB
LOCATE_LIMIT = 1 << 20  # a larger report's errors are told without line numbers (speed)
INT_DIGITS = 30  # a size in bytes has at most 20


@dataclass(frozen=True)
class BaselineTarget:
    """What a registry baseline needs of a target: its names for the pattern, and its
    base image (name, ID and diff_ids when known) to tell the base's layers."""

    name: str
    artifact: str | None
    runtime: str | None
    base_image: str | None
    base_id: str | None = None
    base_layers: tuple[str, ...] | None = None  # None: look the base up in the engine
    platform: str | None = None  # one of several a run builds: that image of the index


def load_report(spec: str, directory: Path, targets: Sequence[BaselineTarget] = ()) -> Report:
    """The report `spec` names: a file path, git:REF[:PATH] in `directory`'s repository,
    or registry:PATTERN for `targets`."""
    if spec.startswith(REGISTRY_PREFIX):
        return read_registry(spec, targets)
    if spec.startswith(GIT_PREFIX):
        text, name = read_git(spec, directory)
    else:
        text, name = read_file(Path(spec)), spec
    return parse_report(text, name)


def read_file(path: Path) -> str:
    if not path.exists() and not path.is_symlink():
        raise UsageError(f"{path}: no such report file")
    return decode_utf8(read_limited(path, str(path), REPORT_LIMIT), str(path))


def parse_report(text: str, name: str) -> Report:
    data = _json(text, name)
    _check_format(data, name)
    _check_depth(data, name)
    import jsonschema  # here: a run that reads no report need not import it (~0.1 s)

    validator = jsonschema.Draft202012Validator(presets.schema("report"))
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.path])
    if errors:
        doc = _located(text, name, data)
        raise ConfigError([_diagnostic(doc, error) for error in errors[:20]])
    return from_json(data, name)


def _json(text: str, name: str) -> Any:
    try:
        return json.loads(text, parse_int=_integer, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        problem = f"not a slim report: invalid JSON ({exc.msg})"
        raise ConfigError([Diagnostic(name, exc.lineno, exc.colno, "", problem)]) from None
    except ValueError as exc:  # from _integer or _constant
        raise _corrupt(name, f"not a slim report: {exc}") from None
    except RecursionError:  # json's C scanner stops at its own depth limit
        raise _corrupt(name, f"not a slim report: nested more than {MAX_DEPTH} levels") from None


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > INT_DIGITS:
        raise ValueError(f"an integer of {len(digits)} digits (at most {INT_DIGITS})")
    return int(digits)


def _constant(word: str) -> float:
    raise ValueError(f"{word} is not a number JSON allows")


def _check_depth(data: Any, name: str) -> None:
    """Refuse nesting the schema validator would recurse into too deeply."""
    level: list[Any] = [data]
    for _ in range(MAX_DEPTH):
        level = [
            child
            for value in level
            if isinstance(value, dict | list)
            for child in (value.values() if isinstance(value, dict) else value)
        ]
        if not level:
            return
    raise _corrupt(name, f"not a slim report: nested more than {MAX_DEPTH} levels")


def _diagnostic(doc: Document, error: jsonschema.ValidationError) -> Diagnostic:
    """The deepest reason: for "a measurement or null", why it is not a measurement."""
    while error.context:
        # The alternative that got furthest into the value says what is wrong with it.
        error = max(error.context, key=lambda e: (len(e.absolute_path), e.validator != "type"))
    instance = repr(error.instance)
    if error.validator == "type":
        message = f"expected {error.validator_value}, got {type(error.instance).__name__}"
        message += f" {instance if len(instance) <= 60 else instance[:59] + '…'}"
    elif isinstance(error.instance, dict | list):
        message = error.message.replace(instance, type(error.instance).__name__)[:200]
    else:
        message = error.message[:200]
    return doc.diagnostic(tuple(error.absolute_path), message)


def _check_format(data: Any, name: str) -> None:
    """Before the schema: a report of another version gets one clear message, not a
    list of every field that moved."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _corrupt(name, f'not a slim report (no "format": "{FORMAT}")')
    version = data.get("version")
    if version != VERSION:
        raise ConfigError(
            [
                Diagnostic(
                    name,
                    0,
                    0,
                    "version",
                    f"report format version {version!r}, but slim {__version__} reads version"
                    f" {VERSION} only: write the baseline again with this slim"
                    " (slim bake --write-report), or compare with the slim that wrote it",
                )
            ]
        )


def _located(text: str, name: str, data: Any) -> Document:
    """The report as a Document, with line numbers when YAML (a superset of JSON) can
    place its values."""
    if len(text) > LOCATE_LIMIT:
        return Document(name, data)
    try:
        doc = locate_json(text, name)
    except ConfigError:
        return Document(name, data)
    doc.data = data
    return doc


def _corrupt(name: str, problem: str) -> ConfigError:
    return ConfigError([Diagnostic(name, 0, 0, "", problem)])


# --- git:REF[:PATH] --------------------------------------------------------------------------


def parse_git_spec(spec: str) -> tuple[str, str]:
    """(REF, PATH) of git:REF[:PATH]."""
    ref, _, path = spec[len(GIT_PREFIX) :].partition(":")
    if not ref:
        raise UsageError(f"{spec!r}: name a ref, e.g. git:main or git:origin/main:{DEFAULT_REPORT}")
    if ref.startswith("-"):
        raise UsageError(f"{spec!r}: a ref cannot start with '-'")
    return ref, path or f"./{DEFAULT_REPORT}"


def read_git(spec: str, directory: Path) -> tuple[str, str]:
    """The text of the report at git:REF[:PATH], and a name for messages."""
    ref, path = parse_git_spec(spec)
    name = f"git:{ref}:{path}"
    try:
        return _read_git(ref, path, name, directory), name
    except gitrepo.GitUnavailable as exc:
        message = "a git: baseline needs git, which is not on PATH" if exc.missing else str(exc)
        raise UsageError(message) from None


def _read_git(ref: str, path: str, name: str, directory: Path) -> str:
    if not gitrepo.is_work_tree(directory):
        raise UsageError(f"{name}: {directory} is not inside a git repository")
    if not gitrepo.has_commit(directory, ref):
        raise UsageError(
            f"{name}: no commit {ref!r} in this repository; fetch it first (git fetch origin"
            f" {ref}; in GitHub Actions check out with fetch-depth: 0)"
        )
    size = gitrepo.blob_size(directory, ref, path)
    if not size.ok:
        raise UsageError(
            f"{name}: {ref} has no file {path} ({size.first_error}); commit a report there"
            f" (slim bake --write-report {DEFAULT_REPORT}) or name its path: git:{ref}:PATH"
        )
    if int(size.text or 0) > REPORT_LIMIT:  # asked first: a blob is read whole
        raise _corrupt(name, f"larger than {REPORT_LIMIT // 1024} KiB: not read")
    blob = gitrepo.blob(directory, ref, path)
    if not blob.ok:
        raise UsageError(f"{name}: cannot read {path} at {ref} ({blob.first_error})")
    return decode_utf8(blob.out, name)


# --- registry:PATTERN ------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_PLACEHOLDERS = ("target", "artifact", "runtime")


def targets_of_plan(
    targets: Sequence[Target], platforms: Sequence[str | None] = (None,)
) -> list[BaselineTarget]:
    """The targets a run builds, as a registry baseline reads them (base layers from the
    local engine, if it has the base); one per platform when the run builds several."""
    from slim_bake.bake import base_image

    return [
        BaselineTarget(t.name, t.artifact.name, t.runtime, base_image(t), platform=platform)
        for t in targets
        for platform in platforms
    ]


def targets_of_report(report: Report) -> list[BaselineTarget]:
    """The targets of a report, with the base layers its measurements recorded."""
    found = []
    for t in report.targets:
        figures = t.figures
        base_layers = tuple(x.diff_id for x in figures.layers if x.from_base) if figures else None
        found.append(
            BaselineTarget(
                t.name,
                t.artifact,
                t.runtime,
                figures.base_image if figures else None,
                figures.base_id if figures else None,
                base_layers,
                t.platform,
            )
        )
    return found


def read_registry(spec: str, targets: Sequence[BaselineTarget]) -> Report:
    """A baseline from the images a registry holds: each target's manifest and config
    only, no layer pulled. Compressed sizes are the blob sizes; content sizes (and file
    lists) come from slim's measurement cache when this machine measured those layers
    before, else the baseline's size is unknown and only compressed sizes are compared.
    A target the registry does not have is new."""
    from slim_bake.imageref import inspect_reference
    from slim_bake.registry import NotFound, looks_like_registry

    pattern = spec[len(REGISTRY_PREFIX) :]
    _check_pattern(spec, pattern)
    if not targets:
        raise UsageError(f"{spec}: a registry baseline is read for the targets of a run")
    records: list[TargetRecord] = []
    unknown: list[str] = []
    named: dict[str, str] = {}
    for target in targets:
        ref = _expand(spec, pattern, target)
        if named.setdefault(ref, target.name) != target.name:
            raise UsageError(
                f"{spec}: targets {named[ref]} and {target.name} would share the image {ref};"
                " use {target}, or {artifact} and {runtime}"
            )
        if not looks_like_registry(ref):
            raise UsageError(f"{spec}: {ref!r} names no registry host (HOST[:PORT]/REPO:TAG)")
        try:
            info = inspect_reference(ref, platform=target.platform)
        except NotFound:
            continue  # not pushed yet: the target is new
        record = _registry_record(target, ref, info)
        if record.figures is not None and not record.figures.size_known:
            unknown.append(target.name)
        records.append(record)
    if unknown:
        warn(
            f"slim: note: {spec}: the content size of {', '.join(unknown)} is unknown (its"
            " layers were never measured here): compared by compressed size only"
        )
    return _registry_report(spec, targets, records)


def _check_pattern(spec: str, pattern: str) -> None:
    names = _PLACEHOLDER.findall(pattern)
    strange = [n for n in names if n not in _PLACEHOLDERS]
    if strange or "{" in _PLACEHOLDER.sub("", pattern) or "}" in _PLACEHOLDER.sub("", pattern):
        raise UsageError(
            f"{spec}: placeholders are {{target}}, {{artifact}} and {{runtime}}"
            + (f", not {{{strange[0]}}}" if strange else "")
        )
    if not names:
        raise UsageError(
            f"{spec}: name each target's image with {{target}}, or {{artifact}} and"
            " {runtime}, e.g. registry:ghcr.io/acme/{artifact}:main-{runtime}"
        )


def _expand(spec: str, pattern: str, target: BaselineTarget) -> str:
    values = {"target": target.name, "artifact": target.artifact, "runtime": target.runtime}
    missing = [n for n in _PLACEHOLDER.findall(pattern) if values.get(n) is None]
    if missing:
        raise UsageError(f"{spec}: target {target.name!r} has no {missing[0]}; use {{target}}")
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), pattern)


def _registry_record(target: BaselineTarget, ref: str, info: ImageInfo) -> TargetRecord:
    from slim_bake.imageref import engine_layers

    base_id, base_layers = target.base_id, target.base_layers
    if base_layers is None and target.base_image not in (None, "scratch"):
        base_id, base_layers = engine_layers(str(target.base_image)) or (None, ())
    diff_ids = tuple(layer.diff_id for layer in info.layers)
    shared = len(base_layers or ()) if diff_ids[: len(base_layers or ())] == base_layers else 0
    known = all(layer.size is not None for layer in info.layers)
    layers = tuple(
        Layer(x.diff_id, x.size or 0, x.compressed, x.created_by, i < shared)
        for i, x in enumerate(info.layers)
    )
    figures = Figures(
        image=ref,
        image_id=info.image_id,
        base_image=target.base_image,
        base_id=base_id if shared else None,
        size=sum(layer.size for layer in layers) if known else 0,
        compressed=sum(layer.compressed for layer in layers),
        layers=layers,
        files=_largest(info, shared),
        size_known=known,
    )
    verdict = Verdict(Status.PASS)
    return TargetRecord(
        target.name,
        target.artifact,
        target.runtime,
        verdict,
        Budget(),
        figures,
        None,
        platform=target.platform,
    )


def _largest(info: ImageInfo, shared: int) -> FileList:
    """The image's own files (not the base's) from the cache, as a report lists them: the
    FILE_LIMIT largest, a path counted once (the last layer's). Not in the cache: an
    empty list that says it is incomplete, so that no file is called added."""
    from slim_bake.imageref import cached_files

    files = cached_files(info, shared)
    if files is None:
        return FileList(1, 0, "", ())
    final = {f.path: f for f in files}
    largest = sorted(final.values(), key=lambda f: (-f.size, f.path))[:FILE_LIMIT]
    return FileList(len(final), sum(f.size for f in final.values()), "", tuple(largest))


def _registry_report(
    spec: str, targets: Sequence[BaselineTarget], records: list[TargetRecord]
) -> Report:
    return Report(
        slim=__version__,
        created="",
        config_path=None,
        config_sha256=None,
        config_targets=tuple(dict.fromkeys(t.name for t in targets)),
        git=None,
        environment={},
        compression={"format": "blobs", "source": "registry"},
        targets=tuple(records),
        source=spec,
    )
