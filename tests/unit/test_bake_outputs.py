"""`slim bake --output load|registry|oci` without an engine: the bake command lines each
mode runs, the digests read from buildx's metadata file, what is measured for each
target, how a failed export bake is retried without its broken targets, a bake buildx
refuses as one clear error, and the archive an OCI layout is loaded from for a smoke run."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from slim_bake import bake
from slim_bake.bake import Cache, Mode, Output, bake_command, digests, oci_directory, reference_of
from slim_bake.cli import main
from slim_bake.config import load_config
from slim_bake.errors import BuildError, UsageError
from slim_bake.imageref import LayoutStore, resolve
from slim_bake.measure import MeasureCache
from slim_bake.pipeline import SMOKE_NAME, _write_images
from slim_bake.plan import Plan, make_plan
from slim_bake.progress import BuildxProgress

REGISTRY = "127.0.0.1:5000/outputs/unit"
CONFIG: dict[str, Any] = {
    "version": 1,
    "registry": REGISTRY,
    "artifacts": {"hello": {"lang": "c", "runtimes": ["scratch-musl", "alpine", "debian-slim"]}},
}
NAMES = ["hello-scratch-musl", "hello-alpine", "hello-debian-slim"]
DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def plan(project: Callable[..., Path]) -> Plan:
    return make_plan(load_config(project(CONFIG)))


# --- Command lines ----------------------------------------------------------------------


def test_load_runs_the_same_bake_as_before(plan: Plan) -> None:
    command = bake_command(plan, NAMES[:2], None, [])
    assert command == [
        "docker",
        "buildx",
        "bake",
        "-f",
        "docker-bake.hcl",
        "--load",
        "--progress=rawjson",
        "--",
        *NAMES[:2],
    ]
    assert bake_command(plan, NAMES[:2], None, [], Output()) == command


def test_registry_pushes_every_target_and_asks_for_the_metadata(plan: Plan) -> None:
    command = bake_command(
        plan, NAMES, "remote", ["--metadata-file", "/t/m.json"], Output(Mode.REGISTRY)
    )
    assert "--load" not in command
    at = command.index("--set")
    assert command[at + 1] == "*.output=type=registry"
    assert command[command.index("--builder") + 1] == "remote"
    assert command[command.index("--metadata-file") + 1] == "/t/m.json"
    assert command[-4:] == ["--", *NAMES]


def test_oci_writes_one_layout_per_target(plan: Plan, tmp_path: Path) -> None:
    output = Output(Mode.OCI, tmp_path / "layouts")
    command = bake_command(plan, NAMES[:2], None, [], output)
    assert "--load" not in command
    sets = [command[i + 1] for i, word in enumerate(command) if word == "--set"]
    assert sets == [
        f"{name}.output=type=oci,dest={tmp_path / 'layouts' / name},tar=false"
        ",rewrite-timestamp=true"
        for name in NAMES[:2]
    ]


@pytest.mark.parametrize("value", ["a,b", 'x"y', "new\nline", ""])
def test_an_oci_dir_buildx_would_misread_is_refused(value: str) -> None:
    with pytest.raises(UsageError, match="--oci-dir"):
        oci_directory(value)


def test_the_oci_dir_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert oci_directory("out/oci") == tmp_path / "out" / "oci"


@pytest.mark.parametrize(
    ("option", "said"),
    [
        ("--output", "--output registry pushes to the tags slim.yaml's `registry:` gives"),
        ("--cache", "--cache registry keeps the build cache beside the tags"),
    ],
)
def test_a_registry_option_without_a_registry_is_a_usage_error_before_any_build(
    option: str, said: str, project: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = project({k: v for k, v in CONFIG.items() if k != "registry"})
    assert main(["bake", "-c", str(path), option, "registry"]) == 2
    assert said in capsys.readouterr().err
    assert not (path.parent / "docker-bake.hcl").exists()  # stopped before regenerating


def _cache_sets(command: list[str]) -> list[str]:
    return [word.removeprefix("--set=") for word in command if ".cache-" in word]


def test_each_target_reads_and_writes_a_build_cache_of_its_own(plan: Plan) -> None:
    """One ref (registry, beside the image) or scope (gha) per target: a `*.cache-to`
    pattern would have every target overwrite the same cache."""
    for mode in Mode:
        output = Output(mode, Path("/o"), Cache.REGISTRY)
        sets = _cache_sets(bake_command(plan, NAMES[:2], None, [], output))
        assert sets == [
            f"{name}.cache-{way}=type=registry,ref={REGISTRY}/hello:{runtime}-buildcache{extra}"
            for name, runtime in (
                ("hello-scratch-musl", "scratch-musl"),
                ("hello-alpine", "alpine"),
            )
            for way, extra in (("from", ""), ("to", ",mode=max,ignore-error=true"))
        ]
    gha = _cache_sets(bake_command(plan, NAMES[:1], None, [], Output(cache=Cache.GHA)))
    assert gha == [
        "hello-scratch-musl.cache-from=type=gha,scope=hello-scratch-musl",
        "hello-scratch-musl.cache-to=type=gha,scope=hello-scratch-musl,mode=max,ignore-error=true",
    ]
    assert _cache_sets(bake_command(plan, NAMES, None, [], Output())) == []


# --- What is measured -------------------------------------------------------------------


def test_digests_come_from_the_metadata_file(tmp_path: Path) -> None:
    metadata = tmp_path / "metadata.json"
    metadata.write_text(
        json.dumps(
            {
                "hello-alpine": {"containerimage.digest": DIGEST, "image.name": "x"},
                "hello-scratch-musl": {"containerimage.digest": "sha256:short"},
                "hello-debian-slim": "not an object",
                "buildx.build.warnings": [],
            }
        )
    )
    assert digests(metadata) == {"hello-alpine": DIGEST}
    assert digests(tmp_path / "none.json") == {}
    metadata.write_text("{")
    assert digests(metadata) == {}


def test_a_pushed_target_is_measured_by_its_digest_in_its_tags_repository() -> None:
    tag = f"{REGISTRY}/hello:alpine"
    found = reference_of(Output(Mode.REGISTRY), "hello-alpine", tag, DIGEST)
    assert found == f"{REGISTRY}/hello@{DIGEST}"
    assert reference_of(Output(Mode.REGISTRY), "hello-alpine", tag, None) is None


def test_a_layout_is_measured_only_when_its_index_lists_the_digest(tmp_path: Path) -> None:
    output = Output(Mode.OCI, tmp_path)
    layout = tmp_path / "hello-alpine"
    layout.mkdir()
    assert reference_of(output, "hello-alpine", "t", DIGEST) is None  # no index.json
    (layout / "index.json").write_text(
        json.dumps({"manifests": [{"digest": "sha256:" + "0" * 64}]})
    )
    assert reference_of(output, "hello-alpine", "t", DIGEST) is None  # a stale layout
    (layout / "index.json").write_text(json.dumps({"manifests": [{"digest": DIGEST}]}))
    assert reference_of(output, "hello-alpine", "t", DIGEST) == f"oci:{layout}"


# --- Failures ---------------------------------------------------------------------------


class FakeBakes:
    """Stands in for the bake rounds: which names each bake got, and per round the
    target whose build breaks (its progress then shows a failed vertex)."""

    def __init__(self, breaking: set[str], refused: str | None = None) -> None:
        self.breaking = breaking
        self.refused = refused
        self.rounds: list[list[str]] = []

    def __call__(
        self,
        plan: Plan,
        names: list[str],
        builder: str | None,
        options: list[str],
        note: list[str],
        output: Output | None = None,
        watch: object = None,
    ) -> tuple[int, Any, dict[str, str | None]]:
        self.rounds.append(list(names))
        progress = bake._Progress()
        if self.refused is not None:
            progress.feed(self.refused)
            return 1, progress, dict.fromkeys(note)  # what each tag named before: nothing
        broken = [n for n in names if n in self.breaking]
        for index, name in enumerate(names):
            record = {"digest": f"v{index}", "name": f"[{name} build 2/3] RUN cc", "started": "t"}
            if name in broken:
                record["error"] = "process did not complete successfully: exit code: 1"
            elif broken:
                record["error"] = "context canceled"
            progress.feed(json.dumps({"vertexes": [record]}))
        if broken:
            return 1, progress, {}
        metadata = Path(options[options.index("--metadata-file") + 1])
        metadata.write_text(
            json.dumps({n: {"containerimage.digest": DIGEST} for n in names}), encoding="utf-8"
        )
        return 0, progress, {}


@pytest.fixture
def no_engine(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str | None]]:
    """The engine's tag lookups and the put-back, recorded instead of asked."""
    put_back: list[dict[str, str | None]] = []
    monkeypatch.setattr(bake.engine, "image_ids", lambda tags: dict.fromkeys(tags))
    monkeypatch.setattr(bake, "_put_back", put_back.append)
    return put_back


