"""`assert:`: the final filesystem from layer entries (whiteouts, opaque directories,
hard links), each check on it and on the image config, and slim.yaml's `assert:`
resolved and validated as `budgets:` are."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from slim_bake.cli import main
from slim_bake.config import Assertions, Budget, load_config
from slim_bake.contents import final_tree, judge_assertions, matches
from slim_bake.errors import ConfigError
from slim_bake.judge import Status, judge
from slim_bake.measure import Entry, Layer, Measurement, measure_layer

GOOD = """\
version: 1
artifacts:
  hello:
    lang: c
    runtimes: [scratch-musl, alpine]
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "hello").mkdir(exist_ok=True)
    (tmp_path / "hello" / "hello.c").write_text("int main(void){return 0;}\n")
    path = tmp_path / "slim.yaml"
    path.write_text(text)
    return path


def errors(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(d) for d in info.value.diagnostics]


KEY = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----\n"


def f(path: str, mode: int = 0o644, uid: int = 0, size: int = 1, key: bool = False) -> Entry:
    return Entry(path, "file", size, mode, uid, 0, "", key)


def d(path: str, mode: int = 0o755) -> Entry:
    return Entry(path, "dir", 0, mode, 0, 0)


def ln(path: str, target: str) -> Entry:
    return Entry(path, "symlink", 0, 0o777, 0, 0, target)


def hard(path: str, target: str, mode: int = 0o644) -> Entry:
    return Entry(path, "hardlink", 0, mode, 0, 0, target)


def measurement(*layers: list[Entry], base: int = 0, **config: object) -> Measurement:
    return Measurement(
        image="slim-asserts-test",
        image_id="sha256:x",
        base_image=None,
        base_id=None,
        size=0,
        compressed=0,
        layers=tuple(Layer(f"sha256:{i}", 0, 0, "", i < base) for i in range(len(layers))),
        files=(),
        entries=tuple(tuple(layer) for layer in layers),
        image_config=dict(config),
    )


def failures(asserts: Assertions, m: Measurement) -> dict[str, tuple[str, ...]]:
    return dict(judge_assertions(asserts, m))


# --- The final filesystem ---------------------------------------------------------------------


def test_a_whiteout_hides_a_lower_file_and_its_subtree_but_not_the_layers_own() -> None:
    tree = final_tree(
        [
            [d("/etc"), f("/etc/shadow"), d("/opt"), d("/opt/tool"), f("/opt/tool/bin")],
            [f("/etc/.wh.shadow"), f("/opt/.wh.tool"), f("/etc/new"), f("/etc/.wh.new")],
        ]
    )
    assert "/etc/shadow" not in tree
    assert "/opt/tool" not in tree and "/opt/tool/bin" not in tree
    assert "/etc/new" in tree  # a whiteout hides the layers beneath, not its own
    assert not any(".wh." in path for path in tree)


def test_an_opaque_directory_hides_everything_beneath_it_below_and_keeps_its_own() -> None:
    tree = final_tree(
        [
            [d("/app"), f("/app/old"), d("/app/sub"), f("/app/sub/deep"), f("/keep")],
            [d("/app"), f("/app/.wh..wh..opq"), f("/app/new")],
        ]
    )
    assert sorted(p for p in tree if p.startswith("/app")) == ["/app", "/app/new"]
    assert "/keep" in tree


def test_a_file_over_a_directory_hides_the_directorys_subtree() -> None:
    tree = final_tree([[d("/x"), f("/x/y")], [f("/x")]])
    assert tree["/x"].entry.kind == "file" and "/x/y" not in tree


def test_a_hard_link_keeps_its_targets_content_and_survives_its_removal() -> None:
    tree = final_tree(
        [
            [
                f("/bin/real", mode=0o4755, size=500, key=True),
                hard("/bin/alias", "/bin/real", 0o4755),
            ],
            [f("/bin/.wh.real")],
        ]
    )
    assert "/bin/real" not in tree
    alias = tree["/bin/alias"]
    assert (alias.entry.kind, alias.entry.size, alias.entry.key, alias.layer) == (
        "hardlink",
        500,
        True,
        0,
    )


def test_contents_that_were_not_read_fail_closed() -> None:
    found = failures(Assertions(no_setuid=True), measurement())
    assert found == {"assert.contents": ("the image's contents were not read",)}


