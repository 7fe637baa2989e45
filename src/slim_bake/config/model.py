"""The typed model slim.yaml resolves to: frozen records the later stages read, and the
names slim reserves in the files it writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slim_bake import presets
from slim_bake.presets import Base as Base
from slim_bake.presets import Profile as Profile

DEBUG_SUFFIX = "-debug"
CUSTOM_LANGUAGE = "custom"  # the language whose build is the user's own command per flavour
DEFAULT_CLOSURE_EXTRA = ("libgcc_s.so.1",)
RESERVED_NAMES = {"default", "docker-metadata-action"}
# The stages render/dockerfile.py writes: `FROM <name>` names the stage, not an image
# (BuildKit compares case-insensitively), so no base image may be called so.
STAGE_NAMES = ("build", "closure", "rootfs", "files", "runtime")
# The line that ends each RUN heredoc (render/dockerfile.py run_script).
RUN_TERMINATOR = "SLIM_RUN"
# The names slim gives generated files in the Dockerfiles folder (only such files are swept).
GENERATED_SUFFIXES = (".Dockerfile", ".Dockerfile.dockerignore")


@dataclass(frozen=True)
class Budget:
    max: int | None = None
    max_compressed: int | None = None
    max_layers: int | None = None
    max_growth: tuple[str, float] | None = None  # ("percent", 5.0) or ("bytes", 10000.0)
    # The text the user wrote, for reports ("5%", "32kB").
    spelled: dict[str, str] = field(default_factory=dict)
    # `platforms:` in a budget: the budget of one platform (its own keys over these).
    platforms: dict[str, Budget] = field(default_factory=dict)

    def for_platform(self, platform: str | None) -> Budget:
        return self.platforms.get(platform, self) if platform else self


@dataclass(frozen=True)
class Assertions:
    """`assert:` of one target: what its final filesystem and image config must hold."""

    present: tuple[str, ...] = ()  # absolute paths or fnmatch patterns that must exist
    absent: tuple[str, ...] = ()  # ... that must not
    no_private_keys: bool = False
    no_setuid: bool = False
    no_world_writable: bool = False  # outside /tmp
    user: str | None = None  # "nonroot" (uid not 0), or the exact user (name or uid[:gid])
    exec_form: bool = False  # Entrypoint/Cmd not `sh -c …`
    ports: tuple[str, ...] = ()  # exactly the exposed ports, "8080/tcp"
    labels: tuple[str, ...] = ()  # label keys that must be set
    max_files: int | None = None  # entries other than directories

    @property
    def needs_contents(self) -> bool:
        """Whether judging needs the layers' entries (not only the image config)."""
        return bool(
            self.present
            or self.absent
            or self.no_private_keys
            or self.no_setuid
            or self.no_world_writable
            or self.max_files is not None
        )

    @property
    def any(self) -> bool:
        return self != Assertions()


@dataclass(frozen=True)
class Smoke:
    args: tuple[str, ...] | None = None  # None: the image's own CMD
    expect_stdout: str | None = None
    expect_exit: int = 0
    timeout: float = 30.0


@dataclass(frozen=True)
class CopySpec:
    """One `runtime.copy` entry: from the context or the build stage into the runtime."""

    src: str
    dest: str
    from_build: bool = False
    owner: str | None = None
    mode: str | None = None


