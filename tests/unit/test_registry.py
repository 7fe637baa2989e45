"""The registry client and measuring by manifest (imageref), against a stand-in registry
and OCI layouts written here: no engine. The real registry and buildx's layouts are in
tests/integration/test_imageref_engine.py."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.registry_standin import (
    Image,
    RegistryStandin,
    Scripted,
    digest,
    index,
    make_image,
    write_layout,
)

from slim_bake.errors import BuildError, UsageError
from slim_bake.imageref import (
    LayoutStore,
    RegistryStore,
    inspect_reference,
    measure_reference,
    measure_store,
    pick,
)
from slim_bake.measure import MeasureCache
from slim_bake.registry import Registry, parse_reference

AMD64 = {"os": "linux", "architecture": "amd64"}
ARM64 = {"os": "linux", "architecture": "arm64"}
ATTESTATION = {"vnd.docker.reference.type": "attestation-manifest"}


@pytest.fixture
def standin() -> Iterator[RegistryStandin]:
    server = RegistryStandin().start()
    yield server
    server.stop()


@pytest.fixture
def cache(tmp_path: Path) -> MeasureCache:
    return MeasureCache(tmp_path / "cache")


def _image() -> Image:
    return make_image(
        [
            {"bin/tool": b"\x7fELF" + bytes(range(256)) * 400, "etc/conf": b"x=1\n"},
            {"app/data.bin": b"0123456789" * 5000},
        ],
        ["ADD rootfs.tar /", "COPY data.bin /app/"],
    )


# --- References ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "host", "repository", "reference"),
    [
        ("127.0.0.1:5000/acme/app:1.0", "127.0.0.1:5000", "acme/app", "1.0"),
        ("localhost/app", "localhost", "app", "latest"),
        ("ghcr.io/acme/app@sha256:" + "a" * 64, "ghcr.io", "acme/app", "sha256:" + "a" * 64),
        ("docker.io/alpine:3", "docker.io", "library/alpine", "3"),
    ],
)
def test_a_registry_reference_is_parsed(
    text: str, host: str, repository: str, reference: str
) -> None:
    parsed = parse_reference(text)
    assert (parsed.host, parsed.repository, parsed.reference) == (host, repository, reference)


@pytest.mark.parametrize(
    "text",
    [
        "127.0.0.1:5000/Acme/app",
        "127.0.0.1:5000/app:",
        "127.0.0.1:5000/app@sha256:abc",
        "h.io/a b",
        "alpine",
    ],
)
def test_a_malformed_registry_reference_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError):
        parse_reference(text)


def test_a_remote_registry_is_spoken_to_over_https_a_loopback_one_over_http() -> None:
    assert Registry("ghcr.io").base == "https://ghcr.io"
    assert Registry("127.0.0.1:5000").base == "http://127.0.0.1:5000"
    assert Registry("docker.io").base == "https://registry-1.docker.io"


# --- Measuring from a registry ----------------------------------------------------------


def test_compressed_sizes_are_the_blob_sizes_and_files_come_from_the_blobs(
    standin: RegistryStandin, cache: MeasureCache
) -> None:
    image = _image()
    standin.push("acme/app", "1", image)
    measured = measure_reference(f"{standin.host}/acme/app:1", cache=cache)
    blob_sizes = [d["size"] for d in json.loads(image.manifest)["layers"]]
    assert [layer.compressed for layer in measured.layers] == blob_sizes
    assert measured.compressed == sum(blob_sizes)
    assert measured.size == sum(size for _, size in image.files)
    assert [(f.path, f.size) for f in measured.files] == list(image.files)
    assert [layer.created_by for layer in measured.layers] == [
        "ADD rootfs.tar /",
        "COPY data.bin /app/",
    ]
    assert measured.image_id == digest(image.config)
    accept = standin.log[0].headers["accept"]
    assert "application/vnd.oci.image.index.v1+json" in accept
    assert "application/vnd.docker.distribution.manifest.v2+json" in accept


def test_a_second_measurement_reads_the_manifest_only(
    standin: RegistryStandin, cache: MeasureCache
) -> None:
    image = _image()
    standin.push("acme/app", "1", image)
    first = measure_store(
        RegistryStore(parse_reference(f"{standin.host}/acme/app:1")), None, cache=cache
    )
    standin.log.clear()
    store = RegistryStore(parse_reference(f"{standin.host}/acme/app:1"))
    again = measure_store(store, None, cache=cache)
    assert again == first
    assert store.registry.blob_reads == 0
    assert standin.paths() == ["/v2/acme/app/manifests/1"]


def test_a_multi_platform_index_is_followed_to_amd64_never_to_an_attestation(
    standin: RegistryStandin, cache: MeasureCache
) -> None:
    amd64, arm64, attestation = _image(), make_image([{"arm": b"a"}]), make_image([{"att": b"{}"}])
    for image in (amd64, arm64, attestation):
        standin.push("acme/multi", image.digest, image)
    entries = [
        attestation.descriptor(
            platform={"os": "unknown", "architecture": "unknown"}, annotations=ATTESTATION
        ),
        arm64.descriptor(platform=ARM64),
        amd64.descriptor(platform=AMD64),
    ]
    standin.put_index("acme/multi", "1", index(entries))
    ref = f"{standin.host}/acme/multi:1"
    assert measure_reference(ref, cache=cache).image_id == digest(amd64.config)
    assert measure_reference(ref, cache=cache, platform="linux/arm64").image_id == digest(
        arm64.config
    )
    with pytest.raises(BuildError, match="no linux/s390x image"):
        measure_reference(ref, cache=cache, platform="linux/s390x")


def test_a_blob_that_is_not_what_its_digest_says_is_refused(
    standin: RegistryStandin, cache: MeasureCache
) -> None:
    image = _image()
    standin.push("acme/app", "1", image)
    layer = json.loads(image.manifest)["layers"][1]["digest"]
    tampered = make_image([{"app/data.bin": b"9876543210" * 5000}])
    other = next(b for d, b in tampered.blobs.items() if d != digest(tampered.config))
    standin.blobs[("acme/app", layer)] = other
    with pytest.raises(BuildError):
        measure_reference(f"{standin.host}/acme/app:1", cache=cache)


def test_a_registry_baseline_reads_no_layer_and_knows_sizes_only_from_the_cache(
    standin: RegistryStandin, cache: MeasureCache
) -> None:
    image = _image()
    standin.push("acme/app", "1", image)
    ref = f"{standin.host}/acme/app:1"
    unknown = inspect_reference(ref, cache=cache)
    assert [layer.size for layer in unknown.layers] == [None, None]
    assert not standin.paths(json.loads(image.manifest)["layers"][0]["digest"])
    measured = measure_reference(ref, cache=cache)
    known = inspect_reference(ref, cache=cache)
    assert [layer.size for layer in known.layers] == [layer.size for layer in measured.layers]
    assert [layer.compressed for layer in known.layers] == [
        layer.compressed for layer in measured.layers
    ]


# --- The client's rules -----------------------------------------------------------------


def test_an_anonymous_token_is_fetched_and_sent_to_the_registry_only(cache: MeasureCache) -> None:
    tokens = RegistryStandin(issue_token="t0k3n").start()
    storage = RegistryStandin().start()  # another origin: a blob redirect goes there
    registry = RegistryStandin(token="t0k3n").start()
    try:
        registry.token_realm = f"http://{tokens.host}/token"
        image = _image()
        registry.push("acme/app", "1", image)
        layer = json.loads(image.manifest)["layers"][0]["digest"]
        config = digest(image.config)
        for blob in (layer, config):  # as Docker Hub sends blobs to its CDN
            storage.blobs[("acme/app", blob)] = image.blobs[blob]
            registry.scripted[f"/v2/acme/app/blobs/{blob}"] = Scripted(
                307, {"Location": f"http://{storage.host}/v2/acme/app/blobs/{blob}"}
            )
        measured = measure_reference(f"{registry.host}/acme/app:1", cache=cache)
        assert measured.compressed == sum(d["size"] for d in json.loads(image.manifest)["layers"])
        assert "scope=repository%3Aacme%2Fapp%3Apull" in tokens.log[0].path
        assert all("authorization" not in r.headers for r in tokens.log + storage.log)
        assert storage.paths(layer) and storage.paths(config), "fetched from storage"
        assert registry.log[-1].headers.get("authorization") == "Bearer t0k3n"
    finally:
        for server in (tokens, storage, registry):
            server.stop()


def test_a_manifest_redirected_to_another_origin_is_refused(standin: RegistryStandin) -> None:
    elsewhere = RegistryStandin().start()
    try:
        image = _image()
        elsewhere.push("acme/app", "1", image)
        standin.scripted["/v2/acme/app/manifests/1"] = Scripted(
            302, {"Location": f"http://{elsewhere.host}/v2/acme/app/manifests/1"}
        )
        with pytest.raises(BuildError, match="another origin"):
            Registry(standin.host).manifest("acme/app", "1")
        assert elsewhere.log == []
    finally:
        elsewhere.stop()


def test_a_blob_redirected_to_plain_http_elsewhere_is_refused(standin: RegistryStandin) -> None:
    standin.scripted["/v2/acme/app/blobs/sha256:" + "a" * 64] = Scripted(
        307, {"Location": "http://storage.example/blob"}
    )
    with pytest.raises(BuildError, match="another origin"):
        Registry(standin.host).open_blob("acme/app", "sha256:" + "a" * 64, 10)


def test_an_oversized_manifest_is_refused(standin: RegistryStandin) -> None:
    huge = b"{" + b" " * (5 << 20) + b"}"
    standin.scripted["/v2/acme/app/manifests/big"] = Scripted(200, {"Content-Type": "x"}, huge)
    standin.scripted["/v2/acme/app/manifests/endless"] = Scripted(200, {}, b"{", endless=True)
    registry = Registry(standin.host)
    with pytest.raises(BuildError, match="refused"):
        registry.manifest("acme/app", "big")
    with pytest.raises(BuildError, match="refused"):
        registry.manifest("acme/app", "endless")


def test_a_dripping_server_times_out(standin: RegistryStandin) -> None:
    standin.scripted["/v2/acme/app/manifests/slow"] = Scripted(200, {}, b"{}" * 200, drip=0.05)
    started = time.monotonic()
    with pytest.raises(BuildError, match="within 1 s"):
        Registry(standin.host, timeout=1.0).manifest("acme/app", "slow")
    assert time.monotonic() - started < 5


def test_an_unreachable_registry_is_a_build_error() -> None:
    with pytest.raises(BuildError, match="refused|unreachable|Errno"):
        Registry("127.0.0.1:1", timeout=2.0).manifest("acme/app", "1")


def test_a_manifest_asked_by_digest_is_checked_against_it(standin: RegistryStandin) -> None:
    fake = "sha256:" + "b" * 64
    standin.manifests[("acme/app", fake)] = (b"{}", "application/vnd.oci.image.manifest.v1+json")
    with pytest.raises(BuildError, match="not sha256:b"):
        Registry(standin.host).manifest("acme/app", fake)


# --- OCI layouts ------------------------------------------------------------------------


def _layout(tmp_path: Path) -> tuple[Path, Image, Image]:
    """Like buildx's with attestations: index.json → a tagged index → amd64 + attestation;
    plus a second tagged image."""
    image, other, attestation = (
        _image(),
        make_image([{"other": b"o" * 10}]),
        make_image([{"a": b"{}"}]),
    )
    nested = index(
        [
            image.descriptor(platform=AMD64),
            attestation.descriptor(
                platform={"os": "unknown", "architecture": "unknown"}, annotations=ATTESTATION
            ),
        ]
    )
    top = index(
        [
            {
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "digest": digest(nested),
                "size": len(nested),
                "annotations": {"org.opencontainers.image.ref.name": "docker.io/acme/app:v1"},
            },
            other.descriptor(annotations={"org.opencontainers.image.ref.name": "base"}),
        ]
    )
    root = tmp_path / "layout"
    write_layout(root, top, [nested], [image, other, attestation])
    return root, image, other


def test_an_oci_layout_is_measured_by_tag_through_nested_indexes(
    tmp_path: Path, cache: MeasureCache
) -> None:
    root, image, other = _layout(tmp_path)
    measured = measure_reference(f"oci:{root}:v1", cache=cache)
    assert measured.image_id == digest(image.config)
    assert [layer.compressed for layer in measured.layers] == [
        d["size"] for d in json.loads(image.manifest)["layers"]
    ]
    assert [(f.path, f.size) for f in measured.files] == list(image.files)
    assert measure_reference(f"oci:{root}:base", cache=cache).image_id == digest(other.config)
    by_name = measure_reference(f"oci:{root}:acme/app:v1", cache=cache)
    assert by_name.image_id == digest(image.config)
    with pytest.raises(BuildError, match="no image tagged v2"):
        measure_reference(f"oci:{root}:v2", cache=cache)


def test_an_oci_layout_reads_no_layer_the_second_time(tmp_path: Path, cache: MeasureCache) -> None:
    root, _, _ = _layout(tmp_path)
    store = LayoutStore.open(f"oci:{root}:v1")
    first = measure_store(store, None, cache=cache)
    assert store.blob_reads == 2
    again = LayoutStore.open(f"oci:{root}:v1")
    assert measure_store(again, None, cache=cache) == first
    assert again.blob_reads == 0


def test_a_base_tagged_in_the_same_layout_counts_as_the_base(
    tmp_path: Path, cache: MeasureCache
) -> None:
    base = make_image([{"bin/sh": b"sh" * 100}])
    app = make_image([{"bin/sh": b"sh" * 100}, {"app": b"A" * 1000}])
    top = index(
        [
            base.descriptor(annotations={"org.opencontainers.image.ref.name": "base"}),
            app.descriptor(annotations={"org.opencontainers.image.ref.name": "app"}),
        ]
    )
    write_layout(tmp_path / "l", top, [], [base, app])
    measured = measure_reference(f"oci:{tmp_path / 'l'}:app", "base", cache=cache)
    assert [layer.from_base for layer in measured.layers] == [True, False]
    assert [f.path for f in measured.files] == ["/app"]
    assert measured.base_id == digest(base.config)


def test_a_layout_blob_named_outside_blobs_is_refused(tmp_path: Path, cache: MeasureCache) -> None:
    top = index(
        [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": "sha256:../../x",
                "size": 2,
            }
        ]
    )
    write_layout(tmp_path / "l", top, [], [])
    with pytest.raises(BuildError, match="unsupported digest"):
        measure_reference(f"oci:{tmp_path / 'l'}", cache=cache)


def test_index_picking() -> None:
    amd, arm = (
        {"digest": "sha256:" + "1" * 64, "size": 1, "platform": AMD64},
        {
            "digest": "sha256:" + "2" * 64,
            "size": 1,
            "platform": ARM64,
        },
    )
    assert pick([arm, amd], None, "x").digest == amd["digest"]
    assert pick([arm], None, "x").digest == arm["digest"]  # the only one
    with pytest.raises(BuildError, match="linux/arm64"):
        pick([arm], "linux/amd64", "x")
    with pytest.raises(BuildError):
        pick([{**amd, "annotations": ATTESTATION}], None, "x")
    arm_v8 = {**arm, "platform": {**ARM64, "variant": "v8"}}
    assert pick([amd, arm_v8], "linux/arm64", "x").digest == arm["digest"]
    assert pick([amd, arm_v8], "linux/arm64/v8", "x").digest == arm["digest"]
    with pytest.raises(BuildError, match="linux/arm64/v7"):
        pick([amd, arm_v8], "linux/arm64/v7", "x")
