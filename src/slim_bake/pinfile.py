"""The base pins file (`pins:` in slim.yaml, default bases.Dockerfile): one line per base
image the plan uses, `FROM image:tag@sha256:… AS stage`, in a form Renovate's and
Dependabot's Docker managers update by themselves.

The digest lives only here. The generated docker-bake.hcl maps each pinned image to a
bake target that builds this file's stage (`contexts = {"image:tag" = "target:…"}`), and
BuildKit then uses that stage wherever a generated Dockerfile says `FROM image:tag` or
`COPY --from=image:tag`: a bot's digest update edits no generated file, and the next
bake builds on the new digest. The generated files depend only on which images have a
line (and its stage name), never on the digest.

This module reads and writes the format and parses image references; it does no I/O
beyond reading the file (slim_bake.pins finds digests)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from slim_bake.errors import ConfigError, Diagnostic

DEFAULT_PATH = "bases.Dockerfile"
PIN_TARGET_PREFIX = "_pin_"  # bake target names; slim.yaml's names cannot start with "_"
SIZE_LIMIT = 1 << 20
HEADER = (
    "# Base image pins for {source}, written by `slim pin`: one line per base image.\n"
    "# Renovate and Dependabot update the digests here; slim's generated docker-bake.hcl\n"
    "# builds each base from its line, so a digest update changes no generated file.\n"
    "# Edit by hand only to remove a line; `slim pin` rewrites this file.\n"
)
UNPINNED = "# not pinned: no digest known for {image}\n"

# An image reference as the distribution spec (and Docker's reference package) spells
# it: [host[:port]/]path[:tag][@sha256:hex]. Lower-case path components only.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOST = rf"(?:{_LABEL}(?:\.{_LABEL})*(?::[0-9]+)?)"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REFERENCE = re.compile(
    rf"(?:(?P<host>{_HOST})/)?(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?",
    re.ASCII,
)
# A stage name that is also part of a bake target name (which allows no ".").
_STAGE = re.compile(r"[a-z][a-z0-9_-]{0,127}")
_LINE = re.compile(r"FROM[ \t]+(?P<image>\S+)[ \t]+AS[ \t]+(?P<stage>\S+)[ \t]*", re.IGNORECASE)
DOCKER_HUB = "docker.io"


@dataclass(frozen=True)
class Reference:
    """A parsed image reference; `host` is docker.io for Docker Hub's short names."""

    host: str
    path: str  # library/debian on Docker Hub for "debian"
    tag: str | None
    digest: str | None

    @property
    def familiar(self) -> str:
        """The name as BuildKit looks up a named context for `FROM name`: Docker Hub's
        host and `library/` dropped, `:latest` dropped (distribution's FamiliarString)."""
        path = self.path
        if self.host == DOCKER_HUB:
            path = path.removeprefix("library/") if path.count("/") == 1 else path
            name = path
        else:
            name = f"{self.host}/{path}"
        name += f":{self.tag}" if self.tag else ""
        name += f"@{self.digest}" if self.digest else ""
        return name.removesuffix(":latest") if not self.digest else name


def parse_reference(image: str) -> Reference | None:
    """`image` parsed, or None when it is no plain image reference (a value from
    slim.yaml or the pins file reaches a FROM line and a bake file: nothing else passes)."""
    match = _REFERENCE.fullmatch(image)
    if match is None or len(image) > 255:
        return None
    host, path = match["host"], match["path"]
    if host is None or ("." not in host and ":" not in host and host != "localhost"):
        # "slim-standin/gcc": the first component is a path, not a host (Docker's rule)
        path = f"{host}/{path}" if host else path
        host = DOCKER_HUB
        path = path if "/" in path else f"library/{path}"
    elif host == "index.docker.io":
        host = DOCKER_HUB
    return Reference(host, path, match["tag"], match["digest"])


@dataclass(frozen=True)
class Pin:
    """One line of the pins file: the image as slim.yaml names it, its stage, its digest."""

    image: str  # without digest, as in the generated Dockerfiles' FROM lines
    stage: str
    digest: str | None  # None: a line without a digest (not pinned yet)

    @property
    def reference(self) -> str:
        return f"{self.image}@{self.digest}" if self.digest else self.image

    @property
    def context_key(self) -> str:
        """The key of bake's `contexts` that BuildKit matches `FROM <image>` against."""
        ref = parse_reference(self.image)
        assert ref is not None
        return ref.familiar

    @property
    def target(self) -> str:
        return PIN_TARGET_PREFIX + self.stage


def stage_name(image: str, taken: set[str]) -> str:
    """A stage name for `image` (debian:12-slim → debian-12-slim) not in `taken`: the
    other stages and every image of the file (Renovate skips a FROM whose image is an
    earlier stage's name, its own line's included)."""
    base = re.sub(r"[^a-z0-9_-]+", "-", image.lower()).strip("-_")[:100] or "base"
    base = base if base[0].isalpha() else f"base-{base}"
    name, n = base, 1
    while name in taken or name == image:
        n += 1
        name = f"{base}-{n}"
    return name


def render(pins: list[Pin], source: str) -> str:
    """The file's text: the header, then one line per pin sorted by image."""
    lines = [HEADER.format(source=source)]
    for pin in sorted(pins, key=lambda p: p.image):
        if pin.digest is None:
            lines.append(UNPINNED.format(image=pin.image))
        lines.append(f"FROM {pin.reference} AS {pin.stage}\n")
    return "".join(lines)


def parse(text: str, file: str) -> dict[str, Pin]:
    """image → pin; ConfigError naming every bad line."""
    pins: dict[str, Pin] = {}
    stages: set[str] = set()
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        problem, pin = _line(stripped)
        if pin is not None and pin.image in pins:
            problem = f"{pin.image!r} has a line already"
        elif pin is not None and pin.stage in stages:
            problem = f"stage {pin.stage!r} is named twice"
        if problem or pin is None:
            problems.append(Diagnostic(file, number, 1, "", problem or "unreadable line"))
            continue
        pins[pin.image] = pin
        stages.add(pin.stage)
    clash = sorted(stages & set(pins))
    for name in clash:
        problems.append(Diagnostic(file, 0, 0, "", f"stage {name!r} is also an image here"))
    if problems:
        raise ConfigError(problems)
    return pins


def _line(line: str) -> tuple[str | None, Pin | None]:
    match = _LINE.fullmatch(line)
    if match is None:
        return "expected `FROM image:tag@sha256:digest AS name` (or a # comment)", None
    ref = parse_reference(match["image"])
    if ref is None or ref.tag is None:
        return f"{match['image']!r} is not an image reference with a tag", None
    if not _STAGE.fullmatch(match["stage"]):
        return f"{match['stage']!r} is not a stage name (a-z, 0-9, '_', '-')", None
    image = match["image"].split("@", 1)[0]
    return None, Pin(image, match["stage"], ref.digest)


def read(path: Path, file: str) -> dict[str, Pin]:
    """The pins in `path` (none when it does not exist); `file` names it in errors."""
    try:
        with path.open("rb") as handle:
            data = handle.read(SIZE_LIMIT + 1)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError([Diagnostic(file, 0, 0, "", f"cannot read: {exc.strerror}")]) from None
    if len(data) > SIZE_LIMIT:
        raise ConfigError([Diagnostic(file, 0, 0, "", "larger than 1 MiB")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([Diagnostic(file, 0, 0, "", f"not UTF-8 text: {exc}")]) from None
    return parse(text, file)
