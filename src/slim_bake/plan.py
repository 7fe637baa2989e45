"""The plan: one target for every artifact × runtime, with everything rendering needs
resolved from the presets and slim.yaml."""

from __future__ import annotations

import dataclasses
import fnmatch
import re
import shlex
from dataclasses import dataclass, field, replace
from typing import Any

from slim_bake import gitrepo, pinfile, presets
from slim_bake.config import (
    CUSTOM_LANGUAGE,
    Artifact,
    Assertions,
    Base,
    Budget,
    BuildSettings,
    Config,
    Profile,
    Smoke,
    merge_list,
    split_runtime,
)
from slim_bake.pinfile import Pin
from slim_bake.presets import BuildSystem, Cross, Flavour, Language, Runtime, VarValue

BINARY_DIR = "/usr/local/bin"
# Outside git (or for a context no commit touched) SOURCE_DATE_EPOCH is this: the same on
# every machine, where the newest mtime would depend on the checkout.
NO_COMMIT_EPOCH = 0


@dataclass(frozen=True)
class BuildSpec:
    """How the build stage makes the program: image, setup, env, mounts and steps."""

    flavour: str
    toolchain: Base
    env: dict[str, str]
    mounts: tuple[str, ...]
    steps: tuple[str, ...]  # shell commands, already quoted
    output: str  # where the steps leave the program (absolute, in the build stage)
    install: Install | None = None  # build.packages, installed before the sources are copied
    outputs: tuple[str, ...] = ()  # every executable in the build stage (the binary first)
    # slim.yaml lists several platforms and the flavour cross-compiles: env variable →
    # the build argument it is set from (GOARCH ← TARGETARCH); empty: native builds.
    cross: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    name: str  # <artifact>-<runtime>
    artifact: Artifact
    runtime: str  # as listed, e.g. scratch-musl-debug
    base_runtime: str  # scratch-musl
    debug: bool
    description: str
    build: BuildSpec
    base: Base | None  # None: single stage (the toolchain image itself)
    shell: bool
    closure: bool  # has a closure stage whose /closure the runtime stage copies
    closure_provided: tuple[str, ...]  # soname patterns the base has: left out of it
    rootfs: bool  # gets the switched-on files of `files:`
    busybox: Base | None  # the debug shell's source
    profile: str
    dockerfile: str  # relative to the config's directory
    tags: tuple[str, ...]
    labels: dict[str, str]
    budget: Budget
    smoke: Smoke | None

    nonroot_base: bool  # the base image has the nonroot user already (distroless)
    # The images its Dockerfile names (FROM, COPY --from) that the pins file pins.
    pins: tuple[Pin, ...] = ()
    asserts: Assertions = Assertions()  # `assert:` for this runtime

    @property
    def images(self) -> tuple[str, ...]:
        """Every image the target's Dockerfile names, scratch left out."""
        named = [self.build.toolchain.image]
        named += [self.base.image] if self.base is not None else []
        named += [self.busybox.image] if self.busybox is not None else []
        return tuple(i for i in dict.fromkeys(named) if i != "scratch")

    @property
    def runtime_base(self) -> str:
        """The FROM of the runtime stage as built: with the pinned digest when pinned
        ("scratch" for the empty image)."""
        image = self.base.image if self.base is not None else self.build.toolchain.image
        return next((pin.reference for pin in self.pins if pin.image == image), image)

    @property
    def entrypoint(self) -> str:
        if self.base is None:
            return self.build.output
        return f"{BINARY_DIR}/{self.artifact.binary}"

    @property
    def user(self) -> str | None:
        """runtime.user if set; else shell-less images run as nonroot (uid 65532) when
        the passwd switch is on."""
        if self.artifact.runtime.user:
            return self.artifact.runtime.user
        has_user = self.rootfs or self.nonroot_base
        return "65532:65532" if has_user and self.artifact.files.passwd else None


@dataclass(frozen=True)
class Plan:
    config: Config
    targets: tuple[Target, ...]
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    pins: dict[str, Pin] = field(default_factory=dict)  # image → its line of the pins file

    def select(self, names: list[str]) -> list[Target]:
        """Targets named directly or through a group, in plan order."""
        wanted: set[str] = set()
        for name in names:
            wanted.update(self.groups.get(name, (name,)))
        return [t for t in self.targets if t.name in wanted]


