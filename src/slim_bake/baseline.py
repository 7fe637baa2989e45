"""Read a report to compare against: a file, or `git:REF[:PATH]` (a report committed
at REF, read with git itself, without checking anything out).

PATH follows git's own rule: from the repository's top, or from slim.yaml's folder
when it starts with ./ or ../; the default is ./slim-report.json, the report beside
slim.yaml. A report of another format version, a corrupt one, a missing file, ref or
path is a usage or configuration error (exit 2) whose message says what to do.

A report is read only from a regular file of at most REPORT_LIMIT bytes, nested at most
MAX_DEPTH deep, with integers of at most 30 digits and no NaN or Infinity: so that any
report the schema accepts is one slim can compare, in bounded time and memory."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema

from slim_bake import __version__, presets
from slim_bake.errors import ConfigError, Diagnostic, UsageError
from slim_bake.loader import MAX_DEPTH, Document, decode_utf8, locate_json, read_limited
from slim_bake.report_doc import FORMAT, VERSION, Report, report_from_json

DEFAULT_REPORT = "slim-report.json"
GIT_PREFIX = "git:"
REPORT_LIMIT = 16 << 20  # bytes: a report of 100 targets is about 2 MB
LOCATE_LIMIT = 1 << 20  # a larger report's errors are told without line numbers (speed)
INT_DIGITS = 30  # a size in bytes has at most 20


def load_report(spec: str, directory: Path) -> Report:
    """The report `spec` names: a file path, or git:REF[:PATH] in `directory`'s repository."""
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
    validator = jsonschema.Draft202012Validator(presets.schema("report"))
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.path])
    if errors:
        doc = _located(text, name, data)
        raise ConfigError([_diagnostic(doc, error) for error in errors[:20]])
    return report_from_json(data, name)


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
    if _git(directory, "rev-parse", "--is-inside-work-tree")[0] != 0:
        raise UsageError(f"{name}: {directory} is not inside a git repository")
    code, _, _ = _git(directory, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if code != 0:
        raise UsageError(
            f"{name}: no commit {ref!r} in this repository; fetch it first (git fetch origin"
            f" {ref}; in GitHub Actions check out with fetch-depth: 0)"
        )
    code, out, err = _git(directory, "cat-file", "-s", f"{ref}:{path}")
    if code != 0:
        raise UsageError(
            f"{name}: {ref} has no file {path} ({_first_line(err)}); commit a report there"
            f" (slim bake --write-report {DEFAULT_REPORT}) or name its path: git:{ref}:PATH"
        )
    if int(out.strip() or 0) > REPORT_LIMIT:  # asked first: a blob is read whole
        raise _corrupt(name, f"larger than {REPORT_LIMIT // 1024} KiB: not read")
    code, out, err = _git(directory, "cat-file", "blob", f"{ref}:{path}")
    if code != 0:
        raise UsageError(f"{name}: cannot read {path} at {ref} ({_first_line(err)})")
    return decode_utf8(out, name), name


def _git(directory: Path, *args: str) -> tuple[int, bytes, str]:
    try:
        done = subprocess.run(["git", *args], cwd=directory, capture_output=True, check=False)
    except FileNotFoundError:
        raise UsageError("a git: baseline needs git, which is not on PATH") from None
    except OSError as exc:
        raise UsageError(f"cannot run git in {directory}: {exc.strerror}") from None
    return done.returncode, done.stdout, done.stderr.decode("utf-8", "replace")


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0].removeprefix("fatal: ") if lines else "git failed"
