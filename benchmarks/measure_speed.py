"""Issue 14's figure: how long does slim take to measure a big image on the `--load` path?

Times, for one image in the engine (default: the 332 MB toolchain stand-in
slim-standin/gcc:bookworm, one layer; scripts/standins.sh prepares it):

- `docker save` alone: the export streamed through the docker SDK and thrown away, the
  floor of any measurement that reads the layers from the engine;
- cold: slim_bake.measure.measure with an empty cache (export, hash, count, compress);
- warm: the same again with the cache the cold run filled (nothing exported);
- layers known: the cache's image entries removed, its layers kept (a new build on a
  measured base: the export is read again, the known layer blobs are skipped).

and the same image read by its manifest (slim_bake.imageref), where a layer's compressed
size is its blob's size and nothing is compressed:

- registry cold / warm: pushed to the local registry (--registry, default 127.0.0.1:5000,
  scripts/registry.sh) as 127.0.0.1:5000/regmeasure/bench-…, measured with an empty cache
  (every blob streamed, hashed, unpacked and counted) and again (the manifest only);
- OCI layout cold / warm: the registry's manifest, config and blobs copied into an OCI
  image layout directory, measured likewise (target: warm ≤ 1 s for both).

Prints seconds (median of the rounds), MB/s of layer content for the cold run, its
ratio to `docker save` alone, and the load average beside the figures (the machine is
shared: compare ratios measured in the same run). With --check-gzip (the default for
--quick) it also compresses every layer tar as one zlib-ng stream (fails when slim's
chunked figure is further than GZIP_TOLERANCE from it) and through `gzip -6`, and
prints how far slim's figure is from each.

--host (or DOCKER_HOST) picks the engine. On one with the containerd image store
(`--host unix:///run/slim-containerd/docker.sock`, scripts/engine.sh --containerd-store)
`docker save` writes the store's own compressed blobs: their sizes are the compressed
figure and nothing is compressed; --check-gzip then checks that the figure is exactly
the sum of those blobs' sizes instead.

Run: python benchmarks/measure_speed.py [--image REF] [--rounds R] [--check-gzip] [--quick]
    [--registry HOST:PORT | --no-registry] [--host DOCKER_HOST]
--quick: a 6 MB stand-in (several compression chunks), one round, gzip -6 checked
(tests/integration/test_benchmarks.py runs it so that the script cannot rot)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from slim_bake import engine, imageref, measure, registry

FULL_IMAGE = "slim-standin/gcc:bookworm"
QUICK_IMAGE = "slim-standin/busybox:glibc"
REGISTRY = "127.0.0.1:5000"
STORED_MAGIC = (b"\x1f\x8b", b"\x28\xb5\x2f\xfd")  # gzip, zstd
WARM_TARGET = 1.0  # seconds: a warm measurement by manifest


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def time_save(image: str) -> float:
    found = engine.client().images.get(image)
    start = time.perf_counter()
    for _ in found.save(chunk_size=1 << 20):
        pass
    return time.perf_counter() - start


def time_measure(image: str, cache: Path) -> tuple[float, measure.Measurement]:
    start = time.perf_counter()
    found = measure.measure(image, None, cache=measure.MeasureCache(cache))
    return time.perf_counter() - start, found


def push(image: str, host: str) -> str:
    """`image` pushed to the registry as host/regmeasure/bench-NAME-TAG:1 (from a
    containerd-store engine: bench-containerd-NAME-TAG, its blobs differ), the local tag
    removed again; returns that reference."""
    name = image.split("/")[-1].replace(":", "-")
    engine_part = "containerd-" if engine.containerd_store() else ""
    ref = f"{host}/regmeasure/bench-{engine_part}{name}:1"
    subprocess.run(["docker", "tag", image, ref], check=True)
    try:
        subprocess.run(["docker", "push", "-q", ref], check=True, stdout=subprocess.DEVNULL)
    finally:
        subprocess.run(["docker", "rmi", ref], check=False, capture_output=True)
    return ref


def copy_to_layout(ref: str, directory: Path) -> None:
    """The image's manifest, config and layer blobs from the registry into an OCI layout."""
    parsed = registry.parse_reference(ref)
    client = registry.Registry(parsed.host)
    body, media_type = client.manifest(parsed.repository, parsed.reference)
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    document = imageref._json(body, ref)
    digest = registry.digest_of(body)
    (blobs / digest[7:]).write_bytes(body)
    config = document["config"]["digest"]
    (blobs / config[7:]).write_bytes(client.blob_bytes(parsed.repository, config))
    for layer in document["layers"]:
        with client.open_blob(parsed.repository, layer["digest"], layer["size"]) as blob:
            with open(blobs / layer["digest"][7:], "wb") as out:
                shutil.copyfileobj(blob, out, 1 << 20)
            blob.verify()
    entry = {"mediaType": media_type, "digest": digest, "size": len(body)}
    (directory / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    (directory / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')


def time_reference(ref: str, cache: Path) -> tuple[float, measure.Measurement]:
    start = time.perf_counter()
    found = imageref.measure_reference(ref, None, cache=measure.MeasureCache(cache))
    return time.perf_counter() - start, found


def by_manifest(image: str, host: str, rounds: int) -> None:
    """Cold and warm, from the registry and from an OCI layout; warm against WARM_TARGET."""
    try:
        ref = push(image, host)
    except (subprocess.CalledProcessError, OSError) as exc:
        sys.exit(f"cannot push {image} to {host} (scripts/registry.sh starts it): {exc}")
    with tempfile.TemporaryDirectory(prefix="slim-measure-bench-oci-") as tmp:
        layout = Path(tmp) / "layout"
        copy_to_layout(ref, layout)
        for label, source in (("registry", ref), ("OCI layout", f"oci:{layout}")):
            colds, warms = [], []
            found = None
            for _ in range(rounds):
                with tempfile.TemporaryDirectory(prefix="slim-measure-bench-") as cache:
                    seconds, found = time_reference(source, Path(cache))
                    colds.append(seconds)
                    warms.append(time_reference(source, Path(cache))[0])
            assert found is not None
            cold, warm = statistics.median(colds), statistics.median(warms)
            met = "met" if warm <= WARM_TARGET else "NOT met"
            rate = found.size / 1e6 / cold
            print(f"  {label + ' cold:':19}{cold:6.2f} s  {rate:6.1f} MB/s  compressed", end="")
            print(f" {found.compressed:,} B (blob sizes)")
            print(f"  {label + ' warm:':19}{warm:6.2f} s  target <= {WARM_TARGET:g} s: {met}")


def stored_blobs(image: str) -> list[int]:
    """The sizes of the compressed layer blobs in the image's `docker save`."""
    sizes = []
    saved = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    assert saved.stdout is not None
    with tarfile.open(fileobj=saved.stdout, mode="r|") as tar:
        for member in tar:
            handle = tar.extractfile(member) if member.isfile() else None
            if handle is not None and handle.peek(4)[:4].startswith(STORED_MAGIC):
                sizes.append(member.size)
    saved.wait()
    return sizes


def reference_sizes(image: str) -> tuple[int, int]:
    """(one zlib-ng gzip stream, `gzip -6 | wc -c`) summed over the layer tars of the
    image's `docker save`: what slim's chunked figure is checked against."""
    from zlib_ng import zlib_ng

    one_stream = gnu = 0
    saved = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    assert saved.stdout is not None
    with tarfile.open(fileobj=saved.stdout, mode="r|") as tar:
        for member in tar:
            handle = tar.extractfile(member) if member.isfile() else None
            if handle is None or member.size < 1024 or handle.peek(1)[:1] in (b"{", b"["):
                continue  # not a layer: a config, manifest or index
            deflate = zlib_ng.compressobj(measure.GZIP_LEVEL, zlib_ng.DEFLATED, 31)
            gz = subprocess.Popen(
                ["sh", "-c", "gzip -6 -c | wc -c"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )
            assert gz.stdin is not None
            while block := handle.read(1 << 20):
                one_stream += len(deflate.compress(block))
                gz.stdin.write(block)
            one_stream += len(deflate.flush())
            gnu += int(gz.communicate()[0])
    saved.wait()
    return one_stream, gnu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", default=FULL_IMAGE)
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per figure")
    parser.add_argument("--check-gzip", action="store_true", help="compare with gzip -6")
    parser.add_argument("--quick", action="store_true", help="a small image, one round")
    parser.add_argument("--registry", default=REGISTRY, help="registry to push to and read from")
    parser.add_argument("--no-registry", action="store_true", help="time the --load path only")
    parser.add_argument("--host", help="the engine (DOCKER_HOST), e.g. a containerd-store one")
    args = parser.parse_args()
    if args.host:
        os.environ["DOCKER_HOST"] = args.host  # slim's client and the docker CLI both
    if args.quick:
        args.image, args.rounds, args.check_gzip = QUICK_IMAGE, 1, True
    store = "containerd image store" if engine.containerd_store() else "classic image store"
    print(f"{args.image}: {store}, {os.cpu_count()} cores, {load()}")
    saves, colds, warms, knowns = [], [], [], []
    found = None
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="slim-measure-bench-") as tmp:
            saves.append(time_save(args.image))
            seconds, found = time_measure(args.image, Path(tmp))
            colds.append(seconds)
            warms.append(time_measure(args.image, Path(tmp))[0])
            shutil.rmtree(measure.MeasureCache(Path(tmp)).root / "images")
            knowns.append(time_measure(args.image, Path(tmp))[0])
    assert found is not None
    medians = [statistics.median(s) for s in (saves, colds, warms, knowns)]
    report(found, *medians)
    if not args.no_registry:
        by_manifest(args.image, args.registry, args.rounds)
    if args.check_gzip and found.compression == measure.ESTIMATED:
        check_gzip(args.image, found)
    elif args.check_gzip:
        check_stored(args.image, found)
    return 0


def report(found: measure.Measurement, save: float, cold: float, warm: float, known: float) -> None:
    megabytes = found.size / 1e6
    layers = len(found.layers)
    what = "gzip estimate" if found.compression == measure.ESTIMATED else "blob sizes"
    compressed = f"compressed {found.compressed:,} B ({what})"
    print(f"  content {found.size:,} B in {layers} layer(s), {compressed}")
    print(f"  docker save alone: {save:6.2f} s")
    rate = f"{megabytes / cold:6.1f} MB/s"
    print(f"  cold measure:      {cold:6.2f} s  {rate}  {cold / save:5.2f}x save")
    print(f"  layers known:      {known:6.2f} s  {known / save:5.2f}x save")
    print(f"  warm measure:      {warm:6.2f} s  ({load()})")


def check_stored(image: str, found: measure.Measurement) -> None:
    """A figure made of stored blobs is exactly their sizes: nothing was estimated."""
    blobs = stored_blobs(image)
    print(f"  stored blobs: {sum(blobs):,} B in {len(blobs)}; slim's figure {found.compressed:,} B")
    if found.compression != measure.STORED or found.compressed != sum(blobs):
        sys.exit(f"compressed {found.compressed:,} B ({found.compression}) is not the blobs' sum")


def check_gzip(image: str, found: measure.Measurement) -> None:
    one_stream, gnu = reference_sizes(image)
    off = (found.compressed - one_stream) / one_stream
    print(f"  one zlib-ng stream: {one_stream:,} B; slim's chunked figure is {off:+.4%} from it")
    print(f"  gzip -6: {gnu:,} B; slim's figure is {(found.compressed - gnu) / gnu:+.2%} from it")
    if abs(off) > measure.GZIP_TOLERANCE:
        limit = f"{measure.GZIP_TOLERANCE:.2%}"
        sys.exit(f"chunked figure off one stream by {off:+.4%} (tolerance {limit})")


if __name__ == "__main__":
    sys.exit(main())
