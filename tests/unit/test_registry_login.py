"""Private registries: the credentials `docker login` stored (docker's config file, read
through the docker SDK), answered to a Basic or Bearer challenge, and kept where they
belong: never sent to another origin, never printed."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.registry_standin import RegistryStandin, Scripted, digest, make_image

from slim_bake.credentials import Credentials, lookup
from slim_bake.errors import BuildError
from slim_bake.imageref import RegistryStore, measure_reference, measure_store
from slim_bake.measure import MeasureCache
from slim_bake.registry import Registry, parse_reference

SECRET = "s3cr3t-pa55"
LOGIN = f"robot:{SECRET}"


@pytest.fixture
def cache(tmp_path: Path) -> MeasureCache:
    return MeasureCache(tmp_path / "cache")


@pytest.fixture
def servers() -> Iterator[list[RegistryStandin]]:
    started: list[RegistryStandin] = []
    yield started
    for server in started:
        server.stop()


def _start(servers: list[RegistryStandin], **options: object) -> RegistryStandin:
    server = RegistryStandin(**options).start()  # type: ignore[arg-type]
    servers.append(server)
    return server


def _docker_config(folder: Path, monkeypatch: pytest.MonkeyPatch, auths: dict[str, object]) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"auths": auths}))
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))


def _image_in(server: RegistryStandin) -> None:
    image = make_image([{"bin/app": b"\x7fELF" + b"a" * 3000}], ["COPY app /bin/"])
    server.push("team/private", "1", image)


def test_the_credentials_of_docker_login_are_read_from_docker_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded = base64.b64encode(LOGIN.encode()).decode()
    _docker_config(tmp_path / "docker", monkeypatch, {"registry.example:5000": {"auth": encoded}})
    found = lookup("registry.example:5000")
    assert found == Credentials("robot", SECRET)
    assert SECRET not in repr(found) and SECRET not in str(found)
    assert lookup("other.example") is None  # anonymous elsewhere


def test_a_registry_asking_for_basic_credentials_gets_those_of_docker_login(
    servers: list[RegistryStandin],
    cache: MeasureCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = _start(servers, login=LOGIN)
    _image_in(registry)
    encoded = base64.b64encode(LOGIN.encode()).decode()
    _docker_config(tmp_path / "docker", monkeypatch, {registry.host: {"auth": encoded}})
    measured = measure_reference(f"{registry.host}/team/private:1", cache=cache)
    assert len(measured.layers) == 1
    assert registry.log[0].headers.get("authorization") is None  # asked first, anonymously
    assert registry.log[-1].headers.get("authorization") == f"Basic {encoded}"


def test_without_credentials_the_message_says_to_log_in(
    servers: list[RegistryStandin],
    cache: MeasureCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = _start(servers, login=LOGIN)
    _image_in(registry)
    _docker_config(tmp_path / "docker", monkeypatch, {})
    with pytest.raises(BuildError, match=f"docker login {registry.host}"):
        measure_reference(f"{registry.host}/team/private:1", cache=cache)


def test_a_token_service_gets_the_credentials_and_the_registry_only_the_token(
    servers: list[RegistryStandin], cache: MeasureCache
) -> None:
    tokens = _start(servers, issue_token="t0k3n", login=LOGIN)
    storage = _start(servers)
    registry = _start(servers, token="t0k3n")
    registry.token_realm = f"http://{tokens.host}/token"
    image = make_image([{"bin/app": b"\x7fELF" + b"b" * 3000}], ["COPY app /bin/"])
    registry.push("team/private", "1", image)
    layer = json.loads(image.manifest)["layers"][0]["digest"]
    storage.blobs[("team/private", layer)] = image.blobs[layer]
    registry.scripted[f"/v2/team/private/blobs/{layer}"] = Scripted(
        307, {"Location": f"http://{storage.host}/v2/team/private/blobs/{layer}"}
    )
    client = Registry(registry.host, credentials=lambda host: Credentials("robot", SECRET))
    store = RegistryStore(parse_reference(f"{registry.host}/team/private:1"), client)
    measured = measure_store(store, None, cache=cache)
    assert len(measured.layers) == 1
    basic = "Basic " + base64.b64encode(LOGIN.encode()).decode()
    assert [r.headers.get("authorization") for r in tokens.log] == [basic]
    assert {r.headers.get("authorization") for r in registry.log} == {None, "Bearer t0k3n"}
    assert all("authorization" not in r.headers for r in storage.log)  # the blob's CDN


def test_an_identity_token_is_exchanged_by_the_refresh_token_grant(
    servers: list[RegistryStandin], cache: MeasureCache
) -> None:
    tokens = _start(servers, issue_token="t0k3n", refresh_token="r3fr35h")
    registry = _start(servers, token="t0k3n")
    registry.token_realm = f"http://{tokens.host}/token"
    _image_in(registry)
    client = Registry(registry.host, credentials=lambda host: Credentials(identity_token="r3fr35h"))
    body, _ = client.manifest("team/private", "1")
    assert body
    assert tokens.posts[0]["grant_type"] == "refresh_token"
    assert tokens.posts[0]["scope"] == "repository:team/private:pull"


def test_refused_credentials_are_an_error_that_shows_no_secret(
    servers: list[RegistryStandin],
) -> None:
    tokens = _start(servers, issue_token="t0k3n", login="robot:the-right-one")
    registry = _start(servers, token="t0k3n")
    registry.token_realm = f"http://{tokens.host}/token"
    _image_in(registry)
    client = Registry(registry.host, credentials=lambda host: Credentials("robot", SECRET))
    with pytest.raises(BuildError) as raised:
        client.manifest("team/private", "1")
    message = str(raised.value)
    assert "credentials" in message and "refused" in message
    encoded = base64.b64encode(LOGIN.encode()).decode()
    assert SECRET not in message and encoded not in message


def test_basic_credentials_never_go_to_a_plain_http_realm_elsewhere(
    servers: list[RegistryStandin],
) -> None:
    registry = _start(servers, token="t0k3n")
    registry.token_realm = "http://auth.example/token"  # not loopback, not https
    _image_in(registry)
    asked: list[str] = []

    def credentials(host: str) -> Credentials:
        asked.append(host)
        return Credentials("robot", SECRET)

    client = Registry(registry.host, credentials=credentials)
    with pytest.raises(BuildError, match="plain http"):
        client.manifest("team/private", "1")
    assert client.requests == 1  # the challenge only: nothing was sent to the realm


def test_a_document_digest_is_still_checked_with_credentials(
    servers: list[RegistryStandin],
) -> None:
    registry = _start(servers, login=LOGIN)
    _image_in(registry)
    client = Registry(registry.host, credentials=lambda host: Credentials("robot", SECRET))
    body, _ = client.manifest("team/private", "1")
    assert client.manifest("team/private", digest(body))[0] == body
