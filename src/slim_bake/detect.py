"""What `slim init` finds in a repository: the language, the build system, the
program's name, and the slim.yaml artifact that builds it.

The rules (which file means which language and build system, the runtimes per
language) are data: presets/init.yaml. Only the top of the repository is looked at,
except where a build system names its program in a file of its own (Makefile.am,
cmd/<name>/ of a Go module)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slim_bake import presets
from slim_bake.presets import DetectRule

_NAME_CHARS = re.compile(r"[^a-z0-9._-]+")
_BINARY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_MAKE_RULE = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_.+-]*)[ \t]*:(?!=)([^=\n]*)$", re.M)
_MAKE_SPECIAL = {
    "all", "install", "uninstall", "clean", "distclean", "mostlyclean", "realclean",
    "test", "tests", "check", "dist", "doc", "docs", "format", "lint", "help", "default",
}  # fmt: skip
_CMAKE_EXECUTABLE = re.compile(r"add_executable\s*\(\s*([A-Za-z0-9_.+${}-]+)", re.I)
_CMAKE_PROJECT = re.compile(r"project\s*\(\s*([A-Za-z0-9_.+-]+)", re.I)
_MESON_EXECUTABLE = re.compile(r"executable\s*\(\s*['\"]([^'\"]+)['\"]")
_AUTOMAKE_PROGRAMS = re.compile(r"^\s*bin_PROGRAMS\s*\+?=\s*(\S+)", re.M)
_AC_INIT = re.compile(r"AC_INIT\s*\(\s*\[?([^\],)]+)")
_GO_MODULE = re.compile(r"^\s*module\s+(\S+)", re.M)
_GO_MAIN = re.compile(r"^\s*package\s+main\b", re.M)
_C_MAIN = re.compile(r"\bmain\s*\(")


@dataclass(frozen=True)
class Detection:
    lang: str  # c | cpp | go | rust
    system: str  # sources | make | cmake | meson | autotools | go | cargo
    binary: str
    found: str  # the file (or pattern) that decided
    build: dict[str, Any] = field(default_factory=dict)  # slim.yaml's `build:` block
    runtimes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The artifact's name: the binary's, as slim.yaml's names allow."""
        name = _NAME_CHARS.sub("-", self.binary.lower()).strip("._-")
        name = re.sub(r"[._-]{2,}", "-", name)
        return name[:64].strip("._-") or "app"

    def artifact(self) -> dict[str, Any]:
        """The artifact entry of slim.yaml (context: the repository's top)."""
        entry: dict[str, Any] = {"lang": self.lang, "context": "."}
        if self.binary != self.name:
            entry["binary"] = self.binary
        entry["runtimes"] = list(self.runtimes)
        if self.build:
            entry["build"] = self.build
        return entry


def detect(root: Path) -> Detection | None:
    """The first rule of presets/init.yaml that `root` matches, resolved; None if none."""
    data = presets.detection()
    for rule in data.rules:
        found = _matches(root, rule)
        if found is None:
            continue
        lang, system = rule.lang, rule.system
        if lang == "c" and system != "sources" and _mostly_cpp(root, data):
            lang = "cpp"
        binary, build = _RESOLVERS[system](root, found)
        binary = binary if _BINARY.match(binary) else _fallback(root)
        return Detection(lang, system, binary, found, build, data.runtimes[lang])
    return None


def _matches(root: Path, rule: DetectRule) -> str | None:
    for name in rule.files:
        if (root / name).is_file():
            return name
    for pattern in rule.globs:
        if any(path.is_file() for path in root.glob(pattern)):
            return pattern
    return None


def _mostly_cpp(root: Path, data: presets.Detection) -> bool:
    def count(patterns: tuple[str, ...]) -> int:
        return sum(1 for p in patterns for _ in _limited(root.rglob(p)))

    return count(data.cpp_globs) > count(data.c_globs)


def _limited(paths: Any, limit: int = 2000) -> list[Path]:
    found = []
    for path in paths:
        if ".git" not in path.parts:
            found.append(path)
        if len(found) >= limit:
            break
    return found


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[:200_000]
    except OSError:
        return ""


