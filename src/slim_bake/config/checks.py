"""Validation, second half: what JSON Schema cannot say about slim.yaml — names that must
be presets (languages, runtimes, bases, profiles, build systems), settings that depend on
the language, executables and links, budgets' units, target names. Each check reports
to a Problems collector, at the line and column of the value (or key) it is about, and
looks only at what the schema accepted."""

from __future__ import annotations

import string
from typing import Any

from slim_bake import presets
from slim_bake.config.model import (
    CUSTOM_LANGUAGE,
    DEBUG_SUFFIX,
    RESERVED_NAMES,
    Base,
    override_base,
    split_runtime,
)
from slim_bake.config.problems import Problems, did_you_mean
from slim_bake.config.shell import stage_name_problem
from slim_bake.loader import PathKey
from slim_bake.units import parse_growth, parse_size

# Settings every language's `build:` takes, beside its own vars.
COMMON_SETTINGS = {"env", "packages", "secrets", "ssh", "outputs"}
SYSTEM_SETTINGS = {"system", "install"}  # of a language with build systems


def check_lang(p: Problems, lang: str, where: PathKey) -> None:
    languages = presets.languages()
    if lang not in languages:
        hint = did_you_mean(lang, languages)
        p.fail(where, f"{lang!r} is not a language{hint} ({', '.join(languages)})")


def check_runtimes(p: Problems, names: list[str], where: PathKey) -> tuple[str, ...]:
    """The runtimes that are presets (or their -debug companions), each once."""
    known = presets.runtimes()
    seen: set[str] = set()
    valid: list[str] = []
    for i, name in enumerate(names):
        base, debug = split_runtime(name)
        if name in seen:
            p.fail((*where, i), f"{name!r} is listed twice")
        elif base not in known:
            choices = [*known, *(f"{r}{DEBUG_SUFFIX}" for r in known if not known[r].shell)]
            p.fail((*where, i), f"{name!r} is not a runtime{did_you_mean(name, choices)}")
        elif debug and known[base].shell:
            p.fail((*where, i), f"{base!r} has a shell already: it has no -debug companion")
        else:
            valid.append(name)
        seen.add(name)
    return tuple(valid)


def check_bases(
    p: Problems, spec: dict[str, Any], where: PathKey, inherited: dict[str, Base]
) -> dict[str, Base]:
    """`bases:` overrides only existing bases, with images that are not stage names and
    setup commands that stay one line; the bases they make (for the later checks)."""
    result = dict(inherited)
    for name, value in spec.items():
        if name == "scratch":
            message = "'scratch' is the empty image and cannot be replaced"
            p.fail((*where, name), message, at_key=True)
            continue
        if name not in inherited:
            hint = did_you_mean(name, inherited)
            p.fail((*where, name), f"{name!r} is not a base{hint}", at_key=True)
            continue
        base = override_base(inherited[name], value)
        image_at: PathKey = (*where, name) if isinstance(value, str) else (*where, name, "image")
        if problem := stage_name_problem(base.image):
            p.fail(image_at, problem)
        p.shell(value.get("setup") if isinstance(value, dict) else None, (*where, name, "setup"))
        result[name] = base
    return result


# --- Profiles -----------------------------------------------------------------------------


def check_profile_definitions(p: Problems, spec: dict[str, Any]) -> dict[str, list[str]]:
    """slim.yaml's `profiles:`; the profile names each language then has."""
    languages = presets.languages()
    names = {lang: list(language.profiles) for lang, language in languages.items()}
    for lang, profiles in spec.items():
        if lang not in languages:
            hint = did_you_mean(lang, languages)
            p.fail(("profiles", lang), f"{lang!r} is not a language{hint}", at_key=True)
            continue
        for name, profile in profiles.items():
            _check_profile(p, languages[lang], profile, ("profiles", lang, name))
            if name not in names[lang]:
                names[lang].append(name)
    return names


def _check_profile(
    p: Problems, language: presets.Language, profile: dict[str, Any], where: PathKey
) -> None:
    kinds = language.vars
    for name, value in profile.get("vars", {}).items():
        if name not in kinds:
            hint = did_you_mean(name, kinds)
            p.fail((*where, "vars", name), f"{name!r} is not a variable of {language.name}{hint}")
        elif isinstance(value, list) != (kinds[name].kind != "text"):
            shape = "a string" if kinds[name].kind == "text" else "a list"
            p.fail((*where, "vars", name), f"{name!r} takes {shape}")
    known = {*kinds, "out", "binary"}
    for i, step in enumerate(profile.get("post", [])):
        p.shell(step, (*where, "post", i))
        _check_placeholders(p, step, known, (*where, "post", i))