def test_a_broken_target_is_left_out_and_the_others_are_baked_again_for_their_digests(
    plan: Plan, monkeypatch: pytest.MonkeyPatch, no_engine: list[dict[str, str | None]]
) -> None:
    fake = FakeBakes({"hello-alpine"})
    monkeypatch.setattr(bake, "_bake_round", fake)
    notes: list[str] = []
    found = bake.export(
        plan, list(plan.targets), Output(Mode.REGISTRY), builder=None, notify=notes.append
    )
    assert fake.rounds == [NAMES, ["hello-scratch-musl", "hello-debian-slim"]]
    assert found == {
        "hello-scratch-musl": f"{REGISTRY}/hello@{DIGEST}",
        "hello-debian-slim": f"{REGISTRY}/hello@{DIGEST}",
    }
    assert "hello-alpine broke" in notes[0]
    assert len(no_engine) == 1 and set(no_engine[0]) == {t.tags[0] for t in plan.targets}


def test_a_bake_buildx_refuses_is_one_error_with_its_reason(
    plan: Plan, monkeypatch: pytest.MonkeyPatch, no_engine: list[dict[str, str | None]]
) -> None:
    fake = FakeBakes(set(), refused="ERROR: OCI exporter is not supported for the docker driver.")
    monkeypatch.setattr(bake, "_bake_round", fake)
    monkeypatch.setattr(bake, "_diagnose", lambda builder: None)
    with pytest.raises(BuildError) as caught:
        bake.export(
            plan, list(plan.targets), Output(Mode.OCI, Path("/o")), builder=None, notify=print
        )
    assert caught.value.exit_code == 3
    message = str(caught.value)
    assert "OCI exporter is not supported for the docker driver;" in message
    assert "containerd image store" in message
    assert len(fake.rounds) == 1  # not baked target by target
    assert len(no_engine) == 1  # the tags are put back even then


