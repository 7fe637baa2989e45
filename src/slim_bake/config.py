"""slim.yaml → a validated model. Every problem is collected and reported at once,
located by file:line:column and field path."""

from __future__ import annotations

import difflib
import os.path
import re
import string
import subprocess
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from slim_bake import presets
from slim_bake.errors import ConfigError, Diagnostic
from slim_bake.loader import Document, PathKey, load_yaml
from slim_bake.units import parse_growth, parse_size

DEBUG_SUFFIX = "-debug"
FILE_DEFAULTS = {"passwd": True, "tmp": True, "ca_certs": False, "zoneinfo": False}
DEFAULT_CLOSURE_EXTRA = ("libgcc_s.so.1",)
RESERVED_NAMES = {"default", "docker-metadata-action"}
# The stages render/dockerfile.py writes: `FROM <name>` names the stage, not an image
# (BuildKit compares case-insensitively), so no base image may be called so.
STAGE_NAMES = ("build", "closure", "rootfs", "runtime")
# The line that ends each RUN heredoc (render/dockerfile.py run_script).
RUN_TERMINATOR = "SLIM_RUN"
# The names slim gives generated files in the Dockerfiles folder (only such files are swept).
GENERATED_SUFFIXES = (".Dockerfile", ".Dockerfile.dockerignore")


@dataclass(frozen=True)
class Base:
    name: str
    image: str  # "scratch" for the empty image
    setup: str | None = None
    vars: dict[str, str] = field(default_factory=dict)
    packager: str | None = None  # apt | apk: installs build.packages


@dataclass(frozen=True)
class Budget:
    max: int | None = None
    max_compressed: int | None = None
    max_layers: int | None = None
    max_growth: tuple[str, float] | None = None  # ("percent", 5.0) or ("bytes", 10000.0)
    # The text the user wrote, for reports ("5%", "32kB").
    spelled: dict[str, str] = field(default_factory=dict)


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
class Artifact:
    name: str
    lang: str
    context: str  # posix path relative to the config's directory
    binary: str
    args: tuple[str, ...]
    runtimes: tuple[str, ...]  # may include "<runtime>-debug"
    profiles: dict[str, str]  # runtime → profile
    build: dict[str, Any]
    bases: dict[str, Base]  # every base name → resolved base, artifact overrides applied
    files: dict[str, bool]
    closure_extra: tuple[str, ...]
    budgets: dict[str, Budget]  # runtime → budget ("*" already merged in)
    smoke: Smoke | None
    labels: dict[str, str]
    executables: tuple[str, ...] = ()  # shipped beside `binary`
    links: dict[str, str] = field(default_factory=dict)  # link name → executable
    entrypoint_args: tuple[str, ...] = ()
    runtime: RuntimeContents = field(default_factory=RuntimeContents)

    @property
    def all_executables(self) -> tuple[str, ...]:
        return (self.binary, *self.executables)


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
    # language → profile name → {vars, env, post}: the presets with slim.yaml's `profiles:`
    profiles: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    @property
    def directory(self) -> Path:
        return self.path.parent


def split_runtime(name: str) -> tuple[str, bool]:
    """("scratch-musl", True) for "scratch-musl-debug"."""
    if name.endswith(DEBUG_SUFFIX) and name[: -len(DEBUG_SUFFIX)] in presets.runtimes():
        return name[: -len(DEBUG_SUFFIX)], True
    return name, False


def load_config(path: Path) -> Config:
    doc = load_yaml(path, display=_display(path))
    return parse_config(doc, path)


def parse_config(doc: Document, path: Path) -> Config:
    problems, broken = schema_check(doc, "slim")
    checker = _Checker(doc, path.resolve(), broken)
    if problems and not isinstance(doc.data, dict):
        raise ConfigError(problems)
    # The parts the schema accepted are checked too, so every problem is told at once.
    config = checker.build()
    problems += checker.problems
    if problems:
        raise ConfigError(sorted(problems, key=lambda d: (d.line, d.column)))
    return config


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        return str(path)