def _check_placeholders(p: Problems, step: str, known: set[str], where: PathKey) -> None:
    try:
        parsed = [(f, s, c) for _, f, s, c in string.Formatter().parse(step) if f is not None]
    except ValueError as exc:
        p.fail(where, f"{step!r}: {exc} (write a literal brace as {{{{)")
        return
    # plan fills only {name}: a conversion or format spec would fail there.
    if any(spec or conversion for _, spec, conversion in parsed):
        p.fail(where, "a placeholder is {name}, with no !conversion or :format")
        return
    for unknown in sorted({f for f, _, _ in parsed} - known):
        p.fail(where, f"unknown placeholder {{{unknown}}}; known: {sorted(known)}")


def check_profile_choice(
    p: Problems,
    spec: str | dict[str, str],
    runtimes: tuple[str, ...],
    lang: str,
    available: list[str] | None,
    where: PathKey,
) -> None:
    """An artifact's `profile:`, one name or per runtime; `available`: the profiles of
    `lang`, None for an unknown language."""
    named = {(): spec} if isinstance(spec, str) else {(k,): v for k, v in spec.items()}
    for key, name in named.items():
        if key and key[0] != "*" and key[0] not in runtimes:
            message = f"{key[0]!r} is not one of this artifact's runtimes"
            p.fail((*where, *key), message, at_key=True)
        if available is not None and name not in available:
            hint = did_you_mean(name, available)
            p.fail((*where, *key), f"{name!r} is not a profile of {lang}{hint}")


# --- Build settings -----------------------------------------------------------------------


def check_build(
    p: Problems, lang: str, build: dict[str, Any], runtimes: tuple[str, ...], where: PathKey
) -> None:
    """`build:` holds only settings of the language, a known build system, and for a
    custom build a command per flavour the runtimes need."""
    language = presets.languages().get(lang)
    if language is None:
        return
    allowed = language.settings | COMMON_SETTINGS
    if language.systems is not None:
        allowed |= SYSTEM_SETTINGS
    if lang == CUSTOM_LANGUAGE:
        allowed |= set(language.flavours)
    for key in build:
        if key not in allowed:
            p.fail((*where, key), f"{key!r} is not a build setting of {lang}", at_key=True)
    _check_system(p, language, build, where)
    if lang == CUSTOM_LANGUAGE:
        _check_custom(p, language, build, runtimes, where)


def _check_system(
    p: Problems, language: presets.Language, build: dict[str, Any], where: PathKey
) -> None:
    system = build.get("system")
    systems = language.systems
    if systems is not None and system is not None and system not in systems:
        hint = did_you_mean(system, systems)
        p.fail((*where, "system"), f"{system!r} is not a build system of {language.name}{hint}")
    if "install" in build and build.get("system", "sources") == "sources":
        p.fail((*where, "install"), "install needs a build system (make, cmake, ...)")


def _check_custom(
    p: Problems,
    language: presets.Language,
    build: dict[str, Any],
    runtimes: tuple[str, ...],
    where: PathKey,
) -> None:
    for flavour in sorted(set(language.flavours) & set(build)):
        if isinstance(build[flavour], dict):
            p.shell(build[flavour].get("command"), (*where, flavour, "command"))
    for i, runtime in enumerate(runtimes):
        preset = presets.runtimes().get(split_runtime(runtime)[0])
        needed = preset.flavour if preset else None
        if needed and needed not in build:
            p.fail(
                (*where[:-1], "runtimes", i),
                f"runtime {runtime!r} needs a {needed} build: add build.{needed}"
                " with command and output",
            )


def check_toolchains(
    p: Problems, build: dict[str, Any], bases: dict[str, Base], where: PathKey
) -> None:
    for flavour, spec in build.items():
        toolchain = spec.get("toolchain") if isinstance(spec, dict) else None
        if toolchain is not None and (toolchain not in bases or toolchain == "scratch"):
            hint = did_you_mean(toolchain, [b for b in bases if b != "scratch"])
            p.fail((*where, flavour, "toolchain"), f"{toolchain!r} is not a base{hint}")


def check_packages(
    p: Problems,
    lang: str,
    build: dict[str, Any],
    runtimes: tuple[str, ...],
    bases: dict[str, Base],
    where: PathKey,
) -> None:
    """build.packages needs a toolchain base that says how to install them."""
    language = presets.languages().get(lang)
    if not build.get("packages") or language is None:
        return
    for runtime in runtimes:
        flavour = presets.runtimes()[split_runtime(runtime)[0]].flavour
        toolchain = language.flavours[flavour].toolchain
        custom = build.get(flavour)
        if isinstance(custom, dict):
            toolchain = custom.get("toolchain", toolchain)
        base = bases.get(toolchain)
        if base is not None and base.packager not in presets.packagers():
            p.fail(
                (*where, "build", "packages"),
                f"base {toolchain!r} (for {runtime}) has no packager:"
                f" set bases.{toolchain}.packager to apt or apk",
            )


