"""Resolution of a validated slim.yaml into the model: presets, profiles and defaults
applied, `bases:` overrides merged, budgets' "*" merged into each runtime's, sizes in
bytes. The document passed validate.py: nothing here checks or fails."""

from __future__ import annotations

import os.path
from pathlib import Path
from typing import Any

from slim_bake import presets
from slim_bake.config.model import (
    CUSTOM_LANGUAGE,
    DEFAULT_CLOSURE_EXTRA,
    Artifact,
    Assertions,
    Attest,
    Base,
    Budget,
    BuildSettings,
    Config,
    CopySpec,
    CustomBuild,
    Files,
    Profile,
    RuntimeContents,
    Secret,
    Smoke,
    override_base,
    preset_bases,
    split_runtime,
)
from slim_bake.loader import Document
from slim_bake.units import parse_growth, parse_size


def resolve(doc: Document, path: Path, root: Path) -> Config:
    """The model of `doc`, slim.yaml at the resolved `path` in the repository at `root`."""
    data: dict[str, Any] = doc.data
    output = data.get("output", {})
    bases = _bases(data.get("bases", {}), preset_bases())
    profiles = _profiles(data.get("profiles", {}))
    artifacts = tuple(
        _artifact(path.parent, name, spec, bases)
        for name, spec in data.get("artifacts", {}).items()
    )
    return Config(
        path=path,
        root=root,
        registry=data.get("registry"),
        platforms=tuple(data.get("platforms", ())),
        syntax=data.get("syntax"),
        dockerfiles_dir=Path(output.get("dockerfiles", "dockerfiles")).as_posix(),
        bake_file=Path(output.get("bake", "docker-bake.hcl")).as_posix(),
        artifacts=artifacts,
        profiles=profiles,
        attest=_attest(data.get("attest", {})),
        pins_file=Path(data.get("pins", "bases.Dockerfile")).as_posix(),
    )


def _attest(spec: dict[str, Any]) -> Attest:
    provenance = spec.get("provenance", False)
    return Attest(
        provenance=provenance or None,
        sbom=bool(spec.get("sbom", False)),
        sbom_generator=spec.get("sbom_generator"),
    )


def merge_list(preset: list[Any], user: Any, mode: str) -> list[Any]:
    """A list setting of slim.yaml over the preset's: `mode` (append or replace) for a
    plain list; {replace: [...]} and {append: [...]} say which explicitly."""
    if isinstance(user, dict):
        mode, user = (
            ("replace", user["replace"]) if "replace" in user else ("append", user["append"])
        )
    return list(user) if mode == "replace" else [*preset, *user]


def _bases(spec: dict[str, Any], inherited: dict[str, Base]) -> dict[str, Base]:
    return {**inherited, **{name: override_base(inherited[name], v) for name, v in spec.items()}}


def _profiles(spec: dict[str, Any]) -> dict[str, dict[str, Profile]]:
    """language → profile name → profile: the presets', then slim.yaml's `profiles:`."""
    merged = {lang: dict(language.profiles) for lang, language in presets.languages().items()}
    for lang, profiles in spec.items():
        merged[lang].update({name: presets.profile(p) for name, p in profiles.items()})
    return merged


def _artifact(directory: Path, name: str, spec: dict[str, Any], bases: dict[str, Base]) -> Artifact:
    runtimes = tuple(spec["runtimes"])
    return Artifact(
        name=name,
        lang=spec["lang"],
        context=_context(directory, spec.get("context", name)),
        binary=spec.get("binary", name),
        args=tuple(spec.get("args", ())),
        runtimes=runtimes,
        profiles=_profile_choice(spec.get("profile", "default"), runtimes),
        build=_build(spec["lang"], spec.get("build", {})),
        bases=_bases(spec.get("bases", {}), bases),
        files=Files(**spec.get("files", {})),
        closure_extra=tuple(spec.get("closure", {}).get("extra", DEFAULT_CLOSURE_EXTRA)),
        budgets=_budgets(spec.get("budgets", {}), runtimes),
        smoke=_smoke(spec.get("smoke")),
        labels=dict(spec.get("labels", {})),
        executables=tuple(spec.get("executables", ())),
        links=dict(spec.get("links", {})),
        entrypoint_args=tuple(spec.get("entrypoint_args", ())),
        runtime=_runtime_contents(spec.get("runtime", {})),
        asserts=_asserts(spec.get("assert", {}), runtimes),
    )