def test_absent_paths_are_followed_through_symlinked_directories() -> None:
    tree = final_tree(
        [[ln("/bin", "usr/bin"), d("/usr"), d("/usr/bin"), ln("/usr/bin/sh", "dash")]]
    )
    assert matches(tree, "/bin/sh") == [("/bin/sh", "/usr/bin/sh")]
    assert matches(tree, "/bin/s?") == [("/usr/bin/sh", "/usr/bin/sh")]
    assert matches(tree, "/bin/bash") == []


def test_the_layer_reader_keeps_type_mode_owner_and_a_private_key_header() -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data, mode, uid in (
            ("usr/bin/passwd", b"x", 0o4755, 0),
            ("srv/tls/server.pem", KEY, 0o600, 1000),
            ("srv/tls/cert.pem", b"-----BEGIN CERTIFICATE-----\n", 0o644, 0),
        ):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid = len(data), mode, uid
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("usr/bin/chfn")
        link.type, link.linkname, link.mode = tarfile.LNKTYPE, "usr/bin/passwd", 0o4755
        tar.addfile(link)
    stats = measure_layer(io.BytesIO(out.getvalue()))
    by_path = {e.path: e for e in stats.entries}
    assert by_path["/usr/bin/passwd"].mode == 0o4755
    assert (by_path["/srv/tls/server.pem"].uid, by_path["/srv/tls/server.pem"].key) == (1000, True)
    assert not by_path["/srv/tls/cert.pem"].key
    assert (by_path["/usr/bin/chfn"].kind, by_path["/usr/bin/chfn"].link) == (
        "hardlink",
        "/usr/bin/passwd",
    )
    assert [p for p, _ in stats.files] == [
        "/usr/bin/passwd",
        "/srv/tls/server.pem",
        "/srv/tls/cert.pem",
    ]


# --- Each check ---------------------------------------------------------------------------------


BASE = [d("/bin"), ln("/bin/sh", "busybox"), f("/bin/busybox", 0o755), d("/tmp", 0o1777)]


def test_absent_and_present_name_the_path_and_its_layer() -> None:
    m = measurement(BASE, [f("/usr/local/bin/hello", 0o755)], base=1)
    found = failures(Assertions(absent=("/bin/sh", "/usr/bin/apt"), present=("/etc/passwd",)), m)
    assert found["assert.absent"] == ("/bin/sh is present (layer 1, from the base image)",)
    assert found["assert.present"] == ("/etc/passwd is missing",)
    ok = failures(Assertions(absent=("/usr/bin/apt", "*/.git"), present=("/usr/local/bin/*",)), m)
    assert ok == {"assert.absent": (), "assert.present": ()}


def test_setuid_setgid_and_world_writable_files_are_named() -> None:
    m = measurement(
        BASE,
        [
            f("/usr/bin/passwd", 0o4755),
            f("/usr/bin/wall", 0o2755, uid=5),
            d("/var/mail", 0o2775),  # a setgid directory is not a setgid program
            f("/srv/open", 0o666),
            f("/tmp/scratch", 0o666),
        ],
    )
    found = failures(Assertions(no_setuid=True, no_world_writable=True), m)
    assert found["assert.no_setuid"] == (
        "/usr/bin/passwd is setuid root (layer 2)",
        "/usr/bin/wall is setgid root (layer 2)",
    )
    assert found["assert.no_world_writable"] == (
        "/srv/open is world-writable (mode 0666) (layer 2)",
    )


def test_private_keys_are_found_by_name_and_by_content() -> None:
    m = measurement(
        [
            f("/etc/ssl/certs/ca-certificates.crt"),
            f("/etc/ssl/certs/ISRG.pem"),
            f("/app/tls.key"),
            f("/app/bundle.pem", key=True),
            f("/root/.ssh/id_ed25519"),
        ]
    )
    assert failures(Assertions(no_private_keys=True), m)["assert.no_private_keys"] == (
        "/app/bundle.pem holds a PEM private key (layer 1)",
        "/app/tls.key is named like a private key (layer 1)",
        "/root/.ssh/id_ed25519 is named like a private key (layer 1)",
    )