def source_date_epochs(plan: Plan, targets: list[Target]) -> dict[str, int]:
    """SOURCE_DATE_EPOCH of each target: the commit time of the last commit that touched
    its artifact's context (NO_COMMIT_EPOCH outside git), so that one commit gives one
    image digest on any machine. Asked once per context."""
    times: dict[str, int] = {}
    for context in dict.fromkeys(t.artifact.context for t in targets):
        found = gitrepo.last_commit_time(plan.config.directory, plan.config.directory / context)
        times[context] = NO_COMMIT_EPOCH if found is None else found
    return {t.name: times[t.artifact.context] for t in targets}


def make_plan(config: Config, pins: dict[str, Pin] | None = None) -> Plan:
    """The plan of `config`, with `pins` (default: read from its pins file)."""
    if pins is None:
        pins = pinfile.read(config.directory / config.pins_file, config.pins_file)
    targets = tuple(
        _pinned(_target(config, artifact, runtime), pins)
        for artifact in config.artifacts
        for runtime in artifact.runtimes
    )
    groups: dict[str, tuple[str, ...]] = {"default": tuple(t.name for t in targets)}
    for artifact in config.artifacts:
        groups[artifact.name] = tuple(t.name for t in targets if t.artifact is artifact)
    for runtime in dict.fromkeys(t.runtime for t in targets):
        groups[runtime] = tuple(t.name for t in targets if t.runtime == runtime)
    return Plan(config, targets, groups, pins)


def _pinned(target: Target, pins: dict[str, Pin]) -> Target:
    found = tuple(pins[image] for image in target.images if image in pins)
    return dataclasses.replace(target, pins=found) if found else target


def _target(config: Config, artifact: Artifact, runtime: str) -> Target:
    base_runtime, debug = split_runtime(runtime)
    preset: Runtime = presets.runtimes()[base_runtime]
    name = f"{artifact.name}-{runtime}"
    profile = artifact.profiles[runtime]
    base = artifact.bases[preset.base] if preset.base else None
    closure, provided = _closure(preset, base, presets.languages()[artifact.lang])
    return Target(
        name=name,
        artifact=artifact,
        runtime=runtime,
        base_runtime=base_runtime,
        debug=debug,
        description=preset.description + (" (with a busybox debug shell)" if debug else ""),
        build=build_spec(
            artifact,
            preset.flavour,
            config.profiles[artifact.lang][profile],
            _cross(config, artifact, preset.flavour, separate=base is not None, debug=debug),
        ),
        base=base,
        shell=preset.shell,
        closure=closure,
        closure_provided=provided,
        rootfs=preset.base == "scratch",
        nonroot_base=preset.nonroot,
        busybox=artifact.bases["busybox-static"] if debug else None,
        profile=profile,
        dockerfile=f"{config.dockerfiles_dir}/{name}.Dockerfile",
        tags=(_tag(config, artifact, runtime),),
        labels=_labels(artifact, runtime, preset.description),
        budget=artifact.budgets[runtime],
        smoke=artifact.smoke,
        asserts=artifact.asserts.get(runtime, Assertions()),
    )


def _closure(
    preset: Runtime, base: Base | None, language: Language
) -> tuple[bool, tuple[str, ...]]:
    """Whether the target gets a closure stage, and the libraries it leaves out (the
    base's). A beyond-base runtime needs one only if the language's programs need a
    library beyond libc that the base lacks: C on busybox:glibc stays base + program."""
    if preset.closure == "none" or base is None:
        return False, ()
    needed = preset.closure == "all" or any(
        not _provided(library, base.provides) for library in language.libraries
    )
    return needed, base.provides


def _provided(library: str, patterns: tuple[str, ...]) -> bool:
    # fnmatchcase matches as closure.sh's `case` does (*, ?, [...]).
    return any(fnmatch.fnmatchcase(library, pattern) for pattern in patterns)


def _tag(config: Config, artifact: Artifact, runtime: str) -> str:
    repository = f"{config.registry}/{artifact.name}" if config.registry else artifact.name
    return f"{repository}:{runtime}"


def _labels(artifact: Artifact, runtime: str, description: str) -> dict[str, str]:
    labels = {
        "org.opencontainers.image.title": artifact.name,
        "org.opencontainers.image.description": f"{artifact.name}: {description}",
        "io.slim-bake.artifact": artifact.name,
        "io.slim-bake.runtime": runtime,
    }
    labels.update(artifact.labels)
    return labels


# --- The build stage, from the language presets ----------------------------------------

OUT_DIR = "/out"


@dataclass(frozen=True)
class Install:
    """build.packages and how the toolchain base's packager installs them."""

    mounts: tuple[str, ...]  # --mount option values
    steps: tuple[str, ...]