# The keys of `build:` that are not the language's vars.
_BUILD_KEYS = {"env", "packages", "secrets", "ssh", "outputs", "system", "install"}


def _build(lang: str, spec: dict[str, Any]) -> BuildSettings:
    flavours = presets.languages()[lang].flavours if lang == CUSTOM_LANGUAGE else {}
    packages = spec.get("packages")
    return BuildSettings(
        vars={k: v for k, v in spec.items() if k not in _BUILD_KEYS and k not in flavours},
        env=dict(spec.get("env", {})),
        packages=tuple(merge_list([], packages, "replace")) if packages else (),
        secrets=tuple(Secret(s["id"], s.get("src"), s.get("env")) for s in spec.get("secrets", ())),
        ssh=tuple(spec.get("ssh", ())),
        outputs=dict(spec.get("outputs", {})),
        system=spec.get("system", "sources"),
        install=spec.get("install"),
        custom={
            flavour: CustomBuild(c["command"], c["output"], c.get("toolchain"))
            for flavour, c in spec.items()
            if flavour in flavours
        },
    )


def _context(directory: Path, value: str) -> str:
    # Relative (with ".." when above slim.yaml) so the bake file works from any clone.
    return Path(os.path.relpath((directory / value).resolve(), directory)).as_posix()


def _profile_choice(spec: str | dict[str, str], runtimes: tuple[str, ...]) -> dict[str, str]:
    """runtime → profile name, from one name or a mapping with "*" for the rest."""
    if isinstance(spec, str):
        return {r: spec for r in runtimes}
    fallback = spec.get("*", "default")
    return {r: spec.get(r, fallback) for r in runtimes}


def _budgets(spec: dict[str, Any], runtimes: tuple[str, ...]) -> dict[str, Budget]:
    return {r: _budget({**spec.get("*", {}), **spec.get(r, {})}) for r in runtimes}


def _budget(spec: dict[str, Any]) -> Budget:
    def size(key: str) -> int | None:
        return parse_size(spec[key]) if key in spec else None

    spec = dict(spec)
    platforms = spec.pop("platforms", None) or {}

    return Budget(
        max=size("max"),
        max_compressed=size("max_compressed"),
        max_layers=spec.get("max_layers"),
        max_growth=parse_growth(spec["max_growth"]) if "max_growth" in spec else None,
        spelled={k: str(v) for k, v in spec.items()},
        platforms={p: _budget({**spec, **entry}) for p, entry in platforms.items()},
    )


def _asserts(spec: dict[str, Any], runtimes: tuple[str, ...]) -> dict[str, Assertions]:
    """runtime → assertions: the runtime's preset defaults, then "*", then its own
    entry, field by field (as budgets); a null field switches an inherited one off."""
    merged = {}
    for r in runtimes:
        defaults = presets.runtimes()[split_runtime(r)[0]].assert_defaults
        fields = {**defaults, **spec.get("*", {}), **spec.get(r, {})}
        merged[r] = _assertions({k: v for k, v in fields.items() if v is not None})
    return merged


def _assertions(spec: dict[str, Any]) -> Assertions:
    user = spec.get("user")
    return Assertions(
        present=tuple(spec.get("present", ())),
        absent=tuple(spec.get("absent", ())),
        no_private_keys=spec.get("no_private_keys", False),
        no_setuid=spec.get("no_setuid", False),
        no_world_writable=spec.get("no_world_writable", False),
        user=str(user) if user is not None else None,
        exec_form=spec.get("exec_form", False),
        ports=tuple(port_name(p) for p in spec.get("ports", ())),
        labels=tuple(spec.get("labels", ())),
        max_files=spec.get("max_files"),
    )


def port_name(port: int | str) -> str:
    """A port as the image config keys it: 8080 → "8080/tcp"."""
    text = str(port)
    return text if "/" in text else f"{text}/tcp"


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


def _runtime_contents(spec: dict[str, Any]) -> RuntimeContents:
    copies = tuple(
        CopySpec(
            item["src"],
            item["dest"],
            item.get("from", "context") == "build",
            item.get("owner"),
            item.get("mode"),
        )
        for item in spec.get("copy", ())
    )
    return RuntimeContents(
        copy=copies,
        env=dict(spec.get("env", {})),
        workdir=spec.get("workdir"),
        expose=tuple(str(p) for p in spec.get("expose", ())),
        user=spec.get("user"),
        volumes=tuple(spec.get("volumes", ())),
        stopsignal=spec.get("stopsignal"),
    )