def _fallback(root: Path) -> str:
    """The repository folder's name, as a binary name."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", root.resolve().name).strip("._-")
    return name or "app"


# --- Per build system: the binary's name and the `build:` block -------------------------


def _go(root: Path, found: str) -> tuple[str, dict[str, Any]]:
    match = _GO_MODULE.search(_read(root / found))
    parts = match.group(1).strip("/").split("/") if match else []
    if len(parts) > 1 and re.fullmatch(r"v\d+", parts[-1]):
        parts.pop()  # example.com/tool/v2 builds `tool`
    binary = parts[-1] if parts else _fallback(root)
    if any(_GO_MAIN.search(_read(p)) for p in sorted(root.glob("*.go"))):
        return binary, {}
    for folder in sorted(p for p in (root / "cmd").glob("*") if p.is_dir()):
        if any(_GO_MAIN.search(_read(p)) for p in folder.glob("*.go")):
            return folder.name, {"package": f"./cmd/{folder.name}"}
    return binary, {}


def _cargo(root: Path, found: str) -> tuple[str, dict[str, Any]]:
    try:
        manifest = tomllib.loads(_read(root / found))
    except tomllib.TOMLDecodeError:
        return _fallback(root), {}
    bins = manifest.get("bin")
    if isinstance(bins, list) and bins and isinstance(bins[0], dict) and bins[0].get("name"):
        return str(bins[0]["name"]), {}
    package = manifest.get("package")
    if isinstance(package, dict) and package.get("name"):
        return str(package["name"]), {}
    return _fallback(root), {}


def _sources(root: Path, found: str) -> tuple[str, dict[str, Any]]:
    files = sorted(p for p in root.glob(found) if p.is_file())
    mains = [p for p in files if _C_MAIN.search(_read(p))]
    chosen = mains[0] if len(mains) == 1 else files[0] if len(files) == 1 else None
    build: dict[str, Any] = {} if found == "*.c" else {"sources": [f"./{found}"]}
    return (chosen.stem if chosen else _fallback(root)), build


def _make(root: Path, found: str) -> tuple[str, dict[str, Any]]:
    text = _read(root / found)
    rules = [(m.group(1), m.group(2).split()) for m in _MAKE_RULE.finditer(text)]
    for target, prerequisites in rules:
        if target == "all":
            plain = [p for p in prerequisites if _plain_program(p)]
            if plain:
                return plain[0], {"system": "make"}
    for target, _ in rules:
        if target not in _MAKE_SPECIAL and _plain_program(target):
            return target, {"system": "make"}
    return _fallback(root), {"system": "make"}


def _plain_program(word: str) -> bool:
    return bool(_BINARY.match(word)) and "." not in word and word not in _MAKE_SPECIAL


def _cmake(root: Path, found: str) -> tuple[str, dict[str, Any]]:
    text = _read(root / found)
    project = _CMAKE_PROJECT.search(text)
    binary = _fallback(root)
    for match in _CMAKE_EXECUTABLE.finditer(text):
        name = match.group(1)
        if name == "${PROJECT_NAME}" and project:
            name = project.group(1)
        if _BINARY.match(name):
            binary = name
            break
    build: dict[str, Any] = {"system": "cmake"}
    if not re.search(r"\binstall\s*\(", text, re.I):
        # Nothing to install: take the program from CMake's build folder.
        build |= {"install": False, "outputs": {binary: f"/tmp/build/{binary}"}}
    return binary, build


def _meson(root: Path, found: str) -> tuple[str, dict[str, Any]]:
    match = _MESON_EXECUTABLE.search(_read(root / found))
    return (match.group(1) if match else _fallback(root)), {"system": "meson"}


def _autotools(root: Path, found: str) -> tuple[str, dict[str, Any]]:
    for makefile_am in (root / "Makefile.am", root / "src" / "Makefile.am"):
        match = _AUTOMAKE_PROGRAMS.search(_read(makefile_am))
        if match and _BINARY.match(match.group(1)):
            return match.group(1), {"system": "autotools"}
    for name in ("configure.ac", "configure.in"):
        match = _AC_INIT.search(_read(root / name))
        if match:
            return match.group(1).strip(), {"system": "autotools"}
    return _fallback(root), {"system": "autotools"}


_RESOLVERS = {
    "go": _go,
    "cargo": _cargo,
    "sources": _sources,
    "make": _make,
    "cmake": _cmake,
    "meson": _meson,
    "autotools": _autotools,
}
