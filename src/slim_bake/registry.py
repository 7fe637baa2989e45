"""A small client of the OCI distribution API (a registry's /v2/), over urllib: enough to
read an image by its manifest — the manifest or index, the config, a layer blob streamed.

A registry is untrusted input reached over the network, so:

- plain http only for a loopback host (127.0.0.1, localhost, ::1), https otherwise;
- every request has a timeout, and a manifest, config or token answer has a total
  deadline and a size cap (MAX_DOCUMENT) — a server dripping bytes or sending an
  endless body cannot hold or fill slim;
- the `WWW-Authenticate` challenge answered as docker does: a Bearer token from the
  challenge's realm (https, or a loopback host), anonymous or with the credentials
  `docker login` stored for the host (credentials.py); Basic with those credentials.
  The token or Basic header is sent to the registry's origin (scheme, host, port) and
  nowhere else; the credentials only to the realm, and never to a plain-http one;
- a manifest request redirected to another origin is refused; a blob (config or layer)
  redirected to another origin (a registry's storage or CDN, as Docker Hub does) is
  fetched there without the token, and only over https (or to a loopback host);
- what a digest names is checked against it: a manifest or config at once, a layer
  while it streams (BlobReader.verify at its end).

It knows requests and digests, nothing of images: `imageref` reads them."""

from __future__ import annotations