@pytest.mark.parametrize(
    ("want", "user", "ok"),
    [
        ("nonroot", "65532:65532", True),
        ("nonroot", "app", True),
        ("nonroot", "", False),
        ("nonroot", "0:0", False),
        ("nonroot", "root", False),
        ("65532", "65532:65532", True),
        ("65532:65532", "65532:65532", True),
        ("65532:0", "65532:65532", False),
        ("app", "1000", False),
    ],
)
def test_user(want: str, user: str, ok: bool) -> None:
    found = failures(Assertions(user=want), measurement(User=user))
    assert (found["assert.user"] == ()) is ok


def test_exec_form_ports_labels_and_max_files() -> None:
    m = measurement(
        BASE,
        Entrypoint=["/bin/sh", "-c", "exec hello"],
        Cmd=["--serve"],
        ExposedPorts={"8080/tcp": {}, "9090/tcp": {}},
        Labels={"org.opencontainers.image.title": "hello"},
    )
    found = failures(
        Assertions(
            exec_form=True,
            ports=("8080/tcp", "53/udp"),
            labels=("org.opencontainers.image.source", "org.opencontainers.image.title"),
            max_files=1,
        ),
        m,
    )
    assert found == {
        "assert.exec_form": ("Entrypoint is in shell form: /bin/sh -c exec hello",),
        "assert.ports": ("port 53/udp is not exposed", "port 9090/tcp is exposed but not asserted"),
        "assert.labels": ("label org.opencontainers.image.source is missing",),
        "assert.max_files": ("2 files > max_files 1",),
    }


def test_a_failed_assertion_fails_the_target_with_exit_1_and_records_each_check() -> None:
    m = measurement(BASE, base=1)
    verdict = judge(Budget(), m, None, Assertions(absent=("/bin/sh",), no_setuid=True))
    assert verdict.status == Status.ASSERT_FAILED
    assert verdict.reasons == ("/bin/sh is present (layer 1, from the base image)",)
    assert [(c.name, c.ok) for c in verdict.checks] == [
        ("assert.absent", False),
        ("assert.no_setuid", True),
    ]
    assert judge(Budget(), m, None, Assertions(no_setuid=True)).status == Status.PASS


# --- slim.yaml ---------------------------------------------------------------------------------


def test_assert_merges_defaults_star_and_runtime_field_by_field(tmp_path: Path) -> None:
    text = GOOD.replace(
        "    lang: c\n",
        "    lang: c\n    assert:\n      '*': {absent: [/bin/sh], no_setuid: true}\n"
        "      alpine: {absent: [/usr/bin/apt], user: 0, ports: [8080]}\n",
    )
    artifact = load_config(write(tmp_path, text)).artifacts[0]
    musl, alpine = artifact.asserts["scratch-musl"], artifact.asserts["alpine"]
    assert musl == Assertions(absent=("/bin/sh",), no_setuid=True, user="nonroot")
    assert alpine == Assertions(
        absent=("/usr/bin/apt",), no_setuid=True, user="0", ports=("8080/tcp",)
    )


def test_a_null_field_switches_a_runtime_default_off(tmp_path: Path) -> None:
    text = GOOD.replace(
        "    lang: c\n", "    lang: c\n    assert:\n      scratch-musl: {user: null}\n"
    )
    artifact = load_config(write(tmp_path, text)).artifacts[0]
    assert artifact.asserts["scratch-musl"] == Assertions()


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("      '*': {absent: [/bin/sh], colour: red}\n", "6:32: *.colour: unknown field 'colour'"),
        (
            "      '*': {absent: /bin/sh}\n",
            "6:21: *.absent: expected ['array', 'null'], got str '/bin/sh'",
        ),
        ("      '*': {absent: [3]}\n", "6:22: *.absent[0]: expected string, got int 3"),
        (
            "      alpin: {no_setuid: true}\n",
            "6:7: alpin: 'alpin' is not one of this artifact's runtimes; did you mean 'alpine'?",
        ),
    ],
)
def test_a_bad_assert_is_refused_at_its_line_and_column(
    tmp_path: Path, block: str, message: str
) -> None:
    path = write(tmp_path, GOOD.replace("    lang: c\n", "    lang: c\n    assert:\n" + block))
    where, _, rest = message.partition(" ")
    assert errors(path) == [f"{path}:{where} artifacts.hello.assert.{rest}"]
    assert main(["generate", "-c", str(path)]) == 2
