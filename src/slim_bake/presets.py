"""The presets: data files shipped in slim_bake/presets, each read once into typed,
frozen records that config, plan, render and detect read by field.

Adding a runtime is an entry in runtimes.yaml (and, for a new image, one in bases.yaml).
Adding a language is an entry in languages.yaml (vars, a recipe per flavour, profiles)
and its build settings in schemas/slim.schema.json (`$defs.build`, which refuses unknown
keys); `slim init` finds it once init.yaml has a rule for it.

This module is the floor of the package: it imports no other slim_bake module."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal, cast

import yaml

VarKind = Literal["args", "word", "globs", "text"]
MergeMode = Literal["append", "replace"]
VarValue = str | tuple[str, ...]  # a text var, or the items of a list var
# A runtime's shared-library closure: none, all of it (scratch), or the part the base
# lacks (the base's `provides`).
ClosureMode = Literal["none", "all", "beyond-base"]


@dataclass(frozen=True)
class Base:
    """An image slim builds on or from: a preset of bases.yaml, or one slim.yaml overrode."""

    name: str
    image: str  # "scratch" for the empty image
    setup: str | None = None
    vars: dict[str, str] = field(default_factory=dict)
    packager: str | None = None  # apt | apk: installs build.packages
    # Shared libraries the image has, as soname patterns (fnmatch / shell `case`): a
    # `closure: beyond-base` runtime on it copies the rest of a program's closure.
    provides: tuple[str, ...] = ()
    # The platforms the image offers (linux/amd64); empty: any (the official images
    # slim names are multi-platform). A runtime base that lacks one of slim.yaml's
    # `platforms:` is refused when slim bakes them all.
    platforms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Runtime:
    """runtimes.yaml: where an artifact runs."""

    name: str
    description: str
    flavour: str  # the build (libc and linking) the runtime needs
    base: str | None  # a base's name; None: the toolchain image itself (single stage)
    shell: bool
    closure: ClosureMode = "none"  # which part of the program's shared-library closure it gets
    nonroot: bool = False  # the base image has the nonroot user already (distroless)
    # `assert:` fields every artifact on this runtime gets unless slim.yaml overrides them
    assert_defaults: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Var:
    """A placeholder of a language's build commands."""

    kind: VarKind
    default: VarValue
    merge: MergeMode = "append"  # what a plain list in slim.yaml's `build:` does
    internal: bool = False  # set by the flavours only; not a build setting


@dataclass(frozen=True)
class Flavour:
    """How a language builds one flavour (libc and linking)."""

    toolchain: str  # a base's name
    vars: dict[str, tuple[str, ...]] = field(default_factory=dict)  # come first, always
    env: dict[str, str] = field(default_factory=dict)
    steps: tuple[str, ...] = ()
    output: str | None = None  # where executable {name} is after the steps
    # How the build stage builds for another platform on the build platform; None: this
    # flavour builds only for the platform it runs on.
    cross: Cross | None = None


@dataclass(frozen=True)
class Cross:
    """A flavour's cross build (languages.yaml `cross:`)."""

    # Each env variable from a build argument BuildKit sets (GOARCH from TARGETARCH).
    env: dict[str, str] = field(default_factory=dict)
    toolchain: str | None = None  # the base whose image has the cross tools (else the flavour's)
    # TARGETARCH → the GNU triplet that names its tools (arm64: aarch64-linux-gnu-gcc) ...
    triplets: dict[str, str] = field(default_factory=dict)
    tools: tuple[str, ...] = ()  # ... for these vars (cc, cxx, strip): run as <triplet>-<tool>
    # The build commands and the program's place when they differ from the native build's
    # (cargo's --target and target/<triple>/release); empty, None: the flavour's.
    steps: tuple[str, ...] = ()
    output: str | None = None
    # False: `build.packages` cannot serve this cross build (the musl one: the cross base's
    # packages are glibc libraries), which then builds natively only.
    packages: bool = True


