"""A base image tag → the digest of its manifest (or index), for `slim pin`: from the
registry when it answers (the OCI distribution API), else from the local engine (the
image's RepoDigests). A small resolver of its own; slim_bake.registry may absorb it.

Registry: `HEAD /v2/<repository>/manifests/<tag>` accepting the OCI index and manifest
and Docker's list and manifest types, read `Docker-Content-Digest` (a GET and the body's
SHA-256 when a registry leaves it out). HTTPS, plain HTTP only for 127.0.0.1/localhost.
A 401 with `WWW-Authenticate: Bearer realm=…` gets an anonymous token (Docker Hub,
ghcr.io, gcr.io all give one for public images) and the request is made again."""

from __future__ import annotations

import hashlib
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from slim_bake.pinfile import DOCKER_HUB, Reference, parse_reference

ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
TIMEOUT = 10.0  # seconds per request
BODY_LIMIT = 4 << 20  # a manifest or token response larger than this is refused
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class Found:
    digest: str | None
    source: str  # "registry", "local engine", or why none was found


class Unreachable(Exception):
    """The registry did not answer usefully; the reason, for the user."""


def registry_url(ref: Reference) -> str:
    host = "registry-1.docker.io" if ref.host == DOCKER_HUB else ref.host
    scheme = "http" if host.rsplit(":", 1)[0] in _LOCAL_HOSTS or host in _LOCAL_HOSTS else "https"
    repository = urllib.parse.quote(ref.path, safe="/")
    tag = urllib.parse.quote(ref.tag or "latest", safe="")
    return f"{scheme}://{host}/v2/{repository}/manifests/{tag}"


def registry_digest(image: str, timeout: float = TIMEOUT) -> str:
    """The digest the registry gives `image`'s tag; Unreachable otherwise."""
    ref = parse_reference(image)
    if ref is None:
        raise Unreachable("not an image reference")
    url = registry_url(ref)
    try:
        return _manifest_digest(url, {}, timeout)
    except urllib.error.HTTPError as exc:
        challenge = exc.headers.get("WWW-Authenticate", "") if exc.code == 401 else ""
        if not challenge.lower().startswith("bearer "):
            raise Unreachable(f"registry answered HTTP {exc.code}") from None
    token = anonymous_token(challenge, ref, timeout)
    try:
        return _manifest_digest(url, {"Authorization": f"Bearer {token}"}, timeout)
    except urllib.error.HTTPError as exc:
        raise Unreachable(f"registry answered HTTP {exc.code}") from None


def _manifest_digest(url: str, headers: dict[str, str], timeout: float) -> str:
    request = urllib.request.Request(url, method="HEAD", headers={"Accept": ACCEPT, **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            digest = str(response.headers.get("Docker-Content-Digest", ""))
        if _DIGEST.fullmatch(digest):
            return digest
        request = urllib.request.Request(url, headers={"Accept": ACCEPT, **headers})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = _bounded(response)
        return "sha256:" + hashlib.sha256(body).hexdigest()
    except urllib.error.HTTPError:
        raise
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise Unreachable(f"no answer from {urllib.parse.urlsplit(url).netloc}: {exc}") from None


def anonymous_token(challenge: str, ref: Reference, timeout: float) -> str:
    fields = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    realm = fields.get("realm", "")
    parts = urllib.parse.urlsplit(realm)
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise Unreachable(f"token realm {realm!r} is not an https address")
    query = {"scope": fields.get("scope") or f"repository:{ref.path}:pull"}
    if "service" in fields:
        query["service"] = fields["service"]
    url = realm + ("&" if parts.query else "?") + urllib.parse.urlencode(query)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data: Any = json.loads(_bounded(response))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise Unreachable(f"no anonymous token from {parts.netloc}: {exc}") from None
    token = data.get("token") or data.get("access_token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise Unreachable(f"no anonymous token from {parts.netloc}")
    return token


def _bounded(response: Any) -> bytes:
    body: bytes = response.read(BODY_LIMIT + 1)
    if len(body) > BODY_LIMIT:
        raise ValueError("response larger than 4 MiB")
    return body


def engine_digest(image: str) -> tuple[str | None, str]:
    """The repository digest the local engine recorded for `image` (a pull or push
    records one; an image built or loaded locally has none), or why there is none."""
    from slim_bake.engine import client
    from slim_bake.errors import BuildError

    ref = parse_reference(image)
    if ref is None:
        return None, "not an image reference"
    try:
        engine = client()  # BuildError without the docker SDK or an engine
    except BuildError as exc:
        return None, f"and no local engine: {exc}"
    import docker

    try:
        found = engine.images.get(image)
    except docker.errors.ImageNotFound:
        return None, "not in the local engine either"
    for entry in found.attrs.get("RepoDigests") or ():
        name, _, digest = str(entry).partition("@")
        named = parse_reference(name)
        same = named is not None and (named.host, named.path) == (ref.host, ref.path)
        if same and _DIGEST.fullmatch(digest):
            return digest, "local engine"
    return None, "the local image has no repository digest (built or loaded here)"


def resolve_digest(image: str, *, registry: bool = True) -> Found:
    """`image`'s digest from its registry, else from the local engine; the reasons
    when neither knows it."""
    reason = "registry not asked"
    if registry:
        try:
            return Found(registry_digest(image), "registry")
        except Unreachable as exc:
            reason = str(exc)
    digest, source = engine_digest(image)
    return Found(digest, source if digest else f"{reason}; {source}")
