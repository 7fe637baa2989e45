"""A small stand-in for a registry's /v2/ API (and a token service), on 127.0.0.1.

Serves manifests and blobs the way distribution does (`Content-Type`, `Docker-Content-
Digest`, `Content-Length`), optionally behind the anonymous Bearer-token challenge that
Docker Hub and ghcr.io send (`token_realm`: the URL of another stand-in, `issue_token`,
which answers its GET with {"token": …}). `scripted` replaces the answer to one path with
exactly what a hostile or broken server would send (a redirect, a huge or endless body,
bytes dripped slowly). Every request is logged, with its headers, for the tests.

`make_image` builds a small image (gzip'd layer tars, config, manifest) in memory, and
`write_layout` writes images as an OCI image layout directory."""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import io
import json
import tarfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Image:
    manifest: bytes
    config: bytes
    blobs: dict[str, bytes]  # config and layers, by digest
    diff_ids: tuple[str, ...]
    files: tuple[tuple[str, int], ...]  # every regular file, in layer order

    @property
    def digest(self) -> str:
        return digest(self.manifest)

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        return {
            "mediaType": OCI_MANIFEST,
            "digest": self.digest,
            "size": len(self.manifest),
            **extra,
        }


def layer_tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name.lstrip("/"))
            info.size = len(content)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def make_image(layers: list[dict[str, bytes]], commands: list[str] | None = None) -> Image:
    """An image of one gzip'd layer per dict of files (path -> content)."""
    blobs: dict[str, bytes] = {}
    descriptors, diff_ids, files = [], [], []
    for layer in layers:
        tar = layer_tar(layer)
        packed = gzip.compress(tar, mtime=0)
        blobs[digest(packed)] = packed
        descriptors.append(
            {"mediaType": OCI_LAYER_GZIP, "digest": digest(packed), "size": len(packed)}
        )
        diff_ids.append(digest(tar))
        files += [(f"/{name.lstrip('/')}", len(content)) for name, content in layer.items()]
    made = commands or [f"RUN step {i}" for i in range(len(layers))]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created_by": c} for c in made],
        }
    ).encode()
    blobs[digest(config)] = config
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": digest(config), "size": len(config)},
            "layers": descriptors,
        }
    ).encode()
    return Image(manifest, config, blobs, tuple(diff_ids), tuple(files))


def index(entries: list[dict[str, Any]]) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()