def shell_command_problem(command: str) -> str | None:
    """Why `command` cannot be one line of a RUN heredoc script, or None. Every field
    that holds a shell command (a base's setup, a profile's post steps, a custom build's
    command) is checked here.

    - a line break or another control character: BuildKit and sh would read more lines;
    - a line equal to the heredoc's terminator would end the script there, and what
      follows would become Dockerfile instructions;
    - `<<`: a shell heredoc would swallow slim's following commands;
    - a backslash at the end, blanks or not: refused rather than neutralised. On a RUN
      line BuildKit reads `\\` + blanks as a continuation; in the script sh reads `\\ `
      as an escaped blank, which an editor or pre-commit hook trimming trailing blanks
      turns into a continuation joining slim's next command. Stripping the blanks
      ourselves would change the command's meaning behind the user's back."""
    bad = sorted({c for c in command if unicodedata.category(c) == "Cc" and c != "\t"})
    if bad:
        return f"must be one line without control characters (found {', '.join(map(repr, bad))})"
    if "<<" in command:
        return "must not contain '<<' (a heredoc would swallow slim's next commands)"
    return script_line_problem(command)


def script_line_problem(line: str) -> str | None:
    """Why `line` (a command, or a shell word in one) would not stay one line of a RUN
    heredoc, or None: the structural part of shell_command_problem, also the backstop
    of render/dockerfile.py's run_script."""
    if "\n" in line or "\r" in line:
        return "must be one line"
    if line.strip() == RUN_TERMINATOR:
        return f"{RUN_TERMINATOR!r} ends slim's RUN scripts and cannot be a command"
    if line.rstrip().endswith("\\"):
        return "must not end in a backslash (with or without blanks after it)"
    return None


def stage_name_problem(image: str) -> str | None:
    """Why `image` cannot be a base image, or None: `FROM build` means the stage."""
    if image.lower() in STAGE_NAMES:
        return (
            f"image {image!r} is the name of a stage slim writes ({', '.join(STAGE_NAMES)}):"
            f" FROM {image} would use that stage; write it with a tag or registry"
            f" (e.g. {image}:latest)"
        )
    return None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


# --- JSON Schema validation ---------------------------------------------------------


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


# --- Semantic checks and the model ---------------------------------------------------


