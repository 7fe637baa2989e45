"""The plan: one target for every artifact × runtime, with everything rendering needs
resolved from the presets and slim.yaml."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from slim_bake import presets
from slim_bake.config import Artifact, Base, Budget, Config, Smoke, split_runtime

BINARY_DIR = "/usr/local/bin"


@dataclass(frozen=True)
class BuildSpec:
    """How the build stage makes the program: image, setup, env, mounts and steps."""

    flavour: str
    toolchain: Base
    env: dict[str, str]
    mounts: tuple[str, ...]
    steps: tuple[str, ...]  # shell commands, already quoted
    output: str  # where the steps leave the program (absolute, in the build stage)


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
    closure: bool
    rootfs: bool  # gets the switched-on files of `files:`
    busybox: Base | None  # the debug shell's source
    profile: str
    dockerfile: str  # relative to the config's directory
    tags: tuple[str, ...]
    labels: dict[str, str]
    budget: Budget
    smoke: Smoke | None

    nonroot_base: bool  # the base image has the nonroot user already (distroless)

    @property
    def entrypoint(self) -> str:
        if self.base is None:
            return self.build.output
        return f"{BINARY_DIR}/{self.artifact.binary}"

    @property
    def user(self) -> str | None:
        """Shell-less images run as nonroot (uid 65532) when the passwd switch is on."""
        has_user = self.rootfs or self.nonroot_base
        return "65532:65532" if has_user and self.artifact.files["passwd"] else None


@dataclass(frozen=True)
class Plan:
    config: Config
    targets: tuple[Target, ...]
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def select(self, names: list[str]) -> list[Target]:
        """Targets named directly or through a group, in plan order."""
        wanted: set[str] = set()
        for name in names:
            wanted.update(self.groups.get(name, (name,)))
        return [t for t in self.targets if t.name in wanted]


def make_plan(config: Config) -> Plan:
    targets = tuple(
        _target(config, artifact, runtime)
        for artifact in config.artifacts
        for runtime in artifact.runtimes
    )
    groups: dict[str, tuple[str, ...]] = {"default": tuple(t.name for t in targets)}
    for artifact in config.artifacts:
        groups[artifact.name] = tuple(t.name for t in targets if t.artifact is artifact)
    for runtime in dict.fromkeys(t.runtime for t in targets):
        groups[runtime] = tuple(t.name for t in targets if t.runtime == runtime)
    return Plan(config, targets, groups)


def _target(config: Config, artifact: Artifact, runtime: str) -> Target:
    base_runtime, debug = split_runtime(runtime)
    preset = presets.runtimes()[base_runtime]
    base_name = preset["base"]
    name = f"{artifact.name}-{runtime}"
    profile = artifact.profiles[runtime]
    return Target(
        name=name,
        artifact=artifact,
        runtime=runtime,
        base_runtime=base_runtime,
        debug=debug,
        description=preset["description"] + (" (with a busybox debug shell)" if debug else ""),
        build=build_spec(artifact, preset["flavour"], config.profiles[artifact.lang][profile]),
        base=artifact.bases[base_name] if base_name else None,
        shell=bool(preset["shell"]),
        closure=bool(preset.get("closure", False)),
        rootfs=base_name == "scratch",
        nonroot_base=bool(preset.get("nonroot", False)),
        busybox=artifact.bases["busybox-static"] if debug else None,
        profile=profile,
        dockerfile=f"{config.dockerfiles_dir}/{name}.Dockerfile",
        tags=(_tag(config, artifact, runtime),),
        labels=_labels(artifact, runtime, preset["description"]),
        budget=artifact.budgets[runtime],
        smoke=artifact.smoke,
    )


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


def build_spec(artifact: Artifact, flavour: str, settings: dict[str, Any]) -> BuildSpec:
    """`settings`: the profile (vars, env, post) from the presets or slim.yaml."""
    language = presets.languages()[artifact.lang]
    recipe = language["flavours"][flavour]
    output = f"/out/{artifact.binary}"
    if artifact.lang == "custom":
        custom = artifact.build[flavour]
        toolchain = artifact.bases[custom.get("toolchain", recipe["toolchain"])]
        built = custom["output"] if custom["output"].startswith("/") else f"/src/{custom['output']}"
        commands = (custom["command"], f"cp {quote(built)} {quote(output)}")
        env = dict(artifact.build.get("env", {}))
        return BuildSpec(flavour, toolchain, env, (), commands, output)
    toolchain = artifact.bases[recipe["toolchain"]]
    values = _vars(language["vars"], toolchain, settings.get("vars", {}), artifact.build)
    values.update(out=quote(output), binary=quote(artifact.binary))
    steps = [_fill(step, values) for step in [*recipe["steps"], *settings.get("post", [])]]
    env = {**recipe.get("env", {}), **settings.get("env", {}), **artifact.build.get("env", {})}
    return BuildSpec(
        flavour, toolchain, env, tuple(language.get("mounts", ())), tuple(steps), output
    )


def _fill(template: str, values: dict[str, str]) -> str:
    # An empty list leaves no stray spaces behind: "{cflags} -o" with no cflags is "-o".
    text = template.format(**{k: v or "\0" for k, v in values.items()})
    return re.sub(r" ?\0", "", text).replace("\0", "")


def _vars(
    kinds: dict[str, Any], toolchain: Base, profile: dict[str, Any], user: dict[str, Any]
) -> dict[str, str]:
    """Each var's shell text: defaults, then the toolchain's vars, the profile (lists
    append), then the user's build settings (lists append, scalars replace)."""
    result = {}
    for name, spec in kinds.items():
        value: Any = spec["default"]
        if name in toolchain.vars:
            value = toolchain.vars[name]
        for layer in (profile, user):
            if name in layer:
                value = [*value, *layer[name]] if isinstance(value, list) else layer[name]
        result[name] = _shell(spec["kind"], value)
    return result


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
