"""Run an image once and check what it printed and how it exited (`smoke:` in slim.yaml).

The container runs without network (a smoke check must not depend on one, and an
engine without a default bridge can still run it) and is always removed."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import Any

from slim_bake.config import Smoke
from slim_bake.errors import BuildError

_SHOWN = 200  # characters of unexpected output quoted in a message
_DRAIN = 10.0  # seconds the output may trail the exit on a loaded machine
_KEPT = 1 << 20  # bytes of output kept from a smoke run


@dataclass(frozen=True)
class SmokeResult:
    ok: bool
    exit_code: int | None  # None: the container did not run to its end
    stdout: str
    stderr: str
    message: str  # why it failed; "" when ok


def smoke(image: str, spec: Smoke) -> SmokeResult:
    """Run `image` with `spec.args` (None: its own CMD) and compare stdout (trailing
    whitespace ignored) and the exit code with what `spec` expects."""
    import docker

    from slim_bake.engine import client

    try:
        engine = client()
    except BuildError as exc:
        return SmokeResult(False, None, "", "", str(exc))
    options: dict[str, Any] = {"network_mode": "none"}
    if spec.args:
        options["command"] = list(spec.args)
    try:
        if spec.args == ():
            # An empty Cmd means "the image's CMD" to the engine; naming the entrypoint
            # again is what clears the image's CMD, so `args: []` really runs no arguments.
            options["entrypoint"] = engine.images.get(image).attrs["Config"]["Entrypoint"]
        container = engine.containers.create(image, **options)
    except docker.errors.DockerException as exc:
        return SmokeResult(False, None, "", "", f"cannot create a container: {_explain(exc)}")
    try:
        return _run(container, spec)
    finally:
        with contextlib.suppress(docker.errors.DockerException):  # already gone
            container.remove(force=True)


def _run(container: Any, spec: Smoke) -> SmokeResult:
    import docker
    import requests

    output = _Output(container)
    try:
        container.start()
        status = container.wait(timeout=spec.timeout)
    except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
        stdout, stderr = output.text(wait=0)
        return SmokeResult(False, None, stdout, stderr, f"did not finish within {spec.timeout:g}s")
    except docker.errors.DockerException as exc:
        stdout, stderr = output.text(wait=0)
        return SmokeResult(False, None, stdout, stderr, f"did not start: {_explain(exc)}")
    exit_code = int(status.get("StatusCode", -1))
    stdout, stderr = output.text(wait=_DRAIN)
    problem = _problem(spec, exit_code, stdout, stderr)
    return SmokeResult(_ok(spec, exit_code, stdout), exit_code, stdout, stderr, problem)


class _Output:
    """What the container prints, read two ways, the fuller one kept per stream: an attach
    made before the start, read to its end, and `docker logs` after
    `wait`. Each alone came back empty on a loaded machine: the logs when the engine's
    log copier lags the exit (once in three benchmark runs of 44 images), the attach when
    the engine answers it before it has joined the streams (once in a CI run: a 2-core
    machine under a full build). Logs also do not exist with `--log-driver none`."""

    def __init__(self, container: Any) -> None:
        self._container = container
        self._chunks: dict[str, list[bytes]] = {"out": [], "err": []}
        self._kept = 0
        self._done = threading.Event()
        self._whole = False
        try:
            # No log replay: with a driver that keeps no logs the engine ends such an attach.
            self._stream = container.attach(stdout=True, stderr=True, stream=True, demux=True)
        except Exception:  # noqa: BLE001 - the logs below are the fallback
            self._done.set()
            return
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for out, err in self._stream:
                self._keep("out", out)
                self._keep("err", err)
            self._whole = True
        except Exception:  # noqa: BLE001 - a broken attach: the logs are the fallback
            pass
        finally:
            self._done.set()

    def _keep(self, name: str, data: bytes | None) -> None:
        if data and self._kept < _KEPT:  # a program printing without end is cut, not hoarded
            self._chunks[name].append(data[: _KEPT - self._kept])
            self._kept += len(data)

    def text(self, wait: float) -> tuple[str, str]:
        """stdout and stderr, each the fuller of what the attach saw (if it saw the end
        within `wait` seconds) and what the engine's logs hold."""
        attached = ("", "")
        if self._done.wait(wait) and self._whole:
            out, err = (b"".join(self._chunks[name]) for name in ("out", "err"))
            attached = (out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))
        else:
            with contextlib.suppress(Exception):
                self._stream.close()
        logged = _logs(self._container)
        return _fuller(attached[0], logged[0]), _fuller(attached[1], logged[1])


def _fuller(one: str, other: str) -> str:
    # Two readers of the same output: a reader can only miss a part, never add one.
    return one if len(one) >= len(other) else other


def _logs(container: Any) -> tuple[str, str]:
    import docker

    try:
        out = container.logs(stdout=True, stderr=False)
        err = container.logs(stdout=False, stderr=True)
    except docker.errors.DockerException:
        return "", ""
    return out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def _ok(spec: Smoke, exit_code: int, stdout: str) -> bool:
    if exit_code != spec.expect_exit:
        return False
    return spec.expect_stdout is None or stdout.rstrip() == spec.expect_stdout.rstrip()


def _problem(spec: Smoke, exit_code: int, stdout: str, stderr: str) -> str:
    problems = []
    if exit_code != spec.expect_exit:
        problems.append(f"exit code {exit_code}, expected {spec.expect_exit}")
    if spec.expect_stdout is not None and stdout.rstrip() != spec.expect_stdout.rstrip():
        problems.append(f"stdout {_quoted(stdout)}, expected {_quoted(spec.expect_stdout)}")
    if problems and stderr.strip():
        problems.append(f"stderr {_quoted(stderr)}")
    return "; ".join(problems)


def _quoted(text: str) -> str:
    text = text.rstrip()
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "…")


def _explain(exc: Exception) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc).strip()[:_SHOWN]
