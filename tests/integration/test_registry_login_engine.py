"""A private registry for real: Debian's distribution with htpasswd (Basic) authentication,
`docker login` writing docker's config, `docker push`, then `slim measure` reading the
image with those credentials — and refusing, with the way out, without them."""

from __future__ import annotations

import base64
import ctypes
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.bake_support import ROOT

pytestmark = pytest.mark.docker

USER = "robot"
PASSWORD = f"pw-{uuid.uuid4().hex[:12]}"
IMAGE = "slim-standin/busybox:static"


def _bcrypt(password: str) -> str:
    """An htpasswd line's hash (distribution takes bcrypt only), by the system's libcrypt."""
    lib = ctypes.CDLL("libcrypt.so.1")
    lib.crypt_gensalt.restype = ctypes.c_char_p
    lib.crypt.restype = ctypes.c_char_p
    salt = lib.crypt_gensalt(b"$2b$", 5, None, 0)
    hashed = lib.crypt(password.encode(), salt)
    assert hashed and hashed.startswith(b"$2b$"), "libcrypt without bcrypt"
    return str(hashed.decode())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(address: str) -> bool:
    try:
        urllib.request.urlopen(f"http://{address}/v2/", timeout=2)
    except urllib.error.HTTPError as exc:
        return exc.code == 401
    except OSError:
        return False
    return True


@pytest.fixture(scope="module")
def private(docker_engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """127.0.0.1:PORT of a registry that answers only `robot` with the password."""
    subprocess.run([str(ROOT / "scripts" / "registry.sh")], capture_output=True, check=True)
    folder = tmp_path_factory.mktemp("private-registry")
    (folder / "htpasswd").write_text(f"{USER}:{_bcrypt(PASSWORD)}\n")
    address = f"127.0.0.1:{_free_port()}"
    config = {
        "version": 0.1,
        "log": {"level": "warn"},
        "storage": {"filesystem": {"rootdirectory": str(folder / "data")}},
        "http": {"addr": address},
        "auth": {"htpasswd": {"realm": "slim-test", "path": str(folder / "htpasswd")}},
    }
    (folder / "config.yml").write_text(json.dumps(config))  # YAML is a superset of JSON
    with (folder / "log").open("w") as log:
        server = subprocess.Popen(
            ["docker-registry", "serve", str(folder / "config.yml")], stdout=log, stderr=log
        )
    try:
        for _ in range(100):
            if _answers(address):
                break
            time.sleep(0.1)
        assert _answers(address), (folder / "log").read_text()
        yield address
    finally:
        server.terminate()
        server.wait(timeout=10)


def _docker(*args: str, config: Path, stdin: str | None = None) -> None:
    env = {**os.environ, "DOCKER_CONFIG": str(config)}
    done = subprocess.run(
        ["docker", *args], input=stdin, capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr


def _blob_sizes(reference: str) -> list[int]:
    """The layer sizes of the manifest, asked here with the credentials, without slim."""
    host, _, rest = reference.partition("/")
    repository, _, tag = rest.rpartition(":")
    login = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request = urllib.request.Request(
        f"http://{host}/v2/{repository}/manifests/{tag}",
        headers={
            "Authorization": f"Basic {login}",
            "Accept": "application/vnd.docker.distribution.manifest.v2+json,"
            " application/vnd.oci.image.manifest.v1+json",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return [int(layer["size"]) for layer in json.loads(response.read())["layers"]]


def _slim_measure(reference: str, config: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DOCKER_CONFIG": str(config),
        "PYTHONPATH": str(ROOT / "src"),
        "SLIM_CACHE_DIR": str(config / "slim-cache"),
    }
    return subprocess.run(
        [sys.executable, "-m", "slim_bake", "measure", "--json", reference],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_slim_measure_reads_a_private_registry_with_docker_logins_credentials(
    private: str, tmp_path: Path
) -> None:
    logged_in, anonymous = tmp_path / "logged-in", tmp_path / "anonymous"
    anonymous.mkdir()
    remote = f"{private}/login/app:{uuid.uuid4().hex[:8]}"
    _docker("login", private, "-u", USER, "--password-stdin", config=logged_in, stdin=PASSWORD)
    _docker("tag", IMAGE, remote, config=logged_in)
    try:
        _docker("push", "-q", remote, config=logged_in)
    finally:
        subprocess.run(["docker", "rmi", remote], capture_output=True, check=False)

    done = _slim_measure(remote, logged_in)
    assert done.returncode == 0, done.stderr
    (target,) = json.loads(done.stdout)["targets"]
    assert target["measurement"]["compressed"] == sum(_blob_sizes(remote))

    refused = _slim_measure(remote, anonymous)
    assert refused.returncode == 3
    assert f"docker login {private}" in refused.stderr
    for output in (done.stdout, done.stderr, refused.stdout, refused.stderr):
        assert PASSWORD not in output
