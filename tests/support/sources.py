"""Real third-party sources for the real-program tests and benchmarks, fetched at test time.

Each program comes from a Debian bookworm *source* package, pinned by version and by the
sha256 of its .dsc: `apt-get source --download-only` with a private sources file and private
apt state (the system's apt configuration is not touched, as in scripts/engine.sh), then
`dpkg-source -x` (Debian's patches applied). Go dependencies are vendored from Debian's
`golang-*-dev` binary packages (`apt-get download` + `dpkg-deb -x`, their sources under
/usr/share/gocode/src) into vendor/ with a vendor/modules.txt that matches go.mod, so that
`go build` (vendor mode is Go's default when vendor/ exists) needs no network.

Everything is cached by content under SLIM_SOURCES_CACHE (default /var/cache/slim-sources):
a second fetch of the same pin takes no network. Sources are never committed.

    python tests/support/sources.py [--cache DIR] [PROGRAM...]  # fetch (default: all)
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CACHE = Path("/var/cache/slim-sources")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


class SourceError(RuntimeError):
    """A source could not be fetched or unpacked (network, mirror, pin mismatch)."""


@dataclass(frozen=True)
class GoVendor:
    """A Go module vendored from a Debian binary package (`package=version`)."""

    module: str  # module path, as go.mod requires it
    package: str  # Debian binary package shipping /usr/share/gocode/src/<module>
    version: str  # its Debian version (pinned)
    # its folder under /usr/share/gocode/src when not `module` (Debian drops the /vN suffix)
    gocode_path: str = ""

    @property
    def path(self) -> str:
        return self.gocode_path or self.module


@dataclass(frozen=True)
class Source:
    """A Debian source package pinned by version and .dsc sha256."""

    package: str
    version: str
    dsc_sha256: str
    go_vendor: tuple[GoVendor, ...] = field(default=())
    # False: the upstream tree as released (`dpkg-source -x --skip-patches`), e.g. when Debian's
    # patches only serve Debian's packaging (lz4's program linked to the shared liblz4).
    debian_patches: bool = True
    # Files removed after unpacking, as Debian's own build does: dh-cargo builds without the
    # upstream Cargo.lock, whose crates.io versions Debian's crate set does not have.
    remove: tuple[str, ...] = ()
    # Lines deleted from a file after unpacking: (file, exact line), each with its reason below.
    drop_lines: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """The cache directory name: package, version and the start of the .dsc's digest."""
        safe_version = re.sub(r"[^A-Za-z0-9.+-]", "_", self.version)
        upstream = "" if self.debian_patches else "-upstream"
        removed = "-no-" + "-".join(sorted(self.remove)) if self.remove else ""
        removed += "-edited" if self.drop_lines else ""
        return f"{self.package}_{safe_version}-{self.dsc_sha256[:12]}{upstream}{removed}"


# The pins of the real programs (tests/support/real_programs.py says how each builds).
SOURCES: dict[str, Source] = {
    "hello": Source(
        "hello", "2.10-3", "75296f5ef618ae2f1849e22b142a2b5ab52c452ebefa4e7b0564c44617db3790"
    ),
    "lz4": Source(
        "lz4",
        "1.9.4-1",
        "e16302bca544d08d106efc216541f4a0403c8f8a5fad5eaac7588223a55af263",
        debian_patches=False,
    ),
    "ninja": Source(
        "ninja-build",
        "1.11.1-2~deb12u1",
        "6235cfc4d7971bd470a46157abe83d6fc254eec6ba664084ee5f0996739aa2fe",
    ),
    "ripgrep": Source(
        "rust-ripgrep",
        "13.0.0-4",
        "a6c86dd6e0a0693f9aa44a9b5412d33111ecf14a0acbc237580f05ef96890577",
        remove=("Cargo.lock",),
        # Debian's grep crate has no `simd-accel` feature (packed_simd is not in Debian), and
        # cargo refuses a feature that names a missing one even when nobody enables it.
        drop_lines=(("Cargo.toml", 'simd-accel = ["grep/simd-accel"]'),),
    ),
    "shfmt": Source(
        "golang-mvdan-sh",
        "3.6.0-1",
        "501ee84c4d3be5546b1fc842131c015958da7b827b2f090ac7d593fa1528a347",
        go_vendor=(
            GoVendor("golang.org/x/term", "golang-golang-x-term-dev", "0.3.0-1"),
            GoVendor("golang.org/x/sys", "golang-golang-x-sys-dev", "0.3.0-1"),
            GoVendor("mvdan.cc/editorconfig", "golang-mvdan-editorconfig-dev", "0.2.0-3"),
            GoVendor(
                "github.com/google/renameio/v2",
                "golang-github-google-renameio-dev",
                "2.0.0-2",
                gocode_path="github.com/google/renameio",
            ),
            GoVendor(
                "github.com/pkg/diff", "golang-github-pkg-diff-dev", "0.0~git20210226.20ebb0f-1"
            ),
        ),
    ),
}