def _cross(
    config: Config, artifact: Artifact, flavour: str, *, separate: bool, debug: bool
) -> Cross | None:
    """The build stage cross-compiles when slim.yaml lists several platforms and the
    language's flavour says how (languages.yaml `cross:`); custom builds never do."""
    recipe = presets.languages()[artifact.lang].flavours.get(flavour)
    if len(config.platforms) < 2 or artifact.lang == CUSTOM_LANGUAGE or recipe is None:
        return None
    if not separate or debug:
        return None  # the runtime is the build stage, or runs busybox while it is made
    if recipe.cross is not None and artifact.build.packages and not recipe.cross.packages:
        return None
    return recipe.cross


# Cross tools named by a GNU triplet: the build argument it is chosen from, and the
# shell variable the build script sets to it.
TRIPLET_ARG = "TARGETARCH"
TRIPLET_ENV = "SLIM_TARGETARCH"
TRIPLET_VAR = "SLIM_TRIPLET"


def _cross_env(cross: Cross | None) -> dict[str, str]:
    """The build stage's env variables from build arguments (empty: a native build)."""
    if cross is None:
        return {}
    return {**cross.env, **({TRIPLET_ENV: TRIPLET_ARG} if cross.triplets else {})}


def _triplet_step(cross: Cross) -> str:
    """The first build command: the triplet of the target architecture, or a clear
    failure for one the presets have no cross tools for."""
    cases = " ".join(f"{quote(a)}) {TRIPLET_VAR}={quote(t)} ;;" for a, t in cross.triplets.items())
    known = ", ".join(cross.triplets)
    return (
        f'case "${TRIPLET_ENV}" in {cases} *) echo "slim: no cross compiler for'
        f' linux/${TRIPLET_ENV} (the cross build knows {known})" >&2; exit 1 ;; esac'
    )


def _cross_tools(values: dict[str, str], cross: Cross | None) -> None:
    """Each tool var (cc, cxx, strip) runs as <triplet>-<tool>: aarch64-linux-gnu-gcc."""
    if cross is None or not cross.triplets:
        return
    for name in cross.tools:
        if name in values:
            values[name] = f'"${TRIPLET_VAR}"-{values[name]}'


def build_spec(
    artifact: Artifact, flavour: str, profile: Profile, cross: Cross | None = None
) -> BuildSpec:
    """`profile`: its vars, env and post steps, from the presets or slim.yaml; `cross`:
    how the flavour builds for the target platform on the build platform (None: natively)."""
    language = presets.languages()[artifact.lang]
    recipe = language.flavours[flavour]
    output = f"{OUT_DIR}/{artifact.binary}"
    build = artifact.build
    if artifact.lang == CUSTOM_LANGUAGE:
        custom = build.custom[flavour]
        toolchain = artifact.bases[custom.toolchain or recipe.toolchain]
        outputs = {artifact.binary: custom.output, **build.outputs}
        custom_steps = (custom.command, *_copies(artifact, outputs, {}))
        env = dict(build.env)
        return _spec(artifact, flavour, toolchain, env, (), custom_steps, output)
    toolchain = artifact.bases[(cross and cross.toolchain) or recipe.toolchain]
    values = _vars(language, recipe, toolchain, profile.vars, build.vars)
    _cross_tools(values, cross)
    values.update(out=quote(output), binary=quote(artifact.binary))
    steps, places = _recipe_steps(language, _crossed(recipe, cross), build)
    commands = [_triplet_step(cross)] if cross and cross.triplets else []
    commands += [_fill(step, values) for step in steps]
    commands += _copies(artifact, {**places, **build.outputs}, values)
    for name in artifact.all_executables:  # post steps (strip) for every executable
        each = {**values, "out": quote(f"{OUT_DIR}/{name}")}
        commands += [_fill(step, each) for step in profile.post]
    commands += [f"ln -s {quote(t)} {quote(f'{OUT_DIR}/{n}')}" for n, t in artifact.links.items()]
    env = {**recipe.env, **profile.env, **build.env}
    mounts = tuple(_fill(m, values) for m in language.mounts)
    spec = _spec(artifact, flavour, toolchain, env, mounts, tuple(commands), output)
    return replace(spec, cross=_cross_env(cross))


def _crossed(recipe: Flavour, cross: Cross | None) -> Flavour:
    """The flavour with the cross build's own commands and output, where it has them."""
    if cross is None or not cross.steps:
        return recipe
    return replace(recipe, steps=cross.steps, output=cross.output or recipe.output)


