"""Issue 12's configuration with the real engine, on small programs written here: C++
(exceptions, iostream), a two-file C program with its Makefile, a CMake project, one
make build with two executables and a multi-call link, the runtime's contents, and a
build secret that must be usable during the build yet in no layer of any image.
All on the stand-in bases, with the build-tools stand-in (slim-standin/gcc:tools) as gcc."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.bake_support import (
    STANDIN_BASES,
    elf_interpreter,
    file_from_image,
    remove_images,
    unique_registry,
)
from support.features_helpers import c, render

from slim_bake.config import load_config
from slim_bake.judge import PASS
from slim_bake.output import regenerate
from slim_bake.pipeline import TargetResult, bake_targets
from slim_bake.plan import Plan, make_plan

pytestmark = pytest.mark.docker

TOOLS = "slim-standin/gcc:tools"
BASES = {
    **STANDIN_BASES,
    "gcc": TOOLS,
    "musl-gcc": {"image": TOOLS, "setup": None, "vars": {"cc": "musl-gcc"}, "packager": "apt"},
}
SECRET = f"s3cr3t-{uuid.uuid4().hex}"

SOURCES: dict[str, dict[str, str]] = {
    "cxx": {
        "main.cpp": """#include <iostream>
#include <stdexcept>
#include <vector>
int main() {
  std::vector<int> v;
  try { v.at(3); } catch (const std::out_of_range &) { std::cout << "caught" << std::endl; }
  std::cout << "Hello from C++" << std::endl;
  return 0;
}
""",
    },
    "twofile": {
        "main.c": "#include <stdio.h>\nconst char *greeting(void);\n"
        "int main(void) { puts(greeting()); return 0; }\n",
        "greet.c": 'const char *greeting(void) { return "Hello from make"; }\n',
        "Makefile": "hello: main.o greet.o\n\t$(CC) $(LDFLAGS) -o $@ main.o greet.o\n",
    },
    "cmk": {
        "main.c": '#include <stdio.h>\nint main(void) { puts("Hello from CMake"); return 0; }\n',
        "CMakeLists.txt": "cmake_minimum_required(VERSION 3.13)\nproject(cmk C)\n"
        "add_executable(cmk main.c)\ninstall(TARGETS cmk)\n",
    },
    "multi": {
        # One multi-call program (its name decides what it says) and a second executable.
        "server.c": "#include <stdio.h>\n#include <string.h>\n"
        "int main(int c, char **v) { const char *n = strrchr(v[0], '/');\n"
        '  printf("server as %s\\n", n ? n + 1 : v[0]); return 0; }\n',
        "cli.c": '#include <stdio.h>\nint main(void) { puts("cli"); return 0; }\n',
        "Makefile": "all: server cli\n",
    },
    "show": {
        "show.c": """#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv) {
  char cwd[256], line[256];
  struct stat st;
  FILE *f = fopen("/etc/app/app.toml", "r");
  if (!f || !fgets(line, sizeof line, f) || stat("/etc/app/app.toml", &st)) return 3;
  printf("mode=%s cwd=%s uid=%d\\n", getenv("APP_MODE"), getcwd(cwd, sizeof cwd), getuid());
  printf("conf=%s", line);
  printf("conf owner=%d:%d perm=%o\\n", st.st_uid, st.st_gid, st.st_mode & 0777);
  printf("data=%s\\n", access("/usr/share/app/data.txt", R_OK) == 0 ? "yes" : "no");
  for (int i = 1; i < argc; i++) printf("arg=%s\\n", argv[i]);
  return 0;
}
""",
        "conf/app.toml": "greeting = 'hi'\n",
        "data.txt": "data\n",
    },
    "cgo": {
        "go.mod": "module example.com/cgo\n\ngo 1.19\n",
        "main.go": "package main\n\n// #include <stdlib.h>\n"
        "// static int twice(int x) { return 2 * x; }\n"
        'import "C"\nimport "fmt"\n\nfunc main() { fmt.Println("cgo says", C.twice(21)) }\n',
    },
    "secretive": {
        "hello.c": '#include <stdio.h>\nint main(void) { printf("token bytes: %d\\n", '
        "TOKEN_BYTES); return 0; }\n",
        # The build fails unless the secret is there; only its length reaches the program.
        "Makefile": "hello: hello.c\n\ttest -s /run/secrets/token\n"
        "\t$(CC) $(CFLAGS) -DTOKEN_BYTES=$$(wc -c </run/secrets/token) -o $@ hello.c $(LDFLAGS)\n",
    },
}

ARTIFACTS: dict[str, dict[str, Any]] = {
    "cxx": {
        "lang": "cpp",
        "runtimes": ["scratch-glibc", "scratch-closure", "debian-slim", "distroless-cc"],
        "smoke": {"expect_stdout": "caught\nHello from C++"},
    },
    "twofile": {
        "lang": "c",
        "binary": "hello",
        "runtimes": ["scratch-musl", "scratch-glibc"],
        "build": {"system": "make"},
        "smoke": {"expect_stdout": "Hello from make"},
    },
    "cmk": {
        "lang": "c",
        "runtimes": ["scratch-glibc", "scratch-musl"],
        "profile": "min",
        "build": {"system": "cmake"},
        "smoke": {"expect_stdout": "Hello from CMake"},
    },
    "multi": {
        "lang": "c",
        "binary": "server",
        "executables": ["cli"],
        "links": {"srv": "server"},
        "runtimes": ["scratch-closure"],
        "build": {"system": "make"},
        "smoke": {"expect_stdout": "server as server"},
    },
    "show": {
        "lang": "c",
        "runtimes": ["scratch-glibc", "debian-slim"],
        "entrypoint_args": ["--first"],
        "args": ["--default"],
        "runtime": {
            "copy": [
                {
                    "src": "conf/app.toml",
                    "dest": "/etc/app/app.toml",
                    "owner": "1234:1234",
                    "mode": "0640",
                },
                {"from": "build", "src": "/src/data.txt", "dest": "/usr/share/app/"},
            ],
            "env": {"APP_MODE": "prod"},
            "workdir": "/data",
            "expose": [8080, "8443/udp"],
            "user": "1234:1234",
            "volumes": ["/data"],
            "stopsignal": "SIGINT",
        },  # fmt: skip
        "smoke": False,
    },
    "cgo": {
        "lang": "go",
        "runtimes": ["scratch-closure"],
        "smoke": {"expect_stdout": "cgo says 42"},
    },
    "secretive": {
        "lang": "c",
        "binary": "hello",
        "runtimes": ["single-stage", "scratch-glibc"],
        "build": {"system": "make", "secrets": [{"id": "token", "env": "SLIM_TEST_TOKEN"}]},
        "smoke": {"expect_stdout": f"token bytes: {len(SECRET)}"},
    },
}


@dataclass
class Baked:
    plan: Plan
    results: dict[str, TargetResult]

    def tag(self, name: str) -> str:
        return next(t.tags[0] for t in self.plan.targets if t.name == name)


@pytest.fixture(scope="module")
def baked(docker_engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Baked]:
    if subprocess.run(["docker", "image", "inspect", TOOLS], capture_output=True).returncode:
        pytest.fail(f"{TOOLS} is missing: run scripts/standins.sh")
    root = tmp_path_factory.mktemp("features")
    for name, files in SOURCES.items():
        for path, text in files.items():
            (root / name / path).parent.mkdir(parents=True, exist_ok=True)
            (root / name / path).write_text(text)
    config = {"version": 1, "registry": unique_registry("features"), "bases": BASES,
              "artifacts": ARTIFACTS}  # fmt: skip
    (root / "slim.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    plan = make_plan(load_config(root / "slim.yaml"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SLIM_CACHE_DIR", str(root / "measure-cache"))
        patch.setenv("SLIM_TEST_TOKEN", SECRET)  # bake reads the secret from here
        regenerate(plan)
        results = bake_targets(plan, list(plan.targets))
    yield Baked(plan, {r.target: r for r in results})
    remove_images(t.tags[0] for t in plan.targets)


def image_files(image: str) -> dict[str, tarfile.TarInfo]:
    container = subprocess.run(["docker", "create", image], capture_output=True, text=True,
                               check=True).stdout.strip()  # fmt: skip
    try:
        exported = subprocess.run(["docker", "export", container], capture_output=True,
                                  check=True).stdout  # fmt: skip
    finally:
        subprocess.run(["docker", "rm", container], capture_output=True, check=False)
    with tarfile.open(fileobj=io.BytesIO(exported)) as tar:
        return {"/" + m.name.lstrip("./"): m for m in tar.getmembers()}


def run(image: str, *args: str, entrypoint: str | None = None) -> str:
    command = ["docker", "run", "--rm", "--network", "none"]
    command += ["--entrypoint", entrypoint] if entrypoint else []
    out = subprocess.run([*command, image, *args], capture_output=True, text=True, check=True)
    return out.stdout


def test_every_program_builds_runs_and_passes(baked: Baked) -> None:
    assert len(baked.results) == sum(len(a["runtimes"]) for a in ARTIFACTS.values())
    for name, result in baked.results.items():
        assert result.status == PASS, (name, result.reasons)


STATIC = ["cxx-scratch-glibc", "twofile-scratch-musl", "twofile-scratch-glibc",
          "cmk-scratch-glibc", "cmk-scratch-musl"]  # fmt: skip


@pytest.mark.parametrize("name", STATIC)
def test_static_runtimes_get_static_binaries_from_gxx_make_and_cmake(
    baked: Baked, name: str
) -> None:
    """slim's -static reached g++, the user's Makefile (LDFLAGS) and CMake (the linker
    flags): the binary names no loader and runs on scratch."""
    binary = baked.tag(name)
    program = name.split("-")[0]
    path = f"/usr/local/bin/{'hello' if program == 'twofile' else program}"
    assert elf_interpreter(file_from_image(binary, path)) is None, name


def test_cpp_closure_carries_libstdcxx_and_libgcc_s(baked: Baked) -> None:
    files = image_files(baked.tag("cxx-scratch-closure"))
    names = {Path(p).name for p in files}
    assert {"libstdc++.so.6", "libgcc_s.so.1", "libc.so.6", "libm.so.6"} <= names
    assert "caught" in run(baked.tag("cxx-scratch-closure"))


def test_cmake_min_profile_is_smaller_than_a_default_build(baked: Baked) -> None:
    """The min profile's flags reached CMake (-Os, --gc-sections...): the musl build is
    the size of the hand-made musl hello with those flags (about 6 kB)."""
    measurement = baked.results["cmk-scratch-musl"].measurement
    assert measurement is not None
    binary = next(f for f in measurement.files if f.path == "/usr/local/bin/cmk")
    assert binary.size < 8_000, binary.size


def test_two_executables_and_a_link_are_shipped_and_in_the_closure(baked: Baked) -> None:
    image = baked.tag("multi-scratch-closure")
    files = image_files(image)
    assert files["/usr/local/bin/srv"].issym() and files["/usr/local/bin/srv"].linkname == "server"
    assert run(image, entrypoint="/usr/local/bin/cli").strip() == "cli"
    assert run(image, entrypoint="/usr/local/bin/srv").strip() == "server as srv"


def test_runtime_contents_are_in_the_image_and_its_config(baked: Baked) -> None:
    for runtime in ("scratch-glibc", "debian-slim"):
        image = baked.tag(f"show-{runtime}")
        inspect = subprocess.run(["docker", "image", "inspect", image], capture_output=True,
                                 text=True, check=True)  # fmt: skip
        config = json.loads(inspect.stdout)[0]["Config"]
        assert config["Entrypoint"] == ["/usr/local/bin/show", "--first"]
        assert config["Cmd"] == ["--default"]
        assert "APP_MODE=prod" in config["Env"]
        assert config["WorkingDir"] == "/data" and config["User"] == "1234:1234"
        assert set(config["ExposedPorts"]) == {"8080/tcp", "8443/udp"}
        assert set(config["Volumes"]) == {"/data"} and config["StopSignal"] == "SIGINT"
        out = run(image).splitlines()
        assert out == [
            "mode=prod cwd=/data uid=1234",
            "conf=greeting = 'hi'",
            "conf owner=1234:1234 perm=640",
            "data=yes",
            "arg=--first",
            "arg=--default",
        ], runtime
        assert run(image, "--mine")[-len("arg=--first\narg=--mine\n") :] == (
            "arg=--first\narg=--mine\n"
        )


def test_a_secret_is_usable_in_the_build_and_in_no_layer_nor_history(baked: Baked) -> None:
    secret = SECRET.encode()
    for runtime in ("single-stage", "scratch-glibc"):
        image = baked.tag(f"secretive-{runtime}")
        assert run(image).strip() == f"token bytes: {len(SECRET)}"  # the build read it
        saved = subprocess.run(["docker", "save", image], capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(saved)) as archive:
            members = [m for m in archive.getmembers() if m.isfile()]
            layers = 0
            for member in members:
                blob = archive.extractfile(member)
                assert blob is not None
                data = blob.read()
                assert secret not in data, f"{runtime}: {member.name}"
                if data[257:262] == b"ustar":  # a layer: read every file inside it too
                    layers += 1
                    with tarfile.open(fileobj=io.BytesIO(data)) as layer:
                        for entry in layer.getmembers():
                            content = layer.extractfile(entry) if entry.isfile() else None
                            if content is not None:
                                assert secret not in content.read(), entry.name
            assert layers >= 1
        history = subprocess.run(["docker", "history", "--no-trunc", image],
                                 capture_output=True, check=True).stdout  # fmt: skip
        assert secret not in history


def test_go_with_cgo_runs_on_scratch_with_its_closure(baked: Baked) -> None:
    """glibc-dynamic Go is built with CGO_ENABLED=1: the binary is dynamic and the
    closure carries what it needs to run on scratch."""
    image = baked.tag("cgo-scratch-closure")
    assert elf_interpreter(file_from_image(image, "/usr/local/bin/cgo")) is not None
    assert "libc.so.6" in {Path(p).name for p in image_files(image)}
    assert run(image).strip() == "cgo says 42"


@pytest.mark.docker
def test_bake_reads_the_secret_and_ssh_attributes(tmp_path: Path, docker_engine: None) -> None:
    build = {"secrets": [{"id": "token", "env": "TOKEN"}], "ssh": ["default"]}
    files = render(tmp_path, {"app": c(["scratch-glibc"], build=build)})
    (tmp_path / "docker-bake.hcl").write_text(files["docker-bake.hcl"])
    socket = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(socket)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(50):
            if socket.exists():
                break
            time.sleep(0.1)
        out = subprocess.run(
            ["docker", "buildx", "bake", "-f", "docker-bake.hcl", "--print", "app-scratch-glibc"],
            cwd=tmp_path, capture_output=True, text=True, check=True,
            env={**os.environ, "TOKEN": "x", "SSH_AUTH_SOCK": str(socket)},
        )  # fmt: skip
    finally:
        agent.terminate()
        agent.wait()
    printed = json.loads(out.stdout)["target"]["app-scratch-glibc"]
    assert printed["secret"] == ["id=token,env=TOKEN"] and printed["ssh"] == ["default"]
