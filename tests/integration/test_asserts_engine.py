"""`assert:` with the real engine: an image given a shell (its base's), a setuid program
and a private key fails `slim bake` with exit 1 naming each file; the example's scratch
variants pass `absent: [/bin/sh]` and the rest, and the JUnit file says the same."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.bake_support import c_artifact, remove_images, run_slim, unique_registry, write_project

from slim_bake.config import load_config
from slim_bake.plan import make_plan

pytestmark = pytest.mark.docker

KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n"
    "-----END RSA PRIVATE KEY-----\n"
)
STRICT = {"absent": ["/bin/sh"], "no_setuid": True, "no_private_keys": True}


@pytest.fixture(scope="module")
def baked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str]]:
    root = tmp_path_factory.mktemp("asserts")
    artifacts = {
        "trusty": c_artifact(
            ["scratch-musl", "scratch-glibc", "scratch-closure"],
            context="./hello",
            binary="hello",
            **{"assert": {"*": {**STRICT, "no_world_writable": True, "exec_form": True}}},
        ),
        "leaky": c_artifact(
            ["busybox-glibc"],
            context="./hello",
            binary="hello",
            runtime={
                "copy": [
                    {"src": "server.pem", "dest": "/etc/app/server.pem"},
                    {"src": "tool.sh", "dest": "/usr/local/bin/su-tool", "mode": "4755"},
                ]
            },
            **{"assert": {"*": STRICT}},
        ),
    }
    path = write_project(root, artifacts, unique_registry("asserts"))
    (root / "hello" / "server.pem").write_text(KEY)
    (root / "hello" / "tool.sh").write_text("#!/bin/sh\necho tool\n")
    tags = [tag for t in make_plan(load_config(path)).targets for tag in t.tags]
    done = run_slim(
        "bake",
        "-c",
        str(path),
        "--write-report",
        str(root / "report.json"),
        "--junit",
        str(root / "junit.xml"),
    )
    try:
        yield root, done.stdout + done.stderr, str(done.returncode)
    finally:
        remove_images(tags)


def test_a_shell_a_setuid_program_and_a_key_fail_the_bake_naming_each(
    baked: tuple[Path, str, str],
) -> None:
    root, output, code = baked
    assert code == "1", output
    target = "leaky-busybox-glibc"
    assert re.search(rf"{target}: /bin/sh is present \(layer \d+, from the base image\)", output)
    assert re.search(rf"{target}: /usr/local/bin/su-tool is setuid root \(layer \d+\)", output)
    assert re.search(
        rf"{target}: /etc/app/server.pem holds a PEM private key \(layer \d+\)", output
    )
    statuses = {
        t["name"]: t["status"] for t in json.loads((root / "report.json").read_text())["targets"]
    }
    assert statuses == {
        "trusty-scratch-musl": "pass",
        "trusty-scratch-glibc": "pass",
        "trusty-scratch-closure": "pass",
        "leaky-busybox-glibc": "assert-failed",
    }


def test_the_scratch_variants_pass_and_junit_records_every_check(
    baked: tuple[Path, str, str],
) -> None:
    root, output, _ = baked
    suite = ET.parse(root / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    failed = {
        (c.get("classname"), c.get("name"))
        for c in suite.iter("testcase")
        if c.find("failure") is not None
    }
    assert failed == {
        ("leaky-busybox-glibc", "assert.absent"),
        ("leaky-busybox-glibc", "assert.no_setuid"),
        ("leaky-busybox-glibc", "assert.no_private_keys"),
    }
    names = {
        c.get("name") for c in suite.iter("testcase") if c.get("classname") == "trusty-scratch-musl"
    }
    # user: nonroot is the shell-less runtimes' default (runtimes.yaml assert_defaults)
    assert {"build", "smoke", "assert.absent", "assert.user", "assert.exec_form"} <= names