@dataclass(frozen=True)
class BuildSystem:
    """`build.system` of a language that has several (c, cpp)."""

    steps: tuple[str, ...]
    install: tuple[str, ...] | None = None  # run when `build.install` (or install_default)
    install_default: bool = False
    output: str | None = None  # where executable {name} is without install
    installed: str | None = None  # ... and after install


@dataclass(frozen=True)
class Profile:
    """A size profile: vars added to the language's, env, and post steps per executable."""

    vars: dict[str, VarValue] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    post: tuple[str, ...] = ()


@dataclass(frozen=True)
class Language:
    name: str
    vars: dict[str, Var]
    flavours: dict[str, Flavour]
    profiles: dict[str, Profile]
    words: dict[str, tuple[str, ...]] = field(default_factory=dict)  # one word of several vars
    systems: dict[str, BuildSystem] | None = None  # None: the flavours' steps build
    mounts: tuple[str, ...] = ()  # cache mounts of the build (templates)
    # Sonames a dynamic program of the language needs beyond libc (C++: libstdc++,
    # libgcc_s): whether a `closure: beyond-base` runtime needs a closure stage at all.
    libraries: tuple[str, ...] = ()

    @property
    def settings(self) -> set[str]:
        """The vars an artifact's `build:` may set."""
        return {name for name, var in self.vars.items() if not var.internal}

    def places_every_executable(self, system: str) -> bool:
        """Whether the build puts every executable at a known place (a build system's
        install folder, cargo's target folder) rather than only the binary."""
        if self.systems is not None:
            chosen = self.systems.get(system)
            return chosen is not None and chosen.output is not None
        return all(flavour.output is not None for flavour in self.flavours.values())


@dataclass(frozen=True)
class Packager:
    """packagers.yaml: how a toolchain base installs `build.packages`."""

    mounts: tuple[str, ...]
    steps: tuple[str, ...]  # {packages}: the quoted package names


@dataclass(frozen=True)
class DetectRule:
    lang: str
    system: str
    files: tuple[str, ...] = ()
    globs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Detection:
    """init.yaml: how `slim init` recognises a repository and what it writes."""

    rules: tuple[DetectRule, ...]
    cpp_globs: tuple[str, ...]
    c_globs: tuple[str, ...]
    runtimes: dict[str, tuple[str, ...]]
    smoke: tuple[tuple[str, ...], ...]
    headroom: float


# --- Reading the data files ------------------------------------------------------------


def _text(folder: str, name: str) -> str:
    return resources.files("slim_bake").joinpath(folder, name).read_text(encoding="utf-8")


def _yaml(name: str) -> dict[str, Any]:
    # Our own trusted data, read on every start: libyaml's loader when PyYAML has it
    # (the pure-Python one took 0.2 s of a 0.6 s `slim validate`).
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(_text("presets", name), Loader=loader)  # noqa: S506 (a safe loader)
    assert isinstance(data, dict)
    return data


def _strings(items: Any) -> tuple[str, ...]:
    return tuple(str(item) for item in items or ())


def _value(value: Any) -> VarValue:
    return _strings(value) if isinstance(value, list) else str(value)


@cache
def runtimes() -> dict[str, Runtime]:
    return {
        name: Runtime(
            name=name,
            description=spec["description"],
            flavour=spec["flavour"],
            base=spec["base"],
            shell=bool(spec["shell"]),
            closure=_closure_mode(spec.get("closure", False)),
            nonroot=bool(spec.get("nonroot", False)),
            assert_defaults=dict(spec.get("assert_defaults", {})),
        )
        for name, spec in _yaml("runtimes.yaml").items()
    }


def _closure_mode(value: bool | str) -> ClosureMode:
    """runtimes.yaml's `closure`: true (all), false (none) or beyond-base."""
    if isinstance(value, bool):
        return "all" if value else "none"
    assert value == "beyond-base", value
    return "beyond-base"