def check_executables(
    p: Problems,
    lang: str,
    binary: str,
    executables: tuple[str, ...],
    spec: dict[str, Any],
    where: PathKey,
) -> None:
    """Every executable has a place to be copied from, links name executables."""
    names = (binary, *executables)
    if binary in executables:
        i = executables.index(binary)
        p.fail((*where, "executables", i), f"{binary!r} is the binary already")
    build = spec.get("build", {})
    outputs = build.get("outputs", {})
    for key in outputs:
        if key not in names:
            hint = did_you_mean(key, names)
            message = f"{key!r} is neither the binary nor one of `executables`{hint}"
            p.fail((*where, "build", "outputs", key), message, at_key=True)
    language = presets.languages().get(lang)
    if language is None:
        return
    templated = language.places_every_executable(build.get("system", "sources"))
    for i, name in enumerate(executables):
        if name not in outputs and not templated:
            p.fail(
                (*where, "executables", i),
                f"where is {name!r} after the build? name it in build.outputs"
                " (this build makes only the binary)",
            )
    _check_links(p, spec.get("links", {}), names, where)


def _check_links(
    p: Problems, links: dict[str, str], names: tuple[str, ...], where: PathKey
) -> None:
    for link, target in links.items():
        if target not in names:
            hint = did_you_mean(target, names)
            p.fail((*where, "links", link), f"{target!r} is not an executable{hint}")
        if link in names:
            p.fail((*where, "links", link), f"{link!r} is an executable", at_key=True)


# --- Budgets, runtime contents, names -------------------------------------------------


def check_budgets(
    p: Problems,
    spec: dict[str, Any],
    runtimes: tuple[str, ...],
    where: PathKey,
    platforms: tuple[str, ...] = (),
) -> None:
    """Budgets name the artifact's runtimes ("*": all), slim.yaml's `platforms`, and
    sizes in known units."""
    for key in spec:
        if key != "*" and key not in runtimes:
            hint = did_you_mean(key, runtimes)
            message = f"{key!r} is not one of this artifact's runtimes{hint}"
            p.fail((*where, key), message, at_key=True)
    for key, entry in spec.items():
        for platform in (entry.get("platforms") or {}) if isinstance(entry, dict) else ():
            if platform not in platforms:
                listed = ", ".join(platforms) or "none"
                message = f"{platform!r} is not one of slim.yaml's platforms ({listed})"
                p.fail((*where, key, "platforms", platform), message, at_key=True)
    for runtime in runtimes:
        merged = {**spec.get("*", {}), **spec.get(runtime, {})}
        _check_budget(p, merged, (*where, runtime if runtime in spec else "*"))


def check_assert_keys(
    p: Problems, spec: dict[str, Any], runtimes: tuple[str, ...], where: PathKey
) -> None:
    """`assert:` is keyed as `budgets:` is: the artifact's runtimes, "*" for all."""
    for key in spec:
        if key != "*" and key not in runtimes:
            hint = did_you_mean(key, runtimes)
            message = f"{key!r} is not one of this artifact's runtimes{hint}"
            p.fail((*where, key), message, at_key=True)


def _check_budget(p: Problems, spec: dict[str, Any], where: PathKey) -> None:
    for key, parse in (("max", parse_size), ("max_compressed", parse_size)):
        if key in spec:
            try:
                parse(spec[key])
            except ValueError as exc:
                p.fail((*where, key), str(exc))
    if "max_growth" in spec:
        try:
            parse_growth(spec["max_growth"])
        except ValueError as exc:
            p.fail((*where, "max_growth"), str(exc))
    for platform, entry in (spec.get("platforms") or {}).items():
        _check_budget(p, {**entry, "platforms": None}, (*where, "platforms", platform))


def check_runtime_contents(p: Problems, spec: dict[str, Any], where: PathKey) -> None:
    """`runtime.copy` sources: relative in the context, absolute in the build stage."""
    for i, item in enumerate(spec.get("copy", ())):
        from_build = item.get("from", "context") == "build"
        src = item["src"]
        if ".." in src.split("/"):
            p.fail((*where, "copy", i, "src"), f"{src!r} must not contain '..'")
        elif from_build != src.startswith("/"):
            need = "absolute (a path in the build stage)" if from_build else "relative"
            p.fail((*where, "copy", i, "src"), f"{src!r} must be {need}")


def check_names(p: Problems, artifacts: dict[str, tuple[str, ...]]) -> None:
    """Targets and groups share bake's namespace: no name may mean two things.
    `artifacts`: each artifact's name and its valid runtimes."""
    owners: dict[str, str] = {n: "a name slim reserves" for n in RESERVED_NAMES}
    for runtime in sorted({r for runtimes in artifacts.values() for r in runtimes}):
        owners.setdefault(runtime, f"the group of runtime {runtime!r}")
    for name in artifacts:
        if name in owners:
            message = f"artifact name {name!r} collides with {owners[name]}"
            p.fail(("artifacts", name), message, at_key=True)
        owners[name] = f"the group of artifact {name!r}"
    for name, runtimes in artifacts.items():
        for i, runtime in enumerate(runtimes):
            target = f"{name}-{runtime}"
            if target in owners:
                p.fail(
                    ("artifacts", name, "runtimes", i),
                    f"target name {target!r} collides with {owners[target]}",
                )
            owners[target] = f"target {target!r}"
