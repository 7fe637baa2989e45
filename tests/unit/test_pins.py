"""`slim pin` and the pins file (bases.Dockerfile): format, determinism, parse-back,
hostile names refused, the bake file's named contexts, and a Renovate-style digest
update that leaves every generated file as it was."""

from __future__ import annotations

import hashlib
import http.server
import threading
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from support.renovate_helpers import RENOVATE_FILES, renovate_deps, renovate_update

from slim_bake import pinfile, pins
from slim_bake.cli import main
from slim_bake.config import load_config
from slim_bake.errors import ConfigError
from slim_bake.plan import make_plan

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64
CONFIG = {
    "version": 1,
    "bases": {"debian-slim": "debian:12-slim", "gcc": "gcc:14-bookworm"},
    "artifacts": {"hello": {"lang": "c", "runtimes": ["debian-slim", "scratch-glibc"]}},
}


def fake_digests(found: dict[str, str | None]) -> Callable[..., pins.Found]:
    def resolve(image: str, *, registry: bool = True) -> pins.Found:
        digest = found.get(image)
        return pins.Found(digest, "registry" if digest else "nowhere: test")

    return resolve


def test_the_file_is_sorted_deterministic_and_reads_back() -> None:
    items = [
        pinfile.Pin("gcc:14-bookworm", "gcc-14-bookworm", A),
        pinfile.Pin("debian:12-slim", "debian-12-slim", None),
        pinfile.Pin("ghcr.io/x/y:1", "ghcr-io-x-y-1", B),
    ]
    text = pinfile.render(items, "slim.yaml")
    assert text == pinfile.render(list(reversed(items)), "slim.yaml")
    lines = [line for line in text.splitlines() if line.startswith("FROM")]
    assert lines == [
        "FROM debian:12-slim AS debian-12-slim",
        f"FROM gcc:14-bookworm@{A} AS gcc-14-bookworm",
        f"FROM ghcr.io/x/y:1@{B} AS ghcr-io-x-y-1",
    ]
    assert text.startswith("# Base image pins for slim.yaml, written by `slim pin`")
    assert "# not pinned: no digest known for debian:12-slim\n" in text
    assert pinfile.parse(text, "bases.Dockerfile") == {p.image: p for p in items}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("RUN rm -rf /", "expected `FROM"),
        ("FROM debian:12 AS x extra", "expected `FROM"),
        ("FROM $BASE AS x", "not an image reference"),
        ('FROM "debian:12" AS x', "not an image reference"),
        ("FROM Debian:12 AS x", "not an image reference"),
        ("FROM debian AS x", "not an image reference with a tag"),
        ("FROM debian:12 AS X", "not a stage name"),
        ("FROM debian:12 AS a.b", "not a stage name"),
        (f"FROM debian:12@sha256:{'g' * 64} AS x", "not an image reference"),
    ],
)
def test_a_bad_line_is_refused_with_its_line_number(line: str, problem: str) -> None:
    with pytest.raises(ConfigError) as error:
        pinfile.parse(f"# pins\n{line}\n", "bases.Dockerfile")
    (diagnostic,) = error.value.diagnostics
    assert (diagnostic.file, diagnostic.line) == ("bases.Dockerfile", 2)
    assert problem in diagnostic.message


def test_twice_the_same_image_or_stage_and_a_stage_named_like_an_image_are_refused() -> None:
    for text in (
        "FROM a:1 AS x\nFROM a:1 AS y\n",
        "FROM a:1 AS x\nFROM b:1 AS x\n",
    ):
        with pytest.raises(ConfigError):
            pinfile.parse(text, "f")
    assert pinfile.stage_name("busybox", {"busybox"}) != "busybox"
    assert pinfile.stage_name("debian:12-slim", {"debian-12-slim"}) == "debian-12-slim-2"
    assert pinfile.stage_name("127.0.0.1:5000/pin/x:1", set()) == "base-127-0-0-1-5000-pin-x-1"


@pytest.mark.parametrize(
    "image",
    [
        "debian:12\nRUN id",
        "debian:12 AS x",
        "debian:${TAG}",
        'debian:12"',
        "../debian:12",
        "debian:12@sha256:short",
        "-debian:12",
        "x" * 300 + ":1",
    ],
)
def test_a_hostile_image_name_is_no_reference(image: str) -> None:
    assert pinfile.parse_reference(image) is None


def test_references_normalise_as_buildkit_looks_up_named_contexts() -> None:
    familiar = {
        "debian:12-slim": "debian:12-slim",
        "docker.io/library/debian:12-slim": "debian:12-slim",
        "index.docker.io/library/alpine:latest": "alpine",
        "slim-standin/gcc:bookworm": "slim-standin/gcc:bookworm",
        "127.0.0.1:5000/pin/base:1": "127.0.0.1:5000/pin/base:1",
        "gcr.io/distroless/static-debian12": "gcr.io/distroless/static-debian12",
    }
    for image, key in familiar.items():
        ref = pinfile.parse_reference(image)
        assert ref is not None and ref.familiar == key