class _Checker:
    def __init__(self, doc: Document, path: Path, broken: set[PathKey] | None = None) -> None:
        self.doc = doc
        self.path = path
        self.broken = broken or set()
        self.root = _repository_root(path.parent)
        self.problems: list[Diagnostic] = []
        self.profiles: dict[str, dict[str, dict[str, Any]]] = {}

    def fail(self, where: PathKey, message: str, at_key: bool = False) -> None:
        self.problems.append(self.doc.diagnostic(where, message, at_key))

    def check_shell(self, command: Any, where: PathKey) -> None:
        if isinstance(command, str) and (problem := shell_command_problem(command)):
            self.fail(where, f"{command!r} {problem}")

    def sound(self, *path: str | int) -> bool:
        """Whether the schema accepted everything at and below `path`."""
        return not any(bad[: len(path)] == path for bad in self.broken)

    def section(self, key: str, default: dict[str, Any]) -> dict[str, Any]:
        """A top-level mapping, or `default` where the schema refused it."""
        value = self.doc.data.get(key, default)
        return value if self.sound(key) and isinstance(value, dict) else default

    def build(self) -> Config:
        data: dict[str, Any] = self.doc.data
        output = self.section("output", {})
        top_bases = self._bases(self.section("bases", {}), ("bases",), _preset_bases())
        self.profiles = self._profile_presets(self.section("profiles", {}))
        specs = data.get("artifacts")
        specs = specs if isinstance(specs, dict) else {}
        artifacts = tuple(
            self._artifact(name, spec, top_bases)
            for name, spec in specs.items()
            if self.sound("artifacts", name)
        )
        for name, spec in specs.items():
            if not self.sound("artifacts", name) and isinstance(spec, dict):
                self._check_sound_fields(name, spec)
        self._check_names(artifacts)
        dockerfiles = self._relpath(output.get("dockerfiles", "dockerfiles"), "dockerfiles")
        bake = self._relpath(output.get("bake", "docker-bake.hcl"), "bake")
        self._check_outputs(dockerfiles, bake)
        return Config(
            path=self.path,
            root=self.root,
            registry=data.get("registry") if self.sound("registry") else None,
            platforms=tuple(data.get("platforms", ())) if self.sound("platforms") else (),
            syntax=data.get("syntax") if self.sound("syntax") else None,
            dockerfiles_dir=dockerfiles,
            bake_file=bake,
            artifacts=artifacts,
            profiles=self.profiles,
        )

    def _check_lang(self, lang: str, where: PathKey) -> None:
        if lang not in presets.languages():
            hint = did_you_mean(lang, presets.languages())
            self.fail(where, f"{lang!r} is not a language{hint} ({', '.join(presets.languages())})")

    def _check_sound_fields(self, name: str, spec: dict[str, Any]) -> None:
        """An artifact the schema refused in part: still name its wrong language and
        runtimes, so that one run tells every problem."""
        where: PathKey = ("artifacts", name)
        lang = spec.get("lang")
        if self.sound(*where, "lang") and isinstance(lang, str):
            self._check_lang(lang, (*where, "lang"))
        runtimes = spec.get("runtimes")
        if self.sound(*where, "runtimes") and isinstance(runtimes, list):
            self._runtimes(runtimes, (*where, "runtimes"))

    def _profile_presets(self, spec: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
        languages = presets.languages()
        merged = {lang: dict(language["profiles"]) for lang, language in languages.items()}
        for lang, profiles in spec.items():
            if lang not in languages:
                hint = did_you_mean(lang, languages)
                self.fail(("profiles", lang), f"{lang!r} is not a language{hint}", at_key=True)
                continue
            for name, profile in profiles.items():
                self._check_profile(lang, profile, ("profiles", lang, name))
                merged[lang][name] = profile
        return merged

    def _check_profile(self, lang: str, profile: dict[str, Any], where: PathKey) -> None:
        kinds = presets.languages()[lang]["vars"]
        for name, value in profile.get("vars", {}).items():
            if name not in kinds:
                hint = did_you_mean(name, kinds)
                self.fail((*where, "vars", name), f"{name!r} is not a variable of {lang}{hint}")
            elif isinstance(value, list) != (kinds[name]["kind"] != "text"):
                shape = "a string" if kinds[name]["kind"] == "text" else "a list"
                self.fail((*where, "vars", name), f"{name!r} takes {shape}")
        known = {*kinds, "out", "binary"}
        for i, step in enumerate(profile.get("post", [])):
            self.check_shell(step, (*where, "post", i))
            try:
                parsed = [
                    (f, s, c) for _, f, s, c in string.Formatter().parse(step) if f is not None
                ]
            except ValueError as exc:
                self.fail((*where, "post", i), f"{step!r}: {exc} (write a literal brace as {{{{)")
                continue
            # plan fills only {name}: a conversion or format spec would fail there.
            if any(spec or conversion for _, spec, conversion in parsed):
                self.fail(
                    (*where, "post", i), "a placeholder is {name}, with no !conversion or :format"
                )
                continue
            fields = {f for f, _, _ in parsed}
            for unknown in sorted(fields - known):
                self.fail(
                    (*where, "post", i),
                    f"unknown placeholder {{{unknown}}}; known: {sorted(known)}",
                )

    def _check_outputs(self, dockerfiles: str, bake: str) -> None:
        """Refuse output paths where slim would write or delete what it must not: outside
        the repository (symlinks followed), in `.git`, on slim.yaml or its folder, into each
        other, or through a symbolic link. Nothing is written before these pass."""
        directory = self.path.parent
        folder = _resolved(directory / dockerfiles)
        bake_file = _resolved(directory / bake)
        if {"output.dockerfiles", "output.bake"} & {d.path for d in self.problems}:
            return  # _relpath refused one already
        problems = {
            "dockerfiles": self._outside(dockerfiles, folder)
            or _holds_config(dockerfiles, folder, self.path),
            "bake": self._outside(bake, bake_file) or _is_config(bake, bake_file, self.path),
        }
        if not any(problems.values()) and folder is not None and bake_file is not None:
            if bake_file == folder or bake_file.is_relative_to(folder):
                problems["bake"] = f"{bake!r} must not be inside the Dockerfiles folder"
            elif folder.is_relative_to(bake_file):
                problems["dockerfiles"] = f"{dockerfiles!r} must not be inside {bake!r}"
        for key, problem in problems.items():
            if problem:
                self.fail(("output", key), problem)
        if any(problems.values()):
            return
        for key, path in (
            ("dockerfiles", directory / dockerfiles / "x"),
            ("bake", directory / bake),
        ):
            blocked = [p for p in path.parents if p.is_relative_to(directory) and p.is_file()]
            if blocked:
                self.fail(("output", key), f"{blocked[-1].relative_to(directory)} is a file")
        if (directory / bake).is_dir():
            self.fail(("output", "bake"), f"{bake!r} is a folder")
        bake_link = [bake] if (directory / bake).is_symlink() else []
        for key, links in (("dockerfiles", _links(directory, dockerfiles)), ("bake", bake_link)):
            if links:
                self.fail(
                    ("output", key),
                    f"{', '.join(links)}: a symbolic link where slim writes or removes a "
                    "generated file; slim replaces only regular files it wrote: remove the link",
                )

    def _outside(self, value: str, target: Path | None) -> str | None:
        """Why `target` (resolved `value`) is no place for generated files, if it is not."""
        if target is None:
            return f"{value!r} cannot be resolved (a symbolic link loop?)"
        if not target.is_relative_to(self.root):
            return f"{value!r} leads outside the repository ({self.root})"
        inside = target.relative_to(self.root).parts + Path(value).parts
        if any(part.lower() == ".git" for part in inside):
            return f"{value!r} is inside .git"
        return None

    def _relpath(self, value: str, key: str) -> str:
        parts = Path(value).parts
        if value.startswith("/") or ".." in parts:
            self.fail(("output", key), f"{value!r} must be a path inside slim.yaml's folder")
        return Path(value).as_posix()

    def _bases(
        self, spec: dict[str, Any], where: PathKey, inherited: dict[str, Base]
    ) -> dict[str, Base]:
        result = dict(inherited)
        for name, value in spec.items():
            if name == "scratch":
                self.fail(
                    (*where, name),
                    "'scratch' is the empty image and cannot be replaced",
                    at_key=True,
                )
                continue
            if name not in inherited:
                self.fail(
                    (*where, name),
                    f"{name!r} is not a base{did_you_mean(name, inherited)}",
                    at_key=True,
                )
                continue
            old = inherited[name]
            image_at: PathKey = (
                (*where, name) if isinstance(value, str) else (*where, name, "image")
            )
            if isinstance(value, str):
                value = {"image": value}
            if problem := stage_name_problem(value.get("image", old.image)):
                self.fail(image_at, problem)
            self.check_shell(value.get("setup"), (*where, name, "setup"))
            result[name] = Base(
                name=name,
                image=value.get("image", old.image),
                setup=value.get("setup", old.setup),
                vars={**old.vars, **value.get("vars", {})},
                packager=value.get("packager", old.packager),
            )
        return result

    def _artifact(self, name: str, spec: dict[str, Any], top_bases: dict[str, Base]) -> Artifact:
        where: PathKey = ("artifacts", name)
        lang = spec["lang"]
        self._check_lang(lang, (*where, "lang"))
        runtimes = self._runtimes(spec["runtimes"], (*where, "runtimes"))
        build = spec.get("build", {})
        bases = self._bases(spec.get("bases", {}), (*where, "bases"), top_bases)
        self._check_build(lang, build, runtimes, (*where, "build"))
        self._check_toolchains(build, bases, (*where, "build"))
        budgets = self._budgets(spec.get("budgets", {}), runtimes, (*where, "budgets"))
        binary = spec.get("binary", name)
        executables = tuple(spec.get("executables", ()))
        self._check_executables(lang, binary, executables, spec, where)
        self._check_packages(lang, build, runtimes, bases, where)
        return Artifact(
            name=name,
            lang=lang,
            context=self._context(spec.get("context", name), (*where, "context")),
            binary=binary,
            args=tuple(spec.get("args", ())),
            runtimes=runtimes,
            profiles=self._profiles(
                spec.get("profile", "default"), runtimes, lang, (*where, "profile")
            ),
            build=build,
            bases=bases,
            files={**FILE_DEFAULTS, **spec.get("files", {})},
            closure_extra=tuple(spec.get("closure", {}).get("extra", DEFAULT_CLOSURE_EXTRA)),
            budgets=budgets,
            smoke=_smoke(spec.get("smoke")),
            labels=dict(spec.get("labels", {})),
            executables=executables,
            links=dict(spec.get("links", {})),
            entrypoint_args=tuple(spec.get("entrypoint_args", ())),
            runtime=self._runtime_contents(spec.get("runtime", {}), (*where, "runtime")),
        )

    def _check_executables(
        self,
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
            self.fail((*where, "executables", i), f"{binary!r} is the binary already")
        build = spec.get("build", {})
        outputs = build.get("outputs", {})
        for key in outputs:
            if key not in names:
                hint = did_you_mean(key, names)
                message = f"{key!r} is neither the binary nor one of `executables`{hint}"
                self.fail((*where, "build", "outputs", key), message, at_key=True)
        language = presets.languages().get(lang)
        if language is None:
            return
        templated = _has_output_template(language, build)
        for i, name in enumerate(executables):
            if name not in outputs and not templated:
                self.fail(
                    (*where, "executables", i),
                    f"where is {name!r} after the build? name it in build.outputs"
                    " (this build makes only the binary)",
                )
        for link, target in spec.get("links", {}).items():
            if target not in names:
                hint = did_you_mean(target, names)
                self.fail((*where, "links", link), f"{target!r} is not an executable{hint}")
            if link in names:
                self.fail((*where, "links", link), f"{link!r} is an executable", at_key=True)

    def _check_packages(
        self,
        lang: str,
        build: dict[str, Any],
        runtimes: tuple[str, ...],
        bases: dict[str, Base],
        where: PathKey,
    ) -> None:
        """build.packages needs a toolchain base that says how to install them."""
        if not build.get("packages") or lang not in presets.languages():
            return
        flavours = presets.languages()[lang]["flavours"]
        for runtime in runtimes:
            flavour = presets.runtimes()[split_runtime(runtime)[0]]["flavour"]
            toolchain = flavours[flavour]["toolchain"]
            custom = build.get(flavour)
            if isinstance(custom, dict):
                toolchain = custom.get("toolchain", toolchain)
            base = bases.get(toolchain)
            if base is not None and base.packager not in presets.packagers():
                self.fail(
                    (*where, "build", "packages"),
                    f"base {toolchain!r} (for {runtime}) has no packager:"
                    f" set bases.{toolchain}.packager to apt or apk",
                )

    def _runtime_contents(self, spec: dict[str, Any], where: PathKey) -> RuntimeContents:
        copies = []
        for i, item in enumerate(spec.get("copy", ())):
            from_build = item.get("from", "context") == "build"
            src = item["src"]
            if ".." in src.split("/"):
                self.fail((*where, "copy", i, "src"), f"{src!r} must not contain '..'")
            elif from_build != src.startswith("/"):
                need = "absolute (a path in the build stage)" if from_build else "relative"
                self.fail((*where, "copy", i, "src"), f"{src!r} must be {need}")
            copies.append(
                CopySpec(src, item["dest"], from_build, item.get("owner"), item.get("mode"))
            )
        return RuntimeContents(
            copy=tuple(copies),
            env=dict(spec.get("env", {})),
            workdir=spec.get("workdir"),
            expose=tuple(str(p) for p in spec.get("expose", ())),
            user=spec.get("user"),
            volumes=tuple(spec.get("volumes", ())),
            stopsignal=spec.get("stopsignal"),
        )

    def _runtimes(self, names: list[str], where: PathKey) -> tuple[str, ...]:
        known = presets.runtimes()
        seen: set[str] = set()
        valid: list[str] = []
        for i, name in enumerate(names):
            base, debug = split_runtime(name)
            if name in seen:
                self.fail((*where, i), f"{name!r} is listed twice")
            elif base not in known:
                choices = [*known, *(f"{r}{DEBUG_SUFFIX}" for r in known if not known[r]["shell"])]
                self.fail((*where, i), f"{name!r} is not a runtime{did_you_mean(name, choices)}")
            elif debug and known[base]["shell"]:
                self.fail((*where, i), f"{base!r} has a shell already: it has no -debug companion")
            else:
                valid.append(name)
            seen.add(name)
        return tuple(valid)

    def _check_build(
        self, lang: str, build: dict[str, Any], runtimes: tuple[str, ...], where: PathKey
    ) -> None:
        if lang not in presets.languages():
            return
        flavours = {"glibc-dynamic", "glibc-static", "musl-static", "musl-dynamic"}
        language = presets.languages()[lang]
        allowed = {k for k, v in language["vars"].items() if not v.get("internal")}
        allowed |= {"env", "packages", "secrets", "ssh", "outputs"}
        if "systems" in language:
            allowed |= {"system", "install"}
        if lang == "custom":
            allowed |= flavours
        for key in build:
            if key not in allowed:
                self.fail((*where, key), f"{key!r} is not a build setting of {lang}", at_key=True)
        system = build.get("system")
        if "systems" in language and system is not None and system not in language["systems"]:
            hint = did_you_mean(system, language["systems"])
            self.fail((*where, "system"), f"{system!r} is not a build system of {lang}{hint}")
        if "install" in build and build.get("system", "sources") == "sources":
            self.fail((*where, "install"), "install needs a build system (make, cmake, ...)")
        if lang != "custom":
            return
        for flavour in sorted(flavours & set(build)):
            if isinstance(build[flavour], dict):
                self.check_shell(build[flavour].get("command"), (*where, flavour, "command"))
        for i, runtime in enumerate(runtimes):
            flavour = presets.runtimes().get(split_runtime(runtime)[0], {}).get("flavour")
            if flavour and flavour not in build:
                self.fail(
                    (*where[:-1], "runtimes", i),
                    f"runtime {runtime!r} needs a {flavour} build: add build.{flavour}"
                    " with command and output",
                )

    def _check_toolchains(
        self, build: dict[str, Any], bases: dict[str, Base], where: PathKey
    ) -> None:
        for flavour, spec in build.items():
            toolchain = spec.get("toolchain") if isinstance(spec, dict) else None
            if toolchain is not None and (toolchain not in bases or toolchain == "scratch"):
                choices = [b for b in bases if b != "scratch"]
                hint = did_you_mean(toolchain, choices)
                self.fail((*where, flavour, "toolchain"), f"{toolchain!r} is not a base{hint}")

    def _context(self, value: str, where: PathKey) -> str:
        directory = self.path.parent
        target = (directory / value).resolve()
        if not target.is_relative_to(self.root):
            self.fail(where, f"{value!r} is outside the repository ({self.root})")
        elif not target.is_dir():
            self.fail(where, f"{value!r} is not a folder")
        # Relative (with ".." when above slim.yaml) so the bake file works from any clone.
        return Path(os.path.relpath(target, directory)).as_posix()

    def _profiles(
        self, spec: str | dict[str, str], runtimes: tuple[str, ...], lang: str, where: PathKey
    ) -> dict[str, str]:
        named = {(): spec} if isinstance(spec, str) else {(k,): v for k, v in spec.items()}
        available = self.profiles.get(lang, {})
        for key, name in named.items():
            if key and key[0] != "*" and key[0] not in runtimes:
                message = f"{key[0]!r} is not one of this artifact's runtimes"
                self.fail((*where, *key), message, at_key=True)
            if lang in self.profiles and name not in available:
                hint = did_you_mean(name, available)
                self.fail((*where, *key), f"{name!r} is not a profile of {lang}{hint}")
        if isinstance(spec, str):
            return {r: spec for r in runtimes}
        fallback = spec.get("*", "default")
        return {r: spec.get(r, fallback) for r in runtimes}

    def _budgets(
        self, spec: dict[str, Any], runtimes: tuple[str, ...], where: PathKey
    ) -> dict[str, Budget]:
        for key in spec:
            if key != "*" and key not in runtimes:
                hint = did_you_mean(key, runtimes)
                self.fail(
                    (*where, key),
                    f"{key!r} is not one of this artifact's runtimes{hint}",
                    at_key=True,
                )
        result = {}
        for runtime in runtimes:
            merged = {**spec.get("*", {}), **spec.get(runtime, {})}
            key = runtime if runtime in spec else "*"
            result[runtime] = self._budget(merged, (*where, key))
        return result

    def _budget(self, spec: dict[str, Any], where: PathKey) -> Budget:
        sizes: dict[str, int | None] = {}
        for key in ("max", "max_compressed"):
            sizes[key] = None
            if key in spec:
                try:
                    sizes[key] = parse_size(spec[key])
                except ValueError as exc:
                    self.fail((*where, key), str(exc))
        growth = None
        if "max_growth" in spec:
            try:
                growth = parse_growth(spec["max_growth"])
            except ValueError as exc:
                self.fail((*where, "max_growth"), str(exc))
        return Budget(
            max=sizes["max"],
            max_compressed=sizes["max_compressed"],
            max_layers=spec.get("max_layers"),
            max_growth=growth,
            spelled={k: str(v) for k, v in spec.items()},
        )

    def _check_names(self, artifacts: tuple[Artifact, ...]) -> None:
        """Targets and groups share bake's namespace: no name may mean two things."""
        owners: dict[str, str] = {n: "a name slim reserves" for n in RESERVED_NAMES}
        runtime_groups = {r for a in artifacts for r in a.runtimes}
        for runtime in sorted(runtime_groups):
            owners.setdefault(runtime, f"the group of runtime {runtime!r}")
        for artifact in artifacts:
            where: PathKey = ("artifacts", artifact.name)
            if artifact.name in owners:
                self.fail(
                    where,
                    f"artifact name {artifact.name!r} collides with {owners[artifact.name]}",
                    at_key=True,
                )
            owners[artifact.name] = f"the group of artifact {artifact.name!r}"
        for artifact in artifacts:
            for i, runtime in enumerate(artifact.runtimes):
                target = f"{artifact.name}-{runtime}"
                if target in owners:
                    self.fail(
                        ("artifacts", artifact.name, "runtimes", i),
                        f"target name {target!r} collides with {owners[target]}",
                    )
                owners[target] = f"target {target!r}"


def _has_output_template(language: dict[str, Any], build: dict[str, Any]) -> bool:
    """Whether the build puts every executable at a known place (a build system's install
    folder, cargo's target folder) rather than only the binary."""
    if "systems" in language:
        system = language["systems"].get(build.get("system", "sources"), {})
        return "output" in system
    return all("output" in recipe for recipe in language["flavours"].values())


def merge_list(preset: list[Any], user: Any, mode: str) -> list[Any]:
    """A list setting of slim.yaml over the preset's: `mode` (append or replace) for a
    plain list; {replace: [...]} and {append: [...]} say which explicitly."""
    if isinstance(user, dict):
        mode, user = (
            ("replace", user["replace"]) if "replace" in user else ("append", user["append"])
        )
    return list(user) if mode == "replace" else [*preset, *user]


def _smoke(spec: Any) -> Smoke | None:
    if spec is False:
        return None
    spec = spec or {}
    args = spec.get("args")
    return Smoke(
        args=tuple(args) if args is not None else None,
        expect_stdout=spec.get("expect_stdout"),
        expect_exit=spec.get("expect_exit", 0),
        timeout=float(spec.get("timeout", 30)),
    )


def _preset_bases() -> dict[str, Base]:
    result = {"scratch": Base("scratch", "scratch")}
    for name, spec in presets.bases().items():
        result[name] = Base(
            name,
            spec["image"],
            spec.get("setup"),
            dict(spec.get("vars", {})),
            spec.get("packager"),
        )
    return result


def _resolved(path: Path) -> Path | None:
    """`path` with every existing symbolic link followed; None for a link loop."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return None


def _holds_config(value: str, folder: Path | None, config: Path) -> str | None:
    """The Dockerfiles folder must not be slim.yaml's folder or one above it: stale
    generated files are swept from it, and it would mix them with the user's files."""
    if folder is not None and config.parent.is_relative_to(folder):
        return f"{value!r} must not be slim.yaml's folder or hold it; use a subfolder"
    return None


def _is_config(value: str, bake: Path | None, config: Path) -> str | None:
    return f"{value!r} is slim.yaml itself" if bake == config else None


def _links(directory: Path, dockerfiles: str) -> list[str]:
    """Symbolic links named like generated files in the Dockerfiles folder: writing or
    sweeping through them would reach elsewhere."""
    try:
        entries = sorted(os.scandir(directory / dockerfiles), key=lambda e: e.name)
    except OSError:
        return []
    return [
        Path(dockerfiles, e.name).as_posix()
        for e in entries
        if e.name.endswith(GENERATED_SUFFIXES) and e.is_symlink()
    ]


def _repository_root(directory: Path) -> Path:
    """The git work tree holding `directory`, or `directory` itself outside git."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=directory,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return directory.resolve()
    top = out.stdout.strip()
    return Path(top).resolve() if out.returncode == 0 and top else directory.resolve()
