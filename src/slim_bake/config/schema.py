"""Validation, first half: slim.yaml (or a report) against its JSON Schema, each
complaint worded for a human and located at the value (or key) it is about.

A document that passed is remembered by a fingerprint of its values (with their types)
and of the schema, in the cache directory: the same document passes again without
importing jsonschema, a third of every command's start-up (0.08 s of 0.3 s). Only a
pass is remembered; a changed document, schema or slim is validated again. The cache
directory is trusted as slim's own files are (like the measured layers in it)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slim_bake import __version__, presets
from slim_bake.cachedir import cache_dir
from slim_bake.config.problems import did_you_mean
from slim_bake.errors import Diagnostic
from slim_bake.loader import Document, PathKey

if TYPE_CHECKING:
    import jsonschema

VERDICTS = "schema-passed-v1"


def schema_check(doc: Document, schema_name: str) -> tuple[list[Diagnostic], set[PathKey]]:
    """The schema's complaints, and the paths of the values it refused."""
    schema = presets.schema(schema_name)
    passed = _verdict_path(doc.data, schema)
    if passed is not None and passed.is_file():
        return [], set()
    validator = _validator()(schema)
    errors = sorted(validator.iter_errors(doc.data), key=lambda e: [str(p) for p in e.path])
    problems = [d for error in errors for d in _describe(doc, error)]
    return problems, {tuple(error.absolute_path) for error in errors}


def remember_pass(doc: Document, schema_name: str) -> None:
    """Remember that `doc` passed: called once every check passed, so that a document
    with any problem leaves nothing behind, not even in the cache."""
    passed = _verdict_path(doc.data, presets.schema(schema_name))
    if passed is not None and not passed.is_file():
        _remember(passed)


def _verdict_path(data: Any, schema: dict[str, Any]) -> Path | None:
    """Where a pass of `data` against `schema` is remembered; None when it cannot be
    (a value of a type JSON lacks: it is validated every time)."""
    try:
        text = json.dumps([__version__, schema, _typed(data)], sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        return None
    return cache_dir() / VERDICTS / hashlib.sha256(text.encode()).hexdigest()


def _typed(value: Any) -> Any:
    """`value` with each scalar's type beside it and each mapping as sorted pairs: 1,
    "1", 1.0 and True, as keys or values, give different fingerprints."""
    if isinstance(value, dict):
        pairs = [[_typed(k), _typed(v)] for k, v in value.items()]
        return ["map", sorted(pairs, key=lambda pair: json.dumps(pair, sort_keys=True))]
    if isinstance(value, list):
        return ["seq", [_typed(item) for item in value]]
    if value is None or isinstance(value, bool | int | float | str):
        return [type(value).__name__, value]
    raise TypeError(type(value).__name__)


def _remember(path: Path) -> None:
    # The file's existence is the verdict: an empty file needs no atomic write. Best
    # effort: a read-only or full cache only means validating again next time.
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()


@cache
def _validator() -> Any:
    import jsonschema

    def pattern(
        validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
    ) -> Iterable[jsonschema.ValidationError]:
        """`pattern` with ECMA-262's `$` (the end of the text), as JSON Schema means it:
        jsonschema uses Python's re.search, whose `$` also matches before a final newline,
        so "hello\n" passed every `^...$` pattern and a newline reached the files."""
        if not isinstance(instance, str):
            return
        strict = (
            pattern[:-1] + r"\Z"
            if pattern.endswith("$") and not pattern.endswith("\\$")
            else pattern
        )
        if not re.search(strict, instance):
            yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")

    return jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        jsonschema.Draft202012Validator, {"pattern": pattern}
    )


def _describe(doc: Document, error: jsonschema.ValidationError) -> Iterable[Diagnostic]:
    path: PathKey = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = schema.get("properties", {})
        for key in error.instance:
            if key not in allowed:
                hint = did_you_mean(str(key), allowed)
                yield doc.diagnostic((*path, key), f"unknown field {key!r}{hint}", at_key=True)
        return
    if error.validator == "required":
        yield doc.diagnostic(path, error.message.replace("is a required property", "is required"))
        return
    if error.validator == "oneOf" and error.context:
        # Report the alternative that got furthest rather than "is not valid under any".
        # The branch of the instance's own type went furthest: its deepest error.
        candidates = [e for e in error.context if e.validator not in ("type", "const")]
        if candidates:
            yield from _describe(doc, max(candidates, key=lambda e: len(e.absolute_path)))
            return
    yield doc.diagnostic(path, _message(error))


def _message(error: jsonschema.ValidationError) -> str:
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    value = error.instance
    if error.validator == "pattern" or error.validator == "oneOf":
        return f"{value!r} is not valid" + (f": {description}" if description else "")
    if error.validator == "type":
        return f"expected {error.validator_value}, got {type(value).__name__} {value!r}"
    if error.validator == "const":
        return f"must be {error.validator_value!r}, not {value!r}"
    if error.validator == "enum":
        choices = error.validator_value if isinstance(error.validator_value, list) else []
        return f"{value!r} must be one of {', '.join(map(str, choices))}"
    return error.message