def test_a_load_buildx_refuses_is_one_error_not_a_bake_per_target(
    plan: Plan, monkeypatch: pytest.MonkeyPatch, no_engine: list[dict[str, str | None]]
) -> None:
    """A `docker` builder of another context (buildx: "use `docker --context=X buildx`")
    refuses every bake: said once with buildx's reason, not tried target by target."""
    refusal = 'ERROR: use `docker --context=other buildx` to switch to context "other"'
    fake = FakeBakes(set(), refused=refusal)
    monkeypatch.setattr(bake, "_bake_round", fake)
    monkeypatch.setattr(bake, "_diagnose", lambda builder: None)
    with pytest.raises(BuildError) as caught:
        bake.build(plan, list(plan.targets), builder="other", notify=print)
    assert caught.value.exit_code == 3
    assert str(caught.value) == (
        'buildx refused the bake: use `docker --context=other buildx` to switch to context "other"'
    )
    assert len(fake.rounds) == 1


def test_a_cache_export_the_driver_refuses_is_said_of_the_cache_option(
    plan: Plan, monkeypatch: pytest.MonkeyPatch, no_engine: list[dict[str, str | None]]
) -> None:
    """The classic `docker` driver exports no cache: the error names `--cache`, the
    option to drop, not the output, in both the load and the export path."""
    refusal = "ERROR: Cache export is not supported for the docker driver."
    monkeypatch.setattr(bake, "_diagnose", lambda builder: None)
    for mode in (Mode.LOAD, Mode.REGISTRY):
        monkeypatch.setattr(bake, "_bake_round", FakeBakes(set(), refused=refusal))
        output = Output(mode, cache=Cache.REGISTRY)
        with pytest.raises(BuildError) as caught:
            if mode is Mode.LOAD:
                bake.build(plan, list(plan.targets), builder=None, notify=print, output=output)
            else:
                bake.export(plan, list(plan.targets), output, builder=None, notify=print)
        assert str(caught.value) == (
            "buildx refused `--cache registry`: Cache export is not supported for the docker driver"
        )


def test_the_progress_keeps_buildxs_own_lines_not_the_vertices() -> None:
    progress = bake._Progress()
    progress.feed(json.dumps({"vertexes": [{"digest": "a", "name": "x", "started": "t"}]}))
    progress.feed("ERROR: failed to push")
    assert progress.said == ["ERROR: failed to push"]
    assert isinstance(progress, BuildxProgress)


# --- The archive an OCI layout is loaded from -------------------------------------------