def _spec(
    artifact: Artifact,
    flavour: str,
    toolchain: Base,
    env: dict[str, str],
    mounts: tuple[str, ...],
    steps: tuple[str, ...],
    output: str,
) -> BuildSpec:
    build = artifact.build
    cache = tuple(f"type=cache,target={m}" for m in mounts)
    secrets = tuple(f"type=secret,id={s.id}" for s in build.secrets)
    ssh = tuple(f"type=ssh,id={i}" for i in build.ssh)
    return BuildSpec(
        flavour=flavour,
        toolchain=toolchain,
        env=env,
        mounts=(*cache, *secrets, *ssh),
        steps=steps,
        output=output,
        install=_install(toolchain, build),
        outputs=tuple(f"{OUT_DIR}/{n}" for n in artifact.all_executables),
    )


def _install(toolchain: Base, build: BuildSettings) -> Install | None:
    if not build.packages or toolchain.packager is None:
        return None
    packager = presets.packagers()[toolchain.packager]
    words = " ".join(quote(p) for p in build.packages)
    steps = tuple(step.format(packages=words) for step in packager.steps)
    return Install(packager.mounts, steps)


def _recipe_steps(
    language: Language, recipe: Flavour, build: BuildSettings
) -> tuple[list[str], dict[str, str]]:
    """The build commands and where each executable is afterwards, by the build system
    (c, cpp) or the flavour (cargo's target folder)."""
    if language.systems is None:
        return list(recipe.steps), _places(recipe.output)
    system: BuildSystem = language.systems[build.system]
    steps = list(system.steps)
    install = system.install_default if build.install is None else build.install
    if system.install is not None and install:
        return [*steps, *system.install], _places(system.installed)
    return steps, _places(system.output)


def _places(template: str | None) -> dict[str, str]:
    """{name: template} for the copy step, filled per executable later."""
    return {"*": template} if template else {}


def _copies(artifact: Artifact, places: dict[str, str], values: dict[str, str]) -> list[str]:
    """cp of every executable that the build does not write to /out itself."""
    commands = []
    default = places.get("*")
    for name in artifact.all_executables:
        place = places.get(name)
        if place is None and default is not None:
            place = _fill(default, {**values, "name": quote(name)})
        elif place is not None:
            place = quote(place if place.startswith("/") else f"/src/{place}")
        if place is not None:
            commands.append(f"cp {place} {quote(f'{OUT_DIR}/{name}')}")
    return commands


def _fill(template: str, values: dict[str, str]) -> str:
    # An empty list leaves no stray spaces behind: "{cflags} -o" with no cflags is "-o".
    text = template.format(**{k: v or "\0" for k, v in values.items()})
    return re.sub(r" ?\0", "", text).replace("\0", "")


def _vars(
    language: Language,
    recipe: Flavour,
    toolchain: Base,
    profile: dict[str, VarValue],
    user: dict[str, Any],
) -> dict[str, str]:
    """Each var's shell text: defaults, then the toolchain's vars, the profile (lists
    append), then the user's build settings (lists append or replace by the var's
    `merge`, scalars replace); the flavour's vars (e.g. -static) come first whatever
    the user wrote. `words` join several lists into one shell word."""
    values: dict[str, Any] = {}
    for name, spec in language.vars.items():
        value: Any = _plain(spec.default)
        if name in toolchain.vars:
            value = toolchain.vars[name]
        if name in profile:
            value = [*value, *profile[name]] if isinstance(value, list) else _plain(profile[name])
        if name in user and not spec.internal:
            merged = isinstance(value, list)
            value = merge_list(value, user[name], spec.merge) if merged else user[name]
        if name in recipe.vars:
            value = [*recipe.vars[name], *value]
        values[name] = value
    result = {name: _shell(language.vars[name].kind, v) for name, v in values.items()}
    for word, parts in language.words.items():
        result[word] = quote(" ".join(item for part in parts for item in values[part]))
    return result


def _plain(value: VarValue) -> Any:
    """A preset's value as slim.yaml's would be: a list var's items as a list."""
    return list(value) if isinstance(value, tuple) else value


def _shell(kind: str, value: Any) -> str:
    if kind == "args":
        return " ".join(quote(v) for v in value)
    if kind == "word":
        return quote(" ".join(value))
    if kind == "globs":
        return " ".join(value)  # schema allows only [A-Za-z0-9._/*?-]: safe unquoted
    return quote(str(value))


def quote(word: str) -> str:
    """A shell word; plain words stay readable."""
    return shlex.quote(word)