@cache
def bases() -> dict[str, Base]:
    return {
        name: Base(
            name,
            spec["image"],
            spec.get("setup"),
            dict(spec.get("vars", {})),
            spec.get("packager"),
            _strings(spec.get("provides")),
            _strings(spec.get("platforms")),
        )
        for name, spec in _yaml("bases.yaml").items()
    }


@cache
def languages() -> dict[str, Language]:
    return {name: _language(name, spec) for name, spec in _yaml("languages.yaml").items()}


def _language(name: str, spec: dict[str, Any]) -> Language:
    systems = spec.get("systems")
    return Language(
        name=name,
        vars={key: _var(var) for key, var in spec["vars"].items()},
        flavours={key: _flavour(flavour) for key, flavour in spec["flavours"].items()},
        profiles={key: profile(value) for key, value in spec["profiles"].items()},
        words={key: _strings(parts) for key, parts in spec.get("words", {}).items()},
        systems=None if systems is None else {k: _system(v) for k, v in systems.items()},
        mounts=_strings(spec.get("mounts")),
        libraries=_strings(spec.get("libraries")),
    )


def _var(spec: dict[str, Any]) -> Var:
    return Var(
        kind=spec["kind"],
        default=_value(spec["default"]),
        merge=spec.get("merge", "append"),
        internal=bool(spec.get("internal", False)),
    )


def _flavour(spec: dict[str, Any]) -> Flavour:
    return Flavour(
        toolchain=spec["toolchain"],
        vars={key: _strings(value) for key, value in spec.get("vars", {}).items()},
        env=dict(spec.get("env", {})),
        steps=_strings(spec.get("steps")),
        output=spec.get("output"),
        cross=_cross(spec["cross"]) if "cross" in spec else None,
    )


def _cross(spec: dict[str, Any]) -> Cross:
    return Cross(
        env={str(k): str(v) for k, v in spec.get("env", {}).items()},
        toolchain=spec.get("toolchain"),
        triplets={str(k): str(v) for k, v in spec.get("triplets", {}).items()},
        tools=_strings(spec.get("tools")),
        steps=_strings(spec.get("steps")),
        output=spec.get("output"),
        packages=bool(spec.get("packages", True)),
    )


def _system(spec: dict[str, Any]) -> BuildSystem:
    install = spec.get("install")
    return BuildSystem(
        steps=_strings(spec["steps"]),
        install=None if install is None else _strings(install),
        install_default=bool(spec.get("install_default", False)),
        output=spec.get("output"),
        installed=spec.get("installed"),
    )


def profile(spec: dict[str, Any]) -> Profile:
    """A profile of languages.yaml or of slim.yaml's `profiles:` (validated)."""
    return Profile(
        vars={key: _value(value) for key, value in spec.get("vars", {}).items()},
        env=dict(spec.get("env", {})),
        post=_strings(spec.get("post")),
    )


@cache
def packagers() -> dict[str, Packager]:
    return {
        name: Packager(_strings(spec["mounts"]), _strings(spec["steps"]))
        for name, spec in _yaml("packagers.yaml").items()
    }


@cache
def detection() -> Detection:
    """How `slim init` recognises a repository (presets/init.yaml)."""
    spec = _yaml("init.yaml")
    rules = tuple(
        DetectRule(r["lang"], r["system"], _strings(r.get("files")), _strings(r.get("globs")))
        for r in spec["rules"]
    )
    return Detection(
        rules=rules,
        cpp_globs=_strings(spec["cpp_globs"]),
        c_globs=_strings(spec["c_globs"]),
        runtimes={lang: _strings(names) for lang, names in spec["runtimes"].items()},
        smoke=tuple(_strings(args) for args in spec["smoke"]),
        headroom=float(spec["headroom"]),
    )


@cache
def closure_script() -> str:
    return _text("presets", "closure.sh")


@cache
def schema(name: str = "slim") -> dict[str, Any]:
    data = json.loads(schema_text(name))
    assert isinstance(data, dict)
    return cast(dict[str, Any], data)


def schema_text(name: str = "slim") -> str:
    return _text("schemas", f"{name}.schema.json")