@dataclass(frozen=True)
class RuntimeContents:
    """`runtime:`: what the runtime image holds and declares beyond the program."""

    copy: tuple[CopySpec, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    workdir: str | None = None
    expose: tuple[str, ...] = ()
    user: str | None = None
    volumes: tuple[str, ...] = ()
    stopsignal: str | None = None


@dataclass(frozen=True)
class Files:
    """`files:`: what a scratch runtime gets beside the program (its rootfs stage)."""

    passwd: bool = True  # /etc/passwd and /etc/group with root and nonroot (65532)
    tmp: bool = True  # /tmp, mode 1777
    ca_certs: bool = False  # the CA bundle of the toolchain image
    zoneinfo: bool = False  # /usr/share/zoneinfo


@dataclass(frozen=True)
class Secret:
    """A build secret: mounted at /run/secrets/<id> in the build steps, passed by bake."""

    id: str
    src: str | None = None  # a file, relative to slim.yaml
    env: str | None = None  # or an environment variable


@dataclass(frozen=True)
class CustomBuild:
    """`build.<flavour>` of a custom artifact: the user's own command."""

    command: str
    output: str  # relative to /src or absolute
    toolchain: str | None = None  # a base's name; None: the flavour's preset toolchain


@dataclass(frozen=True)
class BuildSettings:
    """An artifact's `build:`."""

    # The language's settings as written: text, a list, or {replace: [...]}/{append: [...]};
    # plan merges them over the presets' and the profile's values.
    vars: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    packages: tuple[str, ...] = ()
    secrets: tuple[Secret, ...] = ()
    ssh: tuple[str, ...] = ()
    outputs: dict[str, str] = field(default_factory=dict)  # executable → where it is built
    system: str = "sources"  # languages with build systems (c, cpp)
    install: bool | None = None  # None: the build system's default
    custom: dict[str, CustomBuild] = field(default_factory=dict)  # flavour → (custom only)


@dataclass(frozen=True)
class Artifact:
    name: str
    lang: str
    context: str  # posix path relative to the config's directory
    binary: str
    args: tuple[str, ...]
    runtimes: tuple[str, ...]  # may include "<runtime>-debug"
    profiles: dict[str, str]  # runtime → profile
    build: BuildSettings
    bases: dict[str, Base]  # every base name → resolved base, artifact overrides applied
    files: Files
    closure_extra: tuple[str, ...]
    budgets: dict[str, Budget]  # runtime → budget ("*" already merged in)
    smoke: Smoke | None
    labels: dict[str, str]
    executables: tuple[str, ...] = ()  # shipped beside `binary`
    links: dict[str, str] = field(default_factory=dict)  # link name → executable
    entrypoint_args: tuple[str, ...] = ()
    runtime: RuntimeContents = field(default_factory=RuntimeContents)
    # runtime → assertions (the runtime's defaults, "*" and its own entry merged in)
    asserts: dict[str, Assertions] = field(default_factory=dict)

    @property
    def all_executables(self) -> tuple[str, ...]:
        return (self.binary, *self.executables)


@dataclass(frozen=True)
class Attest:
    """slim.yaml's `attest:`: the attestations bake asks BuildKit for."""

    provenance: str | None = None  # "min" | "max"; None: none asked for
    sbom: bool = False
    sbom_generator: str | None = None  # None: BuildKit's default scanner image


@dataclass(frozen=True)
class Config:
    path: Path  # slim.yaml
    root: Path  # the repository root contexts must stay inside
    registry: str | None
    platforms: tuple[str, ...]
    syntax: str | None
    dockerfiles_dir: str  # relative to path.parent
    bake_file: str  # relative to path.parent
    artifacts: tuple[Artifact, ...]
    # language → profile name → profile: the presets with slim.yaml's `profiles:`
    profiles: dict[str, dict[str, Profile]] = field(default_factory=dict)
    attest: Attest = field(default_factory=Attest)
    pins_file: str = "bases.Dockerfile"  # relative to path.parent (slim pin, pinfile.py)

    @property
    def directory(self) -> Path:
        return self.path.parent


def split_runtime(name: str) -> tuple[str, bool]:
    """("scratch-musl", True) for "scratch-musl-debug"."""
    if name.endswith(DEBUG_SUFFIX) and name[: -len(DEBUG_SUFFIX)] in presets.runtimes():
        return name[: -len(DEBUG_SUFFIX)], True
    return name, False


def preset_bases() -> dict[str, Base]:
    """Every base slim.yaml may name: the empty image, then bases.yaml's."""
    return {"scratch": Base("scratch", "scratch"), **presets.bases()}


def override_base(old: Base, value: str | dict[str, Any]) -> Base:
    """`old` with one entry of slim.yaml's `bases:`: an image reference, or any of its
    fields (vars are merged)."""
    if isinstance(value, str):
        value = {"image": value}
    return Base(
        name=old.name,
        image=value.get("image", old.image),
        setup=value.get("setup", old.setup),
        vars={**old.vars, **value.get("vars", {})},
        packager=value.get("packager", old.packager),
        provides=old.provides,  # the libraries of the preset's image (bases.yaml)
        platforms=tuple(value.get("platforms", old.platforms)),
    )