def write_layout(root: Path, top: bytes, documents: list[bytes], images: list[Image]) -> None:
    """An OCI image layout: `top` as index.json, the documents and images as blobs."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (root / "index.json").write_bytes(top)
    for document in documents:
        (blobs / digest(document)[7:]).write_bytes(document)
    for image in images:
        (blobs / image.digest[7:]).write_bytes(image.manifest)
        for name, blob in image.blobs.items():
            (blobs / name[7:]).write_bytes(blob)


@dataclass
class Scripted:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    drip: float = 0.0  # seconds between single bytes of the body
    endless: bool = False  # after the body, filler forever, no Content-Length


@dataclass
class Logged:
    path: str
    headers: dict[str, str]


@dataclass
class RegistryStandin:
    manifests: dict[tuple[str, str], tuple[bytes, str]] = field(default_factory=dict)
    blobs: dict[tuple[str, str], bytes] = field(default_factory=dict)
    token: str | None = None  # required as a Bearer token when set
    token_realm: str | None = None  # sent in the challenge
    issue_token: str | None = None  # this stand-in is a token service handing out this
    login: str | None = None  # "user:password" a request must carry as Basic (token service too)
    refresh_token: str | None = None  # a token service: the identity token a POST must carry
    posts: list[dict[str, str]] = field(default_factory=list)  # the token service's forms
    scripted: dict[str, Scripted] = field(default_factory=dict)  # by path
    log: list[Logged] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def push(self, repository: str, tag: str, image: Image) -> None:
        self.manifests[(repository, tag)] = (image.manifest, OCI_MANIFEST)
        self.manifests[(repository, image.digest)] = (image.manifest, OCI_MANIFEST)
        for name, blob in image.blobs.items():
            self.blobs[(repository, name)] = blob

    def put_index(self, repository: str, tag: str, body: bytes) -> None:
        self.manifests[(repository, tag)] = (body, OCI_INDEX)
        self.manifests[(repository, digest(body))] = (body, OCI_INDEX)

    def start(self) -> RegistryStandin:
        standin = self

        class Handler(_Handler):
            owner = standin

        class Server(ThreadingHTTPServer):
            daemon_threads = True

        self._server = Server(("127.0.0.1", 0), Handler)
        serve = functools.partial(self._server.serve_forever, poll_interval=0.01)
        threading.Thread(target=serve, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def host(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def paths(self, part: str = "") -> list[str]:
        return [r.path for r in self.log if part in r.path]


def _basic(login: str) -> str:
    return "Basic " + base64.b64encode(login.encode()).decode()


class _Handler(BaseHTTPRequestHandler):
    owner: RegistryStandin

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        standin = self.owner
        standin.log.append(Logged(self.path, {k.lower(): v for k, v in self.headers.items()}))
        path = self.path.split("?")[0]
        if path in standin.scripted:
            return self._scripted(standin.scripted[path])
        if standin.login and self.headers.get("Authorization") != _basic(standin.login):
            if standin.issue_token is not None:
                return self._send(401, b"{}", "application/json")
            if not standin.token:  # a registry asking for Basic credentials itself
                headers = {"WWW-Authenticate": 'Basic realm="standin"'}
                return self._send(401, b"{}", "application/json", headers)
        if standin.issue_token is not None:
            return self._send(
                200, json.dumps({"token": standin.issue_token}).encode(), "application/json"
            )
        if standin.token and self.headers.get("Authorization") != f"Bearer {standin.token}":
            challenge = f'Bearer realm="{standin.token_realm}",service="standin"'
            return self._send(
                401, b'{"errors":[]}', "application/json", {"WWW-Authenticate": challenge}
            )
        parts = path.split("/")
        # /v2/<repo…>/manifests/<ref> or /v2/<repo…>/blobs/<digest>
        if len(parts) >= 5 and parts[1] == "v2" and parts[-2] in ("manifests", "blobs"):
            repository, kind, ref = "/".join(parts[2:-2]), parts[-2], parts[-1]
            if kind == "manifests" and (repository, ref) in standin.manifests:
                body, media = standin.manifests[(repository, ref)]
                return self._send(200, body, media, {"Docker-Content-Digest": digest(body)})
            if kind == "blobs" and (repository, ref) in standin.blobs:
                return self._send(200, standin.blobs[(repository, ref)], "application/octet-stream")
        return self._send(404, b'{"errors":[{"code":"NOT_FOUND"}]}', "application/json")

    def do_POST(self) -> None:  # noqa: N802
        """A token service's OAuth 2 refresh-token grant."""
        standin = self.owner
        standin.log.append(Logged(self.path, {k.lower(): v for k, v in self.headers.items()}))
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        standin.posts.append(form)
        if standin.issue_token is None or form.get("refresh_token") != standin.refresh_token:
            return self._send(401, b"{}", "application/json")
        body = json.dumps({"access_token": standin.issue_token}).encode()
        return self._send(200, body, "application/json")

    def _send(
        self, status: int, body: bytes, media: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _scripted(self, scripted: Scripted) -> None:
        self.send_response(scripted.status)
        for name, value in scripted.headers.items():
            self.send_header(name, value)
        if not scripted.endless:
            self.send_header("Content-Length", str(len(scripted.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            if scripted.drip:
                for byte in scripted.body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(scripted.drip)
            else:
                self.wfile.write(scripted.body)
            while scripted.endless:
                self.wfile.write(b"x" * 65536)
        except OSError:
            pass  # the client hung up, as it should