def test_pin_writes_digests_that_only_the_bake_file_refers_to_by_stage(
    project: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = project(CONFIG)
    monkeypatch.setattr(pins, "resolve_digest", fake_digests({"debian:12-slim": A}))
    assert main(["pin", "-c", str(path)]) == 1  # gcc:14-bookworm has no digest here
    err = capsys.readouterr().err
    assert "gcc:14-bookworm: not pinned: nowhere: test" in err
    text = (path.parent / "bases.Dockerfile").read_text()
    assert f"FROM debian:12-slim@{A} AS debian-12-slim\n" in text
    assert "FROM gcc:14-bookworm AS gcc-14-bookworm\n" in text
    hcl = (path.parent / "docker-bake.hcl").read_text()
    assert '"debian:12-slim" = "target:_pin_debian-12-slim"' in hcl
    assert 'dockerfile = "bases.Dockerfile"' in hcl
    for generated in [*(path.parent / "dockerfiles").iterdir(), path.parent / "docker-bake.hcl"]:
        assert "sha256:" not in generated.read_text(), generated
    assert main(["check", "-c", str(path)]) == 0
    plan = make_plan(load_config(path))
    runtime = next(t for t in plan.targets if t.runtime == "debian-slim")
    assert runtime.runtime_base == f"debian:12-slim@{A}"  # what is measured as the base


def test_pinning_again_is_byte_identical_and_keeps_a_digest_no_one_can_confirm(
    project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project(CONFIG)
    both = {"debian:12-slim": A, "gcc:14-bookworm": B}
    monkeypatch.setattr(pins, "resolve_digest", fake_digests(both))
    assert main(["pin", "-c", str(path)]) == 0
    first = (path.parent / "bases.Dockerfile").read_bytes()
    assert main(["pin", "-c", str(path)]) == 0
    assert (path.parent / "bases.Dockerfile").read_bytes() == first
    monkeypatch.setattr(pins, "resolve_digest", fake_digests({}))  # registry down
    assert main(["pin", "-c", str(path)]) == 0
    assert (path.parent / "bases.Dockerfile").read_bytes() == first


def test_a_renovate_digest_update_changes_no_generated_file(
    project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project(CONFIG)
    both = {"debian:12-slim": A, "gcc:14-bookworm": A}
    monkeypatch.setattr(pins, "resolve_digest", fake_digests(both))
    assert main(["pin", "-c", str(path)]) == 0
    pins_file = path.parent / "bases.Dockerfile"
    assert any(p.search("bases.Dockerfile") for p in RENOVATE_FILES)
    text = pins_file.read_text()
    deps = renovate_deps(text)
    assert {(d["depName"], d["tag"], d["digest"]) for d in deps} == {
        ("debian", "12-slim", A),
        ("gcc", "14-bookworm", A),
    }
    generated = {
        p: p.read_bytes() for p in path.parent.rglob("*") if p.is_file() and p != pins_file
    }
    for dep in deps:  # one bot pull request per base, merged one after the other
        text = renovate_update(text, dep, B)
        pins_file.write_text(text)
        assert main(["check", "-c", str(path)]) == 0
        assert main(["generate", "-c", str(path), "--fail-on-change"]) == 0
    assert {p: p.read_bytes() for p in generated} == generated
    assert {d["digest"] for d in renovate_deps(pins_file.read_text())} == {B}
    plan = make_plan(load_config(path))
    assert {t.runtime_base for t in plan.targets} == {f"debian:12-slim@{B}", "scratch"}


def test_removing_a_line_by_hand_makes_check_fail(
    project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project(CONFIG)
    monkeypatch.setattr(pins, "resolve_digest", fake_digests({"debian:12-slim": A}))
    main(["pin", "-c", str(path)])
    pins_file = path.parent / "bases.Dockerfile"
    kept = [line for line in pins_file.read_text().splitlines() if "debian" not in line]
    pins_file.write_text("\n".join(kept) + "\n")
    assert main(["check", "-c", str(path)]) == 1  # the bake file's context is gone


def test_a_broken_pins_file_is_a_config_error(project: Callable[..., Path]) -> None:
    path = project(CONFIG)
    (path.parent / "bases.Dockerfile").write_text("FROM debian:12-slim AS x\nRUN id\n")
    assert main(["check", "-c", str(path)]) == 2


@pytest.mark.parametrize(
    ("pins_path", "problem"),
    [
        ("dockerfiles/bases.Dockerfile", "inside the Dockerfiles folder"),
        ("../bases.Dockerfile", "inside slim.yaml's folder"),
        ("docker-bake.hcl", "the generated bake file"),
        ("slim.yaml", "slim.yaml itself"),
    ],
)
def test_the_pins_path_stays_out_of_generated_files(
    project: Callable[..., Path], pins_path: str, problem: str
) -> None:
    path = project({**CONFIG, "pins": pins_path})
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert problem in str(error.value)


def test_a_configured_pins_path_is_used(
    project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project({**CONFIG, "pins": "ci/pins.Dockerfile"})
    monkeypatch.setattr(pins, "resolve_digest", fake_digests({"debian:12-slim": A}))
    main(["pin", "-c", str(path)])
    assert (path.parent / "ci" / "pins.Dockerfile").is_file()
    assert 'dockerfile = "ci/pins.Dockerfile"' in (path.parent / "docker-bake.hcl").read_text()


class _Registry(http.server.BaseHTTPRequestHandler):
    """A registry that wants an anonymous bearer token, as Docker Hub does."""

    manifest = b'{"schemaVersion": 2}'
    seen: list[tuple[str, str, str]] = []

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _answer(self, body: bool) -> None:
        auth = self.headers.get("Authorization", "")
        self.seen.append((self.command, self.path, self.headers.get("Accept", "")))
        port = self.server.server_address[1]
        if self.path.startswith("/token?"):
            query = urllib.parse.parse_qs(self.path.split("?", 1)[1])
            self.seen.append(("token", query["scope"][0], query["service"][0]))
            self._send(200, {"Content-Type": "application/json"}, b'{"token": "t0k"}', body)
        elif auth != "Bearer t0k":
            realm = f'Bearer realm="http://127.0.0.1:{port}/token",service="test"'
            self._send(401, {"WWW-Authenticate": realm}, b"", body)
        elif self.path == "/v2/team/base/manifests/1":
            digest = "sha256:" + hashlib.sha256(self.manifest).hexdigest()
            self._send(200, {"Docker-Content-Digest": digest}, self.manifest, body)
        elif self.path == "/v2/team/moved/manifests/1":  # another origin: localhost, not 127.0.0.1
            self._send(302, {"Location": f"http://localhost:{port}/elsewhere"}, b"", body)
        else:
            self._send(404, {}, b"", body)

    def _send(self, code: int, headers: dict[str, str], data: bytes, body: bool) -> None:
        self.send_response(code)
        for key, value in {**headers, "Content-Length": str(len(data))}.items():
            self.send_header(key, value)
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_the_registry_is_asked_with_an_anonymous_token() -> None:
    """Through the one registry client: the digest is the manifest body's SHA-256."""
    _Registry.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        digest = pins.registry_digest(f"127.0.0.1:{port}/team/base:1", timeout=5)
        assert digest == "sha256:" + hashlib.sha256(_Registry.manifest).hexdigest()
        first = _Registry.seen[0]
        assert first[:2] == ("GET", "/v2/team/base/manifests/1")
        assert "application/vnd.oci.image.index.v1+json" in first[2]
        assert "application/vnd.docker.distribution.manifest.v2+json" in first[2]
        assert ("token", "repository:team/base:pull", "test") in _Registry.seen
        with pytest.raises(pins.Unreachable, match="HTTP 404"):
            pins.registry_digest(f"127.0.0.1:{port}/team/other:1", timeout=5)
    finally:
        server.shutdown()
        server.server_close()


def test_a_redirect_elsewhere_never_carries_the_token() -> None:
    """The manifest answered by a redirect to another origin is refused, not followed
    with the Authorization header (as urllib's own redirect handling would)."""
    _Registry.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        with pytest.raises(pins.Unreachable):
            pins.registry_digest(f"127.0.0.1:{port}/team/moved:1", timeout=5)
        assert not any(seen[1].startswith("/elsewhere") for seen in _Registry.seen)
    finally:
        server.shutdown()
        server.server_close()


def test_the_bot_examples_name_the_default_pins_file_and_leave_generated_files_alone() -> None:
    examples = Path(__file__).resolve().parents[2] / "workflows-examples"
    renovate = (examples / "renovate.json5").read_text()
    assert f'matchFileNames: ["{pinfile.DEFAULT_PATH}"]' in renovate
    assert 'matchFileNames: ["dockerfiles/**"]' in renovate  # output.dockerfiles' default
    dependabot = yaml.safe_load((examples / "dependabot.yaml").read_text())
    (update,) = dependabot["updates"]
    # Dependabot reads the Dockerfiles of one folder, not below: slim.yaml's, not dockerfiles/.
    assert (update["package-ecosystem"], update["directory"]) == ("docker", "/")
    assert any(p.search(pinfile.DEFAULT_PATH) for p in RENOVATE_FILES)
