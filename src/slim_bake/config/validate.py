"""Validation of a parsed slim.yaml: the JSON Schema, then the checks it cannot express
(checks.py, paths.py) on every part the schema accepted, so that one run tells every
problem. Nothing is resolved here; resolve.py runs only on a document that passed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from slim_bake.config import checks, paths
from slim_bake.config.model import Base, preset_bases
from slim_bake.config.problems import Problems
from slim_bake.config.schema import remember_pass, schema_check
from slim_bake.errors import ConfigError, Diagnostic
from slim_bake.loader import Document, PathKey


def validate(doc: Document, path: Path, root: Path) -> list[Diagnostic]:
    """Every problem of `doc` (slim.yaml at the resolved `path`), by line and column."""
    problems, broken = schema_check(doc, "slim")
    if problems and not isinstance(doc.data, dict):
        raise ConfigError(problems)
    p = Problems(doc, path, root, broken)
    _check_document(p)
    found = sorted([*problems, *p.found], key=lambda d: (d.line, d.column))
    if not found:
        remember_pass(doc, "slim")
    return found


def _check_document(p: Problems) -> None:
    output = p.section("output")
    bases = checks.check_bases(p, p.section("bases"), ("bases",), preset_bases())
    profiles = checks.check_profile_definitions(p, p.section("profiles"))
    specs = p.doc.data.get("artifacts")
    specs = specs if isinstance(specs, dict) else {}
    runtimes = {
        name: _check_artifact(p, name, spec, bases, profiles)
        for name, spec in specs.items()
        if p.sound("artifacts", name)
    }
    for name, spec in specs.items():
        if not p.sound("artifacts", name) and isinstance(spec, dict):
            _check_sound_fields(p, name, spec)
    checks.check_names(p, runtimes)
    dockerfiles = output.get("dockerfiles", "dockerfiles")
    bake = output.get("bake", "docker-bake.hcl")
    paths.check_relative(p, dockerfiles, "dockerfiles")
    paths.check_relative(p, bake, "bake")
    paths.check_outputs(p, Path(dockerfiles).as_posix(), Path(bake).as_posix())
    pins = p.doc.data.get("pins", "bases.Dockerfile")
    if isinstance(pins, str) and p.sound("pins"):
        paths.check_pins(p, Path(pins).as_posix(), Path(dockerfiles).as_posix(), bake)


def _check_artifact(
    p: Problems,
    name: str,
    spec: dict[str, Any],
    top_bases: dict[str, Base],
    profiles: dict[str, list[str]],
) -> tuple[str, ...]:
    """Check an artifact the schema accepted whole; its valid runtimes."""
    where: PathKey = ("artifacts", name)
    lang = spec["lang"]
    checks.check_lang(p, lang, (*where, "lang"))
    runtimes = checks.check_runtimes(p, spec["runtimes"], (*where, "runtimes"))
    build = spec.get("build", {})
    bases = checks.check_bases(p, spec.get("bases", {}), (*where, "bases"), top_bases)
    checks.check_build(p, lang, build, runtimes, (*where, "build"))
    checks.check_toolchains(p, build, bases, (*where, "build"))
    listed = p.doc.data.get("platforms")
    platforms = tuple(str(x) for x in listed) if isinstance(listed, list) else ()
    checks.check_budgets(p, spec.get("budgets", {}), runtimes, (*where, "budgets"), platforms)
    checks.check_assert_keys(p, spec.get("assert", {}), runtimes, (*where, "assert"))
    executables = tuple(spec.get("executables", ()))
    checks.check_executables(p, lang, spec.get("binary", name), executables, spec, where)
    checks.check_packages(p, lang, build, runtimes, bases, where)
    paths.check_context(p, spec.get("context", name), (*where, "context"))
    choice = spec.get("profile", "default")
    checks.check_profile_choice(p, choice, runtimes, lang, profiles.get(lang), (*where, "profile"))
    checks.check_runtime_contents(p, spec.get("runtime", {}), (*where, "runtime"))
    return runtimes


def _check_sound_fields(p: Problems, name: str, spec: dict[str, Any]) -> None:
    """An artifact the schema refused in part: still name its wrong language and
    runtimes, so that one run tells every problem."""
    where: PathKey = ("artifacts", name)
    lang = spec.get("lang")
    if p.sound(*where, "lang") and isinstance(lang, str):
        checks.check_lang(p, lang, (*where, "lang"))
    runtimes = spec.get("runtimes")
    if p.sound(*where, "runtimes") and isinstance(runtimes, list):
        checks.check_runtimes(p, runtimes, (*where, "runtimes"))
