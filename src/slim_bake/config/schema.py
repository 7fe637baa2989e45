"""Validation, first half: slim.yaml (or a report) against its JSON Schema, each
complaint worded for a human and located at the value (or key) it is about."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import jsonschema

from slim_bake import presets
from slim_bake.config.problems import did_you_mean
from slim_bake.errors import Diagnostic
from slim_bake.loader import Document, PathKey


def schema_check(doc: Document, schema_name: str) -> tuple[list[Diagnostic], set[PathKey]]:
    """The schema's complaints, and the paths of the values it refused."""
    validator = _Validator(presets.schema(schema_name))
    errors = sorted(validator.iter_errors(doc.data), key=lambda e: [str(p) for p in e.path])
    problems = [d for error in errors for d in _describe(doc, error)]
    return problems, {tuple(error.absolute_path) for error in errors}


def _pattern(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterable[jsonschema.ValidationError]:
    """`pattern` with ECMA-262's `$` (the end of the text), as JSON Schema means it:
    jsonschema uses Python's re.search, whose `$` also matches before a final newline,
    so "hello\n" passed every `^...$` pattern and a newline reached the files."""
    if not isinstance(instance, str):
        return
    strict = (
        pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith("\\$") else pattern
    )
    if not re.search(strict, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


_Validator = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft202012Validator, {"pattern": _pattern}
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