def _blob(layout: Path, data: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def _layer() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("hello")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    return buffer.getvalue()


def test_a_layout_becomes_an_archive_both_image_stores_load_under_slims_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLIM_CACHE_DIR", str(tmp_path / "cache"))
    layout = tmp_path / "layout"
    layer = _blob(layout, _layer())
    diff_id = layer["digest"]  # an uncompressed layer: its digest is its diff_id
    config = _blob(layout, json.dumps({"rootfs": {"diff_ids": [diff_id]}, "history": []}).encode())
    manifest = _blob(
        layout,
        json.dumps(
            {
                "schemaVersion": 2,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **layer}],
            }
        ).encode(),
    )
    stale = _blob(layout, b"a blob of an earlier run")
    entry = {"mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest}
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    archive = tmp_path / "archive.tar"
    store = LayoutStore.open(f"oci:{layout}")
    resolved, config_digest, _ = resolve(store, MeasureCache(tmp_path / "cache"), None)
    staged = (store, f"{SMOKE_NAME}:abc", [found for found, _ in resolved], config_digest)
    with archive.open("wb") as handle:
        _write_images(handle, [staged])
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
        classic = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    blobs = {f"blobs/sha256/{d['digest'][7:]}" for d in (layer, config, manifest)}
    assert names == {"index.json", "manifest.json", "oci-layout", *blobs}
    assert f"blobs/sha256/{stale['digest'][7:]}" not in names
    (named,) = index["manifests"]
    assert named["digest"] == manifest["digest"]
    assert named["annotations"]["io.containerd.image.name"] == f"docker.io/library/{SMOKE_NAME}:abc"
    assert classic == [
        {
            "Config": f"blobs/sha256/{config['digest'][7:]}",
            "RepoTags": [f"{SMOKE_NAME}:abc"],
            "Layers": [f"blobs/sha256/{layer['digest'][7:]}"],
        }
    ]


def _two_layer_layout(layout: Path) -> tuple[str, str]:
    """An OCI layout of an image whose first layer is its base's: (base blob, own blob)."""
    layers = [_blob(layout, _layer()), _blob(layout, _layer() + bytes(512))]
    rootfs = {"diff_ids": [layer["digest"] for layer in layers]}
    config = _blob(layout, json.dumps({"rootfs": rootfs, "history": []}).encode())
    media = "application/vnd.oci.image.layer.v1.tar"
    manifest = _blob(
        layout,
        json.dumps(
            {
                "schemaVersion": 2,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
                "layers": [{"mediaType": media, **layer} for layer in layers],
            }
        ).encode(),
    )
    entry = {"mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest}
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return layers[0]["digest"], layers[1]["digest"]


class _Images:
    """The engine's image API as _load_layouts uses it: refuses the first `refusals` loads."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.sent: list[set[str]] = []
        self.members: list[list[str]] = []

    def load(self, archive: Any) -> None:
        import docker

        with tarfile.open(fileobj=archive) as tar:
            self.sent.append(set(tar.getnames()))
            self.members.append(tar.getnames())
        if len(self.sent) <= self.refusals:
            raise docker.errors.APIError("content digest sha256:…: not found")


@pytest.mark.parametrize(
    ("refusals", "loads"),
    [
        # The engine has the base's layers (a classic store by chain ID, a containerd
        # store as blobs its own builder exported): the base's blobs are not sent.
        (0, ["own"]),
        (1, ["own", "both"]),  # it had not (another builder's blobs): all are sent
    ],
)
def test_a_smoke_runs_layout_is_loaded_without_the_blobs_the_engine_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refusals: int, loads: list[str]
) -> None:
    from slim_bake import engine, pipeline

    monkeypatch.setenv("SLIM_CACHE_DIR", str(tmp_path / "cache"))
    base_blob, own_blob = _two_layer_layout(tmp_path / "layout")
    images = _Images(refusals)
    monkeypatch.setattr(engine, "image_diff_ids", lambda ref: (base_blob,) * (ref == "base:1"))
    monkeypatch.setattr(engine, "client", lambda: type("Client", (), {"images": images}))
    pipeline._load_layouts([(f"oci:{tmp_path / 'layout'}", f"{SMOKE_NAME}:abc", None, "base:1")])
    blobs = {"own": {own_blob}, "both": {base_blob, own_blob}}
    sent = [{n for n in names if n.startswith("blobs/")} for names in images.sent]
    assert [s & {f"blobs/sha256/{d[7:]}" for d in (base_blob, own_blob)} for s in sent] == [
        {f"blobs/sha256/{d[7:]}" for d in blobs[kind]} for kind in loads
    ]


class _Store(_Images):
    """_Images that also records removals."""

    def __init__(self, refusals: int) -> None:
        super().__init__(refusals)
        self.removed: list[str] = []

    def remove(self, name: str) -> None:
        self.removed.append(name)


def test_the_smoke_images_of_several_layouts_are_loaded_in_one_archive_and_removed_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from slim_bake import engine, pipeline

    monkeypatch.setenv("SLIM_CACHE_DIR", str(tmp_path / "cache"))
    one_base, one_own = _two_layer_layout(tmp_path / "one")
    _two_layer_layout(tmp_path / "two")  # the same layers: the blobs are shared
    store = _Store(refusals=0)
    monkeypatch.setattr(engine, "image_diff_ids", lambda ref: ())  # no base in the engine
    monkeypatch.setattr(engine, "client", lambda: type("Client", (), {"images": store}))
    wanted = {
        "a": (f"oci:{tmp_path / 'one'}", None, "base:1"),
        "b": (f"oci:{tmp_path / 'two'}", None, "base:1"),
    }
    with pipeline._staged_layouts(wanted) as loaded:
        assert sorted(loaded) == ["a", "b"] and loaded["a"] != loaded["b"]
        assert all(name.startswith(f"{SMOKE_NAME}:") for name in loaded.values())
        assert store.removed == []
    [members] = store.members  # one docker load for both
    for blob in (one_base, one_own):  # each written once, although both layouts hold it
        assert members.count(f"blobs/sha256/{blob[7:]}") == 1
    index = json.loads((tmp_path / "one" / "index.json").read_text())["manifests"][0]
    assert members.count(f"blobs/sha256/{index['digest'][7:]}") == 1
    assert sorted(store.removed) == sorted(loaded.values())


def test_when_the_one_load_fails_each_smoke_run_loads_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from slim_bake import engine, pipeline

    monkeypatch.setenv("SLIM_CACHE_DIR", str(tmp_path / "cache"))
    _two_layer_layout(tmp_path / "one")
    _two_layer_layout(tmp_path / "two")
    store = _Store(refusals=1)
    monkeypatch.setattr(engine, "image_diff_ids", lambda ref: ())  # no base in the engine
    monkeypatch.setattr(engine, "client", lambda: type("Client", (), {"images": store}))
    wanted = {
        "a": (f"oci:{tmp_path / 'one'}", None, None),
        "b": (f"oci:{tmp_path / 'two'}", None, None),
    }
    with pipeline._staged_layouts(wanted) as loaded:
        assert loaded == {}  # each check stages (and reports) its own image
        assert len(store.removed) == 2  # whatever the failed load left is gone
    assert len(store.sent) == 1
    with pipeline._staged_layouts({"a": wanted["a"]}) as alone:
        assert alone == {}  # one image: loaded by its check, as before
    assert len(store.sent) == 1


def test_a_layout_the_engine_refuses_whole_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from slim_bake import engine, pipeline

    monkeypatch.setenv("SLIM_CACHE_DIR", str(tmp_path / "cache"))
    base_blob, _ = _two_layer_layout(tmp_path / "layout")
    images = _Images(refusals=2)
    monkeypatch.setattr(engine, "image_diff_ids", lambda ref: (base_blob,))
    monkeypatch.setattr(engine, "client", lambda: type("Client", (), {"images": images}))
    with pytest.raises(BuildError, match="cannot load oci:.* into the engine: .*not found"):
        pipeline._load_layouts(
            [(f"oci:{tmp_path / 'layout'}", f"{SMOKE_NAME}:abc", None, "base:1")]
        )
    assert len(images.sent) == 2


def test_an_export_needs_no_engine_to_put_tags_back_into(
    plan: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A remote builder pushing, with no engine where slim runs: nothing to put back."""

    def no_engine(tags: list[str]) -> dict[str, str | None]:
        raise BuildError("no Docker engine answers")

    put_back: list[object] = []
    monkeypatch.setattr(bake.engine, "image_ids", no_engine)
    monkeypatch.setattr(bake, "_put_back", put_back.append)
    monkeypatch.setattr(bake, "_bake_round", FakeBakes(set()))
    found = bake.export(plan, list(plan.targets), Output(Mode.REGISTRY), builder="r", notify=print)
    assert set(found) == set(NAMES)
    assert put_back == []


def test_a_tag_that_cannot_be_put_back_does_not_keep_the_others(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import docker

    from slim_bake import bake

    removed: list[str] = []

    class Images:
        def remove(self, tag: str, noprune: bool = False) -> None:
            if tag == "acme/app:first":
                raise docker.errors.APIError("conflict: the image is in use")
            removed.append(tag)

    class Client:
        images = Images()

    monkeypatch.setattr(bake.engine, "image_ids", lambda tags: dict.fromkeys(tags, "sha256:new"))
    monkeypatch.setattr(bake.engine, "client", lambda: Client())
    bake._put_back({"acme/app:first": None, "acme/app:second": None})
    assert removed == ["acme/app:second"]
    assert "acme/app:first" in capsys.readouterr().err