import hashlib
import http.client
import io
import ipaddress
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from slim_bake import __version__
from slim_bake.credentials import Credentials, lookup
from slim_bake.errors import BuildError, UsageError
from slim_bake.nofollow import OPENER
from slim_bake.safe_text import printable

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_TYPES = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MAX_DOCUMENT = 4 << 20  # bytes of a manifest, index, config or token answer
TIMEOUT = 30.0  # seconds: one socket operation, and one whole document
MAX_REDIRECTS = 5
DOCKER_HUB = "registry-1.docker.io"
_CHUNK = 1 << 20
_REDIRECTS = (301, 302, 303, 307, 308)
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_REPOSITORY = re.compile(
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(?::[0-9]{1,5})?$")


class NotFound(BuildError):
    """The registry answered 404: no such repository, tag or blob."""


@dataclass(frozen=True)
class Reference:
    """HOST[:PORT]/REPOSITORY[:TAG][@DIGEST]."""

    host: str  # with its port, as written (docker.io is Docker Hub's registry-1.docker.io)
    repository: str
    tag: str | None
    digest: str | None

    @property
    def reference(self) -> str:
        """What /manifests/ is asked for: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        text = f"{self.host}/{self.repository}"
        text += f":{self.tag}" if self.tag else ""
        return text + (f"@{self.digest}" if self.digest else "")


def looks_like_registry(text: str) -> bool:
    """Whether `text` names its registry host, as docker decides: a first path component
    with a dot or a port, or localhost."""
    first, slash, _ = text.partition("/")
    return bool(slash) and ("." in first or ":" in first or first == "localhost")


def parse_reference(text: str) -> Reference:
    """A registry reference, or UsageError saying what is wrong with it."""
    if not looks_like_registry(text):
        raise UsageError(
            f"{printable(text)!s}: not a registry reference (HOST[:PORT]/REPO[:TAG|@DIGEST])"
        )
    host, _, rest = text.partition("/")
    name, at, digest = rest.partition("@")
    repository, tag = name, None
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        repository, tag = name[:colon], name[colon + 1 :]
    if not _HOST.match(host):
        raise UsageError(f"{printable(text)!s}: {printable(host)!s} is not a host[:port]")
    if not _REPOSITORY.match(repository):
        raise UsageError(f"{printable(text)!s}: {printable(repository)!s} is not a repository name")
    if tag is not None and not _TAG.match(tag):
        raise UsageError(f"{printable(text)!s}: {printable(tag)!s} is not a tag")
    if at and not _DIGEST.match(digest):
        raise UsageError(f"{printable(text)!s}: the digest is not sha256:<64 hex digits>")
    if host == "docker.io" and "/" not in repository:
        repository = f"library/{repository}"
    return Reference(host, repository, tag, digest or None)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parsed = urllib.parse.urlsplit(url)
        port = parsed.port
    except ValueError:
        return None
    scheme = parsed.scheme.lower()
    if scheme not in ("http", "https") or not parsed.hostname or "@" in parsed.netloc:
        return None
    return scheme, parsed.hostname.lower(), port or (443 if scheme == "https" else 80)


@dataclass
class Registry:
    """One registry host. `requests` counts the HTTP requests made, `blob_reads` the
    layer blobs opened (tests and benchmarks read them)."""

    host: str
    timeout: float = TIMEOUT
    max_document: int = MAX_DOCUMENT
    requests: int = 0
    blob_reads: int = 0
    credentials: Callable[[str], Credentials | None] = field(default_factory=lambda: lookup)
    _auth: dict[str, str] = field(default_factory=dict)  # Authorization, by repository
    _found: list[Credentials | None] = field(default_factory=list)  # looked up once

    def __post_init__(self) -> None:
        name = DOCKER_HUB if self.host == "docker.io" else self.host
        hostname = urllib.parse.urlsplit(f"//{name}").hostname or name
        scheme = "http" if is_loopback(hostname) else "https"
        self.base = f"{scheme}://{name}"
        origin = _origin(self.base)
        if origin is None:
            raise UsageError(f"{printable(self.host)!s}: not a registry host")
        self.origin = origin

    # --- what imageref asks for

    def manifest(self, repository: str, reference: str) -> tuple[bytes, str]:
        """(bytes, media type) of a manifest or index, checked against `reference` when
        it is a digest."""
        url = f"{self.base}/v2/{repository}/manifests/{reference}"
        accept = ", ".join(MANIFEST_TYPES)
        response = self._open(url, repository, accept=accept, elsewhere=False)
        with response:
            body = self._read_document(response, url)
            media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if _DIGEST.match(reference):
            check_digest(body, reference, url)
        return body, media_type

    def blob_bytes(self, repository: str, digest: str) -> bytes:
        """A small blob (a config), whole and checked against its digest."""
        url = f"{self.base}/v2/{repository}/blobs/{digest}"
        with self._open(url, repository, elsewhere=True) as response:
            body = self._read_document(response, url)
        check_digest(body, digest, url)
        return body

    def open_blob(self, repository: str, digest: str, size: int) -> BlobReader:
        """A layer blob as a stream that checks its size and digest as it is read."""
        url = f"{self.base}/v2/{repository}/blobs/{digest}"
        self.blob_reads += 1
        return BlobReader(self._open(url, repository, elsewhere=True), digest, size, url)

    # --- HTTP

    def _open(self, url: str, repository: str, *, elsewhere: bool, accept: str = "*/*") -> Any:
        """The response to GET `url` (status 200), after the token challenge and redirects."""
        for attempt in range(2):
            response = self._follow(url, repository, accept, elsewhere)
            status = _status(response)
            if status == 401 and attempt == 0 and repository not in self._auth:
                challenge = response.headers.get("WWW-Authenticate", "")
                response.close()
                self._auth[repository] = self._authorize(challenge, repository, url)
                continue
            if status == 200:
                return response
            response.close()
            error = NotFound if status == 404 else BuildError
            raise error(f"GET {printable(url)}: {_explain(status, self.host)}")
        whose = "with the credentials of docker's config" if self._login() else "anonymously"
        raise BuildError(f"GET {printable(url)}: refused after authenticating {whose} (HTTP 401)")

    def _follow(self, url: str, repository: str, accept: str, elsewhere: bool) -> Any:
        """GET `url`, following redirects: within the registry's origin always; to
        another origin only when `elsewhere` (a blob: its storage or CDN) and only over
        https (or to a loopback host), never with the token."""
        for _ in range(MAX_REDIRECTS + 1):
            same = _origin(url) == self.origin
            headers = {"Accept": accept, "User-Agent": f"slim-bake/{__version__}"}
            authorization = self._auth.get(repository)
            if authorization and same:  # it never leaves the registry's origin
                headers["Authorization"] = authorization
            response = self._get(url, headers)
            if _status(response) not in _REDIRECTS:
                return response
            location = response.headers.get("Location", "")
            response.close()
            target = urllib.parse.urljoin(url, location)
            where = _origin(target)
            if not location or where is None:
                raise BuildError(f"GET {printable(url)}: a redirect to nowhere usable")
            if where != self.origin and not (elsewhere and _safe_storage(where)):
                raise BuildError(
                    f"GET {printable(url)}: redirected to another origin"
                    f" ({printable(target)}); not followed"
                )
            url = target
        raise BuildError(f"GET {printable(url)}: more than {MAX_REDIRECTS} redirects")

    def _get(self, url: str, headers: Mapping[str, str], form: bytes | None = None) -> Any:
        """GET `url` (POST `form`); the answer whatever its status, redirects not followed."""
        self.requests += 1
        method = "GET" if form is None else "POST"
        request = urllib.request.Request(url, data=form, headers=dict(headers), method=method)
        try:
            return OPENER.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:  # an answer all the same
            return exc
        except urllib.error.URLError as exc:
            raise BuildError(f"GET {printable(url)}: {printable(str(exc.reason))}") from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise BuildError(
                f"GET {printable(url)}: {printable(str(exc) or type(exc).__name__)}"
            ) from None

    def _read_document(self, response: Any, url: str) -> bytes:
        """The whole body, at most max_document bytes, within `timeout` seconds in all:
        a socket timeout alone bounds each read, not a server dripping a byte at a time."""
        deadline = time.monotonic() + self.timeout
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > self.max_document:
            raise BuildError(
                f"GET {printable(url)}: {int(length):,} bytes, more than a"
                f" manifest or config may be ({self.max_document:,}): refused"
            )
        body = bytearray()
        try:
            while True:
                piece = response.read1(65536)
                if not piece:
                    return bytes(body)
                body += piece
                if len(body) > self.max_document:
                    raise BuildError(
                        f"GET {printable(url)}: more than {self.max_document:,}"
                        " bytes, more than a manifest or config may be: refused"
                    )
                if time.monotonic() > deadline:
                    raise BuildError(
                        f"GET {printable(url)}: no complete answer within {self.timeout:g} s"
                    )
        except (OSError, http.client.HTTPException) as exc:
            raise BuildError(
                f"GET {printable(url)}: {printable(str(exc) or type(exc).__name__)}"
            ) from None

    def _login(self) -> Credentials | None:
        if not self._found:
            self._found.append(self.credentials(self.host))
        return self._found[0]

    def _authorize(self, challenge: str, repository: str, url: str) -> str:
        """The Authorization header answering a 401's challenge."""
        scheme, _, params = challenge.partition(" ")
        login = self._login()
        if scheme.lower() == "basic" and login is not None and login.password:
            return login.basic()  # to the registry's origin: https, or a loopback host
        if scheme.lower() != "bearer":
            raise BuildError(f"GET {printable(url)}: {_explain(401, self.host)}")
        return "Bearer " + self._token(params, repository, url, login)

    def _token(self, params: str, repository: str, url: str, login: Credentials | None) -> str:
        """A pull token from the challenge's realm: anonymous, or for `login`."""
        fields = dict(re.findall(r'(\w+)="([^"]*)"', params))
        realm = fields.get("realm", "")
        where = _origin(realm)
        if where is None:
            raise BuildError(f"GET {printable(url)}: {_explain(401, self.host)}")
        if where[0] == "http" and not is_loopback(where[1]):
            raise BuildError(f"GET {printable(url)}: token realm {printable(realm)} is plain http")
        query = {"scope": fields.get("scope") or f"repository:{repository}:pull"}
        if "service" in fields:
            query["service"] = fields["service"]
        response = self._ask_token(realm, query, login)
        with response:
            if _status(response) != 200:
                refused = " (docker's credentials for it were refused)" if login else ""
                status = _explain(_status(response), self.host)
                raise BuildError(f"token service {printable(realm)}: {status}{refused}")
            body = self._read_document(response, realm)
        try:
            data = json.loads(body)
            token = data.get("token") or data.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise BuildError(f"token service {printable(realm)}: no token in the answer")
        return token

    def _ask_token(self, realm: str, query: dict[str, str], login: Credentials | None) -> Any:
        """GET the token (anonymous, or with Basic credentials), or POST an identity
        token as OAuth 2 asks (docker's refresh-token flow)."""
        agent = {"User-Agent": f"slim-bake/{__version__}"}
        if login is not None and login.identity_token:
            form = {
                **query,
                "grant_type": "refresh_token",
                "refresh_token": login.identity_token,
                "client_id": "slim-bake",
            }
            headers = {**agent, "Content-Type": "application/x-www-form-urlencoded"}
            return self._get(realm, headers, urllib.parse.urlencode(form).encode())
        token_url = f"{realm}{'&' if '?' in realm else '?'}{urllib.parse.urlencode(query)}"
        headers = {**agent, "Authorization": login.basic()} if login is not None else agent
        return self._get(token_url, headers)


def _safe_storage(origin: tuple[str, str, int]) -> bool:
    return origin[0] == "https" or is_loopback(origin[1])


def _status(response: Any) -> int:
    return int(getattr(response, "status", None) or response.getcode() or 0)


def _explain(status: int, host: str = "") -> str:
    login = f"`docker login {printable(host)}`" if host else "`docker login`"
    words = {
        401: f"authentication required; slim uses the credentials of {login}",
        403: "access denied",
        404: "not found",
    }
    return f"HTTP {status}" + (f" ({words[status]})" if status in words else "")


def digest_of(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def check_digest(body: bytes, digest: str, where: str) -> None:
    if not _DIGEST.match(digest):
        raise BuildError(f"{printable(where)}: unsupported digest {printable(digest)}")
    actual = "sha256:" + hashlib.sha256(body).hexdigest()
    if actual != digest:
        raise BuildError(f"{printable(where)}: content is {actual}, not {digest}")


class BlobReader(io.RawIOBase):
    """A blob stream (raw, as stored) that hashes and counts what passes; verify() at the
    end says whether it was the blob its descriptor names. Also over a file (an OCI
    layout's blob)."""

    def __init__(self, stream: Any, digest: str, size: int, where: str) -> None:
        super().__init__()
        self._stream = stream
        self._sha = hashlib.sha256()
        self._count = 0
        self.digest = digest
        self.size = size
        self.where = where

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data = self._stream.read(len(view))
        except (OSError, http.client.HTTPException) as exc:
            reason = printable(str(exc) or type(exc).__name__)
            raise BuildError(f"{printable(self.where)}: {reason}") from None
        view[: len(data)] = data
        self._sha.update(data)
        self._count += len(data)
        if self._count > self.size:
            raise BuildError(f"{printable(self.where)}: longer than its {self.size:,} bytes")
        return len(data)

    def verify(self) -> None:
        """Read what is left, then check the size and digest."""
        while self.read(_CHUNK):
            pass
        if self._count != self.size:
            raise BuildError(
                f"{printable(self.where)}: {self._count:,} bytes, its descriptor says {self.size:,}"
            )
        actual = "sha256:" + self._sha.hexdigest()
        if actual != self.digest:
            raise BuildError(f"{printable(self.where)}: content is {actual}, not {self.digest}")

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()