def cache_dir() -> Path:
    return Path(os.environ.get("SLIM_SOURCES_CACHE", DEFAULT_CACHE))


def system_mirror() -> str:
    """SLIM_DEBIAN_MIRROR, else the system's Debian mirror (deb822 sources), else deb.debian.org."""
    env = os.environ.get("SLIM_DEBIAN_MIRROR")
    if env:
        return env
    for path in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        text = path.read_text(errors="replace")
        for stanza in text.split("\n\n"):
            if "bookworm" in stanza and re.search(r"^Suites:.*\bbookworm\b", stanza, re.M):
                match = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
                if match and "security" not in match.group(1):
                    return match.group(1)
    return DEFAULT_MIRROR


class Apt:
    """apt-get with a private sources file and private state under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sources = root / "bookworm.sources"
        self.lists = root / "lists"
        self.updated = False

    def options(self) -> list[str]:
        return [
            "-o", f"Dir::Etc::SourceList={self.sources}",
            "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", f"Dir::State::Lists={self.lists}",
            "-o", f"Dir::Cache={self.root / 'cache'}",
            "-o", "APT::Get::List-Cleanup=false",
        ]  # fmt: skip

    def update(self) -> None:
        if self.updated:
            return
        (self.lists / "partial").mkdir(parents=True, exist_ok=True)
        (self.root / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
        keyring = f"Signed-By: {KEYRING}\n" if Path(KEYRING).exists() else ""
        self.sources.write_text(
            f"Types: deb deb-src\nURIs: {system_mirror()}\nSuites: {SUITE}\n"
            f"Components: main\n{keyring}"
        )
        self.run(["update"])
        self.updated = True

    def run(self, args: list[str], cwd: Path | None = None) -> None:
        cmd = ["apt-get", "-q", *self.options(), *args]
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-8:])
            raise SourceError(f"`{' '.join(['apt-get', *args])}` failed:\n{tail}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def _locked(cache: Path) -> Iterator[None]:
    """One fetcher at a time per cache (parallel test sessions share it)."""
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _ensure_dpkg_source() -> None:
    if shutil.which("dpkg-source"):
        return
    if os.geteuid() != 0:
        raise SourceError("dpkg-source is missing: apt-get install dpkg-dev")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["install", "-y", "-qq", "--no-install-recommends", "dpkg-dev"]
    for args in (["update", "-qq"], install):
        subprocess.run(["apt-get", *args], check=True, capture_output=True, env=env)


def _unpack(apt: Apt, source: Source, dest: Path) -> None:
    """Download the pinned source package into a temporary folder, check it, unpack to dest."""
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".fetch-") as tmp:
        work = Path(tmp)
        apt.run(["source", "--download-only", f"{source.package}={source.version}"], cwd=work)
        dsc = work / f"{source.package}_{re.sub(r'^[0-9]+:', '', source.version)}.dsc"
        if not dsc.exists():
            raise SourceError(f"apt-get source left no {dsc.name}")
        digest = _sha256(dsc)
        if digest != source.dsc_sha256:
            raise SourceError(f"{dsc.name}: sha256 {digest} is not the pinned {source.dsc_sha256}")
        # The archive's Release signature already vouched for the .dsc; dpkg-source checks the
        # tarballs' digests against it.
        skip = [] if source.debian_patches else ["--skip-patches"]
        proc = subprocess.run(
            ["dpkg-source", "--no-check", *skip, "-x", dsc.name, "tree"],
            cwd=work, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            raise SourceError(f"dpkg-source -x {dsc.name} failed:\n{proc.stderr.strip()}")
        tree = work / "tree"
        for name in source.remove:
            (tree / name).unlink(missing_ok=True)
        for name, line in source.drop_lines:
            text = (tree / name).read_text().splitlines(keepends=True)
            kept = [t for t in text if t.rstrip("\n") != line]
            if len(kept) == len(text):
                raise SourceError(f"{source.package}: {name} has no line {line!r}")
            (tree / name).write_text("".join(kept))
        if source.go_vendor:
            _vendor_go(apt, source, tree, work)
        tree.rename(dest)


def _go_requirements(go_mod: str) -> list[tuple[str, str]]:
    """The (module, version) pairs that go.mod requires (both block and one-line forms)."""
    reqs: list[tuple[str, str]] = []
    in_block = False
    for raw in go_mod.splitlines():
        line = raw.split("//")[0].strip()
        if line.startswith("require ("):
            in_block = True
            continue
        if in_block and line == ")":
            in_block = False
            continue
        words = line.split()
        if in_block and len(words) == 2:
            reqs.append((words[0], words[1]))
        elif len(words) == 3 and words[0] == "require":
            reqs.append((words[1], words[2]))
    return reqs


def _go_packages(module_dir: Path, module: str) -> list[str]:
    """Import paths of the non-test packages under a vendored module (testdata excluded)."""
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(module_dir):
        dirnames[:] = sorted(d for d in dirnames if d not in ("testdata", "vendor"))
        if dirnames and any(d.startswith((".", "_")) for d in dirnames):
            dirnames[:] = [d for d in dirnames if not d.startswith((".", "_"))]
        if any(f.endswith(".go") and not f.endswith("_test.go") for f in filenames):
            rel = Path(dirpath).relative_to(module_dir).as_posix()
            found.append(module if rel == "." else f"{module}/{rel}")
    return sorted(found)


def _vendor_go(apt: Apt, source: Source, tree: Path, work: Path) -> None:
    """vendor/ from Debian's golang-*-dev packages, modules.txt consistent with go.mod."""
    debs = work / "debs"
    debs.mkdir()
    apt.run(["download", *(f"{v.package}={v.version}" for v in source.go_vendor)], cwd=debs)
    root = work / "debroot"
    for deb in sorted(debs.glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    go_mod = (tree / "go.mod").read_text()
    vendored = {v.module: v for v in source.go_vendor}
    lines: list[str] = []
    for module, version in _go_requirements(go_mod):
        if module not in vendored:  # required (tests, other commands) but not built here
            lines += [f"# {module} {version}", "## explicit"]
            continue
        src = root / "usr/share/gocode/src" / vendored[module].path
        if not src.is_dir():
            raise SourceError(f"no {module} in the Debian packages of {source.package}")
        shutil.copytree(src, tree / "vendor" / module, symlinks=False)
        # As `go mod vendor` writes it: the module's own language version.
        own = tree / "vendor" / module / "go.mod"
        match = re.search(r"^go\s+(\S+)", own.read_text(), re.M) if own.exists() else None
        explicit = "## explicit" + (f"; go {match.group(1)}" if match else "")
        packages = _go_packages(tree / "vendor" / module, module)
        lines += [f"# {module} {version}", explicit, *packages]
    missing = set(vendored) - {m for m, _ in _go_requirements(go_mod)}
    if missing:
        raise SourceError(f"go.mod of {source.package} does not require {sorted(missing)}")
    (tree / "vendor" / "modules.txt").write_text("\n".join(lines) + "\n")


def fetch(name: str, cache: Path | None = None) -> Path:
    """The unpacked source tree of program `name` (see SOURCES), fetched once and cached."""
    source = SOURCES[name]
    cache = cache or cache_dir()
    dest = cache / "trees" / source.key
    if dest.is_dir():
        return dest
    with _locked(cache):
        if dest.is_dir():
            return dest
        _ensure_dpkg_source()
        dest.parent.mkdir(parents=True, exist_ok=True)
        apt = Apt(cache / "apt")
        apt.update()
        _unpack(apt, source, dest)
    return dest


def download_binary(package: str, cache: Path | None = None) -> Path:
    """Debian's binary package `package` (bookworm, this architecture), cached by name."""
    cache = cache or cache_dir()
    debs = cache / "debs" / package
    found = sorted(debs.glob("*.deb")) if debs.is_dir() else []
    if found:
        return found[-1]
    with _locked(cache):
        debs.mkdir(parents=True, exist_ok=True)
        apt = Apt(cache / "apt")
        apt.update()
        with tempfile.TemporaryDirectory(dir=debs, prefix=".fetch-") as tmp:
            apt.run(["download", package], cwd=Path(tmp))
            for deb in Path(tmp).glob("*.deb"):
                deb.rename(debs / deb.name)
    found = sorted(debs.glob("*.deb"))
    if not found:
        raise SourceError(f"apt-get download {package} left no .deb")
    return found[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("programs", nargs="*", metavar="PROGRAM", help=", ".join(SOURCES))
    parser.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.programs) - set(SOURCES))
    if unknown:
        parser.error(f"unknown program(s) {', '.join(unknown)}; known: {', '.join(SOURCES)}")
    for name in args.programs or sorted(SOURCES):
        try:
            print(f"{name}\t{fetch(name, args.cache)}")
        except SourceError as exc:
            print(f"sources.py: {name}: {exc}", file=sys.stderr)
            return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
